package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// handleKey routes a key: the top dialog takes it all; otherwise global
// keys, then the focused pane.
func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.keys.Global
	if d := m.topDialog(); d != nil {
		if key.Matches(msg, g.Quit) {
			m.quit = true
			return tea.Quit
		}
		return d.update(m, msg)
	}
	if m.filtering {
		return m.filterKey(msg)
	}
	composerBusy := m.focus == focusComposer && !m.composer.Empty()
	switch {
	case key.Matches(msg, g.Quit):
		m.quit = true
		return tea.Quit
	case key.Matches(msg, g.Switcher):
		m.pushDialog(newSwitcherDialog(m))
		return nil
	case key.Matches(msg, g.NextUnread):
		if !m.nextUnread() {
			m.setNotice("no unread messages", false)
		}
		return nil
	case key.Matches(msg, g.ToggleEvents):
		m.showEvents = !m.showEvents
		if m.showEvents {
			m.focusPane(focusEvents)
		} else if m.focus == focusEvents {
			m.focus = focusComposer
		}
		return nil
	case key.Matches(msg, g.Accept):
		if c := m.ringingIncoming(); c != nil {
			m.acceptCall(c, "")
		} else {
			m.setNotice("no call is ringing", false)
		}
		return nil
	case key.Matches(msg, g.Refuse):
		if c := m.ringingIncoming(); c != nil {
			m.refuseCall(c, "")
		} else if c := m.liveCall(); c != nil {
			m.endCall(c)
		} else {
			m.setNotice("no call to refuse or end", false)
		}
		return nil
	case key.Matches(msg, g.Help) && (msg.String() != "?" || !composerBusy):
		m.pushDialog(newHelpDialog(m))
		return nil
	case key.Matches(msg, g.PageUp):
		m.scrollMessages(-m.pageSize())
		return nil
	case key.Matches(msg, g.PageDown):
		m.scrollMessages(m.pageSize())
		return nil
	case key.Matches(msg, g.Back):
		if m.focus == focusComposer {
			if len(m.comp.items) > 0 {
				m.composer.Set(m.comp.base)
				m.comp = completion{}
			} else {
				m.notice = ""
			}
		}
		m.focus = focusComposer
		return nil
	case key.Matches(msg, g.FocusNext) && !(m.focus == focusComposer && !m.composer.Empty()):
		m.cycleFocus(1)
		return nil
	case key.Matches(msg, g.FocusPrev):
		m.cycleFocus(-1)
		return nil
	}
	switch m.focus {
	case focusComposer:
		return m.composerKey(msg)
	case focusMessages:
		m.messagesKey(msg)
	default:
		return m.listKey(msg)
	}
	return nil
}

func (m *Model) composerKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Composer
	if !key.Matches(msg, k.Complete) {
		m.comp = completion{}
	}
	switch {
	case key.Matches(msg, k.Newline):
		m.composer.Newline()
	case key.Matches(msg, k.Send):
		line := m.composer.Value()
		m.composer.Reset()
		m.notice = ""
		return m.submit(strings.TrimRight(line, "\n"))
	case key.Matches(msg, k.Complete):
		m.complete()
	case key.Matches(msg, k.HistoryPrev):
		if !m.composer.Up() {
			m.historyMove(-1)
		}
	case key.Matches(msg, k.HistoryNext):
		if !m.composer.Down() {
			m.historyMove(1)
		}
	case key.Matches(msg, k.Home):
		m.composer.Home()
	case key.Matches(msg, k.End):
		m.composer.End()
	case key.Matches(msg, k.DeleteWord):
		m.composer.DeleteWord()
	case key.Matches(msg, k.DeleteLine):
		m.composer.DeleteToStart()
	default:
		editKey(&m.composer, msg)
	}
	return nil
}

// editKey applies the basic editing keys to an editor; false when the key
// is not one of them.
func editKey(e *editor, msg tea.KeyPressMsg) bool {
	switch msg.String() {
	case "left", "ctrl+b":
		e.Left()
	case "right", "ctrl+f":
		e.Right()
	case "backspace", "ctrl+h":
		e.Backspace()
	case "delete", "ctrl+d":
		e.Delete()
	case "home", "ctrl+a":
		e.Home()
	case "end":
		e.End()
	case "ctrl+w", "alt+backspace":
		e.DeleteWord()
	case "ctrl+u":
		e.DeleteToStart()
	case "up":
		return e.Up()
	case "down":
		return e.Down()
	default:
		if msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
			e.Insert(msg.Text)
			return true
		}
		return false
	}
	return true
}

