package sipgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/xinling/xinling/server/gateway"
)

// The SIP tests run against a real peer: sipp (Debian package sip-tester)
// as a UAS, one process per test, on a free loopback UDP port, playing a
// scenario from testdata/. sipp's exit code says whether the scenario
// completed: 0 means every message it expects arrived, in order, and
// passed its checks.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitLimit = 10 * time.Second // for anything that should take milliseconds

// ---- a recording gateway.Events ----

type recorder struct {
	mu     sync.Mutex
	events []string
	change chan struct{} // closed and replaced on every event
}

func newRecorder() *recorder { return &recorder{change: make(chan struct{})} }

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.change)
	r.change = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) Ringing()              { r.add("ringing") }
func (r *recorder) Answered(extra string) { r.add("answered:" + extra) }
func (r *recorder) Rejected(code int, reason string) {
	r.add(fmt.Sprintf("rejected:%d %s", code, reason))
}
func (r *recorder) Failed(reason string) { r.add("failed:" + reason) }
func (r *recorder) Hangup()              { r.add("hangup") }

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// waitFor waits until n events have arrived and returns them all.
func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		evs, ch := append([]string(nil), r.events...), r.change
		r.mu.Unlock()
		if len(evs) >= n {
			return evs
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("waited %v for %d events; have %q", waitLimit, n, evs)
		}
	}
}

func sameEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events = %q, want %q", got, want)
	}
}

// ---- sipp ----

type sipp struct {
	addr   string // host:port it listens on
	dir    string // its logs
	cmd    *exec.Cmd
	out    *bytes.Buffer
	done   chan struct{}
	err    error // from Wait, once done is closed
	waited bool
}

// startSipp runs sipp as a UAS playing testdata/<scenario> once.
func startSipp(t *testing.T, scenario string) *sipp {
	t.Helper()
	return startSippOn(t, scenario, "127.0.0.1")
}

// startSippOn is startSipp on another loopback address (::1).
func startSippOn(t *testing.T, scenario, host string) *sipp {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("sipp not on PATH: these tests need a real SIP peer (Debian/Ubuntu: apt-get install sip-tester)")
	}
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t, host)
	dir := t.TempDir()
	s := &sipp{addr: net.JoinHostPort(host, strconv.Itoa(port)), dir: dir, out: new(bytes.Buffer), done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"-sf", sf,
		"-i", host, "-p", strconv.Itoa(port),
		"-m", "1", // one call, then exit: 0 if it completed
		"-nostdin",
		"-timeout", "20s", "-timeout_error", // a stuck scenario fails, it does not hang
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
	)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			s.dump(t)
		}
	})

	// Wait until sipp has bound its port, or has died. (Probing by binding
	// the port ourselves would race with sipp's own bind.) Without /proc,
	// don't wait: the INVITE's retransmissions cover a late sipp.
	deadline := time.Now().Add(waitLimit)
	for {
		select {
		case <-s.done:
			t.Fatalf("sipp exited at start: %v\n%s", s.err, s.out)
		default:
		}
		if known, bound := udpPortBound(port); !known || bound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sipp did not bind its port")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// wait waits for sipp to finish its one call and wants exit code 0.
func (s *sipp) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("sipp did not finish its scenario")
	}
	if s.err != nil {
		t.Fatalf("sipp: %v (the scenario did not complete; see its logs below)", s.err)
	}
}

func (s *sipp) dump(t *testing.T) {
	t.Logf("sipp output:\n%s", s.out)
	for _, f := range []string{"errors.log", "messages.log"} {
		if b, err := os.ReadFile(filepath.Join(s.dir, f)); err == nil {
			t.Logf("sipp %s:\n%s", f, b)
		}
	}
}

// udpPortBound looks for a local UDP socket on port in /proc/net/udp{,6};
// known is false where those files do not exist.
func udpPortBound(port int) (known, bound bool) {
	suffix := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		known = true
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fields := strings.Fields(line); len(fields) > 1 && strings.HasSuffix(fields[1], suffix) {
				return true, true
			}
		}
	}
	return known, false
}

