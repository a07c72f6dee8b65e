package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// chatsPane is the list of conversations: the system log, channels, then
// peers, with unread counts and mention badges.
type chatsPane struct {
	convs  []*Conversation
	byKey  map[string]*Conversation
	active *Conversation // the one the messages pane shows and the composer writes to
	sel    int
}

// ordered is the chats list: the system log, channels, then peers.
func (p *chatsPane) ordered() []*Conversation {
	out := make([]*Conversation, 0, len(p.convs))
	for _, k := range []convKind{convSystem, convChannel, convPeer} {
		for _, c := range p.convs {
			if c.Kind == k {
				out = append(out, c)
			}
		}
	}
	return out
}

// totalUnread counts unread messages everywhere.
func (p *chatsPane) totalUnread() int {
	n := 0
	for _, c := range p.convs {
		n += c.Unread
	}
	return n
}

// --- events ----------------------------------------------------------------

// chatReducers apply the message events to the conversations.
var chatReducers = reducers{
	"MessageSendSuccess":    (*Model).messageSent,
	"MessageSendError":      (*Model).messageNotSent,
	"MessageInstantReceive": (*Model).peerMessage,
	"MessageChannelReceive": (*Model).channelMessage,
}

func (m *Model) messageSent(e Event) tea.Cmd {
	if msg, ok := m.pending[e.MsgID]; ok {
		msg.State = stateSent
		delete(m.pending, e.MsgID)
		m.record(msg.conv, msg)
	}
	return nil
}

func (m *Model) messageNotSent(e Event) tea.Cmd {
	if msg, ok := m.pending[e.MsgID]; ok {
		msg.State, msg.Reason = stateFailed, m.withReason(codeName(e.Code), e.MsgID)
		delete(m.pending, e.MsgID)
		m.setNotice("message not sent: "+codeName(e.Code), true)
	}
	return nil
}

func (m *Model) peerMessage(e Event) tea.Cmd {
	m.accounts[e.Account] = true
	c := m.conv(convPeer, e.Account)
	msg := &Message{Kind: kindChat, From: e.Account, Text: sanitize(e.Value)}
	m.appendMsg(c, msg)
	m.record(c.Key(), msg)
	if !m.termFocused && m.opt.Notify {
		return m.notify(e.Account + ": " + oneLine(e.Value, 80))
	}
	return nil
}

func (m *Model) channelMessage(e Event) tea.Cmd {
	c := m.conv(convChannel, e.Channel)
	if e.Account == m.account && m.ownEcho(c, e.Value) {
		return nil
	}
	if e.Account == "" {
		m.sysMsg(c, sanitize(e.Value))
		return nil
	}
	m.accounts[e.Account] = true
	msg := &Message{Kind: kindChat, From: e.Account, Text: sanitize(e.Value)}
	m.appendMsg(c, msg)
	m.record(c.Key(), msg)
	if !m.termFocused && m.opt.Notify && m.mentions(e.Value) {
		return m.notify(c.Key() + " " + e.Account + ": " + oneLine(e.Value, 80))
	}
	return nil
}

// ownEcho marks the oldest own message not yet echoed in c with this text
// as echoed; true when the received message is that echo.
func (m *Model) ownEcho(c *Conversation, text string) bool {
	lo := max(len(c.Msgs)-200, 0)
	for i := lo; i < len(c.Msgs); i++ {
		msg := c.Msgs[i]
		if msg.Own && !msg.echoed && msg.State != stateFailed && msg.Text == text {
			msg.echoed = true
			return true
		}
	}
	return false
}

// --- keys ------------------------------------------------------------------

func (p *chatsPane) len(*Model) int { return len(p.convs) }

func (p *chatsPane) uses(m *Model, msg tea.KeyPressMsg) bool {
	return key.Matches(msg, m.keys.List.Delete)
}

func (p *chatsPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	list := p.ordered()
	i := clampSel(p.sel, len(list))
	if i < 0 {
		return nil
	}
	c := list[i]
	switch {
	case key.Matches(msg, l.Open):
		if c.Kind == convChannel && m.channel.joined != c.Name && m.channel.joining != c.Name {
			m.actionConv = c.Key()
			m.joinChannel(c.Name)
		} else {
			m.switchTo(c)
		}
		m.focus = focusComposer
	case key.Matches(msg, l.Delete):
		if c.Kind == convPeer {
			m.closeConv(c)
		}
	case key.Matches(msg, l.Invite):
		if c.Kind == convPeer {
			m.pushDialog(newOutgoingDialog(m, c.Name))
		}
	}
	return nil
}

// --- view ------------------------------------------------------------------

func (p *chatsPane) title() string {
	if n := p.totalUnread(); n > 0 {
		return fmt.Sprintf("chats · %d new", n) // short: the pane is 22 wide
	}
	return "chats"
}

func (p *chatsPane) render(m *Model, w, h int) []string {
	list := p.ordered()
	sel := clampSel(p.sel, len(list))
	var rows []string
	for i, c := range list {
		row := p.row(m, c, w)
		if i == sel && m.focus == focusChats {
			row = m.st.Selected.Render(ansi.Strip(row))
		}
		rows = append(rows, row)
	}
	return scrollRows(rows, sel, h)
}

// row is one conversation: its mark (joined, joining, peer, log), its name
// and its unread and mention badges.
func (p *chatsPane) row(m *Model, c *Conversation, w int) string {
	mark := "  "
	name := c.Key()
	switch c.Kind {
	case convChannel:
		switch {
		case m.channel.joined == c.Name:
			mark = m.st.OK.Render("● ")
		case m.channel.joining == c.Name:
			mark = m.st.Warn.Render("◌ ")
		default:
			mark = m.st.Muted.Render("○ ")
		}
	case convPeer:
		mark = m.st.Muted.Render("@ ")
		name = c.Name
	case convSystem:
		mark = m.st.Muted.Render("≡ ")
	}
	badge := ""
	if c.Unread > 0 {
		badge = m.st.Unread.Render(fmt.Sprintf(" %d", c.Unread))
	}
	if c.Mentions > 0 && c.Kind == convChannel {
		badge = m.st.Mention.Render(fmt.Sprintf(" @%d", c.Mentions)) + badge
	}
	nameStyle := m.st.Base
	if c == p.active {
		nameStyle = m.st.Bold
	}
	txt := mark + nameStyle.Render(ansi.Truncate(name, w-3-ansi.StringWidth(badge), "…"))
	return fit(txt, w-ansi.StringWidth(badge)) + badge
}
