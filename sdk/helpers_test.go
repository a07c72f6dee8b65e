package sdk

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/xinling/xinling/sdk/wire"
)

// waitLimit bounds every wait for an event in these tests.
const waitLimit = 5 * time.Second

// fast shortens the SDK's timings for tests.
func fast() Option {
	return func(c *config) {
		c.backoffBase = 10 * time.Millisecond
		c.backoffCap = 40 * time.Millisecond
		c.heartbeat = time.Second
		c.closeWait = 200 * time.Millisecond
	}
}

func withHeartbeat(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

func withBackoff(base, cap time.Duration) Option {
	return func(c *config) { c.backoffBase, c.backoffCap = base, cap }
}

// ---- fake server ------------------------------------------------------

// fakeServer is a scripted WebSocket server speaking package wire: the test
// accepts connections, reads the client's frames and writes answers and
// pushes itself. It answers pings with pongs unless a connection is muted.
type fakeServer struct {
	t       *testing.T
	hs      *httptest.Server
	URL     string
	conns   chan *fakeConn
	refuse  atomic.Bool  // answer upgrades with 503
	refused atomic.Int32 // upgrades answered with 503

	mu        sync.Mutex
	all       []*fakeConn
	closed    chan struct{}
	closeOnce sync.Once
}

func newFakeServer(t *testing.T) *fakeServer { return startFakeServer(t, false) }

// newFakeTLSServer is newFakeServer over TLS ("wss://"); fs.hs.Client()
// holds a TLS configuration that trusts it.
func newFakeTLSServer(t *testing.T) *fakeServer { return startFakeServer(t, true) }

func startFakeServer(t *testing.T, useTLS bool) *fakeServer {
	fs := &fakeServer{t: t, conns: make(chan *fakeConn, 64), closed: make(chan struct{})}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	fs.hs = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" && r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if fs.refuse.Load() {
			fs.refused.Add(1)
			http.Error(w, "refused", http.StatusServiceUnavailable)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		fc := &fakeConn{ws: ws, path: r.URL.Path, in: make(chan wire.Frame, 4096), done: make(chan struct{}), closed: fs.closed}
		fs.mu.Lock()
		fs.all = append(fs.all, fc)
		fs.mu.Unlock()
		fs.conns <- fc
		fc.readLoop()
	}))
	if useTLS {
		fs.hs.StartTLS()
	} else {
		fs.hs.Start()
	}
	fs.URL = strings.Replace(strings.Replace(fs.hs.URL, "http://", "ws://", 1), "https://", "wss://", 1)
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) Close() {
	fs.closeOnce.Do(func() { close(fs.closed) })
	fs.mu.Lock()
	for _, fc := range fs.all {
		fc.ws.Close()
	}
	fs.mu.Unlock()
	fs.hs.Close()
}

// accept waits for the next connection.
func (fs *fakeServer) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case fc := <-fs.conns:
		return fc
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for a connection")
		return nil
	}
}

// noConnection asserts that no connection arrives within d.
func (fs *fakeServer) noConnection(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-fs.conns:
		t.Fatal("unexpected connection")
	case <-time.After(d):
	}
}

type fakeConn struct {
	ws     *websocket.Conn
	path   string
	in     chan wire.Frame
	done   chan struct{}
	closed chan struct{} // closed by fakeServer.Close
	mute   atomic.Bool   // no pongs
	pings  atomic.Int64
	ack    atomic.Uint64 // last ping's ack
	wmu    sync.Mutex
}

func (fc *fakeConn) readLoop() {
	defer close(fc.done)
	for {
		_, msg, err := fc.ws.ReadMessage()
		if err != nil {
			return
		}
		frames, _ := wire.Split(msg)
		for _, f := range frames {
			if f.Op == wire.OpPing {
				var p wire.PingReq
				_ = f.Decode(&p)
				fc.ack.Store(p.Ack)
				fc.pings.Add(1)
				if !fc.mute.Load() {
					fc.write(wire.MustEncode(0, wire.OpPong, nil))
				}
				continue
			}
			select {
			case fc.in <- f:
			case <-fc.closed:
				return // the test is over and nobody reads
			}
		}
	}
}

func (fc *fakeConn) write(b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	_ = fc.ws.WriteMessage(websocket.TextMessage, b)
}

