// Package keymap holds the terminal client's key bindings, grouped by the
// part of the screen that has focus, and builds the help from them. Users
// override bindings by action name ("global.quit", "composer.newline", …)
// from the config file.
package keymap

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
)

// Global keys work whatever has focus (outside dialogs).
type Global struct {
	Quit, Help, Switcher, NextUnread, FocusNext, FocusPrev, Back key.Binding
	ToggleEvents, PageUp, PageDown, Accept, Refuse               key.Binding
}

// Composer keys edit the message being written.
type Composer struct {
	Send, Newline, Complete, HistoryPrev, HistoryNext key.Binding
	Home, End, DeleteWord, DeleteLine                 key.Binding
}

// Messages keys scroll the message pane.
type Messages struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// List keys move in a list pane (conversations, peers, attributes, calls,
// events) and act on its selection.
type List struct {
	Up, Down, Open, Invite, Edit, New, Delete, Clear, Accept, Refuse, End, Keypad, Filter, Close key.Binding
	PrevTab, NextTab                                                                             key.Binding
}

// Dialog keys work in a modal dialog.
type Dialog struct {
	Confirm, Cancel, NextField, PrevField, Newline, Up, Down key.Binding
}

// KeyMap is every binding of the client.
type KeyMap struct {
	Global   Global
	Composer Composer
	Messages Messages
	List     List
	Dialog   Dialog
}

func b(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}

// Default is the built-in key map. Keys that need the terminal's keyboard
// enhancements (shift+enter) always have a fallback that every terminal
// sends (alt+enter, ctrl+j).
func Default() KeyMap {
	return KeyMap{
		Global: Global{
			Quit:         b("ctrl+c", "quit", "ctrl+c"),
			Help:         b("?/f1", "help", "f1", "?"),
			Switcher:     b("ctrl+k", "quick switcher", "ctrl+k"),
			NextUnread:   b("ctrl+n", "next unread", "ctrl+n"),
			FocusNext:    b("tab", "next pane", "tab"),
			FocusPrev:    b("shift+tab", "previous pane", "shift+tab"),
			Back:         b("esc", "back to composer", "esc"),
			ToggleEvents: b("ctrl+e", "events inspector", "ctrl+e"),
			PageUp:       b("pgup", "scroll messages up", "pgup"),
			PageDown:     b("pgdn", "scroll messages down", "pgdown"),
			Accept:       b("ctrl+y", "accept call", "ctrl+y"),
			Refuse:       b("ctrl+r", "refuse/end call", "ctrl+r"),
		},
		Composer: Composer{
			Send:        b("enter", "send", "enter"),
			Newline:     b("alt+enter", "new line", "alt+enter", "shift+enter", "ctrl+j"),
			Complete:    b("tab", "complete /command, account, channel", "tab"),
			HistoryPrev: b("↑", "previous input", "up"),
			HistoryNext: b("↓", "next input", "down"),
			Home:        b("ctrl+a", "start of line", "home", "ctrl+a"),
			End:         b("end", "end of line", "end"),
			DeleteWord:  b("ctrl+w", "delete word", "ctrl+w", "alt+backspace"),
			DeleteLine:  b("ctrl+u", "delete to start", "ctrl+u"),
		},
		Messages: Messages{
			Up:       b("↑/k", "scroll up", "up", "k"),
			Down:     b("↓/j", "scroll down", "down", "j"),
			PageUp:   b("pgup/b", "page up", "pgup", "b"),
			PageDown: b("pgdn/space", "page down", "pgdown", "space", "f"),
			Top:      b("home/g", "oldest", "home", "g"),
			Bottom:   b("end/G", "newest, follow", "end", "G"),
		},
		List: List{
			Up:      b("↑/k", "up", "up", "k"),
			Down:    b("↓/j", "down", "down", "j"),
			Open:    b("enter", "open / act", "enter"),
			Invite:  b("i", "invite to a call", "i"),
			Edit:    b("e", "edit", "e"),
			New:     b("n", "new attribute", "n"),
			Delete:  b("d/del", "delete / close", "d", "delete"),
			Clear:   b("C", "clear all attributes", "C"),
			Accept:  b("a", "accept call", "a"),
			Refuse:  b("r", "refuse call", "r"),
			End:     b("x", "end call", "x"),
			Keypad:  b("p", "DTMF keypad", "p"),
			Filter:  b("/", "filter events", "/"),
			Close:   b("esc", "back", "esc"),
			PrevTab: b("[/←", "previous tab", "[", "left"),
			NextTab: b("]/→", "next tab", "]", "right"),
		},
		Dialog: Dialog{
			Confirm:   b("enter", "confirm", "enter"),
			Cancel:    b("esc", "cancel", "esc"),
			NextField: b("tab", "next field", "tab"),
			PrevField: b("shift+tab", "previous field", "shift+tab"),
			Newline:   b("alt+enter", "new line", "alt+enter", "shift+enter", "ctrl+j"),
			Up:        b("↑", "up", "up"),
			Down:      b("↓", "down", "down"),
		},
	}
}

