package bench

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server"
)

// peerCB is a callback that forwards logins and received peer messages.
type peerCB struct {
	sdk.BaseCallback
	login chan struct{}
	fail  chan string
	recv  func(from, msg string)
}

func (p *peerCB) OnLoginSuccess(uint32, int) { p.login <- struct{}{} }
func (p *peerCB) OnLoginFailed(code int)     { p.fail <- fmt.Sprintf("login failed: %d", code) }
func (p *peerCB) OnMessageSendError(mid string, code int) {
	p.fail <- fmt.Sprintf("send %s failed: %d", mid, code)
}
func (p *peerCB) OnMessageInstantReceive(from string, _ uint32, msg string) { p.recv(from, msg) }

// sdkPair is two logged-in SDK instances: alice, whose received messages go
// to got, and bob, who sends every message he receives back to its sender.
type sdkPair struct {
	alice, bob *sdk.Client
	got        chan string
	fail       chan string
}

func newSDKPair(tb testing.TB, url string) *sdkPair {
	tb.Helper()
	p := &sdkPair{got: make(chan string, 1), fail: make(chan string, 16)}
	p.alice = sdk.NewInstance(fanApp, sdk.WithServer(url))
	p.bob = sdk.NewInstance(fanApp, sdk.WithServer(url))
	tb.Cleanup(func() { p.alice.Destroy(); p.bob.Destroy() })
	acb := &peerCB{login: make(chan struct{}, 1), fail: p.fail, recv: func(_, msg string) { p.got <- msg }}
	bcb := &peerCB{login: make(chan struct{}, 1), fail: p.fail, recv: func(from, msg string) { p.bob.MessageInstantSend(from, 0, msg, "") }}
	p.alice.CallbackSet(acb)
	p.bob.CallbackSet(bcb)
	for _, x := range []struct {
		c  *sdk.Client
		cb *peerCB
		a  string
	}{{p.alice, acb, "alice"}, {p.bob, bcb, "bob"}} {
		x.c.Login(fanApp, x.a, "_no_need_token", 0, "")
		select {
		case <-x.cb.login:
		case e := <-p.fail:
			tb.Fatalf("%s: %s", x.a, e)
		case <-time.After(10 * time.Second):
			tb.Fatalf("%s: no login", x.a)
		}
	}
	return p
}

// roundTrip sends msg from alice to bob and waits for bob's echo.
func (p *sdkPair) roundTrip(msg string) error {
	p.alice.MessageInstantSend("bob", 0, msg, "")
	select {
	case got := <-p.got:
		if got != msg {
			return fmt.Errorf("echo %q, want %q", got, msg)
		}
		return nil
	case e := <-p.fail:
		return fmt.Errorf("%s", e)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no echo of %q within 10s", msg)
	}
}

// reportLatency reports the p50 and p99 of per-iteration durations.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i].Nanoseconds()) / 1e3
	}
	b.ReportMetric(q(0.50), "p50-us")
	b.ReportMetric(q(0.99), "p99-us")
}

