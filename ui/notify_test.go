package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// While the terminal is in the background, a direct message and a channel
// message naming you raise a desktop notification (OSC 9 and OSC 777);
// other channel chatter does not, and nothing does in the foreground.
func TestDesktopNotifications(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.Update(tea.BlurMsg{})
	out := rawOut(send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "lunch?\x1b]0;x\x07"}))
	if !strings.Contains(out, "\x1b]9;xinling: carol: lunch?^[]0 x^G\x07") || !strings.Contains(out, "\x1b]777;notify;xinling;carol: lunch?^[]0 x^G\x07") {
		t.Fatalf("direct message: %q", out)
	}
	out = rawOut(send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "@alice look"}))
	if !strings.Contains(out, "\x1b]9;xinling: #lobby bob: @alice look\x07") {
		t.Fatalf("mention: %q", out)
	}
	if out := rawOut(send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "just chatting"})); out != "" {
		t.Fatalf("chatter notified: %q", out)
	}
	m.Update(tea.FocusMsg{})
	if out := rawOut(send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "again"})); out != "" {
		t.Fatalf("notified in the foreground: %q", out)
	}
}

// Under tmux the sequences are wrapped for its passthrough, escapes doubled.
func TestNotificationThroughTmux(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.opt.Tmux = true
	m.Update(tea.BlurMsg{})
	out := rawOut(send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "hi"}))
	want := "\x1bPtmux;\x1b\x1b]9;xinling: carol: hi\x07\x1b\x1b]777;notify;xinling;carol: hi\x07\x1b\\"
	if out != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}
