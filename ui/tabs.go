package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// --- narrow: tab panel ---------------------------------------------------

var tabLabels = map[focusArea]string{focusChats: "chats", focusPeers: "peers", focusAttrs: "attrs", focusCalls: "calls", focusEvents: "events"}

// tabLabel is a tab's label, with the chats' unread count and a ☎ while a
// call rings.
func (m *Model) tabLabel(t focusArea) string {
	l := " " + tabLabels[t]
	switch t {
	case focusChats:
		if n := m.chats.totalUnread(); n > 0 {
			l += fmt.Sprintf(" %d", n)
		}
	case focusCalls:
		if m.calls.newest((*Call).Ringing) != nil {
			l += " ☎"
		}
	}
	return l + " "
}

// tabAt is the tab whose label is at column x of the tab strip.
func (m *Model) tabAt(x int) (int, bool) {
	at := 2 // after the corner and one line of the border
	for i, t := range narrowTabs {
		w := ansi.StringWidth(m.tabLabel(t))
		if x >= at && x < at+w {
			return i, true
		}
		at += w
	}
	return 0, false
}

func (m *Model) renderTabs(w, h int) []string {
	cur := narrowTabs[m.tab]
	var labels []string
	for i, t := range narrowTabs {
		l := m.tabLabel(t)
		if i == m.tab {
			labels = append(labels, m.st.TabActive.Render(l))
		} else {
			labels = append(labels, m.st.Tab.Render(l))
		}
	}
	title := strings.Join(labels, "")
	inner := h - 2
	var body []string
	switch cur {
	case focusChats:
		body = m.chats.render(m, w-2, inner)
	case focusPeers:
		body = append([]string{m.st.Muted.Render(m.channel.title())}, m.channel.render(m, w-2, inner-1)...)
	case focusAttrs:
		body = append([]string{m.st.Muted.Render(m.attrsTitle())}, m.attrs.render(m, w-2, inner-1)...)
	case focusCalls:
		body = m.calls.render(m, w-2, inner)
	case focusEvents:
		body = m.events.render(m, w-2, inner)
	}
	out := m.box("", m.focus == cur, w, h, body)
	// the tab strip replaces the top border's title
	out[0] = m.paneFrame(m.focus == cur).top(title, w-2, false)
	return out
}
