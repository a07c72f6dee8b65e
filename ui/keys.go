package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// handleKey routes a key: the top dialog takes it all (but quit and, while
// a call rings, its answer keys); otherwise global keys, then the focused
// pane.
func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.keys.Global
	if d := m.topDialog(); d != nil {
		switch {
		case key.Matches(msg, g.Quit):
			m.quit = true
			return tea.Quit
		case key.Matches(msg, g.Accept) && m.calls.ringingIncoming() != nil:
			m.acceptKey() // a ringing call is answered whatever is open
			return nil
		case key.Matches(msg, g.Refuse) && m.calls.ringingIncoming() != nil:
			m.refuseKey()
			return nil
		}
		return d.update(m, msg)
	}
	if m.events.filtering {
		return m.events.filterKey(msg)
	}
	if cmd, ok := m.globalKey(msg); ok {
		return cmd
	}
	switch m.focus {
	case focusComposer:
		return m.composerKey(msg)
	case focusMessages:
		m.messagesKey(msg)
		return nil
	}
	return m.listKey(m.pane(m.focus), msg)
}

// globalKey handles the keys that work whatever pane has focus; false
// when msg is not one of them.
func (m *Model) globalKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	g := m.keys.Global
	composerBusy := m.focus == focusComposer && !m.composer.Empty()
	switch {
	case key.Matches(msg, g.Quit):
		m.quit = true
		return tea.Quit, true
	case key.Matches(msg, g.Switcher):
		m.pushDialog(newSwitcherDialog(m))
	case key.Matches(msg, g.NextUnread):
		if !m.nextUnread() {
			m.setNotice("no unread messages", false)
		}
	case key.Matches(msg, g.ToggleEvents):
		m.toggleEvents()
	case key.Matches(msg, g.Accept):
		m.acceptKey()
	case key.Matches(msg, g.Refuse):
		m.refuseKey()
	case key.Matches(msg, g.Help) && (msg.String() != "?" || !composerBusy):
		m.pushDialog(newHelpDialog(m, ""))
	case key.Matches(msg, g.PageUp):
		m.scrollMessages(-m.pageSize())
	case key.Matches(msg, g.PageDown):
		m.scrollMessages(m.pageSize())
	case key.Matches(msg, g.Back):
		m.back()
	case key.Matches(msg, g.FocusNext) && !composerBusy:
		m.cycleFocus(1)
	case key.Matches(msg, g.FocusPrev):
		m.cycleFocus(-1)
	default:
		return nil, false
	}
	return nil, true
}

// acceptKey (ctrl+y) accepts the ringing call.
func (m *Model) acceptKey() {
	if c := m.calls.ringingIncoming(); c != nil {
		m.acceptCall(c, "")
	} else {
		m.setNotice("no call is ringing", false)
	}
}

// refuseKey (ctrl+r) refuses the ringing call, else ends the live one.
func (m *Model) refuseKey() {
	if c := m.calls.ringingIncoming(); c != nil {
		m.refuseCall(c, "")
	} else if c := m.calls.live(); c != nil {
		m.endCall(c)
	} else {
		m.setNotice("no call to refuse or end", false)
	}
}

// back (esc) undoes a completion or clears the notice in the composer, and
// brings the focus back to it from anywhere.
func (m *Model) back() {
	if m.focus == focusComposer {
		if p := &m.composer; len(p.comp.items) > 0 {
			p.Set(p.comp.base)
			p.comp = completion{}
		} else {
			p.notice = ""
		}
	}
	m.focus = focusComposer
}