// BenchmarkPeerRoundTripSDK: one op = alice's MessageInstantSend to bob,
// bob's OnMessageInstantReceive sending it back, alice's
// OnMessageInstantReceive seeing it: two peer messages through the server,
// each through both SDK engines and callback goroutines.
func BenchmarkPeerRoundTripSDK(b *testing.B) {
	srv := startServer(b)
	p := newSDKPair(b, srv.url)
	for i := 0; i < 100; i++ { // warm up connections and buffers
		if err := p.roundTrip("w" + strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	st0 := srv.node.Stats()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := p.roundTrip(strconv.Itoa(i)); err != nil {
			b.Fatalf("round trip %d: %v", i, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	if len(lat) != b.N {
		b.Fatalf("%d round trips measured, want %d", len(lat), b.N)
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "combined-cpu-us/op")
	reportFrames(b, st0, srv.node.Stats())
}

// reportFrames reports the frames the server read and wrote per op.
func reportFrames(b *testing.B, before, after server.Stats) {
	b.ReportMetric(float64(after.FramesIn-before.FramesIn)/float64(b.N), "srv-frames-in/op")
	b.ReportMetric(float64(after.FramesOut-before.FramesOut)/float64(b.N), "srv-frames-out/op")
}

// wirePeer is a raw wire client that reads peer.msg pushes and acknowledges them.
type wirePeer struct {
	c   *rawClient
	msg chan wire.Frame
	err chan error
}

func newWirePeer(tb testing.TB, url, account string) *wirePeer {
	tb.Helper()
	c, err := dialRaw(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.close)
	if err := c.login(fanApp, account); err != nil {
		tb.Fatal(err)
	}
	w := &wirePeer{c: c, msg: make(chan wire.Frame, 64), err: make(chan error, 1)}
	go func() {
		for {
			_, m, err := c.ws.ReadMessage()
			if err != nil {
				w.err <- err
				return
			}
			fs, err := wire.Split(m)
			if err != nil {
				w.err <- err
				return
			}
			for _, f := range fs {
				if f.Op == wire.OpResult && f.Err != nil {
					w.err <- f.Err
					return
				}
				if f.Op == wire.PushPeerMsg {
					w.msg <- f
				}
			}
		}
	}()
	return w
}

// BenchmarkPeerRoundTripWire is BenchmarkPeerRoundTripSDK with raw wire
// clients instead of SDK instances: what the server and the sockets cost
// without the SDK's goroutines. Bob echoes each message. ack=each
// acknowledges every received peer.msg with a ping at once, as the SDK does
// (sdk/push.go, engine.frames); ack=every64 acknowledges every 64th only,
// to show what those ping/pong exchanges cost.
func BenchmarkPeerRoundTripWire(b *testing.B) {
	b.Run("ack=each", func(b *testing.B) { benchPeerWire(b, 1) })
	b.Run("ack=every64", func(b *testing.B) { benchPeerWire(b, 64) })
}

func benchPeerWire(b *testing.B, ackEvery uint64) {
	srv := startServer(b)
	alice := newWirePeer(b, srv.url, "alice")
	bob := newWirePeer(b, srv.url, "bob")
	trip := func(i int) error {
		msg := strconv.Itoa(i)
		if _, err := alice.c.send(wire.OpPeerSend, wire.PeerSendReq{To: "bob", Msg: msg, MID: "a" + msg}); err != nil {
			return err
		}
		for _, step := range []struct {
			w    *wirePeer
			echo *rawClient
		}{{bob, bob.c}, {alice, nil}} {
			select {
			case f := <-step.w.msg:
				var pm wire.PeerMsg
				if err := f.Decode(&pm); err != nil || pm.Msg != msg {
					return fmt.Errorf("got %s, want message %q", f.Describe(), msg)
				}
				if step.echo != nil {
					if _, err := step.echo.send(wire.OpPeerSend, wire.PeerSendReq{To: "alice", Msg: msg, MID: "b" + msg}); err != nil {
						return err
					}
				}
				// Acknowledge, so the server's backlog stays short.
				if f.Seq%ackEvery == 0 {
					ack, _ := wire.Encode(0, wire.OpPing, wire.PingReq{Ack: f.Seq})
					if err := step.w.c.write(ack); err != nil {
						return err
					}
				}
			case err := <-step.w.err:
				return err
			case <-time.After(10 * time.Second):
				return fmt.Errorf("message %q: timeout", msg)
			}
		}
		return nil
	}
	for i := 0; i < 100; i++ {
		if err := trip(-1 - i); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	st0 := srv.node.Stats()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := trip(i); err != nil {
			b.Fatalf("round trip %d: %v", i, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	if len(lat) != b.N {
		b.Fatalf("%d round trips measured, want %d", len(lat), b.N)
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "combined-cpu-us/op")
	reportFrames(b, st0, srv.node.Stats())
}

// BenchmarkLoopbackEcho is the floor under the round-trip figures: one
// WebSocket message to a bare gorilla echo handler on loopback and back,
// with the same two goroutine hops per direction that xinling's server has
// (a reader that hands the frame to a writer goroutine).
func BenchmarkLoopbackEcho(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := websocket.Upgrader{}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		out := make(chan []byte, 64)
		go func() {
			for m := range out {
				if ws.WriteMessage(websocket.TextMessage, m) != nil {
					return
				}
			}
		}()
		defer close(out)
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				return
			}
			out <- m
		}
	})}
	go func() { _ = hs.Serve(l) }()
	b.Cleanup(func() { _ = hs.Close() })
	c, err := dialRaw("ws://" + l.Addr().String() + "/")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	msg := []byte(`{"op":"peer.msg","seq":1,"d":{"from":"alice","msg":"12345","ts":1700000000000}}`)
	trip := func() error {
		if err := c.write(msg); err != nil {
			return err
		}
		_, got, err := c.ws.ReadMessage()
		if err == nil && len(got) != len(msg) {
			err = fmt.Errorf("echo of %d bytes, want %d", len(got), len(msg))
		}
		return err
	}
	for i := 0; i < 100; i++ {
		if err := trip(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := trip(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	reportLatency(b, lat)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "combined-cpu-us/op")
}
