package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// The crash tests use rawPeer, a client written from docs/PROTOCOL.md alone
// and without the SDK's own dedupe by message id: what they check is the
// protocol's promise (exactly once, with the cursor and message ids), not
// the SDK covering for the server.

// rawPeer sends a peer message to its partner every interval and takes
// what its partner sends, reconnecting (to the next URL) whenever its
// connection ends.
type rawPeer struct {
	account, to string
	urls        []string
	interval    time.Duration
	cursor      bool // send the login cursor (else a client that does not: at-least-once)

	wmu sync.Mutex // serializes writes on ws
	mu  sync.Mutex
	ws  *websocket.Conn
	url int
	// next: where a goaway sent the next login (the node serving the account)
	next string

	nextID  uint64
	loginID uint64
	n       int               // messages made
	pending map[uint64]string // request id → mid, sent and not answered
	resend  []string          // mids to send again on the next session
	sent    map[string]bool   // mids answered with success
	failed  map[string]bool   // mids refused
	got     map[string]int    // mids delivered to the application
	// receipted: mids whose acknowledgement this client wrote before its
	// connection ended (the server must have applied it).
	receipted map[string]bool
	session   []string // mids delivered in the current session, in seq order
	seqs      []uint64
	acked     uint64 // last seq acknowledged in the session
	seq       uint64 // last seq delivered in the session
	queue     string
	key       uint64 // the cursor
	dropped   int    // redeliveries dropped by key
	online    bool
	logins    int
	lastErr   error
}

func newRawPeer(account, to string, urls []string, interval time.Duration, cursor bool) *rawPeer {
	return &rawPeer{account: account, to: to, urls: urls, interval: interval, cursor: cursor,
		pending: map[uint64]string{}, sent: map[string]bool{}, failed: map[string]bool{},
		got: map[string]int{}, receipted: map[string]bool{}}
}

// run keeps the peer connected until ctx ends; send is closed to stop sending.
func (p *rawPeer) run(ctx context.Context, send <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	conns := make(chan error, 1)
	go func() { conns <- p.connect(ctx) }()
	sending := true
	for {
		select {
		case <-ctx.Done():
			p.closeConn()
			<-conns
			return
		case err := <-conns:
			p.mu.Lock()
			p.lastErr = err // lost: connect again, after a moment
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			go func() { conns <- p.connect(ctx) }()
		case <-send:
			sending, send = false, nil
		case <-tick.C:
			if sending {
				p.sendNew()
			}
		}
	}
}

func (p *rawPeer) closeConn() {
	p.mu.Lock()
	ws := p.ws
	p.mu.Unlock()
	if ws != nil {
		ws.Close()
	}
}

// connect logs in on the next URL and reads until the connection ends.
func (p *rawPeer) connect(ctx context.Context) error {
	p.mu.Lock()
	url := "ws://" + p.urls[p.url%len(p.urls)]
	p.url++
	if p.next != "" {
		url, p.next = p.next, ""
	}
	p.mu.Unlock()
	d := websocket.Dialer{HandshakeTimeout: 2 * time.Second}
	ws, _, err := d.DialContext(ctx, url+"/ws", nil)
	if err != nil {
		return err
	}
	defer ws.Close()
	p.mu.Lock()
	p.ws = ws
	p.nextID++
	p.loginID = p.nextID
	req := wire.LoginReq{Proto: wire.Version, App: "crash", Account: p.account, Token: "_no_need_token"}
	if p.cursor && p.key > 0 {
		req.Cursor = &wire.Cursor{Queue: p.queue, Key: p.key}
	}
	login := wire.MustEncode(p.loginID, wire.OpLogin, req)
	p.mu.Unlock()
	if err := p.write(ws, login); err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go p.heartbeat(ws, stop)
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			p.lost()
			return err
		}
		frames, _ := wire.Split(msg)
		for i := range frames {
			if !p.frame(ws, &frames[i]) {
				p.lost()
				return fmt.Errorf("%s: connection ended by the server", p.account)
			}
		}
		p.ackNow(ws)
	}
}

