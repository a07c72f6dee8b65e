package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
)

// defaultInviteExpiry is how long an invite without _timeout rings (SPEC §4).
const defaultInviteExpiry = 60 * time.Second

// applyBatch applies a batch of SDK events to the state.
func (m *Model) applyBatch(b sdkBatchMsg) tea.Cmd {
	var cmds []tea.Cmd
	if b.Dropped > 0 {
		m.dropped += b.Dropped
		m.events.add(logEvent{At: m.now(), Text: fmt.Sprintf("⚠ %d events dropped under load (channel messages, log lines); %d in all", b.Dropped, m.dropped)})
		if m.joined != "" {
			m.sysMsg(m.conv(convChannel, m.joined), fmt.Sprintf("… %d channel messages or log lines were dropped because they came faster than the screen could show them", b.Dropped))
		}
	}
	for _, e := range b.Events {
		m.events.add(logEvent{At: e.At, Text: e.String()})
		if cmd := m.apply(e); cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	return tea.Batch(cmds...)
}

func codeName(code int) string {
	return fmt.Sprintf("%s (%d)", sdk.Code(code).String(), code)
}

// apply applies one SDK event.
func (m *Model) apply(e Event) tea.Cmd {
	switch e.Name {
	case "LoginSuccess":
		m.status, m.reconnectN, m.statusNote = sdk.StatusLoggedIn, 0, ""
		m.info(fmt.Sprintf("logged in as %s", m.account))
		m.userAttrsOf(m.account)
		m.c.GetAttrAll()
		if ch := m.opt.Channel; ch != "" && m.joined == "" && m.joining == "" {
			m.joinChannel(ch)
		}
	case "LoginFailed":
		if e.Code == int(sdk.LoginAlready) {
			return nil
		}
		m.status = sdk.StatusLoggedOut
		why := loginFailure(e.Code)
		m.statusNote = "login failed: " + why
		m.fail("login failed: " + why)
		if len(m.dialogs) == 0 || !isLogin(m.topDialog()) {
			m.pushDialog(newLoginDialog(m, "login failed: "+why))
		}
	case "Logout":
		m.status = sdk.StatusLoggedOut
		m.members = map[string]uint32{}
		if m.joined != "" {
			m.sysMsg(m.conv(convChannel, m.joined), "left #"+m.joined+" (logged out)")
		}
		m.joined, m.joining = "", ""
		switch e.Code {
		case int(sdk.LogoutUser), int(sdk.LogoutAlready):
			m.statusNote = ""
			m.info("logged out")
		case int(sdk.LogoutKicked):
			m.statusNote = "kicked: this account logged in elsewhere"
			m.fail("logged out: " + m.account + " logged in somewhere else (LOGOUT_E_KICKED) — /login to take it back")
		default:
			m.statusNote = "logged out: " + codeName(e.Code)
			m.fail("logged out: " + codeName(e.Code) + " — /login to try again")
		}
	case "Reconnecting":
		m.status, m.reconnectN = sdk.StatusReconnecting, e.Num
	case "Reconnected":
		m.status, m.reconnectN = sdk.StatusLoggedIn, 0
		m.info("reconnected")
	case "Error":
		m.fail(fmt.Sprintf("%s failed: %s — %s", e.Attr, codeName(e.Code), e.Typ))
	case "Log":
		// only in the events inspector
	case "InvokeRet":
		target := m.active
		if k, ok := m.invokes[e.MsgID]; ok {
			if c, ok := m.byKey[k]; ok {
				target = c
			}
			delete(m.invokes, e.MsgID)
		}
		if e.Typ != "" {
			m.errMsg(target, fmt.Sprintf("invoke %s: error %s %s", e.MsgID, e.Typ, e.Value))
			m.setNotice("invoke failed: "+e.Typ, true)
		} else {
			m.sysMsg(target, fmt.Sprintf("invoke %s → %s", e.MsgID, prettyJSON(e.Value)))
		}
	case "QueryUserStatusResult":
		st := "offline"
		if e.Value == "1" {
			st = "online"
		}
		m.accounts[e.Account] = true
		m.info(fmt.Sprintf("%s is %s", e.Account, st))
	case "UserAttrResult":
		m.userAttrsOf(e.Account)[e.Attr] = e.Value
		if e.Value == "" {
			delete(m.userAttrsOf(e.Account), e.Attr)
		}
		v := e.Value
		if v == "" {
			v = "(unset)"
		}
		m.info(fmt.Sprintf("user attribute %s.%s = %s", e.Account, e.Attr, v))
	case "UserAttrAllResult":
		var all map[string]any
		if err := json.Unmarshal([]byte(e.Value), &all); err == nil {
			a := map[string]string{}
			for k, v := range all {
				if s, ok := v.(string); ok {
					a[k] = s
				} else {
					b, _ := json.Marshal(v)
					a[k] = string(b)
				}
			}
			if _, ok := m.userAttrs[e.Account]; !ok {
				m.userAttrOrder = append(m.userAttrOrder, e.Account)
			}
			m.userAttrs[e.Account] = a
		}
		if e.Account != m.account {
			m.info(fmt.Sprintf("user attributes of %s: %s", e.Account, e.Value))
		}
	case "MessageSendSuccess":
		if msg, ok := m.pending[e.MsgID]; ok {
			msg.State = stateSent
			delete(m.pending, e.MsgID)
		}
	case "MessageSendError":
		if msg, ok := m.pending[e.MsgID]; ok {
			msg.State, msg.Reason = stateFailed, codeName(e.Code)
			delete(m.pending, e.MsgID)
			m.setNotice("message not sent: "+codeName(e.Code), true)
		}
	case "MessageInstantReceive":
		m.accounts[e.Account] = true
		c := m.conv(convPeer, e.Account)
		m.appendMsg(c, &Message{Kind: kindChat, From: e.Account, Text: sanitize(e.Value)})
		if !m.termFocused && m.opt.Notify {
			return notify("xinling", e.Account+": "+oneLine(e.Value, 80), false)
		}
	case "MessageChannelReceive":
		c := m.conv(convChannel, e.Channel)
		if e.Account == m.account && m.ownEcho(c, e.Value) {
			return nil
		}
		if e.Account == "" {
			m.sysMsg(c, sanitize(e.Value))
			return nil
		}
		m.accounts[e.Account] = true
		m.appendMsg(c, &Message{Kind: kindChat, From: e.Account, Text: sanitize(e.Value)})
	case "ChannelJoined":
		m.joined, m.joining = e.Channel, ""
		m.members = map[string]uint32{}
		m.attrs = Attrs{Channel: e.Channel, Items: map[string]*Attr{}}
		c := m.conv(convChannel, e.Channel)
		if !m.welcomed { // the first channel repeats the welcome the system log has
			m.welcomed = true
			m.sysMsg(c, welcome(m.opt))
		}
		m.sysMsg(c, "you joined #"+e.Channel)
		if m.active == nil || m.active.Kind == convSystem || m.active == c || m.actionConv == c.Key() {
			m.switchTo(c)
		}
	case "ChannelJoinFailed":
		m.joining = ""
		c := m.conv(convChannel, e.Channel)
		m.errMsg(c, "could not join #"+e.Channel+": "+codeName(e.Code))
		m.setNotice("join #"+e.Channel+" failed: "+codeName(e.Code), true)
	case "ChannelLeaved":
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
		if m.joined == e.Channel {
			m.joined = ""
			m.members = map[string]uint32{}
		}
	case "ChannelUserJoined":
		m.members[e.Account] = e.UID
		m.accounts[e.Account] = true
		if m.joined != "" {
			m.sysMsg(m.conv(convChannel, m.joined), e.Account+" joined")
		}
	case "ChannelUserLeaved":
		delete(m.members, e.Account)
		if m.joined != "" {
			m.sysMsg(m.conv(convChannel, m.joined), e.Account+" left")
		}
	case "ChannelUserList":
		m.members = map[string]uint32{}
		for _, a := range e.Accounts {
			m.members[a] = 0
			m.accounts[a] = true
		}
		if m.joined != "" {
			list := append([]string(nil), e.Accounts...)
			sort.Strings(list)
			m.sysMsg(m.conv(convChannel, m.joined), fmt.Sprintf("%d here: %s", len(list), strings.Join(list, ", ")))
		}
	case "ChannelQueryUserNumResult":
		if e.Code != 0 {
			m.fail(fmt.Sprintf("count of #%s failed: %s", e.Channel, codeName(e.Code)))
		} else {
			m.info(fmt.Sprintf("#%s has %d members", e.Channel, e.Num))
		}
	case "ChannelAttrUpdated":
		return m.applyAttr(e)
	case "ChannelAttrChangedBy":
		for i := len(m.attrs.Log) - 1; i >= 0 && i >= len(m.attrs.Log)-8; i-- {
			l := &m.attrs.Log[i]
			if !l.byOK && l.Name == e.Attr && l.Typ == e.Typ {
				l.By, l.byOK = e.Account, true
				break
			}
		}
		if a, ok := m.attrs.Items[e.Attr]; ok && e.Channel == m.attrs.Channel {
			a.By = e.Account
		}
	case "InviteReceived":
		return m.inviteReceived(e)
	case "InviteReceivedByPeer":
		if c := m.call(e.Channel, e.Account); c != nil && c.State == "calling" {
			c.State = "ringing"
		}
	case "InviteAcceptedByPeer":
		if c := m.call(e.Channel, e.Account); c != nil {
			c.State, c.Answered = "accepted", m.now()
		}
		m.info(fmt.Sprintf("%s accepted your call (channel %s)%s", e.Account, e.Channel, extraNote(e.Extra)))
		return bell(m.opt.Notify)
	case "InviteRefusedByPeer":
		if c := m.call(e.Channel, e.Account); c != nil {
			c.State, c.Ended, c.Detail = "refused", m.now(), "by "+e.Account
		}
		m.info(fmt.Sprintf("%s refused your call%s", e.Account, extraNote(e.Extra)))
	case "InviteFailed":
		if c := m.call(e.Channel, e.Account); c != nil && c.Live() {
			c.State, c.Ended, c.Detail = "failed", m.now(), inviteFailure(e.Code)
		}
		m.fail(fmt.Sprintf("call to %s failed: %s", e.Account, inviteFailure(e.Code)))
	case "InviteEndByPeer":
		if c := m.call(e.Channel, e.Account); c != nil && c.Live() {
			c.State, c.Ended, c.Detail = "ended", m.now(), "by "+e.Account
			m.closeInviteDialogs(c)
			m.closeKeypad(c)
		}
		m.info(fmt.Sprintf("%s ended the call%s", e.Account, extraNote(e.Extra)))
	case "InviteEndByMyself":
		if c := m.call(e.Channel, e.Account); c != nil && c.Live() {
			c.State, c.Ended, c.Detail = "ended", m.now(), "by you"
			m.closeInviteDialogs(c)
			m.closeKeypad(c)
		}
		m.info(fmt.Sprintf("call with %s ended", e.Account))
	case "InviteMsg":
		if c := m.call(e.Channel, e.Account); c != nil && e.Typ == "DTMF" {
			c.DTMF += e.Value
		}
		m.info(fmt.Sprintf("%s sent %s %q on the call", e.Account, e.Typ, e.Value))
	}
	return nil
}

// ownEcho marks the oldest own message not yet echoed in c with this text
// as echoed; true when the received message is that echo.
func (m *Model) ownEcho(c *Conversation, text string) bool {
	lo := len(c.Msgs) - 200
	if lo < 0 {
		lo = 0
	}
	for i := lo; i < len(c.Msgs); i++ {
		msg := c.Msgs[i]
		if msg.Own && !msg.echoed && msg.State != stateFailed && msg.Text == text {
			msg.echoed = true
			return true
		}
	}
	return false
}

func (m *Model) applyAttr(e Event) tea.Cmd {
	if e.Channel != m.attrs.Channel {
		if m.attrs.Channel == "" || m.joined != e.Channel {
			// a change to a channel we are not showing (set via /attr on another one)
			m.attrs = Attrs{Channel: e.Channel, Items: map[string]*Attr{}}
		}
	}
	now := m.now()
	switch e.Typ {
	case "update":
		a, ok := m.attrs.Items[e.Attr]
		if !ok {
			a = &Attr{Name: e.Attr}
			m.attrs.Items[e.Attr] = a
		}
		if a.Value != e.Value || !ok {
			a.Changed = now
		}
		a.Value, a.By = e.Value, ""
	case "del":
		delete(m.attrs.Items, e.Attr)
	case "clear":
		for n := range m.attrs.Items {
			if !strings.HasPrefix(n, "_") {
				delete(m.attrs.Items, n)
			}
		}
	}
	m.attrs.Log = append(m.attrs.Log, AttrChange{At: now, Typ: e.Typ, Name: e.Attr, Value: e.Value})
	if len(m.attrs.Log) > 500 {
		m.attrs.Log = append([]AttrChange(nil), m.attrs.Log[len(m.attrs.Log)-400:]...)
	}
	return tea.Tick(flashFor+50*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// flashFor is how long a changed attribute stays highlighted.
const flashFor = 2 * time.Second

func (m *Model) inviteReceived(e Event) tea.Cmd {
	m.accounts[e.Account] = true
	now := m.now()
	c := &Call{Channel: e.Channel, Peer: e.Account, Incoming: true, State: "ringing", Extra: e.Extra, Started: now,
		Deadline: now.Add(inviteTimeout(e.Extra))}
	m.calls = append(m.calls, c)
	m.info(fmt.Sprintf("%s is calling you (channel %s)%s — ctrl+y accepts, ctrl+r refuses", e.Account, e.Channel, extraNote(e.Extra)))
	m.pushDialog(&inviteDialog{call: c, opened: m.now()})
	var cmds []tea.Cmd
	if m.opt.Notify {
		cmds = append(cmds, bell(true))
		if !m.termFocused {
			cmds = append(cmds, notify("xinling", e.Account+" is calling you", true))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) closeKeypad(c *Call) {
	kept := m.dialogs[:0]
	for _, d := range m.dialogs {
		if k, ok := d.(*keypadDialog); ok && k.call == c {
			continue
		}
		kept = append(kept, d)
	}
	m.dialogs = kept
}

// inviteTimeout reads _timeout from an invite's extra.
func inviteTimeout(extra string) time.Duration {
	var x struct {
		Timeout *float64 `json:"_timeout"`
	}
	if extra != "" && json.Unmarshal([]byte(extra), &x) == nil && x.Timeout != nil && *x.Timeout > 0 {
		return time.Duration(*x.Timeout * float64(time.Second))
	}
	return defaultInviteExpiry
}

func extraNote(extra string) string {
	if extra == "" || extra == "{}" {
		return ""
	}
	return " — " + extra
}

func loginFailure(code int) string {
	switch code {
	case int(sdk.LoginNet):
		return "cannot reach the server (LOGIN_E_NET)"
	case int(sdk.LoginTokenWrong):
		return "wrong token (LOGIN_E_TOKENWRONG)"
	case int(sdk.LoginTokenExpired):
		return "token expired (LOGIN_E_TOKENEXPIRED)"
	case int(sdk.LoginInvalidUser):
		return "invalid account name (LOGIN_E_INVALID_USER): 1–128 bytes, no spaces"
	case int(sdk.LoginFailed):
		return "refused by the server (LOGIN_E_FAILED)"
	}
	return codeName(code)
}

func inviteFailure(code int) string {
	switch code {
	case int(sdk.InvitePeerOffline):
		return "peer offline (INVITE_E_PEEROFFLINE)"
	case int(sdk.InviteTimeout):
		return "no answer (INVITE_E_TIMEOUT)"
	case int(sdk.InviteReinvite):
		return "already calling (INVITE_E_REINVITE)"
	}
	return codeName(code)
}

// prettyJSON indents a JSON value; other text comes back as it is.
func prettyJSON(s string) string {
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") == nil {
		return buf.String()
	}
	return s
}

// compactJSON compacts a JSON object or array; other text comes back as it is.
func compactJSON(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(t)) == nil {
		return buf.String()
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(sanitize(s)), " ")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// bell rings the terminal bell.
func bell(on bool) tea.Cmd {
	if !on {
		return nil
	}
	return tea.Raw("\a")
}

// notify sends a desktop notification (OSC 9, and OSC 777 for terminals
// that speak that one instead).
func notify(title, body string, ring bool) tea.Cmd {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == ';' {
				return ' '
			}
			return r
		}, s)
	}
	seq := "\x1b]9;" + clean(title+": "+body) + "\x07" + "\x1b]777;notify;" + clean(title) + ";" + clean(body) + "\x07"
	return tea.Raw(seq)
}

func itoa(n int) string { return strconv.Itoa(n) }
