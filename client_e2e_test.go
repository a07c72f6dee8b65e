package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
	"github.com/xinling/xinling/themes"
	"github.com/xinling/xinling/ui"
	"github.com/xinling/xinling/ui/uitest"
)

// The terminal client against a real server over a real WebSocket on
// loopback, driven by keys and read from its screen as a person would.

// startNode serves a server.Node on a loopback port until the test ends.
func startNode(t *testing.T, cfg server.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := store.Memory()
	cfg.Store, cfg.Logger = st, slog.New(slog.DiscardHandler)
	node := server.New(cfg)
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := node.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return "ws://" + l.Addr().String()
}

// tui is one terminal client on its own SDK instance.
type tui struct {
	t *testing.T
	m *ui.Model
	q *ui.Queue
}

// newTUI starts a client logging in to url as account (joining #lobby).
func newTUI(t *testing.T, url, account string, edit ...func(*ui.Options)) *tui {
	t.Helper()
	opt := ui.Options{Queue: ui.NewQueue(4096), Server: url, App: "e2eapp", Account: account, Token: "_no_need_token",
		Channel: "lobby", Palette: themes.Dark, Keys: keymap.Default(), Notify: true}
	for _, e := range edit {
		e(&opt)
	}
	c := sdk.NewInstance("e2eapp", sdk.WithServer(url))
	c.CallbackSet(&ui.Bridge{Q: opt.Queue})
	opt.Client = c
	m := ui.New(opt)
	t.Cleanup(func() {
		m.Close()
		c.Destroy()
	})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Init()
	return &tui{t: t, m: m, q: opt.Queue}
}

func (c *tui) screen(w, h int) string { c.t.Helper(); return uitest.ScreenText(c.t, c.m, w, h) }
func (c *tui) sees(s ...string) bool {
	scr := c.screen(120, 40)
	for _, x := range s {
		if !strings.Contains(scr, x) {
			return false
		}
	}
	return true
}
func (c *tui) press(keys ...string) { uitest.Press(c.m, keys...) }
func (c *tui) typeLine(s string)    { uitest.Type(c.m, s); c.press("enter") }

// pump delivers the SDK events the client has queued, waiting up to d for
// the first.
func (c *tui) pump(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if b, ok := c.q.Wait(ctx, 512); ok {
		c.m.Update(b)
	}
}

// until pumps the clients' events until cond holds or the deadline passes.
func until(t *testing.T, what string, cond func() bool, cs ...*tui) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var scr []string
			for _, c := range cs {
				scr = append(scr, c.screen(120, 40))
			}
			t.Fatalf("timed out waiting for %s; screens:\n%s", what, strings.Join(scr, "\n\n"))
		}
		for _, c := range cs {
			c.pump(20 * time.Millisecond)
		}
	}
}

// armed waits until the call dialog takes keys: for a second after it
// pops up, typing goes on into the composer so nobody answers by accident.
func armed(t *testing.T, c *tui, cs ...*tui) {
	t.Helper()
	until(t, "the call dialog takes keys", func() bool {
		scr := c.screen(120, 40)
		return strings.Contains(scr, "Incoming call") && !strings.Contains(scr, "typing goes to the composer for a second")
	}, cs...)
}

func TestClientTwoPeopleCallAndAttributes(t *testing.T) {
	url := startNode(t, server.Config{})
	alice := newTUI(t, url, "alice")
	bob := newTUI(t, url, "bob")
	both := []*tui{alice, bob}

	until(t, "both in #lobby with each other", func() bool {
		return alice.sees("peers · #lobby · 2", "bob") && bob.sees("peers · #lobby · 2", "alice")
	}, both...)
	uitest.MustSee(t, bob.screen(120, 40), "peers · #lobby · 2", "alice", "bob (you)")

	// a channel message, with its delivery state
	alice.typeLine("hi bob")
	until(t, "bob sees alice's message and alice sees it sent", func() bool {
		return bob.sees("alice hi bob") && alice.sees("alice hi bob ✓")
	}, both...)

	// alice calls bob; bob answers in the dialog
	alice.typeLine("/invite bob")
	until(t, "bob's call dialog", func() bool { return bob.sees("Incoming call") }, both...)
	uitest.MustSee(t, bob.screen(120, 40), "Incoming call", "alice is calling you", "Accept (a)")
	until(t, "alice's call ringing", func() bool { return alice.sees("→ bob ringing") }, both...)
	armed(t, bob, both...)
	bob.press("enter") // Accept is the default button
	until(t, "alice sees the call accepted", func() bool { return alice.sees("→ bob live") }, both...)
	uitest.MustSee(t, alice.screen(120, 40), "→ bob live", "bob accepted your call")
	uitest.MustSee(t, bob.screen(120, 40), "← alice live")

	// DTMF over the live call
	alice.typeLine("/dtmf 9#")
	until(t, "bob gets the DTMF", func() bool { return bob.sees(`alice sent DTMF "9#"`) }, both...)

	// alice hangs up; the call ends on both screens
	alice.typeLine("/end")
	until(t, "the call ended on both sides", func() bool {
		return alice.sees("→ bob ended by you") && bob.sees("← alice ended by alice")
	}, both...)
	uitest.MustSee(t, alice.screen(120, 40), "→ bob ended by you", "call with bob ended")
	uitest.MustSee(t, bob.screen(120, 40), "← alice ended by alice", "alice ended the call")

	// alice sets a channel attribute; bob's pane shows it, with its author
	alice.typeLine("/attr set topic release-day")
	until(t, "bob's attributes pane shows topic by alice", func() bool {
		return bob.sees("release-day", "update topic by alice")
	}, both...)
	// and the narrow layout shows it in the attrs tab: composer → messages →
	// tab panel (chats) → peers → attrs
	bob.screen(80, 24)
	bob.press("tab", "tab", "right", "right")
	uitest.MustSee(t, bob.screen(80, 24), "topic", "release-day")
}

