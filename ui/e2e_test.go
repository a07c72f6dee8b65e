package ui

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
	"github.com/xinling/xinling/themes"
)

// startTestServer serves on a loopback port until the test ends.
func startTestServer(t *testing.T) string {
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

// newClientModel is a TUI model on a real SDK instance, logging in.
func newClientModel(t *testing.T, url, account string) *Model {
	t.Helper()
	q := NewQueue(4096)
	c := sdk.NewInstance("e2eapp", sdk.WithServer(url))
	c.CallbackSet(&Bridge{Q: q})
	m := New(Options{Client: c, Queue: q, Server: url, App: "e2eapp", Account: account, Token: "_no_need_token",
		Channel: "lobby", Palette: themes.Dark, Keys: keymap.Default(), Notify: true})
	t.Cleanup(func() {
		m.Close()
		c.Destroy()
	})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.login()
	return m
}

func TestTwoClientsCallAndAttributes(t *testing.T) {
	url := startTestServer(t)
	alice := newClientModel(t, url, "alice")
	bob := newClientModel(t, url, "bob")
	both := []*Model{alice, bob}

	eventually(t, "both in #lobby with each other", func() bool {
		_, a := alice.members["bob"]
		_, b := bob.members["alice"]
		return alice.joined == "lobby" && bob.joined == "lobby" && a && b
	}, both...)
	mustSee(t, screenText(t, bob, 120, 40), "peers · #lobby · 2", "alice", "bob (you)")

	// a channel message, with its delivery state
	typeText(alice, "hi bob")
	press(alice, "enter")
	eventually(t, "bob sees alice's message and alice sees it sent", func() bool {
		return strings.Contains(screenText(t, bob, 120, 40), "alice hi bob") &&
			strings.Contains(screenText(t, alice, 120, 40), "alice hi bob ✓")
	}, both...)

	// alice calls bob; bob answers in the dialog
	typeText(alice, "/invite bob")
	press(alice, "enter")
	eventually(t, "bob's invite dialog", func() bool {
		_, ok := bob.topDialog().(*inviteDialog)
		return ok
	}, both...)
	scr := screenText(t, bob, 120, 40)
	mustSee(t, scr, "Incoming call", "alice is calling you", "Accept (a)")
	eventually(t, "alice's call ringing", func() bool {
		c := alice.call("lobby", "bob")
		return c != nil && c.State == "ringing"
	}, both...)
	mustSee(t, screenText(t, alice, 120, 40), "→ bob ringing")
	eventually(t, "bob's dialog takes keys (typing at the moment a call arrives does not answer it)", func() bool {
		d, ok := bob.topDialog().(*inviteDialog)
		return ok && bob.now().Sub(d.opened) >= inviteArming
	}, both...)
	press(bob, "enter") // Accept is the default button
	eventually(t, "alice sees the call accepted", func() bool {
		c := alice.call("lobby", "bob")
		return c != nil && c.State == "accepted"
	}, both...)
	mustSee(t, screenText(t, alice, 120, 40), "→ bob live", "bob accepted your call")
	mustSee(t, screenText(t, bob, 120, 40), "← alice live")

	// DTMF over the live call
	typeText(alice, "/dtmf 9#")
	press(alice, "enter")
	eventually(t, "bob gets the DTMF", func() bool {
		return strings.Contains(screenText(t, bob, 120, 40), `alice sent DTMF "9#"`)
	}, both...)

	// alice hangs up; the call ends on both screens
	typeText(alice, "/end")
	press(alice, "enter")
	eventually(t, "the call ended on both sides", func() bool {
		a, b := alice.call("lobby", "bob"), bob.call("lobby", "alice")
		return a.State == "ended" && b.State == "ended"
	}, both...)
	mustSee(t, screenText(t, alice, 120, 40), "→ bob ended by you", "call with bob ended")
	mustSee(t, screenText(t, bob, 120, 40), "← alice ended by alice", "alice ended the call")

	// alice sets a channel attribute; bob's pane shows it, with its author
	typeText(alice, "/attr set topic release-day")
	press(alice, "enter")
	eventually(t, "bob's attributes pane shows topic by alice", func() bool {
		s := screenText(t, bob, 120, 40)
		return strings.Contains(s, "release-day") && strings.Contains(s, "update topic by alice")
	}, both...)
	// and the narrow layout shows it in the attrs tab
	bob.focusPane(focusAttrs)
	mustSee(t, screenText(t, bob, 80, 24), "topic", "release-day")
}

func TestLoginFailureAgainstRealServer(t *testing.T) {
	url := startTestServer(t)
	m := newClientModel(t, url, "bad name")
	eventually(t, "the login form with the reason", func() bool {
		d, ok := m.topDialog().(*loginDialog)
		return ok && strings.Contains(d.err, "invalid account")
	}, m)
}

// A flood of channel messages never blocks the SDK: the bounded queue drops
// the oldest of them (and says so), while the invite behind them arrives.
func TestFloodDropsMessagesKeepsInvite(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := store.Memory()
	node := server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler), UserRate: 100000, ChannelRate: 100000, RequestRate: 100000})
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		node.Shutdown(ctx)
		<-done
		st.Close()
	})
	url := "ws://" + l.Addr().String()

	q := NewQueue(64)
	c := sdk.NewInstance("e2eapp", sdk.WithServer(url))
	c.CallbackSet(&Bridge{Q: q})
	alice := New(Options{Client: c, Queue: q, Server: url, App: "e2eapp", Account: "alice", Channel: "flood",
		Palette: themes.Dark, Keys: keymap.Default(), Notify: true})
	t.Cleanup(func() { alice.Close(); c.Destroy() })
	alice.login()
	eventually(t, "alice in #flood", func() bool { return alice.joined == "flood" }, alice)

	bob := newClientModel(t, url, "bob")
	eventually(t, "bob logged in", func() bool { return bob.status == sdk.StatusLoggedIn }, bob)
	bob.c.ChannelJoin("flood")
	eventually(t, "bob in #flood", func() bool { return bob.joined == "flood" }, bob)
	const n = 3000
	for i := 0; i < n; i++ {
		bob.c.MessageChannelSend("flood", "spam", "")
	}
	bob.c.ChannelInviteUser2("flood", "alice", "")
	// alice's UI reads nothing meanwhile: the SDK must not wait for it
	eventually(t, "the invite reached alice's queue", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		for _, e := range q.events {
			if e.Name == "InviteReceived" {
				return true
			}
		}
		return false
	})
	if q.Dropped() == 0 {
		t.Fatal("nothing dropped from a 64-event queue under a 3000-message flood")
	}
	eventually(t, "alice's invite dialog", func() bool {
		_, ok := alice.topDialog().(*inviteDialog)
		return ok
	}, alice)
	if alice.dropped == 0 {
		t.Fatal("the drops are not counted in the UI")
	}
	scr := screenText(t, alice, 120, 40)
	mustSee(t, scr, "dropped", "bob is calling you")
}
