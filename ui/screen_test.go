package ui

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Every row of the view is exactly the terminal's width, at every size, so
// panes line up and nothing wraps in the terminal.
func TestViewFillsTheScreenExactly(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: strings.Repeat("long words wrap ", 30)},
		Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "宽字符 CJK text 你好世界 and emoji 👋"},
		Event{Name: "InviteReceived", Channel: "c", Account: "carol"})
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {99, 30}, {100, 30}, {160, 50}, {40, 12}} {
		for _, withDialog := range []bool{true, false} {
			if !withDialog {
				m.dialogs = nil
			}
			m.width, m.height = sz[0], sz[1]
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != sz[1] {
				t.Fatalf("%dx%d: %d lines", sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != sz[0] {
					t.Fatalf("%dx%d dialog=%v: line %d is %d wide: %q", sz[0], sz[1], withDialog, i, w, ansi.Strip(l))
				}
			}
		}
	}
}

func TestScreen80x24(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "hello from bob"})
	rows := screen(t, m, 80, 24)
	scr := strings.Join(rows, "\n")
	// the messages, the composer and the folded side panes as tabs
	mustSee(t, scr, "#lobby · 2 here", "bob hello from bob", "to #lobby", " chats ", " peers ", " attrs ", " calls ", " events ")
	if !strings.Contains(rows[23], "● online") || !strings.Contains(rows[23], "#lobby") {
		t.Fatalf("status bar row: %q", rows[23])
	}
	// a narrow screen has no side columns: the message box spans the width
	if !strings.HasPrefix(rows[0], "╭─ #lobby") || !strings.HasSuffix(strings.TrimRight(rows[0], " "), "╮") {
		t.Fatalf("top row: %q", rows[0])
	}
}

func TestScreen120x40(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "psst"},
		Event{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "topic", Value: "launch", Typ: "update"})
	rows := screen(t, m, 120, 40)
	top := rows[0]
	// three columns: chats | messages | peers, attributes and calls stacked
	for _, want := range []string{"chats", "#lobby · 2 here", "peers · #lobby · 2"} {
		if !strings.Contains(top, want) {
			t.Fatalf("top row lacks %q: %q", want, top)
		}
	}
	scr := strings.Join(rows, "\n")
	mustSee(t, scr, "attributes · #lobby", "topic", "launch", "calls", "@ carol", "✉ 1 unread")
}

func TestDialogsFit80x24(t *testing.T) {
	m, _, _ := newTestModel(t)
	for _, open := range []func(){
		func() { press(m, "f1") },
		func() { press(m, "ctrl+k") },
		func() { m.pushDialog(newAttrDialog(m, "lobby", "cfg", `{"a":[1,2,3],"b":{"c":"d"}}`)) },
		func() { m.pushDialog(newLoginDialog(m, "")) },
		func() { m.pushDialog(newOutgoingDialog(m, "bob")) },
		func() { send(m, Event{Name: "InviteReceived", Channel: "c", Account: "bob"}) },
	} {
		m.dialogs = nil
		open()
		d := m.topDialog()
		rows := screen(t, m, 80, 24)
		scr := strings.Join(rows, "\n")
		mustSee(t, scr, d.title())
		// the dialog is framed: its bottom edge is on screen
		if strings.Count(scr, "╰") < 2 {
			t.Fatalf("%T is cut off:\n%s", d, scr)
		}
	}
	// the attribute editor shows JSON pretty-printed
	m.dialogs = nil
	m.pushDialog(newAttrDialog(m, "lobby", "cfg", `{"a":1,"b":{"c":"d"}}`))
	mustSee(t, screenText(t, m, 80, 24), `"b": {`, `"c": "d"`, "JSON (saved compact)")
}

// Random keys, events and sizes never panic and never break the frame.
func TestRandomInputKeepsTheFrame(t *testing.T) {
	m, _, ck := newTestModel(t)
	rnd := rand.New(rand.NewSource(5))
	keys := []string{"tab", "shift+tab", "enter", "esc", "up", "down", "left", "right", "pgup", "pgdown", "home", "end",
		"ctrl+k", "ctrl+n", "ctrl+e", "ctrl+y", "ctrl+r", "f1", "?", "a", "r", "x", "p", "e", "n", "d", "C", "y", "i", "/",
		"g", "G", "j", "k", "[", "]", "alt+enter", "backspace", "ctrl+w", "ctrl+u", "space", "1", "#", "s", "u", "c"}
	evs := []Event{
		{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "hi there, a longer message that wraps around"},
		{Name: "MessageInstantReceive", Account: "carol", Value: "psst\nsecond line"},
		{Name: "InviteReceived", Channel: "c", Account: "dave"},
		{Name: "InviteEndByPeer", Channel: "c", Account: "dave"},
		{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "k", Value: `{"x":1}`, Typ: "update"},
		{Name: "ChannelAttrUpdated", Channel: "lobby", Typ: "clear"},
		{Name: "ChannelUserJoined", Account: "erin"},
		{Name: "ChannelUserLeaved", Account: "bob"},
		{Name: "ChannelLeaved", Channel: "lobby", Code: 602},
		{Name: "ChannelJoined", Channel: "lobby"},
		{Name: "Reconnecting", Num: 2},
		{Name: "Logout", Code: 102},
		{Name: "LoginSuccess"},
		{Name: "Error", Attr: "X", Code: 1003, Typ: "not logged in"},
	}
	sizes := [][2]int{{80, 24}, {120, 40}, {60, 16}, {101, 33}}
	for i := 0; i < 20000; i++ {
		switch r := rnd.Intn(10); {
		case r < 6:
			press(m, keys[rnd.Intn(len(keys))])
		case r < 9:
			send(m, evs[rnd.Intn(len(evs))])
		default:
			ck.add(time.Duration(rnd.Intn(3000)) * time.Millisecond)
		}
		if m.quit {
			m.quit = false
		}
		if i%50 == 0 {
			sz := sizes[rnd.Intn(len(sizes))]
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			for n, l := range strings.Split(m.View().Content, "\n") {
				if w := ansi.StringWidth(l); w != sz[0] {
					t.Fatalf("step %d: line %d is %d wide at %dx%d: %q", i, n, w, sz[0], sz[1], ansi.Strip(l))
				}
			}
		}
	}
}