func TestClientLoginFailureAgainstRealServer(t *testing.T) {
	url := startNode(t, server.Config{})
	c := newTUI(t, url, "bad name")
	until(t, "the login form with the reason", func() bool {
		return c.sees("Log in to xinling", "invalid account")
	}, c)
}

// A flood of channel messages never blocks the SDK: the bounded queue drops
// the oldest of them (and says so), while the invite behind them arrives.
func TestClientFloodDropsMessagesKeepsInvite(t *testing.T) {
	url := startNode(t, server.Config{UserRate: 100000, ChannelRate: 100000, RequestRate: 100000})
	q := ui.NewQueue(64)
	alice := newTUI(t, url, "alice", func(o *ui.Options) { o.Queue, o.Channel = q, "flood" })
	bob := newTUI(t, url, "bob", func(o *ui.Options) { o.Channel = "flood" })
	until(t, "alice and bob in #flood", func() bool {
		return alice.sees("peers · #flood · 2") && bob.sees("peers · #flood · 2")
	}, alice, bob)
	const n = 3000
	for i := 0; i < n; i++ {
		uitest.Type(bob.m, "spam")
		bob.press("enter")
	}
	bob.typeLine("/invite alice")
	// alice's screen reads nothing meanwhile: her SDK must not wait for it,
	// so it still acknowledges the invite, which bob sees as ringing
	until(t, "bob's call rings at alice", func() bool { return bob.sees("→ alice ringing") }, bob)
	if q.Dropped() == 0 {
		t.Fatal("nothing dropped from a 64-event queue under a 3000-message flood")
	}
	until(t, "alice's call dialog and the drops counted", func() bool {
		return alice.sees("Incoming call", "bob is calling you", "dropped")
	}, alice)
}

// The server is killed and started again on the same address while alice's
// call to bob rings. Both screens say what happened (the connection, a new
// session: nobody hung up), both come back online, and what alice typed
// meanwhile is sent: the peer message reaches bob, the channel message is
// stored (✓).
func TestClientServerRestartedUnderTwoClients(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0")
	url := "ws://" + s.addr
	alice, bob := newTUI(t, url, "alice"), newTUI(t, url, "bob")
	both := []*tui{alice, bob}
	until(t, "both in #lobby", func() bool {
		return alice.sees("peers · #lobby · 2") && bob.sees("peers · #lobby · 2")
	}, both...)
	alice.typeLine("/invite bob")
	until(t, "the call rings", func() bool { return bob.sees("Incoming call") && alice.sees("→ bob ringing") }, both...)

	s.stop(syscall.SIGKILL)
	until(t, "both reconnecting", func() bool {
		return alice.sees("⟳ reconnecting", "the connection to the server dropped") && bob.sees("⟳ reconnecting")
	}, both...)
	alice.typeLine("typed while the server was down")
	alice.typeLine("/msg bob are you still there?")
	startServe(t, "--listen", s.addr)

	until(t, "both back, saying the call was lost with the session", func() bool {
		return alice.sees("● online", "the call with bob ended: the") && bob.sees("● online", "the call with alice ended: the")
	}, both...)
	until(t, "what alice typed meanwhile is sent", func() bool {
		return alice.sees("typed while the server was down ✓") && bob.sees("@ alice")
	}, both...)
	for _, c := range both {
		scr := c.screen(120, 40)
		uitest.MustSee(t, scr, "server had not kept the session", "lost")
		uitest.MustNotSee(t, scr, "ended the call", "INVITE_E_NET", "Incoming call")
	}
	bob.press("ctrl+k")
	uitest.Type(bob.m, "alice")
	bob.press("enter")
	until(t, "bob reads alice's message", func() bool { return bob.sees("alice are you still there?") }, both...)
}

// Refusals that only the SDK or the server can make are said on screen,
// with the reason, not only in the inspector.
func TestClientServerRefusalsSayWhy(t *testing.T) {
	url := startNode(t, server.Config{})
	alice := newTUI(t, url, "alice")
	until(t, "alice in #lobby", func() bool { return alice.sees("peers · #lobby · 1") }, alice)
	for _, tc := range []struct{ line, why string }{
		{"/join " + strings.Repeat("x", 200), "200 bytes, the limit is 128"},
		{"/attr set _member_num 3", "_member_num"},
		{"/phone 5551234", "gateway"},
		{"/invoke io.agora.signal.nope {}", "nope"},
		{"/uattr set " + strings.Repeat("名", 50) + " v", "the limit is 128"},
	} {
		alice.press("ctrl+u") // a line refused at once stays in the composer
		alice.typeLine(tc.line)
		until(t, tc.line+" refused with why", func() bool {
			scr := uitest.ScreenText(t, alice.m, 200, 50)
			return strings.Contains(scr, "✗") && strings.Contains(scr, tc.why)
		}, alice)
	}
}