// bindings indexes a key map's bindings by action name, e.g. "global.quit".
func (k *KeyMap) bindings() map[string]*key.Binding {
	m := map[string]*key.Binding{}
	add := func(group string, pairs ...any) {
		for i := 0; i < len(pairs); i += 2 {
			m[group+"."+pairs[i].(string)] = pairs[i+1].(*key.Binding)
		}
	}
	g, c, ms, l, d := &k.Global, &k.Composer, &k.Messages, &k.List, &k.Dialog
	add("global", "quit", &g.Quit, "help", &g.Help, "switcher", &g.Switcher, "next_unread", &g.NextUnread,
		"focus_next", &g.FocusNext, "focus_prev", &g.FocusPrev, "back", &g.Back, "toggle_events", &g.ToggleEvents,
		"page_up", &g.PageUp, "page_down", &g.PageDown, "accept", &g.Accept, "refuse", &g.Refuse)
	add("composer", "send", &c.Send, "newline", &c.Newline, "complete", &c.Complete, "history_prev", &c.HistoryPrev,
		"history_next", &c.HistoryNext, "home", &c.Home, "end", &c.End, "delete_word", &c.DeleteWord, "delete_line", &c.DeleteLine)
	add("messages", "up", &ms.Up, "down", &ms.Down, "page_up", &ms.PageUp, "page_down", &ms.PageDown, "top", &ms.Top, "bottom", &ms.Bottom)
	add("list", "up", &l.Up, "down", &l.Down, "open", &l.Open, "invite", &l.Invite, "edit", &l.Edit, "new", &l.New,
		"delete", &l.Delete, "clear", &l.Clear, "accept", &l.Accept, "refuse", &l.Refuse, "end", &l.End, "keypad", &l.Keypad,
		"filter", &l.Filter, "close", &l.Close, "prev_tab", &l.PrevTab, "next_tab", &l.NextTab)
	add("dialog", "confirm", &d.Confirm, "cancel", &d.Cancel, "next_field", &d.NextField, "prev_field", &d.PrevField,
		"newline", &d.Newline, "up", &d.Up, "down", &d.Down)
	return m
}

// Actions lists every action name a user can rebind.
func (k *KeyMap) Actions() []string {
	var out []string
	for n := range k.bindings() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Apply rebinds actions: each entry maps an action name to the keys that
// now trigger it (an empty list unbinds it). Unknown actions are an error
// that names the known ones; the other entries still apply.
func (k *KeyMap) Apply(overrides map[string][]string) error {
	bs := k.bindings()
	var unknown []string
	names := make([]string, 0, len(overrides))
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		keys := overrides[name]
		bd, ok := bs[strings.ToLower(name)]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if len(keys) == 0 {
			bd.Unbind()
			continue
		}
		bd.SetKeys(keys...)
		bd.SetHelp(strings.Join(keys, "/"), bd.Help().Desc)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown key actions %s (known: %s)", strings.Join(unknown, ", "), strings.Join(k.Actions(), ", "))
	}
	return nil
}

// Section is one group of the help: a title and its bindings.
type Section struct {
	Title    string
	Bindings []key.Binding
}

// Help returns the help, one section per focus area, enabled bindings only.
func (k *KeyMap) Help() []Section {
	en := func(bs ...key.Binding) []key.Binding {
		var out []key.Binding
		for _, b := range bs {
			if b.Enabled() && len(b.Keys()) > 0 {
				out = append(out, b)
			}
		}
		return out
	}
	g, c, m, l, d := k.Global, k.Composer, k.Messages, k.List, k.Dialog
	return []Section{
		{"Anywhere", en(g.Help, g.Switcher, g.NextUnread, g.FocusNext, g.FocusPrev, g.Back, g.ToggleEvents, g.PageUp, g.PageDown, g.Accept, g.Refuse, g.Quit)},
		{"Composer", en(c.Send, c.Newline, c.Complete, c.HistoryPrev, c.HistoryNext, c.Home, c.End, c.DeleteWord, c.DeleteLine)},
		{"Messages", en(m.Up, m.Down, m.PageUp, m.PageDown, m.Top, m.Bottom)},
		{"Lists (chats, peers, attributes, calls, events)", en(l.Up, l.Down, l.Open, l.Invite, l.Edit, l.New, l.Delete, l.Clear, l.Accept, l.Refuse, l.End, l.Keypad, l.Filter, l.PrevTab, l.NextTab)},
		{"Dialogs", en(d.Confirm, d.Cancel, d.NextField, d.PrevField, d.Newline)},
	}
}