func (p *rawPeer) write(ws *websocket.Conn, b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, b)
}

func (p *rawPeer) heartbeat(ws *websocket.Conn, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			ack := p.acked
			p.mu.Unlock()
			_ = p.write(ws, wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: ack}))
		}
	}
}

// frame handles one frame; false when the server ends the connection.
func (p *rawPeer) frame(ws *websocket.Conn, f *wire.Frame) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch f.Op {
	case wire.OpResult:
		if f.ID == p.loginID {
			if f.Err != nil {
				return false
			}
			var res wire.LoginRes
			_ = f.Decode(&res)
			if res.Queue != p.queue {
				p.queue, p.key = res.Queue, 0
			}
			p.online, p.logins = true, p.logins+1
			p.session, p.seqs, p.seq, p.acked = nil, nil, 0, 0
			// What the last session got no answer for goes again, with
			// its message id: the server must not queue it twice.
			for id, mid := range p.pending {
				delete(p.pending, id)
				p.resend = append(p.resend, mid)
			}
			for _, mid := range p.resend {
				p.sendLocked(ws, mid)
			}
			p.resend = nil
			return true
		}
		mid, ok := p.pending[f.ID]
		if !ok {
			return true
		}
		delete(p.pending, f.ID)
		if f.Err != nil {
			p.failed[mid] = true
			p.lastErr = f.Err
		} else {
			p.sent[mid] = true
		}
	case wire.PushPeerMsg:
		var m wire.PeerMsg
		if f.Decode(&m) != nil || f.Seq <= p.seq {
			return true
		}
		p.seq = f.Seq
		p.session, p.seqs = append(p.session, m.MID), append(p.seqs, f.Seq)
		if p.cursor && m.Key > 0 {
			if m.Key <= p.key {
				p.dropped++
				return true
			}
			p.key = m.Key
		}
		p.got[m.MID]++
	case wire.PushGoAway:
		var g wire.GoAway
		if f.Decode(&g) == nil && g.URL != "" {
			p.next = strings.TrimSuffix(g.URL, "/")
		}
		return false
	case wire.PushKicked:
		return false
	}
	return true
}

// ackNow acknowledges what the last message delivered, at once.
func (p *rawPeer) ackNow(ws *websocket.Conn) {
	p.mu.Lock()
	seq := p.seq
	if seq <= p.acked {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if p.write(ws, wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: seq})) != nil {
		return
	}
	p.mu.Lock()
	p.acked = seq
	for i, s := range p.seqs {
		if s <= seq {
			p.receipted[p.session[i]] = true
		}
	}
	p.mu.Unlock()
}

// lost notes that the connection ended.
func (p *rawPeer) lost() {
	p.mu.Lock()
	p.online = false
	p.ws = nil
	p.mu.Unlock()
}

func (p *rawPeer) sendNew() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	mid := fmt.Sprintf("%s-%d", p.account, p.n)
	if p.ws == nil || !p.online {
		p.resend = append(p.resend, mid)
		return
	}
	p.sendLocked(p.ws, mid)
}

func (p *rawPeer) sendLocked(ws *websocket.Conn, mid string) {
	p.nextID++
	id := p.nextID
	p.pending[id] = mid
	b := wire.MustEncode(id, wire.OpPeerSend, wire.PeerSendReq{To: p.to, Msg: mid, MID: mid})
	go func() { _ = p.write(ws, b) }() // a failed write: the next session resends it
}

// describe says where the peer is, for a failure's message.
func (p *rawPeer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%s: online %v (url %d), %d logins, %d made, %d sent, %d failed, %d pending, %d to resend, %d got, last error %v",
		p.account, p.online, p.url, p.logins, p.n, len(p.sent), len(p.failed), len(p.pending), len(p.resend), len(p.got), p.lastErr)
}

