package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testNode starts a node behind a real HTTP server on loopback.
func testNode(t testing.TB, cfg Config) (*Node, string) {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = store.Memory()
	}
	if cfg.Heartbeat == 0 {
		// The raw clients send no pings: on a loaded machine a test can
		// outlast 3 × the default 5 s and see them closed as silent. The
		// tests of liveness set their own.
		cfg.Heartbeat = time.Hour
	}
	n := New(cfg)
	hs := httptest.NewServer(n)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
		hs.Close()
	})
	return n, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// raw is a client speaking the wire protocol directly.
type raw struct {
	t      testing.TB
	ws     *websocket.Conn
	nextID uint64
	queue  []wire.Frame
}

func dialRaw(t testing.TB, url string) *raw {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}
}

func (r *raw) write(b []byte) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// call sends a request and returns its answer, keeping pushes that arrive first.
func (r *raw) call(op string, d any) wire.Frame {
	r.t.Helper()
	r.nextID++
	id := r.nextID
	r.write(wire.MustEncode(id, op, d))
	return r.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == id })
}

// waitFor returns the first frame (queued or new) that matches, within 5 s.
func (r *raw) waitFor(match func(wire.Frame) bool) wire.Frame {
	r.t.Helper()
	for i, f := range r.queue {
		if match(f) {
			r.queue = append(r.queue[:i:i], r.queue[i+1:]...)
			return f
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = r.ws.SetReadDeadline(deadline)
		_, msg, err := r.ws.ReadMessage()
		if err != nil {
			r.t.Fatalf("waiting for a frame: %v", err)
		}
		frames, err := wire.Split(msg)
		if err != nil {
			r.t.Fatalf("bad frames from server: %v", err)
		}
		for i, f := range frames {
			if match(f) {
				r.queue = append(r.queue, frames[i+1:]...)
				return f
			}
			r.queue = append(r.queue, f)
		}
	}
}

func (r *raw) push(op string) wire.Frame {
	r.t.Helper()
	return r.waitFor(func(f wire.Frame) bool { return f.Op == op })
}

func (r *raw) login(app, account string) wire.LoginRes {
	r.t.Helper()
	f := r.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: app, Account: account, Token: "_no_need_token"})
	if f.Err != nil {
		r.t.Fatalf("login %s: %v", account, f.Err)
	}
	var res wire.LoginRes
	mustDecode(r.t, f, &res)
	return res
}

func mustDecode(t testing.TB, f wire.Frame, v any) {
	t.Helper()
	if err := json.Unmarshal(f.D, v); err != nil {
		t.Fatalf("decode %s: %v", f.Op, err)
	}
}

func TestRequestsBeforeLoginAreRefused(t *testing.T) {
	_, url := testNode(t, Config{})
	c := dialRaw(t, url)
	f := c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "x"})
	if f.Err == nil || f.Err.Code != wire.GeneralNotLogin {
		t.Fatalf("join before login: %+v", f)
	}
}

func TestLoginRefusals(t *testing.T) {
	_, url := testNode(t, Config{Apps: map[string]string{"secure": "cert"}, Closed: true})
	cases := []struct {
		req  wire.LoginReq
		want wire.Code
	}{
		{wire.LoginReq{Proto: 99, App: "secure", Account: "a"}, wire.LoginOldVersion},
		{wire.LoginReq{Proto: 1, App: "other", Account: "a"}, wire.LoginFailed},
		{wire.LoginReq{Proto: 1, App: "secure", Account: "a b"}, wire.LoginInvalidUser},
		{wire.LoginReq{Proto: 1, App: "secure", Account: "a", Token: "_no_need_token"}, wire.LoginTokenWrong},
		{wire.LoginReq{Proto: 1, App: "secure", Account: "a", Token: "1:secure:1:0123"}, wire.LoginTokenWrong},
	}
	for _, tc := range cases {
		c := dialRaw(t, url)
		f := c.call(wire.OpLogin, tc.req)
		if f.Err == nil || f.Err.Code != tc.want {
			t.Errorf("login %+v: got %+v, want code %d", tc.req, f.Err, tc.want)
		}
	}
}

// TestMalformedInput sends what a hostile client might and checks that each
// gets an error while the connection, and the server, keep working.
func TestMalformedInput(t *testing.T) {
	_, url := testNode(t, Config{})
	c := dialRaw(t, url)
	c.login("app", "alice")
	bad := []string{
		`not json`,
		`{"op":""}`,
		`{"id":5}`,
		`{"id":6,"op":"no.such.op"}`,
		`{"id":7,"op":"ch.join","d":{"ch":12}}`,
		`{"id":8,"op":"ch.join","d":"str"}`,
		`{"id":9,"op":"peer.send","d":{"to":"","msg":"x"}}`,
		`{"id":10,"op":"ch.setattr","d":{"ch":"c","name":"_member_num","value":"3"}}`,
		`{"id":11,"op":"ch.setattr","d":{"ch":"c","name":"n","value":"` + strings.Repeat("v", wire.MaxValueBytes+1) + `"}}`,
		`{"id":12,"op":"invoke","d":{"name":"io.agora.signal.nope","req":{}}}`,
		`{"id":13,"op":"login","d":{}}`,
	}
	for _, b := range bad {
		c.write([]byte(b))
	}
	// Every request with an id got an error; the rest got id-0 errors.
	for id := uint64(6); id <= 13; id++ {
		f := c.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == id })
		if f.Err == nil {
			t.Errorf("request %d: no error: %s", id, f.D)
		}
	}
	// The session still works.
	f := c.call(wire.OpChannelCount, wire.ChannelReq{Channel: "c"})
	if f.Err != nil {
		t.Fatalf("count after garbage: %v", f.Err)
	}
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	_, url := testNode(t, Config{})
	good := dialRaw(t, url)
	good.login("app", "good")
	bad := dialRaw(t, url)
	bad.login("app", "bad")
	bad.write([]byte(`{"id":1,"op":"ping","d":"` + strings.Repeat("x", wire.MaxFrameBytes) + `"}`))
	_ = bad.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := bad.ws.ReadMessage(); err != nil {
			break
		}
	}
	if f := good.call(wire.OpUserStatus, wire.UserAttrReq{Account: "good"}); f.Err != nil {
		t.Fatalf("other client affected: %v", f.Err)
	}
}