// next returns the next frame other than a ping.
func (fc *fakeConn) next(t *testing.T) wire.Frame {
	t.Helper()
	select {
	case f := <-fc.in:
		return f
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for a frame")
		return wire.Frame{}
	}
}

// expect returns the next frame, which must have op op, decoding its
// payload into v when v is not nil.
func (fc *fakeConn) expect(t *testing.T, op string, v any) wire.Frame {
	t.Helper()
	f := fc.next(t)
	if f.Op != op {
		t.Fatalf("got frame %s %s, want op %s", f.Describe(), f.D, op)
	}
	if v != nil {
		if err := f.Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (fc *fakeConn) reply(id uint64, d any) {
	if d == nil {
		d = struct{}{}
	}
	fc.write(wire.MustEncode(id, wire.OpResult, d))
}

func (fc *fakeConn) replyErr(id uint64, code wire.Code, msg string) {
	fc.write(wire.EncodeError(id, &wire.Error{Code: code, Msg: msg}))
}

// push sends a push frame with the given stream position.
func (fc *fakeConn) push(op string, seq, off uint64, d any) {
	raw, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(&wire.Frame{Op: op, Seq: seq, Off: off, D: raw})
	if err != nil {
		panic(err)
	}
	fc.write(b)
}

// drop cuts the connection without a close handshake.
func (fc *fakeConn) drop() { fc.ws.NetConn().Close() }

// waitPings waits until at least n pings arrived.
func (fc *fakeConn) waitPings(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for fc.pings.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d pings, want %d", fc.pings.Load(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not standing in for a condition
	}
}

// ---- recording callback ------------------------------------------------

// recorder is a Callback that records every event as a string such as
// "OnLoginSuccess(0,7)" (OnError leaves out the description, kept in
// errDescs) and lets tests wait for events.
type recorder struct {
	mu       sync.Mutex
	evs      []string
	errDescs []string
	changed  chan struct{}
	hook     func(ev string) // runs on the callback goroutine before recording
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(format string, args ...any) {
	ev := fmt.Sprintf(format, args...)
	r.mu.Lock()
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(ev)
	}
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) setHook(h func(string)) {
	r.mu.Lock()
	r.hook = h
	r.mu.Unlock()
}

// all returns every event so far, logs included.
func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// events returns the events so far without the OnLog lines.
func (r *recorder) events() []string {
	return slices.DeleteFunc(r.all(), func(s string) bool { return strings.HasPrefix(s, "OnLog(") })
}

// waitFor waits until an event equal to ev (or starting with it, when ev
// ends in "*") was recorded, and returns its index in all().
func (r *recorder) waitFor(t *testing.T, ev string) int {
	t.Helper()
	match := func(s string) bool { return s == ev }
	if p, ok := strings.CutSuffix(ev, "*"); ok {
		match = func(s string) bool { return strings.HasPrefix(s, p) }
	}
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		i := slices.IndexFunc(r.evs, match)
		ch := r.changed
		evs := slices.Clone(r.evs)
		r.mu.Unlock()
		if i >= 0 {
			return i
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events:\n%s", ev, strings.Join(evs, "\n"))
		}
	}
}

// since returns the non-log events after index i of all().
func (r *recorder) since(i int) []string {
	evs := r.all()[i+1:]
	return slices.DeleteFunc(evs, func(s string) bool { return strings.HasPrefix(s, "OnLog(") })
}

// between returns the non-log events strictly between the first event
// equal to from and the first later event equal to to, waiting for to.
func (r *recorder) between(t *testing.T, from, to string) []string {
	t.Helper()
	j := r.waitFor(t, to)
	evs := r.all()
	i := slices.Index(evs, from)
	if i < 0 || i > j {
		t.Fatalf("%s not before %s; events:\n%s", from, to, strings.Join(evs, "\n"))
	}
	return slices.DeleteFunc(evs[i+1:j], func(s string) bool { return strings.HasPrefix(s, "OnLog(") })
}

// waitUntil waits until pred holds for the events recorded so far.
func (r *recorder) waitUntil(t *testing.T, what string, pred func(evs []string) bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		ch := r.changed
		evs := slices.Clone(r.evs)
		r.mu.Unlock()
		if pred(evs) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events:\n%s", what, strings.Join(evs, "\n"))
		}
	}
}

func (r *recorder) has(ev string) bool { return slices.Contains(r.all(), ev) }

func (r *recorder) count(ev string) int { return countIn(r.all(), ev) }

