package ui

// focusArea is the part of the screen that gets the keys.
type focusArea int

const (
	focusComposer focusArea = iota
	focusMessages
	focusChats
	focusPeers
	focusAttrs
	focusCalls
	focusEvents
)

var focusNames = map[focusArea]string{
	focusComposer: "composer", focusMessages: "messages", focusChats: "chats", focusPeers: "peers",
	focusAttrs: "attributes", focusCalls: "calls", focusEvents: "events",
}

func (f focusArea) String() string { return focusNames[f] }

// narrowTabs are the side panes folded into tabs on a narrow screen.
var narrowTabs = []focusArea{focusChats, focusPeers, focusAttrs, focusCalls, focusEvents}

// wideMin is the width from which side panes stand beside the messages.
const wideMin = 100

func (m *Model) wide() bool { return m.width >= wideMin }

// fixFocus moves focus off a pane the current layout does not show.
func (m *Model) fixFocus() {
	if m.wide() {
		if m.focus == focusEvents && !m.events.show {
			m.focus = focusComposer
		}
		return
	}
	for i, t := range narrowTabs {
		if t == m.focus {
			m.tab = i
		}
	}
}

// focusOrder lists the panes the focus cycles through.
func (m *Model) focusOrder() []focusArea {
	if m.wide() {
		out := []focusArea{focusComposer, focusMessages, focusChats, focusPeers, focusAttrs, focusCalls}
		if m.events.show {
			out = append(out, focusEvents)
		}
		return out
	}
	return []focusArea{focusComposer, focusMessages, narrowTabs[m.tab]}
}

func (m *Model) cycleFocus(d int) {
	order := m.focusOrder()
	i := 0
	for k, f := range order {
		if f == m.focus {
			i = k
		}
	}
	m.focus = order[(i+d+len(order))%len(order)]
}

// focusPane gives focus to a pane, bringing its tab forward when narrow.
func (m *Model) focusPane(f focusArea) {
	m.focus = f
	for i, t := range narrowTabs {
		if t == f {
			m.tab = i
		}
	}
	if f == focusEvents {
		m.events.show = true
	}
}

// switchTab shows the next (d 1) or previous (d -1) tab of the narrow
// layout's tab panel, and gives it focus.
func (m *Model) switchTab(d int) {
	m.tab = (m.tab + len(narrowTabs) + d) % len(narrowTabs)
	m.focus = narrowTabs[m.tab]
}

// toggleEvents shows or hides the events inspector.
func (m *Model) toggleEvents() {
	m.events.show = !m.events.show
	if m.events.show {
		m.focusPane(focusEvents)
	} else if m.focus == focusEvents {
		m.focus = focusComposer
	}
}