// TestSilentClientIsDetected: a client that stops sending (a peer that
// vanished without a FIN) is dropped after three heartbeat intervals, and
// its session ends after the grace period.
func TestSilentClientIsDetected(t *testing.T) {
	n, url := testNode(t, Config{Heartbeat: 100 * time.Millisecond, Grace: 100 * time.Millisecond})
	watcher := dialRaw(t, url)
	watcher.login("app", "watcher")
	silent := dialRaw(t, url)
	res := silent.login("app", "silent")
	if res.Heartbeat != 100 {
		t.Fatalf("login told heartbeat %d ms, want 100", res.Heartbeat)
	}
	// The watcher keeps pinging while the silent client waits to be dropped.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = watcher.ws.WriteMessage(websocket.TextMessage, wire.MustEncode(0, wire.OpPing, wire.PingReq{}))
			}
		}
	}()
	start := time.Now()
	_ = silent.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for { // the server closes the socket; we never ping
		if _, _, err := silent.ws.ReadMessage(); err != nil {
			break
		}
	}
	close(stop)
	<-stopped
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second {
		t.Fatalf("silent client dropped after %v, want about 3 × 100 ms", el)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st wire.StatusRes
		mustDecode(t, watcher.call(wire.OpUserStatus, wire.UserAttrReq{Account: "silent"}), &st)
		if !st.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session of a dead client still online; stats %+v", n.Stats())
		}
		watcher.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{})) // keep the watcher alive
		// Polling the server's state, with a deadline; unpaced, the
		// polls pass the request rate and are refused (1001).
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPingsKeepAClientAlive is the converse: pings at the interval keep it.
func TestPingsKeepAClientAlive(t *testing.T) {
	_, url := testNode(t, Config{Heartbeat: 100 * time.Millisecond})
	c := dialRaw(t, url)
	c.login("app", "alive")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range 8 { // 800 ms, well past 3 intervals
		<-tick.C
		c.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{}))
		c.push(wire.OpPong)
	}
	if f := c.call(wire.OpUserStatus, wire.UserAttrReq{Account: "alive"}); f.Err != nil {
		t.Fatalf("connection lost despite pings: %v", f.Err)
	}
}

func TestConnectionCaps(t *testing.T) {
	n, url := testNode(t, Config{MaxConnsPerAddr: 2})
	dialRaw(t, url)
	dialRaw(t, url)
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("third connection from one address: err %v resp %v, want 503", err, resp)
	}
	if n.Stats().Refused != 1 {
		t.Fatalf("refused = %d", n.Stats().Refused)
	}

	_, url2 := testNode(t, Config{MaxConns: 1})
	dialRaw(t, url2)
	if _, resp, _ := websocket.DefaultDialer.Dial(url2, nil); resp == nil || resp.StatusCode != 503 {
		t.Fatalf("connection past --max-conns was not refused: %v", resp)
	}
}

func TestConnectionSlotIsFreedOnClose(t *testing.T) {
	n, url := testNode(t, Config{MaxConnsPerAddr: 1})
	c := dialRaw(t, url)
	c.login("app", "a")
	c.ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for n.Stats().Connections != 0 {
		if time.Now().After(deadline) {
			t.Fatal("closed connection still counted")
		}
		time.Sleep(5 * time.Millisecond) // polling the server's count, with a deadline
	}
	dialRaw(t, url).login("app", "a")
}

func TestLoginRateLimit(t *testing.T) {
	_, url := testNode(t, Config{LoginRate: 2})
	codes := []wire.Code{}
	for i := range 3 {
		c := dialRaw(t, url)
		f := c.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: fmt.Sprint("u", i)})
		if f.Err != nil {
			codes = append(codes, f.Err.Code)
		}
	}
	if len(codes) != 1 || codes[0] != wire.LoginNet {
		t.Fatalf("login errors %v, want one 201 (try again)", codes)
	}
}

func TestAllowedOrigins(t *testing.T) {
	_, url := testNode(t, Config{AllowedOrigins: []string{"https://app.example"}})
	h := http.Header{"Origin": []string{"https://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial(url, h); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin admitted: %v %v", err, resp)
	}
	h.Set("Origin", "https://app.example")
	ws, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	ws.Close()
	dialRaw(t, url) // no Origin: a program, admitted
}