func countIn(evs []string, ev string) int {
	n := 0
	for _, s := range evs {
		if s == ev {
			n++
		}
	}
	return n
}

// waitCount waits until ev was recorded at least n times.
func waitCount(t *testing.T, rec *recorder, ev string, n int) {
	t.Helper()
	rec.waitUntil(t, fmt.Sprintf("%d × %s", n, ev), func(evs []string) bool { return countIn(evs, ev) >= n })
}

func (r *recorder) OnReconnecting(n uint32)           { r.add("OnReconnecting(%d)", n) }
func (r *recorder) OnReconnected(fd int)              { r.add("OnReconnected(%d)", fd) }
func (r *recorder) OnLoginSuccess(uid uint32, fd int) { r.add("OnLoginSuccess(%d,%d)", uid, fd) }
func (r *recorder) OnLogout(ecode int)                { r.add("OnLogout(%d)", ecode) }
func (r *recorder) OnLoginFailed(ecode int)           { r.add("OnLoginFailed(%d)", ecode) }
func (r *recorder) OnError(name string, ecode int, desc string) {
	r.mu.Lock()
	r.errDescs = append(r.errDescs, desc)
	r.mu.Unlock()
	r.add("OnError(%s,%d)", name, ecode)
}
func (r *recorder) OnLog(txt string) { r.add("OnLog(%s)", txt) }
func (r *recorder) OnInvokeRet(callID, err, resp string) {
	r.add("OnInvokeRet(%s,%s,%s)", callID, err, resp)
}
func (r *recorder) OnQueryUserStatusResult(name, status string) {
	r.add("OnQueryUserStatusResult(%s,%s)", name, status)
}
func (r *recorder) OnUserAttrResult(account, name, value string) {
	r.add("OnUserAttrResult(%s,%s,%s)", account, name, value)
}
func (r *recorder) OnUserAttrAllResult(account, value string) {
	r.add("OnUserAttrAllResult(%s,%s)", account, value)
}
func (r *recorder) OnMessageSendError(id string, ecode int) {
	r.add("OnMessageSendError(%s,%d)", id, ecode)
}
func (r *recorder) OnMessageSendSuccess(id string) { r.add("OnMessageSendSuccess(%s)", id) }
func (r *recorder) OnMessageInstantReceive(account string, uid uint32, msg string) {
	r.add("OnMessageInstantReceive(%s,%d,%s)", account, uid, msg)
}
func (r *recorder) OnMessageChannelReceive(ch, account string, uid uint32, msg string) {
	r.add("OnMessageChannelReceive(%s,%s,%d,%s)", ch, account, uid, msg)
}
func (r *recorder) OnChannelJoined(ch string)            { r.add("OnChannelJoined(%s)", ch) }
func (r *recorder) OnChannelJoinFailed(ch string, e int) { r.add("OnChannelJoinFailed(%s,%d)", ch, e) }
func (r *recorder) OnChannelLeaved(ch string, e int)     { r.add("OnChannelLeaved(%s,%d)", ch, e) }
func (r *recorder) OnChannelUserJoined(a string, uid uint32) {
	r.add("OnChannelUserJoined(%s,%d)", a, uid)
}
func (r *recorder) OnChannelUserLeaved(a string, uid uint32) {
	r.add("OnChannelUserLeaved(%s,%d)", a, uid)
}
func (r *recorder) OnChannelUserList(accounts []string, uids []uint32) {
	r.add("OnChannelUserList(%v,%v)", accounts, uids)
}
func (r *recorder) OnChannelQueryUserNumResult(ch string, e, n int) {
	r.add("OnChannelQueryUserNumResult(%s,%d,%d)", ch, e, n)
}
func (r *recorder) OnChannelAttrUpdated(ch, name, value, typ string) {
	r.add("OnChannelAttrUpdated(%s,%s,%s,%s)", ch, name, value, typ)
}
func (r *recorder) OnInviteReceived(ch, a string, uid uint32, extra string) {
	r.add("OnInviteReceived(%s,%s,%d,%s)", ch, a, uid, extra)
}
func (r *recorder) OnInviteReceivedByPeer(ch, a string, uid uint32) {
	r.add("OnInviteReceivedByPeer(%s,%s,%d)", ch, a, uid)
}
func (r *recorder) OnInviteAcceptedByPeer(ch, a string, uid uint32, extra string) {
	r.add("OnInviteAcceptedByPeer(%s,%s,%d,%s)", ch, a, uid, extra)
}
func (r *recorder) OnInviteRefusedByPeer(ch, a string, uid uint32, extra string) {
	r.add("OnInviteRefusedByPeer(%s,%s,%d,%s)", ch, a, uid, extra)
}
func (r *recorder) OnInviteFailed(ch, a string, uid uint32, e int, extra string) {
	r.add("OnInviteFailed(%s,%s,%d,%d,%s)", ch, a, uid, e, extra)
}
func (r *recorder) OnInviteEndByPeer(ch, a string, uid uint32, extra string) {
	r.add("OnInviteEndByPeer(%s,%s,%d,%s)", ch, a, uid, extra)
}
func (r *recorder) OnInviteEndByMyself(ch, a string, uid uint32) {
	r.add("OnInviteEndByMyself(%s,%s,%d)", ch, a, uid)
}
func (r *recorder) OnInviteMsg(ch, a string, uid uint32, typ, data, extra string) {
	r.add("OnInviteMsg(%s,%s,%d,%s,%s,%s)", ch, a, uid, typ, data, extra)
}