func (m *Model) historyMove(d int) {
	if len(m.history) == 0 {
		return
	}
	if m.histIdx == len(m.history) && d < 0 {
		m.histDraft = m.composer.Value()
	}
	i := m.histIdx + d
	if i < 0 || i > len(m.history) {
		return
	}
	m.histIdx = i
	if i == len(m.history) {
		m.composer.Set(m.histDraft)
	} else {
		m.composer.Set(m.history[i])
	}
}

func (m *Model) messagesKey(msg tea.KeyPressMsg) {
	k := m.keys.Messages
	switch {
	case key.Matches(msg, k.Up):
		m.scrollMessages(-1)
	case key.Matches(msg, k.Down):
		m.scrollMessages(1)
	case key.Matches(msg, k.PageUp):
		m.scrollMessages(-m.pageSize())
	case key.Matches(msg, k.PageDown):
		m.scrollMessages(m.pageSize())
	case key.Matches(msg, k.Top):
		c := m.active
		c.Follow, c.Top, c.TopLine = false, 0, 0
		m.normalizeScroll(c)
	case key.Matches(msg, k.Bottom):
		m.active.Follow = true
		m.active.Unread, m.active.Mentions = 0, 0
	default:
		// typing while the messages have focus goes to the composer
		if msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
			m.focus = focusComposer
			m.composer.Insert(msg.Text)
		}
	}
}

// paneLetters are the plain keys a list pane acts on besides its bindings.
var paneLetters = map[focusArea]string{focusPeers: "su", focusEvents: "cgG"}

// listUses reports whether the focused list pane acts on the key.
func (m *Model) listUses(msg tea.KeyPressMsg) bool {
	l := m.keys.List
	if key.Matches(msg, l.Up, l.Down, l.Open, l.Invite, l.PrevTab, l.NextTab, l.Close) {
		return true
	}
	switch m.focus {
	case focusChats:
		return key.Matches(msg, l.Delete)
	case focusAttrs:
		return key.Matches(msg, l.New, l.Edit, l.Delete, l.Clear)
	case focusCalls:
		return key.Matches(msg, l.Accept, l.Refuse, l.End, l.Keypad)
	case focusEvents:
		if key.Matches(msg, l.Filter) {
			return true
		}
	}
	return msg.Text != "" && strings.Contains(paneLetters[m.focus], msg.Text)
}