// settled reports whether every message made was answered.
func (p *rawPeer) settled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) == 0 && len(p.resend) == 0 && len(p.sent)+len(p.failed) == p.n
}

// crashRun drives pairs of raw peers through a crash of the server(s):
// they exchange messages for a while, crash() kills (and restarts) what it
// kills, they go on, then stop sending; every acknowledged message must
// reach its recipient exactly once, and none twice.
func crashRun(t *testing.T, pairs int, every time.Duration, urls []string, cursor bool, crash func(peers []*rawPeer)) []*rawPeer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var peers []*rawPeer
	for i := range pairs {
		a := fmt.Sprintf("a%d", i)
		b := fmt.Sprintf("b%d", i)
		// Partners start on different nodes of a cluster.
		pa := newRawPeer(a, b, urls, every, cursor)
		pb := newRawPeer(b, a, append(urls[1%len(urls):], urls[:1%len(urls)]...), every, cursor)
		peers = append(peers, pa, pb)
	}
	sends := make([]chan struct{}, len(peers))
	for i, p := range peers {
		sends[i] = make(chan struct{})
		wg.Add(1)
		go p.run(ctx, sends[i], &wg)
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	waitAll := func(what string, d time.Duration, cond func(p *rawPeer) bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			left := 0
			for _, p := range peers {
				if !cond(p) {
					left++
				}
			}
			if left == 0 {
				return
			}
			if time.Now().After(deadline) {
				var stuck []string
				for _, p := range peers {
					if !cond(p) && len(stuck) < 5 {
						stuck = append(stuck, p.describe())
					}
				}
				t.Fatalf("%s: %d of %d peers still not, such as:\n%s", what, left, len(peers), strings.Join(stuck, "\n"))
			}
			time.Sleep(20 * time.Millisecond) // peers' state, polled with a deadline
		}
	}
	acked := func(p *rawPeer) int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.sent) }
	waitAll("logged in", 60*time.Second, func(p *rawPeer) bool { p.mu.Lock(); defer p.mu.Unlock(); return p.logins > 0 })
	for range 2 {
		before := map[*rawPeer]int{}
		for _, p := range peers {
			before[p] = acked(p)
		}
		waitAll("sending", 60*time.Second, func(p *rawPeer) bool { return acked(p) >= before[p]+5 })
		crash(peers)
	}
	before := map[*rawPeer]int{}
	for _, p := range peers {
		before[p] = acked(p)
	}
	waitAll("sending again after the crash", 60*time.Second, func(p *rawPeer) bool { return acked(p) >= before[p]+5 })
	for _, s := range sends {
		close(s)
	}
	waitAll("every send answered", 60*time.Second, (*rawPeer).settled)
	byAccount := map[string]*rawPeer{}
	for _, p := range peers {
		byAccount[p.account] = p
	}
	waitAll("every acknowledged message delivered", 60*time.Second, func(p *rawPeer) bool {
		r := byAccount[p.to]
		p.mu.Lock()
		defer p.mu.Unlock()
		r.mu.Lock()
		defer r.mu.Unlock()
		for mid := range p.sent {
			if r.got[mid] == 0 {
				return false
			}
		}
		return true
	})
	return peers
}

// checkOnce fails for any message delivered more than once.
func checkOnce(t *testing.T, peers []*rawPeer) {
	t.Helper()
	var sent, delivered, dropped, twice int
	for _, p := range peers {
		p.mu.Lock()
		sent += len(p.sent)
		dropped += p.dropped
		for mid, n := range p.got {
			delivered++
			if n > 1 {
				if twice++; twice <= 5 {
					t.Errorf("%s got %q %d times", p.account, mid, n)
				}
			}
		}
		p.mu.Unlock()
	}
	if twice > 0 {
		t.Errorf("%d messages delivered more than once", twice)
	}
	t.Logf("%d peers: %d messages acknowledged, %d delivered, %d redeliveries dropped by the cursor", len(peers), sent, delivered, dropped)
}

