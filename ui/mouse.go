package ui

import tea "charm.land/bubbletea/v2"

// The mouse: a click focuses the pane under it (a chat, a peer or a call
// is selected too, and a chat opened; a tab of the narrow layout comes
// forward); the wheel scrolls what is under it.

// region is a pane's place on the screen.
type region struct {
	area focusArea
	top  int  // its top border's row
	tabs bool // the narrow layout's tab panel (area is its current tab)
}

// paneAt is the pane under cell (x, y); false on the status bar.
func (m *Model) paneAt(x, y int) (region, bool) {
	g := m.layout()
	if y < 0 || y >= g.bodyH {
		return region{}, false
	}
	if !g.wide {
		switch {
		case y < g.msgOuter:
			return region{area: focusMessages}, true
		case y < g.msgOuter+g.compOuter:
			return region{area: focusComposer, top: g.msgOuter}, true
		}
		return region{area: narrowTabs[m.tab], top: g.msgOuter + g.compOuter, tabs: true}, true
	}
	switch right := g.leftW + g.centerW; {
	case x < g.leftW:
		return region{area: focusChats}, true
	case x >= right && y < g.peersOuter:
		return region{area: focusPeers}, true
	case x >= right && y < g.peersOuter+g.attrsOuter:
		return region{area: focusAttrs, top: g.peersOuter}, true
	case x >= right:
		return region{area: focusCalls, top: g.peersOuter + g.attrsOuter}, true
	case y < g.msgOuter:
		return region{area: focusMessages}, true
	case y < g.msgOuter+g.eventsOuter:
		return region{area: focusEvents, top: g.msgOuter}, true
	}
	return region{area: focusComposer, top: g.msgOuter + g.eventsOuter}, true
}

func (m *Model) click(msg tea.MouseClickMsg) {
	if len(m.dialogs) > 0 || msg.Button != tea.MouseLeft {
		return
	}
	r, ok := m.paneAt(msg.X, msg.Y)
	if !ok {
		return
	}
	if r.tabs && msg.Y == r.top {
		if i, ok := m.tabAt(msg.X); ok {
			m.tab = i
			m.focus = narrowTabs[i]
		}
		return
	}
	m.focusPane(r.area)
	row := msg.Y - r.top - 1 // under the border
	if r.tabs && r.area != focusChats && r.area != focusCalls {
		row-- // those tabs start with a title line
	}
	m.clickRow(r.area, row)
}

// clickRow selects the row-th visible row of a one-row-per-item list (and
// opens the chat clicked).
func (m *Model) clickRow(f focusArea, row int) {
	p, sel := m.pane(f), m.sel(f)
	if p == nil || sel == nil || row < 0 || f == focusAttrs {
		return
	}
	n := p.len(m)
	h := m.listRows(f)
	first := 0
	if n > h {
		first = max(clampSel(*sel, n)-h+1, 0)
	}
	i := first + row
	if i >= n || row >= h {
		return
	}
	*sel = i
	if f == focusChats {
		m.chats.key(m, tea.KeyPressMsg{Code: tea.KeyEnter})
	}
}

// listRows is how many item rows a list pane shows now (its hint line,
// shown while it has the focus, left out).
func (m *Model) listRows(f focusArea) int {
	g := m.layout()
	var h int
	w := g.rightW - 2
	switch {
	case !g.wide:
		h, w = g.tabsOuter-2, g.centerW-2
		if f != focusChats && f != focusCalls {
			h--
		}
	case f == focusChats:
		h = g.bodyH - 2
	case f == focusPeers:
		h = g.peersOuter - 2
	case f == focusCalls:
		h = g.callsOuter - 2
	}
	switch {
	case f == focusPeers && h > 2:
		h -= len(m.paneHint(w, peersHint))
	case f == focusCalls && h > 2:
		h -= len(m.paneHint(w, callsHint))
	}
	return max(h, 1)
}

func (m *Model) wheel(msg tea.MouseWheelMsg) {
	d := 0
	switch msg.Button {
	case tea.MouseWheelUp:
		d = -1
	case tea.MouseWheelDown:
		d = 1
	default:
		return
	}
	if top := m.topDialog(); top != nil {
		switch top.(type) { // the dialogs that scroll
		case *helpDialog, *eventDialog:
			k := "down"
			if d < 0 {
				k = "up"
			}
			top.update(m, tea.KeyPressMsg{Code: map[string]rune{"up": tea.KeyUp, "down": tea.KeyDown}[k]})
		}
		return
	}
	r, ok := m.paneAt(msg.X, msg.Y)
	if !ok || r.area == focusMessages || r.area == focusComposer {
		m.scrollMessages(3 * d)
		return
	}
	if p := m.pane(r.area); p != nil && (!r.tabs || r.area == narrowTabs[m.tab]) {
		prev := m.focus
		m.focus = r.area // move acts on the focused pane's selection
		m.move(p, d)
		m.focus = prev
	}
}