// listKey handles keys in the list panes. Printable keys the pane does not
// use go to the composer, so typing never gets lost.
func (m *Model) listKey(msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	n := m.listLen(m.focus)
	if !m.listUses(msg) && msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
		m.focus = focusComposer
		m.composer.Insert(msg.Text)
		return nil
	}
	if !m.wide() {
		switch {
		case key.Matches(msg, l.PrevTab):
			m.tab = (m.tab + len(narrowTabs) - 1) % len(narrowTabs)
			m.focus = narrowTabs[m.tab]
			return nil
		case key.Matches(msg, l.NextTab):
			m.tab = (m.tab + 1) % len(narrowTabs)
			m.focus = narrowTabs[m.tab]
			return nil
		}
	}
	switch {
	case key.Matches(msg, l.Up):
		if m.focus == focusEvents {
			m.eventsBack++
		} else if m.sel[m.focus] > 0 {
			m.sel[m.focus]--
		}
		return nil
	case key.Matches(msg, l.Down):
		if m.focus == focusEvents {
			if m.eventsBack > 0 {
				m.eventsBack--
			}
		} else if m.sel[m.focus] < n-1 {
			m.sel[m.focus]++
		}
		return nil
	}
	switch m.focus {
	case focusChats:
		list := m.orderedConvs()
		i := clampSel(m.sel[focusChats], len(list))
		switch {
		case key.Matches(msg, l.Open):
			if i >= 0 {
				c := list[i]
				if c.Kind == convChannel && m.joined != c.Name && m.joining != c.Name {
					m.actionConv = c.Key()
					m.joinChannel(c.Name)
				} else {
					m.switchTo(c)
				}
				m.focus = focusComposer
			}
		case key.Matches(msg, l.Delete):
			if i >= 0 && list[i].Kind == convPeer {
				m.closeConv(list[i])
			}
		case key.Matches(msg, l.Invite):
			if i >= 0 && list[i].Kind == convPeer {
				m.pushDialog(newOutgoingDialog(m, list[i].Name))
			}
		}
	case focusPeers:
		list := m.memberList()
		i := clampSel(m.sel[focusPeers], len(list))
		if i < 0 {
			return nil
		}
		who := list[i]
		switch {
		case key.Matches(msg, l.Open):
			if who != m.account {
				m.switchTo(m.conv(convPeer, who))
				m.focus = focusComposer
			}
		case key.Matches(msg, l.Invite):
			if who != m.account {
				m.pushDialog(newOutgoingDialog(m, who))
			}
		case msg.String() == "s":
			m.actionConv = m.active.Key()
			m.c.QueryUserStatus(who)
		case msg.String() == "u":
			m.actionConv = m.active.Key()
			m.c.GetUserAttrAll(who)
		}
	case focusAttrs:
		items := m.attrRows()
		i := clampSel(m.sel[focusAttrs], len(items))
		ch := m.attrChannel()
		switch {
		case key.Matches(msg, l.New):
			if ch != "" {
				m.pushDialog(newAttrDialog(m, ch, "", ""))
			}
		case key.Matches(msg, l.Open), key.Matches(msg, l.Edit):
			if i >= 0 && ch != "" {
				m.pushDialog(newAttrDialog(m, ch, items[i].Name, items[i].Value))
			} else if ch != "" {
				m.pushDialog(newAttrDialog(m, ch, "", ""))
			}
		case key.Matches(msg, l.Delete):
			if i >= 0 && ch != "" {
				name := items[i].Name
				m.pushDialog(newConfirmDialog("Delete attribute "+name+" of #"+ch+"?", "", func(m *Model) { m.c.ChannelDelAttr(ch, name) }))
			}
		case key.Matches(msg, l.Clear):
			if ch != "" {
				return cmdAttr(m, "clear")
			}
		}
	case focusCalls:
		list := m.callRows()
		i := clampSel(m.sel[focusCalls], len(list))
		if i < 0 {
			if key.Matches(msg, l.Invite) {
				m.pushDialog(newOutgoingDialog(m, ""))
			}
			return nil
		}
		c := list[i]
		m.actionConv = m.active.Key()
		switch {
		case key.Matches(msg, l.Accept):
			m.acceptCall(c, "")
		case key.Matches(msg, l.Refuse):
			m.refuseCall(c, "")
		case key.Matches(msg, l.End):
			m.endCall(c)
		case key.Matches(msg, l.Keypad):
			if c.State == "accepted" {
				m.pushDialog(&keypadDialog{call: c})
			} else {
				m.setNotice("the keypad works on an accepted call", true)
			}
		case key.Matches(msg, l.Invite):
			m.pushDialog(newOutgoingDialog(m, c.Peer))
		case key.Matches(msg, l.Open):
			switch {
			case c.Incoming && c.Ringing():
				m.pushDialog(&inviteDialog{call: c, opened: m.now()})
			case c.State == "accepted":
				m.pushDialog(&keypadDialog{call: c})
			default:
				m.switchTo(m.conv(convPeer, c.Peer))
				m.focus = focusComposer
			}
		}
	case focusEvents:
		switch {
		case key.Matches(msg, l.Filter):
			m.filtering = true
		case msg.String() == "c":
			m.events = ring{max: m.events.max}
			m.eventsBack = 0
		case msg.String() == "home" || msg.String() == "g":
			m.eventsBack = m.events.len()
		case msg.String() == "end" || msg.String() == "G":
			m.eventsBack = 0
		}
	}
	return nil
}

func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter", "esc":
		m.filtering = false
		if msg.String() == "esc" {
			m.filter.Reset()
		}
		m.eventsBack = 0
	default:
		editKey(&m.filter, msg)
		m.eventsBack = 0
	}
	return nil
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

func (m *Model) closeConv(c *Conversation) {
	for i, o := range m.convs {
		if o == c {
			m.convs = append(m.convs[:i], m.convs[i+1:]...)
			break
		}
	}
	delete(m.byKey, c.Key())
	if m.active == c {
		m.switchTo(m.byKey["xinling"])
	}
}

// listLen is the number of selectable rows of a list pane.
func (m *Model) listLen(f focusArea) int {
	switch f {
	case focusChats:
		return len(m.convs)
	case focusPeers:
		return len(m.members)
	case focusAttrs:
		return len(m.attrRows())
	case focusCalls:
		return len(m.callRows())
	}
	return 0
}

// attrRows are the attribute pane's selectable rows: user attributes, then
// built-in ones.
func (m *Model) attrRows() []*Attr {
	if m.attrs.Channel != m.attrChannel() {
		return nil
	}
	u, b := m.attrs.Sorted()
	return append(u, b...)
}

// callRows are the calls, newest first.
func (m *Model) callRows() []*Call {
	out := make([]*Call, 0, len(m.calls))
	for i := len(m.calls) - 1; i >= 0; i-- {
		out = append(out, m.calls[i])
	}
	return out
}