// TestCrashSIGKILLExactlyOnce: 1,000 sessions exchange peer messages with
// --data (5 per second each); the server is killed and restarted on the
// same data, twice. Every
// message acknowledged to its sender reaches its recipient's application
// once, and no message twice — with a client that follows the protocol
// (cursor at login, resend with the same id) and has no dedupe of its own.
func TestCrashSIGKILLExactlyOnce(t *testing.T) {
	for _, c := range []struct {
		name  string
		pairs int
		every time.Duration
	}{
		{"1000 sessions", 500, 200 * time.Millisecond},
		{"200 sessions at 25 per second", 100, 40 * time.Millisecond}, // issue 11's attack: 19 % twice before
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--max-conns-per-addr", "5000", "--login-rate", "100000")
			peers := crashRun(t, c.pairs, c.every, []string{s.addr}, true, func([]*rawPeer) {
				if err := s.stop(syscall.SIGKILL); err == nil {
					t.Fatal("SIGKILL did not kill")
				}
				s = s.again()
			})
			checkOnce(t, peers)
		})
	}
}

// TestCrashClusterSIGKILLNode: the same on three nodes; each crash kills a
// node (the others take its shards, reading their logs), which then comes
// back and takes its share again.
func TestCrashClusterSIGKILLNode(t *testing.T) {
	procs := startServeCluster(t, "--max-conns-per-addr", "5000", "--login-rate", "100000")
	reportOnFailure(t, procs)
	var urls []string
	for _, p := range procs {
		urls = append(urls, p.addr)
	}
	waitSpread(t, procs)
	crashes := 0
	peers := crashRun(t, 500, time.Second, urls, true, func([]*rawPeer) {
		k := crashes % len(procs)
		crashes++
		if err := procs[k].stop(syscall.SIGKILL); err == nil {
			t.Fatal("SIGKILL did not kill")
		}
		waitSpread(t, procs, k)
		procs[k] = procs[k].again()
		waitSpread(t, procs)
	})
	checkOnce(t, peers)
}

// TestCrashSIGTERMAppliesReceipts: a shutdown applies every acknowledgement
// a client sent before the server told it to go: a client that sends no
// cursor gets again, after the restart, only what it had not acknowledged.
func TestCrashSIGTERMAppliesReceipts(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--max-conns-per-addr", "5000", "--login-rate", "100000")
	var receipted []map[string]bool
	peers := crashRun(t, 100, 40*time.Millisecond, []string{s.addr}, false, func(peers []*rawPeer) {
		// What each had acknowledged before the shutdown began.
		for _, p := range peers {
			p.mu.Lock()
			r := make(map[string]bool, len(p.receipted))
			for mid := range p.receipted {
				r[mid] = true
			}
			receipted = append(receipted, r)
			p.mu.Unlock()
		}
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Fatalf("serve exited with %v after SIGTERM; log:\n%s", err, s.log)
		}
		s = s.again()
	})
	redelivered, again := 0, 0
	for i, p := range peers {
		p.mu.Lock()
		for mid, n := range p.got {
			if n > 1 {
				again++
				if receipted[i][mid] {
					redelivered++
					if redelivered <= 5 {
						t.Errorf("%s got %q again after acknowledging it before the shutdown", p.account, mid)
					}
				}
			}
		}
		p.mu.Unlock()
	}
	if redelivered > 0 {
		t.Errorf("%d acknowledged messages delivered again: receipts lost at shutdown", redelivered)
	}
	t.Logf("%d messages delivered again (unacknowledged when the server went away; no cursor)", again)
}

// notable is what a server logged of its role and store, its warnings and
// errors: the last 40 such lines.
func notable(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") ||
			strings.Contains(l, "core") || strings.Contains(l, "store") || strings.Contains(l, "lease") {
			out = append(out, l)
		}
	}
	return strings.Join(out[max(0, len(out)-40):], "\n")
}
