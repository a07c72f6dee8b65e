package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// A 10,000-character message: the composer counts its bytes, enter refuses
// it with the reason on screen, and the text stays to be shortened.
func TestTooLongMessageIsRefusedAndKept(t *testing.T) {
	m, f, _ := newTestModel(t)
	long := strings.Repeat("x", 10000)
	m.Update(tea.PasteMsg{Content: long})
	mustSee(t, screenText(t, m, 120, 40), "✗ 10,000 / 8,192 bytes — 1,808 over: shorten it to send")
	press(m, "enter")
	wantCalls(t, f) // nothing sent
	if m.composer.Value() != long {
		t.Fatalf("the message left the composer: %d bytes kept", len(m.composer.Value()))
	}
	mustSee(t, screenText(t, m, 200, 50), "not sent: the message is 10,000 bytes, the limit is 8,192")
	// shortened under the limit it goes
	m.composer.Set(strings.Repeat("y", 7000))
	mustSee(t, screenText(t, m, 120, 40), "7,000 / 8,192 bytes")
	press(m, "enter")
	wantCalls(t, f, "MessageChannelSend(lobby,"+strings.Repeat("y", 7000)+")")
	// typed, not pasted: one key at a time all the way (the layout stays
	// cheap), then refused the same way
	typeText(m, long)
	press(m, "enter")
	wantCalls(t, f)
	if len(m.composer.Value()) != 10000 {
		t.Fatalf("typed message: %d bytes in the composer", len(m.composer.Value()))
	}
	// /msg counts its text too
	m.composer.Set("/msg bob " + long)
	press(m, "enter")
	wantCalls(t, f)
}

// A pasted multi-line text stays one message with its lines.
func TestPastedLinesAreOneMessage(t *testing.T) {
	m, f, _ := newTestModel(t)
	m.Update(tea.PasteMsg{Content: "first line\r\nsecond 第二行\nthird 🎉"})
	press(m, "enter")
	wantCalls(t, f, "MessageChannelSend(lobby,first line\nsecond 第二行\nthird 🎉)")
	scr := screenText(t, m, 80, 24)
	mustSee(t, scr, "alice first line", "second 第二行", "third 🎉")
}

// A command the client refuses at once keeps its line in the composer with
// the reason, to be fixed rather than retyped.
func TestRefusedCommandStaysInTheComposer(t *testing.T) {
	m, f, _ := newTestModel(t)
	typeText(m, "/msg bob")
	press(m, "enter")
	wantCalls(t, f)
	if got := m.composer.Value(); got != "/msg bob" {
		t.Fatalf("composer %q", got)
	}
	mustSee(t, screenText(t, m, 120, 40), "usage: /msg ACCOUNT TEXT")
	typeText(m, " hi")
	press(m, "enter")
	wantCalls(t, f, "MessageInstantSend(bob,hi)")
	if !m.composer.Empty() {
		t.Fatalf("a sent line stayed: %q", m.composer.Value())
	}
}