func freeUDPPort(t *testing.T, host string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// ---- the gateway under test ----

// logWriter sends logs to the test while it runs, and nowhere after.
type logWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	level := slog.LevelInfo
	if os.Getenv("SIPGW_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func newGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	cfg.Logger = testLogger(t)
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

func dial(t *testing.T, g *Gateway, number string) (gateway.Leg, *recorder) {
	t.Helper()
	rec := newRecorder()
	leg, err := g.Dial(context.Background(), gateway.Call{
		App: "app1", Channel: "room-42", Caller: "alice", Number: number,
	}, rec)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return leg, rec
}

// ---- calls against sipp ----

// Answered, DTMF "12#" (sipp requires three INFOs with those signals), then
// our BYE.
func TestAnswerDTMFHangup(t *testing.T) {
	s := startSipp(t, "uas_answer.xml")
	g := newGateway(t, Config{Proxy: s.addr})
	leg, rec := dial(t, g, "+86 138-0000-0001")

	// 100 is silent, 180 then 183 ring once, 200 answers.
	sameEvents(t, rec.waitFor(t, 2), "ringing", "answered:")

	if err := leg.SendDTMF("1a"); err == nil {
		t.Fatal(`SendDTMF("1a") = nil, want an error for the bad digit`)
	}
	if err := leg.SendDTMF(""); err == nil {
		t.Fatal(`SendDTMF("") = nil, want an error`)
	}
	if err := leg.SendDTMF("12#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if err := leg.Hangup(); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if err := leg.Hangup(); err != nil {
		t.Fatalf("second Hangup: %v", err)
	}
	if err := leg.SendDTMF("1"); err == nil {
		t.Fatal("SendDTMF after Hangup = nil, want an error")
	}
	s.wait(t)
	if err := g.Close(); err != nil { // delivers anything still queued
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "ringing", "answered:")
}

// Close on an answered call sends BYE (the scenario waits for it after
// the three INFOs) and reports nothing more.
func TestCloseHangsUpAnswered(t *testing.T) {
	s := startSipp(t, "uas_answer.xml")
	g := newGateway(t, Config{Proxy: s.addr})
	leg, rec := dial(t, g, "+8613800000001")
	sameEvents(t, rec.waitFor(t, 2), "ringing", "answered:")
	if err := leg.SendDTMF("12#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.wait(t)
	sameEvents(t, rec.snapshot(), "ringing", "answered:")
}

// Busy, with the default listen address and with an unspecified one
// (the gateway then advertises the address that routes to the proxy).
func TestBusy(t *testing.T) {
	for _, listen := range []string{"", "0.0.0.0:0"} {
		t.Run("listen="+listen, func(t *testing.T) { testBusy(t, listen) })
	}
}

func testBusy(t *testing.T, listen string) {
	s := startSipp(t, "uas_busy.xml")
	g := newGateway(t, Config{Proxy: s.addr, Listen: listen})
	if host, _, _ := net.SplitHostPort(g.Addr()); host != "127.0.0.1" {
		t.Fatalf("advertised %s, want 127.0.0.1", g.Addr())
	}
	leg, rec := dial(t, g, "13800000002")

	sameEvents(t, rec.waitFor(t, 1), "rejected:486 Busy Here")
	s.wait(t) // it got the ACK for the 486
	if err := leg.Hangup(); err != nil {
		t.Fatalf("Hangup after Rejected: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "rejected:486 Busy Here")
}

func TestFarEndBye(t *testing.T) {
	s := startSipp(t, "uas_hangup.xml")
	g := newGateway(t, Config{Proxy: s.addr})
	leg, rec := dial(t, g, "13800000003")

	sameEvents(t, rec.waitFor(t, 2), "answered:", "hangup")
	s.wait(t) // it got the 200 for its BYE
	if err := leg.SendDTMF("1"); err == nil {
		t.Fatal("SendDTMF after the far end hung up = nil, want an error")
	}
	if err := leg.Hangup(); err != nil { // nothing to do, nothing sent
		t.Fatalf("Hangup after Hangup event: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "answered:", "hangup")
}

// The same over IPv6: sipgo wants IPv6 hosts bracketed in URIs and Via.
func TestBusyIPv6(t *testing.T) {
	if pc, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here")
	} else {
		pc.Close()
	}
	s := startSippOn(t, "uas_busy.xml", "::1")
	g := newGateway(t, Config{Proxy: s.addr, Listen: "[::1]:0"})
	_, rec := dial(t, g, "13800000009")
	sameEvents(t, rec.waitFor(t, 1), "rejected:486 Busy Here")
	s.wait(t)
}

// Ringing, then our Hangup: CANCEL, 200, 487, ACK; no event after Ringing.
func TestRingThenHangup(t *testing.T) {
	s := startSipp(t, "uas_ring_cancel.xml")
	g := newGateway(t, Config{Proxy: s.addr})
	leg, rec := dial(t, g, "13800000004")

	sameEvents(t, rec.waitFor(t, 1), "ringing")
	if err := leg.SendDTMF("1"); err == nil {
		t.Fatal("SendDTMF before the answer = nil, want an error")
	}
	if err := leg.Hangup(); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	s.wait(t)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "ringing")
}

// Nobody answers within RingTimeout: Failed, and the INVITE is cancelled.
func TestRingTimeout(t *testing.T) {
	s := startSipp(t, "uas_ring_cancel.xml")
	g := newGateway(t, Config{Proxy: s.addr, RingTimeout: 300 * time.Millisecond})
	leg, rec := dial(t, g, "13800000005")

	sameEvents(t, rec.waitFor(t, 2), "ringing", "failed:no answer within 300ms")
	s.wait(t) // it got the CANCEL and the ACK for its 487
	if err := leg.Hangup(); err != nil {
		t.Fatalf("Hangup after Failed: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "ringing", "failed:no answer within 300ms")
}

// Close cancels a ringing call, reports nothing for it, and refuses new
// calls.
func TestCloseCancelsCalls(t *testing.T) {
	s := startSipp(t, "uas_ring_cancel.xml")
	g := newGateway(t, Config{Proxy: s.addr})
	_, rec := dial(t, g, "13800000006")

	sameEvents(t, rec.waitFor(t, 1), "ringing")
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.wait(t)
	sameEvents(t, rec.snapshot(), "ringing")
	if _, err := g.Dial(context.Background(), gateway.Call{Number: "1"}, newRecorder()); err == nil {
		t.Fatal("Dial after Close = nil error")
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// ---- without sipp ----

// A request the transport cannot send fails the call.
func TestTransportErrorFails(t *testing.T) {
	// An IPv4 socket cannot send to an IPv6 proxy: the INVITE's write fails.
	g := newGateway(t, Config{Proxy: "[::1]:5060"})
	_, rec := dial(t, g, "13800000007")
	evs := rec.waitFor(t, 1)
	if len(evs) != 1 || !strings.HasPrefix(evs[0], "failed:send INVITE:") || !strings.Contains(evs[0], "transport error") {
		t.Fatalf("events = %q, want one failed:send INVITE: … transport error", evs)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.snapshot(); len(got) != 1 {
		t.Fatalf("events after Close = %q", got)
	}
}

// A peer that never answers: the INVITE times out (Timer B, 64*T1) and
// the call fails. T1 is shortened for the test (sipgo's timers are
// package globals, read when a transaction starts).
func TestNoResponseTimesOut(t *testing.T) {
	t1, t2, t4 := sip.T1, sip.T2, sip.T4
	sip.SetTimers(10*time.Millisecond, 40*time.Millisecond, 50*time.Millisecond)
	t.Cleanup(func() { sip.SetTimers(t1, t2, t4) })

	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	g := newGateway(t, Config{Proxy: hole.LocalAddr().String()})
	_, rec := dial(t, g, "13800000010")
	sameEvents(t, rec.waitFor(t, 1), "failed:no response from the SIP peer (timeout)")
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, rec.snapshot(), "failed:no response from the SIP peer (timeout)")
}

// Hanging up a call nobody has answered anything to yet: no CANCEL may go
// out before a provisional response (RFC 3261 9.1), no event follows, and
// Close still ends promptly.
func TestHangupBeforeAnyResponse(t *testing.T) {
	hole, err := net.ListenPacket("udp", "127.0.0.1:0") // a peer that never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	g := newGateway(t, Config{Proxy: hole.LocalAddr().String()})
	leg, rec := dial(t, g, "13800000008")

	buf := make([]byte, 4096)
	_ = hole.SetReadDeadline(time.Now().Add(waitLimit))
	n, _, err := hole.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no INVITE arrived: %v", err)
	}
	if !bytes.HasPrefix(buf[:n], []byte("INVITE sip:13800000008@")) {
		t.Fatalf("got %q", buf[:n])
	}
	hungUp := make(chan error, 1)
	go func() { hungUp <- leg.Hangup() }()
	start := time.Now()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > closeGrace+2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	select {
	case <-hungUp:
	case <-time.After(waitLimit):
		t.Fatal("Hangup did not return after Close")
	}
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("events = %q, want none", got)
	}
	// Whatever else reached the hole, none of it was a CANCEL.
	for {
		_ = hole.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, _, err := hole.ReadFrom(buf)
		if err != nil {
			break
		}
		if bytes.HasPrefix(buf[:n], []byte("CANCEL")) {
			t.Fatalf("CANCEL sent before any provisional response: %q", buf[:n])
		}
	}
}

func TestDialRejectsBadInput(t *testing.T) {
	g := newGateway(t, Config{Proxy: "127.0.0.1:5060"})
	for _, c := range []gateway.Call{
		{Number: ""},
		{Number: "abc"},
		{Number: "12;tag=x"},
		{Number: "1+2"},
		{Number: "12\r\nVia: evil"},
		{Number: "123", Channel: "room\r\nX-Evil: 1"},
	} {
		if _, err := g.Dial(context.Background(), c, newRecorder()); err == nil {
			t.Errorf("Dial(%q, channel %q) = nil error", c.Number, c.Channel)
		}
	}
	if _, err := g.Dial(context.Background(), gateway.Call{Number: "1"}, nil); err == nil {
		t.Error("Dial with nil Events = nil error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Dial(ctx, gateway.Call{Number: "1"}, newRecorder()); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a done ctx = %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Proxy: "bad host:5060"},
		{Proxy: "127.0.0.1:99999"},
		{Proxy: "127.0.0.1:0"},
		{Proxy: "127.0.0.1:5060", Domain: "evil\r\n.example"},
		{Proxy: "127.0.0.1:5060", Listen: "256.0.0.1:0"},
	} {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if g, err := New(cfg); err == nil {
			g.Close()
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"alice":       "alice",
		"+8613800":    "+8613800",
		"12#":         "12%23",
		"a b@c;d<e>":  "a%20b%40c%3Bd%3Ce%3E",
		"李雷":          "%E6%9D%8E%E9%9B%B7",
		"x\r\nVia: y": "x%0D%0AVia%3A%20y",
	} {
		if got := escapeUser(in); got != want {
			t.Errorf("escapeUser(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`alice`:        `alice`,
		`say "hi"\`:    `say \"hi\"\\`,
		"li\r\nVia: x": "liVia: x",
		"李雷":           "李雷",
	} {
		if got := quoteDisplay(in); got != want {
			t.Errorf("quoteDisplay(%q) = %q, want %q", in, got, want)
		}
	}
	if n, err := normalizeNumber("+86 (138) 0000-0001"); err != nil || n != "+8613800000001" {
		t.Errorf("normalizeNumber = %q, %v", n, err)
	}
}
