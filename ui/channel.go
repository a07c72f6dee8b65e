package ui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/xinling/xinling/sdk"
)

// channelPane is the channel you are in (one at a time) and the peers pane
// that lists its members.
type channelPane struct {
	joined  string
	joining string
	members map[string]uint32
	sel     int
}

// memberList returns the channel's members, sorted.
func (p *channelPane) memberList() []string {
	out := make([]string, 0, len(p.members))
	for a := range p.members {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (m *Model) joinChannel(ch string) {
	m.channel.joining = ch
	c := m.conv(convChannel, ch)
	m.actionConv = c.Key()
	m.switchTo(c)
	m.c.ChannelJoin(ch)
}

// joinedConv is the conversation of the joined channel (nil when in none).
func (m *Model) joinedConv() *Conversation {
	if m.channel.joined == "" {
		return nil
	}
	return m.conv(convChannel, m.channel.joined)
}

// --- events ----------------------------------------------------------------

// channelReducers apply the channel events to the channel and its peers.
var channelReducers = reducers{
	"ChannelJoined":             (*Model).channelJoined,
	"ChannelJoinFailed":         (*Model).channelJoinFailed,
	"ChannelLeaved":             (*Model).channelLeft,
	"ChannelUserJoined":         (*Model).memberJoined,
	"ChannelUserLeaved":         (*Model).memberLeft,
	"ChannelUserList":           (*Model).membersListed,
	"ChannelQueryUserNumResult": (*Model).memberCount,
}

func (m *Model) channelJoined(e Event) tea.Cmd {
	p := &m.channel
	p.joined, p.joining = e.Channel, ""
	p.members = map[string]uint32{}
	m.attrs.ch = Attrs{Channel: e.Channel, Items: map[string]*Attr{}}
	c := m.conv(convChannel, e.Channel)
	if !m.welcomed { // the first channel repeats the welcome the system log has
		m.welcomed = true
		m.sysMsg(c, welcome(m.opt))
	}
	m.sysMsg(c, "you joined #"+e.Channel)
	if a := m.chats.active; a == nil || a.Kind == convSystem || a == c || m.actionConv == c.Key() {
		m.switchTo(c)
	}
	return nil
}

func (m *Model) channelJoinFailed(e Event) tea.Cmd {
	m.channel.joining = ""
	c := m.conv(convChannel, e.Channel)
	m.errMsg(c, m.withReason("could not join #"+e.Channel+": "+codeName(e.Code), e.Channel))
	m.setNotice("join #"+e.Channel+" failed: "+codeName(e.Code), true)
	return nil
}

func (m *Model) channelLeft(e Event) tea.Cmd {
	c := m.conv(convChannel, e.Channel)
	why := "you left #" + e.Channel
	switch e.Code {
	case int(sdk.LeaveChannelByUser):
	case int(sdk.LeaveChannelLogout):
		why += " (logged out)"
	default:
		why += " (" + codeName(e.Code) + ")"
	}
	m.sysMsg(c, why)
	if m.channel.joined == e.Channel {
		m.channel.joined = ""
		m.channel.members = map[string]uint32{}
	}
	return nil
}

func (m *Model) memberJoined(e Event) tea.Cmd {
	m.channel.members[e.Account] = e.UID
	m.accounts[e.Account] = true
	if c := m.joinedConv(); c != nil {
		m.sysMsg(c, e.Account+" joined")
	}
	return nil
}

func (m *Model) memberLeft(e Event) tea.Cmd {
	delete(m.channel.members, e.Account)
	if c := m.joinedConv(); c != nil {
		m.sysMsg(c, e.Account+" left")
	}
	return nil
}

func (m *Model) membersListed(e Event) tea.Cmd {
	m.channel.members = map[string]uint32{}
	for _, a := range e.Accounts {
		m.channel.members[a] = 0
		m.accounts[a] = true
	}
	if c := m.joinedConv(); c != nil {
		list := append([]string(nil), e.Accounts...)
		sort.Strings(list)
		m.sysMsg(c, fmt.Sprintf("%d here: %s", len(list), strings.Join(list, ", ")))
	}
	return nil
}

func (m *Model) memberCount(e Event) tea.Cmd {
	if e.Code != 0 {
		m.fail(fmt.Sprintf("count of #%s failed: %s", e.Channel, codeName(e.Code)))
	} else {
		m.info(fmt.Sprintf("#%s has %d members", e.Channel, e.Num))
	}
	return nil
}

// --- keys: the peers pane ----------------------------------------------------

func (p *channelPane) len(*Model) int { return len(p.members) }

func (p *channelPane) uses(m *Model, msg tea.KeyPressMsg) bool {
	return msg.String() == "s" || msg.String() == "u"
}

func (p *channelPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	list := p.memberList()
	i := clampSel(p.sel, len(list))
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
		m.actionConv = m.chats.active.Key()
		m.c.QueryUserStatus(who)
	case msg.String() == "u":
		m.actionConv = m.chats.active.Key()
		m.c.GetUserAttrAll(who)
	}
	return nil
}

// --- view: the peers pane ------------------------------------------------------

func (p *channelPane) title() string {
	if p.joined == "" {
		return "peers"
	}
	return fmt.Sprintf("peers · #%s · %d", p.joined, len(p.members))
}

func (p *channelPane) render(m *Model, w, h int) []string {
	if p.joined == "" {
		return []string{m.st.Hint.Render("not in a channel"), m.st.Hint.Render("/join CHANNEL")}
	}
	list := p.memberList()
	sel := clampSel(p.sel, len(list))
	var rows []string
	for i, a := range list {
		name := m.st.Nick(a).Render(a)
		if a == m.account {
			name = m.st.OwnNick.Render(a) + m.st.Muted.Render(" (you)")
		}
		if c := m.calls.liveWith(a); c != nil {
			name += " " + m.st.Warn.Render("☎ "+c.State)
		}
		row := fit("  "+name, w)
		if i == sel && m.focus == focusPeers {
			row = m.st.Selected.Render(fit(ansi.Strip("▸ "+ansi.Strip(name)), w))
		}
		rows = append(rows, row)
	}
	if m.focus == focusPeers && h > 2 {
		hint := m.paneHint(w, peersHint)
		rows = scrollRows(rows, sel, max(h-len(hint), 1))
		return append(rows, hint...)
	}
	return scrollRows(rows, sel, h)
}