// ---- fixtures ------------------------------------------------------------

// newClient makes an instance talking to fs (fast timings) with a recorder;
// it is destroyed when the test ends.
func newClient(t *testing.T, fs *fakeServer, opts ...Option) (*Client, *recorder) {
	t.Helper()
	all := append([]Option{fast()}, opts...)
	if fs != nil {
		all = append([]Option{WithServer(fs.URL)}, all...)
	}
	c := NewInstance("app", all...)
	rec := newRecorder()
	c.CallbackSet(rec)
	t.Cleanup(c.Destroy)
	return c, rec
}

// login logs c in as alice through fs and returns the server side of the
// connection, after onLoginSuccess(0, fd).
func login(t *testing.T, fs *fakeServer, c *Client, rec *recorder, fd int) *fakeConn {
	t.Helper()
	c.Login("app", "alice", "tok", 0, "")
	fc := fs.accept(t)
	var req wire.LoginReq
	f := fc.expect(t, wire.OpLogin, &req)
	fc.reply(f.ID, wire.LoginRes{Session: "s1", Fd: fd})
	rec.waitFor(t, fmt.Sprintf("OnLoginSuccess(0,%d)", fd))
	return fc
}

// join makes c join ch, answered with off and no members or attributes.
func join(t *testing.T, fc *fakeConn, c *Client, rec *recorder, ch string, off uint64) {
	t.Helper()
	const list = "OnChannelUserList([alice],[1])"
	n := rec.count(list)
	c.ChannelJoin(ch)
	f := fc.expect(t, wire.OpChannelJoin, nil)
	fc.reply(f.ID, wire.JoinRes{Channel: ch, Members: []wire.Member{{Account: "alice", UID: 1}}, Off: off})
	waitCount(t, rec, list, n+1)
}

// sentinel makes the engine emit an event after everything already queued:
// Logout while logged out reports OnLogout(108) in order. Only for tests
// where the client is logged out.
func sentinel(t *testing.T, c *Client, rec *recorder) {
	t.Helper()
	n := rec.count("OnLogout(108)")
	c.Logout()
	waitCount(t, rec, "OnLogout(108)", n+1)
}

// logSentinel pushes a log line and waits for it: every frame the server
// sent before has then been handled.
func logSentinel(t *testing.T, fc *fakeConn, rec *recorder, text string) int {
	t.Helper()
	fc.push(wire.PushLog, 0, 0, wire.LogLine{Text: text})
	return rec.waitFor(t, "OnLog("+text+")")
}

// blackHole is a TCP listener that accepts connections and never answers;
// closingListener accepts and closes at once. Both count accepts.
type testListener struct {
	ln       net.Listener
	accepted atomic.Int32
	done     chan struct{}
	mu       sync.Mutex
	held     []net.Conn
}

func newTestListener(t *testing.T, hold bool) *testListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := &testListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(tl.done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			tl.accepted.Add(1)
			if hold {
				tl.mu.Lock()
				tl.held = append(tl.held, nc)
				tl.mu.Unlock()
			} else {
				nc.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-tl.done
		tl.mu.Lock()
		for _, nc := range tl.held {
			nc.Close()
		}
		tl.mu.Unlock()
	})
	return tl
}

func (tl *testListener) URL() string { return "ws://" + tl.ln.Addr().String() }
