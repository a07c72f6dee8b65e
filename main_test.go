package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
)

// bin is the xinling binary built for these tests: they drive the real
// command, signals and all.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xinling-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "xinling")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	if other := os.Getenv("XINLING_SERVE_BIN"); other != "" {
		bin = other // another build's server, to see a test fail on it
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestTokenCommandVectors(t *testing.T) {
	var out bytes.Buffer
	err := tokenCmd([]string{"--app", "970CA35de60c44645bbae8a215061b33", "--cert", "5CFd2fd1755d40ecb72977518be15d3b",
		"--account", "2882341273", "--expired-ts", "1514219634"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), "1:970CA35de60c44645bbae8a215061b33:1514219634:82539e1f3973bcfe3f0d0c8993e6c051"; got != want {
		t.Fatalf("token = %q, want %q", got, want)
	}
	if err := tokenCmd([]string{"--app", "a"}, io.Discard); err == nil {
		t.Fatal("token without --cert and --account did not fail")
	}
}

// serveProc is a running `xinling serve` process.
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	args []string
	addr string
	done chan error
	log  *bytes.Buffer
}

func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &serveProc{t: t, cmd: cmd, args: args, done: make(chan error, 1), log: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: s.log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ws://") {
		cmd.Process.Kill()
		werr := cmd.Wait() // then the log holds all it wrote
		t.Fatalf("serve printed %q (%v), exit %v; log:\n%s", line, err, werr, s.log)
	}
	s.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening on ws://"))
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// again starts the same command on the same address (after stop).
func (s *serveProc) again() *serveProc {
	s.t.Helper()
	args := append([]string(nil), s.args...)
	for i := range args {
		if args[i] == "--listen" && i+1 < len(args) {
			args[i+1] = s.addr
		}
	}
	return startServe(s.t, args...)
}

// stop sends sig and waits for the process to end.
func (s *serveProc) stop(sig syscall.Signal) error {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(15 * time.Second):
		s.t.Fatalf("serve did not exit after %v; log:\n%s", sig, s.log)
		return nil
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// events collects an instance's callbacks of interest.
type events struct {
	sdk.BaseCallback
	mu       sync.Mutex
	got      []string
	received map[string]int // message text → times delivered
	sent     map[string]bool
	failed   map[string]bool
}

func newEvents() *events {
	return &events{received: map[string]int{}, sent: map[string]bool{}, failed: map[string]bool{}}
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.got = append(e.got, s)
	e.mu.Unlock()
}

func (e *events) OnLoginSuccess(uint32, int) { e.add("login") }
func (e *events) OnReconnecting(n uint32)    { e.add(fmt.Sprint("reconnecting ", n)) }
func (e *events) OnReconnected(int)          { e.add("reconnected") }
func (e *events) OnLogout(c int)             { e.add(fmt.Sprint("logout ", c)) }
func (e *events) OnChannelJoined(ch string)  { e.add("joined " + ch) }
func (e *events) OnMessageInstantReceive(from string, _ uint32, msg string) {
	e.mu.Lock()
	e.received[msg]++
	e.mu.Unlock()
}
func (e *events) OnMessageChannelReceive(ch, from string, _ uint32, msg string) {
	e.add("channel " + ch + " " + msg)
}
func (e *events) OnMessageSendSuccess(id string) {
	e.mu.Lock()
	e.sent[id] = true
	e.mu.Unlock()
}
func (e *events) OnMessageSendError(id string, _ int) {
	e.mu.Lock()
	e.failed[id] = true
	e.mu.Unlock()
}

// waitFor polls cond (under the lock) until it holds or 15 s pass.
func (e *events) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e.mu.Lock()
		ok := cond()
		got := append([]string(nil), e.got...)
		e.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; events %v", what, got)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

func (e *events) has(s string) bool {
	for _, g := range e.got {
		if g == s {
			return true
		}
	}
	return false
}

func connect(t *testing.T, addr, account string) (*sdk.Client, *events) {
	t.Helper()
	return connectURLs(t, account, "ws://"+addr)
}

// connectURLs logs account in with the SDK given those server URLs.
func connectURLs(t *testing.T, account string, urls ...string) (*sdk.Client, *events) {
	t.Helper()
	c := sdk.NewInstance("app", sdk.WithServers(urls...), sdk.WithReconnectWindow(time.Minute))
	ev := newEvents()
	c.CallbackSet(ev)
	t.Cleanup(c.Destroy)
	c.Login("app", account, "", 0, "")
	ev.waitFor(t, account+" login", func() bool { return ev.has("login") })
	return c, ev
}

// TestServeSIGTERMAndRestart: SIGTERM shuts down cleanly (exit 0), clients
// reconnect when the server is back on the same address and --data, and
// what was durable is still there.
func TestServeSIGTERMAndRestart(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, "--listen", "127.0.0.1:0", "--data", data)
	alice, aev := connect(t, s.addr, "alice")
	alice.ChannelJoin("room")
	aev.waitFor(t, "join", func() bool { return aev.has("joined room") })
	alice.MessageInstantSend("carol", 0, "for later", "m1")
	aev.waitFor(t, "m1 stored", func() bool { return aev.sent["m1"] })

	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; log:\n%s", err, s.log)
	}
	aev.waitFor(t, "reconnecting", func() bool { return aev.has("reconnecting 1") })

	startServe(t, "--listen", s.addr, "--data", data)
	aev.waitFor(t, "reconnect and rejoin", func() bool {
		return aev.has("reconnected") && strings.Count(strings.Join(aev.got, "|"), "joined room") == 2
	})
	_, cev := connect(t, s.addr, "carol")
	cev.waitFor(t, "queued message", func() bool { return cev.received["for later"] == 1 })
}

