package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func click(m *Model, x, y int) { m.Update(tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft}) }

// rowOf is the screen row that holds s (-1 none).
func rowOf(rows []string, s string) int {
	for i, r := range rows {
		if strings.Contains(r, s) {
			return i
		}
	}
	return -1
}

func TestClickFocusesAndOpens(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "psst"})
	rows := screen(t, m, 120, 40)
	// a chat in the chats pane: focus, select and open it
	y := rowOf(rows, "@ carol")
	click(m, 3, y)
	// opened, and the composer has the keys to answer, as enter does
	if m.focus != focusComposer || m.chats.active.Key() != "@carol" {
		t.Fatalf("click on @carol: focus %v, active %s", m.focus, m.chats.active.Key())
	}
	// the attributes pane: focus
	click(m, 100, rowOf(rows, "attributes · #lobby")+2)
	if m.focus != focusAttrs {
		t.Fatalf("click on the attributes: focus %v", m.focus)
	}
	mustSee(t, screenText(t, m, 120, 40), "┏━ attributes")
	// a peer: selected
	rows = screen(t, m, 120, 40)
	click(m, 100, rowOf(rows, "bob"))
	if m.focus != focusPeers || m.channel.memberList()[m.channel.sel] != "bob" {
		t.Fatalf("click on bob: focus %v sel %d", m.focus, m.channel.sel)
	}
	// the composer
	rows = screen(t, m, 120, 40)
	click(m, 40, rowOf(rows, "message @carol"))
	if m.focus != focusComposer {
		t.Fatalf("click on the composer: focus %v", m.focus)
	}
	// the status bar and a click under a dialog do nothing
	click(m, 5, 39)
	m.pushDialog(newHelpDialog(m, ""))
	click(m, 3, 1)
	if m.focus != focusComposer {
		t.Fatalf("focus %v", m.focus)
	}
}

func TestClickTabsOnANarrowScreen(t *testing.T) {
	m, _, _ := newTestModel(t)
	rows := screen(t, m, 80, 24)
	y := rowOf(rows, " attrs ")
	x := strings.Index(rows[y], "attrs") // the strip is ASCII up to there
	click(m, x, y)
	if m.focus != focusAttrs || narrowTabs[m.tab] != focusAttrs {
		t.Fatalf("click on the attrs tab: focus %v tab %d", m.focus, m.tab)
	}
	mustSee(t, screenText(t, m, 80, 24), "_member_num")
}

func TestWheelScrollsWhatIsUnderIt(t *testing.T) {
	m, _, _ := newTestModel(t)
	for _, a := range []string{"carol", "dave", "erin"} {
		send(m, Event{Name: "MessageInstantReceive", Account: a, Value: "hi"})
	}
	sel := m.chats.sel
	m.Update(tea.MouseWheelMsg{X: 3, Y: 5, Button: tea.MouseWheelDown}) // over the chats
	if m.chats.sel != sel+1 || m.focus != focusComposer {
		t.Fatalf("wheel over the chats: sel %d → %d, focus %v", sel, m.chats.sel, m.focus)
	}
	// over the help, it scrolls the help
	m.pushDialog(newHelpDialog(m, ""))
	screen(t, m, 120, 40)
	m.Update(tea.MouseWheelMsg{X: 60, Y: 20, Button: tea.MouseWheelDown})
	if d := m.topDialog().(*helpDialog); d.top != 1 {
		t.Fatalf("help top %d", d.top)
	}
}
