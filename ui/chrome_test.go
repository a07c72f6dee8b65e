package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xinling/xinling/themes"
)

// Which pane has the keys shows in its border, colour or not: heavy lines.
func TestFocusedPaneHasAHeavyBorder(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.setPalette(themes.Plain)
	rows := screen(t, m, 120, 40)
	if !strings.Contains(strings.Join(rows, "\n"), "┏━ to #lobby") {
		t.Fatalf("the focused composer is not heavy:\n%s", strings.Join(rows, "\n"))
	}
	press(m, "tab", "tab") // messages, then chats
	rows = screen(t, m, 120, 40)
	if !strings.HasPrefix(rows[0], "┏━ chats") || !strings.Contains(rows[0], "╭─ #lobby") {
		t.Fatalf("top row: %q", rows[0])
	}
	mustSee(t, strings.Join(rows, "\n"), "╭─ to #lobby", "[chats] esc")
	// narrow: the tab panel's border
	press(m, "esc")
	press(m, "tab", "tab")
	mustSee(t, screenText(t, m, 80, 24), "┏━ chats ")
}

// The status bar names the conversation you are in; the switcher never
// offers to join the channel you are in.
func TestStatusBarAndSwitcherSayWhereYouAre(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "hi"})
	press(m, "ctrl+k")
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "@carol (1)")
	mustNotSee(t, scr, "#lobby (join)")
	typeText(m, "carol")
	press(m, "enter")
	status := screen(t, m, 120, 40)[39]
	if !strings.Contains(status, "@carol") || strings.Contains(status, "#lobby") {
		t.Fatalf("status bar in @carol: %q", status)
	}
	press(m, "ctrl+k")
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "#lobby")
	mustNotSee(t, scr, "#lobby (join)")
}

// A busy run's unread count fits the chats pane's title.
func TestChatsTitleFits(t *testing.T) {
	m, _, _ := newTestModel(t)
	for i := 0; i < 130; i++ {
		send(m, Event{Name: "MessageInstantReceive", Account: fmt.Sprintf("p%d", i%9), Value: "hey"})
	}
	mustSee(t, screen(t, m, 120, 40)[0], "chats · 130 new")
}

// The attribute editor marks the focused field, so ctrl+u clears what you
// think it clears.
func TestAttrEditorMarksTheFocusedField(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.setPalette(themes.Plain)
	m.pushDialog(newAttrDialog(m, "lobby", "topic", "hello"))
	scr := screenText(t, m, 80, 24)
	mustSee(t, scr, "  Name", "▸ Value")
	press(m, "tab")
	scr = screenText(t, m, 80, 24)
	mustSee(t, scr, "▸ Name", "  Value")
	press(m, "ctrl+u")
	d := m.topDialog().(*attrDialog)
	if d.value(0) != "" || d.fields[1].ed.Value() != "hello" {
		t.Fatalf("ctrl+u on Name: name %q value %q", d.value(0), d.fields[1].ed.Value())
	}
}

// The join's _member_num goes stale without _auto_update_num; the pane
// says the count now beside it.
func TestMemberNumSaysTheCountNow(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "ChannelUserJoined", Account: "carol"})
	mustSee(t, screenText(t, m, 120, 40), "_member_num 2 · now 3")
	send(m, Event{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "_member_num", Value: "3", Typ: "update"})
	mustNotSee(t, screenText(t, m, 120, 40), "· now")
}