// TestServeSIGKILLLosesNoAcknowledgedMessage: the server is killed while
// peer messages flow to an online recipient, and restarted on the same
// --data. Every message whose sender got onMessageSendSuccess reaches the
// recipient's application exactly once, and no message twice.
func TestServeSIGKILLLosesNoAcknowledgedMessage(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, "--listen", "127.0.0.1:0", "--data", data, "--user-rate", "100000")
	alice, aev := connect(t, s.addr, "alice")
	_, bev := connect(t, s.addr, "bob")
	const n = 300
	for i := range n {
		alice.MessageInstantSend("bob", 0, fmt.Sprint("msg ", i), fmt.Sprint("id", i))
		if i == n/2 {
			// Kill mid-stream, once some are through.
			aev.waitFor(t, "some sent", func() bool { return len(aev.sent) > 20 })
			if err := s.stop(syscall.SIGKILL); err == nil {
				t.Fatal("SIGKILL did not kill")
			}
			startServe(t, "--listen", s.addr, "--data", data, "--user-rate", "100000")
		}
	}
	checkDeliveredOnce(t, aev, bev, n)
	t.Logf("%d sent, %d failed, %d delivered", len(aev.sent), len(aev.failed), len(bev.received))
}

func TestServeMetrics(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0")
	connect(t, s.addr, "alice")
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"xinling_connections 1", "xinling_sessions 1", "xinling_logins_total 1",
		"xinling_rate_limited_total", "xinling_slow_client_drops_total", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--app", "nocolon"},
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--listen", "not an address"},
		{"nosuchcommand"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Errorf("xinling %v succeeded; output %s", args, out)
		}
		if len(out) == 0 {
			t.Errorf("xinling %v failed silently", args)
		}
	}
}

// hasPrefix reports whether an event starts with prefix and contains every part.
func (e *events) hasPrefix(prefix string, parts ...string) bool {
next:
	for _, g := range e.got {
		if !strings.HasPrefix(g, prefix) {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(g, p) {
				continue next
			}
		}
		return true
	}
	return false
}

// checkDeliveredOnce waits until all n sends of "msg i" (ids "id i") have
// settled and every acknowledged one has reached the recipient, then fails
// for any message delivered more than once.
func checkDeliveredOnce(t *testing.T, sender, recipient *events, n int) {
	t.Helper()
	sender.waitFor(t, "every send settled", func() bool { return len(sender.sent)+len(sender.failed) == n })
	sender.mu.Lock()
	sent := make([]string, 0, len(sender.sent))
	for id := range sender.sent {
		sent = append(sent, id)
	}
	sender.mu.Unlock()
	recipient.waitFor(t, "every acknowledged message delivered", func() bool {
		for _, id := range sent {
			var i int
			fmt.Sscanf(id, "id%d", &i)
			if recipient.received[fmt.Sprint("msg ", i)] == 0 {
				return false
			}
		}
		return true
	})
	recipient.mu.Lock()
	defer recipient.mu.Unlock()
	for msg, times := range recipient.received {
		if times != 1 {
			t.Errorf("%q delivered %d times", msg, times)
		}
	}
}
