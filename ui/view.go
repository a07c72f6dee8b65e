package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// View renders the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(strings.Join(m.render(), "\n"))
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.ReportFocus = true
	title := "xinling"
	if m.account != "" {
		title += " — " + m.account
	}
	if m.chats.active != nil && m.chats.active.Kind != convSystem {
		title += " " + m.chats.active.Key()
	}
	v.WindowTitle = title
	return v
}

// Render returns the screen as lines of exactly the terminal's width
// (styled), for View and for tests.
func (m *Model) render() []string {
	g := m.layout()
	var body []string
	center := m.renderCenter(g)
	if g.wide {
		left := m.box(m.chats.title(), m.focus == focusChats, g.leftW, g.bodyH, m.chats.render(m, g.leftW-2, g.bodyH-2))
		right := append(append(
			m.box(m.channel.title(), m.focus == focusPeers, g.rightW, g.peersOuter, m.channel.render(m, g.rightW-2, g.peersOuter-2)),
			m.box(m.attrsTitle(), m.focus == focusAttrs, g.rightW, g.attrsOuter, m.attrs.render(m, g.rightW-2, g.attrsOuter-2))...),
			m.box(m.calls.title(), m.focus == focusCalls, g.rightW, g.callsOuter, m.calls.render(m, g.rightW-2, g.callsOuter-2))...)
		for i := 0; i < g.bodyH; i++ {
			body = append(body, left[i]+center[i]+right[i])
		}
	} else {
		body = center
	}
	body = append(body, m.renderStatus(m.width))
	for _, d := range m.dialogs {
		body = m.overlay(body, d)
	}
	return body
}

func (m *Model) renderCenter(g geom) []string {
	var out []string
	out = append(out, m.box(m.messagesTitle(), m.focus == focusMessages, g.centerW, g.msgOuter, m.renderMessages(g.msgW, g.msgH))...)
	if g.wide && g.eventsOuter > 0 {
		out = append(out, m.box(m.events.title(), m.focus == focusEvents, g.centerW, g.eventsOuter, m.events.render(m, g.centerW-2, g.eventsOuter-2))...)
	}
	compose := m.box(m.composerTitle(), m.focus == focusComposer, g.centerW, g.compOuter, m.renderComposer(g.centerW-2, g.compRows))
	if n := m.composerNote(g.centerW - 4); n != "" {
		compose[len(compose)-1] = m.boxBottom(g.centerW, m.focus == focusComposer, n)
	}
	if g.wide {
		out = append(out, compose...)
		return out
	}
	out = append(out, compose...)
	out = append(out, m.renderTabs(g.centerW, g.tabsOuter)...)
	return out
}
