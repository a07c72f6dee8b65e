package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// listPane is a side pane with a selection: chats, peers, attributes,
// calls, events. Each owns its keys.
type listPane interface {
	len(m *Model) int
	// uses reports whether the pane acts on a key of its own (besides
	// moving, enter, invite and the tab keys every list knows).
	uses(m *Model, msg tea.KeyPressMsg) bool
	key(m *Model, msg tea.KeyPressMsg) tea.Cmd
}

// mover is a list pane that moves in its own way (the events inspector
// scrolls back in time instead of moving a selection).
type mover interface {
	move(m *Model, d int)
}

// The keys a focused list pane shows at its foot.
const (
	peersHint  = "enter chat · i call · s status · u attrs"
	attrsHint  = "n new · e edit · d delete · C clear"
	callsHint  = "a accept · r refuse · x end · p keypad"
	eventsHint = "↑↓ select · enter the whole event · / filter · c clear · g/G oldest/newest"
)

// paneHint is a pane's key hint wrapped to its width: nothing cut.
func (m *Model) paneHint(w int, hint string) []string {
	lines := wrapText(hint, w)
	for i, l := range lines {
		lines[i] = m.st.Hint.Render(l)
	}
	return lines
}

// pane is the list pane of a focus area (nil for the composer and the
// messages).
func (m *Model) pane(f focusArea) listPane {
	switch f {
	case focusChats:
		return &m.chats
	case focusPeers:
		return &m.channel
	case focusAttrs:
		return &m.attrs
	case focusCalls:
		return &m.calls
	case focusEvents:
		return &m.events
	}
	return nil
}

// sel is the selection of a list pane.
func (m *Model) sel(f focusArea) *int {
	switch f {
	case focusChats:
		return &m.chats.sel
	case focusPeers:
		return &m.channel.sel
	case focusAttrs:
		return &m.attrs.sel
	case focusCalls:
		return &m.calls.sel
	}
	return nil
}

// listKey handles a key in the focused list pane. Printable keys the pane
// does not use go to the composer, so typing never gets lost.
func (m *Model) listKey(p listPane, msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	common := key.Matches(msg, l.Up, l.Down, l.Open, l.Invite, l.PrevTab, l.NextTab, l.Close)
	if !common && !p.uses(m, msg) && msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
		m.focus = focusComposer
		m.composer.Insert(msg.Text)
		return nil
	}
	switch {
	case !m.wide() && key.Matches(msg, l.PrevTab):
		m.switchTab(-1)
	case !m.wide() && key.Matches(msg, l.NextTab):
		m.switchTab(1)
	case key.Matches(msg, l.Up):
		m.move(p, -1)
	case key.Matches(msg, l.Down):
		m.move(p, 1)
	default:
		return p.key(m, msg)
	}
	return nil
}

// move moves the focused pane's selection by one row.
func (m *Model) move(p listPane, d int) {
	if mv, ok := p.(mover); ok {
		mv.move(m, d)
		return
	}
	sel := m.sel(m.focus)
	switch {
	case d < 0 && *sel > 0:
		*sel--
	case d > 0 && *sel < p.len(m)-1:
		*sel++
	}
}

func clampSel(i, n int) int {
	if n == 0 {
		return -1
	}
	if i >= n {
		return n - 1
	}
	if i < 0 {
		return 0
	}
	return i
}

// scrollRows keeps the selected row in a window of h rows.
func scrollRows(rows []string, sel, h int) []string {
	if len(rows) <= h || sel < 0 {
		if len(rows) > h {
			return rows[:h]
		}
		return rows
	}
	first := max(sel-h+1, 0)
	return rows[first : first+h]
}
