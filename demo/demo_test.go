package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := store.Memory()
	node := server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		node.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return "ws://" + l.Addr().String()
}

// you is the human's side: it records what the peers do to it.
type you struct {
	sdk.BaseCallback
	c      *sdk.Client
	mu     sync.Mutex
	events []string
	change chan struct{}
}

func (y *you) add(s string) {
	y.mu.Lock()
	y.events = append(y.events, s)
	y.mu.Unlock()
	select {
	case y.change <- struct{}{}:
	default:
	}
}

func (y *you) OnLoginSuccess(uint32, int) { y.add("login") }
func (y *you) OnMessageInstantReceive(a string, _ uint32, m string) {
	y.add("dm " + a + ": " + m)
}
func (y *you) OnMessageChannelReceive(ch, a string, _ uint32, m string) {
	y.add("ch " + ch + " " + a + ": " + m)
}
func (y *you) OnChannelAttrUpdated(ch, name, value, typ string) {
	y.add(fmt.Sprintf("attr %s %s %s=%s", ch, typ, name, value))
}
func (y *you) OnInviteReceived(ch, a string, _ uint32, extra string) {
	y.add("invite " + ch + " " + a)
	y.c.ChannelInviteAccept(ch, a, 0, "")
}
func (y *you) OnInviteMsg(ch, a string, _ uint32, typ, data, extra string) {
	y.add("dtmf " + a + " " + data)
}
func (y *you) OnInviteEndByPeer(ch, a string, _ uint32, extra string) { y.add("ended by " + a) }
func (y *you) OnInviteRefusedByPeer(ch, a string, _ uint32, extra string) {
	y.add("refused by " + a)
}
func (y *you) OnInviteAcceptedByPeer(ch, a string, _ uint32, extra string) {
	y.add("accepted by " + a)
}

func (y *you) wait(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		y.mu.Lock()
		for _, e := range y.events {
			if strings.HasPrefix(e, prefix) {
				y.mu.Unlock()
				return e
			}
		}
		y.mu.Unlock()
		select {
		case <-y.change:
		case <-deadline:
			y.mu.Lock()
			defer y.mu.Unlock()
			t.Fatalf("no %q; got %q", prefix, y.events)
		}
	}
}

func TestDemoScript(t *testing.T) {
	url := startServer(t)
	y := &you{change: make(chan struct{}, 1)}
	y.c = sdk.NewInstance("xinling", sdk.WithServer(url))
	y.c.CallbackSet(y)
	defer y.c.Destroy()
	y.c.Login("xinling", "tester", "_no_need_token", 0, "")
	y.wait(t, "login")
	y.c.ChannelJoin("dev")

	d := Start(Config{Server: url, You: "tester", Tick: 30 * time.Millisecond, CallAfter: 4, Seed: 1})
	defer d.Stop()
	if got := strings.Join(d.Names(), ","); got != "alice,bob,carol,dave" {
		t.Fatalf("peers %s", got)
	}
	y.wait(t, "dm alice: hi tester")
	y.wait(t, "ch dev carol: ")
	y.wait(t, "attr dev update build=")
	// bob calls; we accept; he sends DTMF and hangs up
	y.wait(t, "invite call-bob-tester bob")
	y.wait(t, "dm bob: great, you picked up")
	y.wait(t, "dtmf bob 42#")
	y.wait(t, "ended by bob")
	// our calls: alice accepts, bob refuses
	y.c.ChannelInviteUser2("c-alice", "alice", "")
	y.wait(t, "accepted by alice")
	y.c.ChannelInviteUser2("c-bob", "bob", "")
	y.wait(t, "refused by bob")
	// a DM gets an answer
	y.c.MessageInstantSend("carol", 0, "hello there", "")
	y.wait(t, "dm carol: hello tester")
}

func TestDemoStopsCleanlyWithoutServer(t *testing.T) {
	// nothing listens: the peers keep trying to log in; Stop still returns
	d := Start(Config{Server: "ws://127.0.0.1:1", You: "x", Tick: 10 * time.Millisecond})
	done := make(chan struct{})
	go func() { d.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop hung")
	}
}

// After the tour the peers are quiet: the tour's lines once each, one line
// naming you, and nothing more (Quiet < 0) before bob's late call.
func TestDemoTourThenQuiet(t *testing.T) {
	url := startServer(t)
	y := &you{change: make(chan struct{}, 1)}
	y.c = sdk.NewInstance("xinling", sdk.WithServer(url))
	y.c.CallbackSet(y)
	defer y.c.Destroy()
	y.c.Login("xinling", "tester", "_no_need_token", 0, "")
	y.wait(t, "login")
	y.c.ChannelJoin("lobby")
	y.wait(t, "attr lobby update _member_num") // joined

	d := Start(Config{Server: url, You: "tester", Tick: 10 * time.Millisecond, CallAfter: 3 * tourTicks, Quiet: -1, Seed: 1,
		Peers: []string{"alice", "bob", "dave"}})
	defer d.Stop()
	y.wait(t, "ch lobby alice: morning everyone")
	y.wait(t, "ch lobby bob: the server here is embedded")
	y.wait(t, "ch lobby alice: tester, welcome to #lobby!")
	y.wait(t, "attr lobby update topic=")
	y.wait(t, "invite call-bob-tester bob") // twenty quiet ticks after the tour
	y.mu.Lock()
	defer y.mu.Unlock()
	lines, mentions := 0, 0
	for _, e := range y.events {
		if strings.HasPrefix(e, "ch lobby ") {
			lines++
			if strings.Contains(e, "tester") {
				mentions++
			}
		}
	}
	if lines != 3 || mentions != 1 {
		t.Fatalf("%d lines in #lobby, %d naming you: %q", lines, mentions, y.events)
	}
}

func TestDemoQuietLinesNameNobody(t *testing.T) {
	for _, pool := range [][]string{aliceLines, bobLines, carolLines, daveLines} {
		for _, l := range pool {
			if strings.Contains(l, "{you}") {
				t.Fatalf("a quiet-time line names you: %q", l)
			}
		}
	}
}
