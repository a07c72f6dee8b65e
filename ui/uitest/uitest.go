// Package uitest drives a Bubble Tea model as a person would: keys by
// name, text typed one key at a time, and the screen read back from a
// virtual terminal. It knows nothing of xinling's models, so the client's
// own tests and the end-to-end tests of package main share it.
package uitest

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"
)

// named are the keys Key knows by name besides single characters.
var named = map[string]rune{"enter": tea.KeyEnter, "tab": tea.KeyTab, "esc": tea.KeyEscape, "up": tea.KeyUp,
	"down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"home": tea.KeyHome, "end": tea.KeyEnd, "backspace": tea.KeyBackspace, "space": tea.KeySpace, "f1": tea.KeyF1,
	"delete": tea.KeyDelete}

// Key is the key press a terminal sends for a name: "enter", "ctrl+k",
// "alt+enter", "shift+tab", "a", "?"…
func Key(s string) tea.KeyPressMsg {
	var mod tea.KeyMod
	for {
		switch {
		case strings.HasPrefix(s, "ctrl+"):
			mod |= tea.ModCtrl
			s = s[5:]
			continue
		case strings.HasPrefix(s, "alt+"):
			mod |= tea.ModAlt
			s = s[4:]
			continue
		case strings.HasPrefix(s, "shift+"):
			mod |= tea.ModShift
			s = s[6:]
			continue
		}
		break
	}
	if r, ok := named[s]; ok {
		k := tea.KeyPressMsg{Code: r, Mod: mod}
		if r == tea.KeySpace && mod == 0 {
			k.Text = " "
		}
		return k
	}
	r := []rune(s)[0]
	if mod == 0 {
		return tea.KeyPressMsg{Code: r, Text: s}
	}
	return tea.KeyPressMsg{Code: r, Mod: mod}
}

// Press sends keys by name and returns the command of the last one.
func Press(m tea.Model, keys ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range keys {
		_, last = m.Update(Key(k))
	}
	return last
}

// Type types text one key at a time.
func Type(m tea.Model, s string) {
	for _, r := range s {
		if r == ' ' {
			m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
			continue
		}
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// Screen resizes the model to w×h, draws its view into a virtual terminal
// and returns what a person would see, one string per row.
func Screen(t testing.TB, m tea.Model, w, h int) []string {
	t.Helper()
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	em := vt.NewEmulator(w, h)
	defer em.Close()
	content := m.View().Content
	if n := strings.Count(content, "\n") + 1; n != h {
		t.Fatalf("view has %d lines, want %d", n, h)
	}
	em.WriteString("\x1b[H\x1b[2J" + strings.ReplaceAll(content, "\n", "\r\n"))
	rows := strings.Split(em.String(), "\n")
	if len(rows) > h {
		rows = rows[:h]
	}
	return rows
}

// ScreenText is Screen joined into one string.
func ScreenText(t testing.TB, m tea.Model, w, h int) string {
	t.Helper()
	return strings.Join(Screen(t, m, w, h), "\n")
}

// MustSee fails unless every want appears on the screen text.
func MustSee(t testing.TB, scr string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(scr, w) {
			t.Fatalf("screen lacks %q:\n%s", w, scr)
		}
	}
}

// MustNotSee fails if any bad appears on the screen text.
func MustNotSee(t testing.TB, scr string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(scr, w) {
			t.Fatalf("screen shows %q:\n%s", w, scr)
		}
	}
}
