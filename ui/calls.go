package ui

import (
	"encoding/json"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/sdk/wire"
)

// defaultInviteExpiry is how long an invite without _timeout rings.
const defaultInviteExpiry = wire.InviteExpiry

// Call is one invite, incoming or outgoing, and what became of it.
type Call struct {
	Channel  string
	Peer     string
	Incoming bool
	State    string // calling, ringing, accepted, refused, ended, failed, missed, lost (with the server's session)
	Detail   string // failure reason, who ended
	Extra    string
	Started  time.Time
	Deadline time.Time // while unanswered: when it expires
	Answered time.Time // when accepted
	Ended    time.Time
	DTMF     string // digits sent and received

	// interrupted: the connection to the server dropped while the call was
	// live, so an end without a word may be the server's, not the peer's
	interrupted bool
}

// Live reports whether the call is still ringing or accepted.
func (c *Call) Live() bool {
	switch c.State {
	case "calling", "ringing", "accepted":
		return true
	}
	return false
}

// ringingIn reports whether the call is incoming and waits for your answer.
func (c *Call) ringingIn() bool { return c.Incoming && c.Ringing() }

// Ringing reports whether the call waits for an answer.
func (c *Call) Ringing() bool { return c.State == "calling" || c.State == "ringing" }

// callsPane is every call of this run; the pane lists them newest first.
type callsPane struct {
	list []*Call
	sel  int
}

// find is the newest call with that channel and peer.
func (p *callsPane) find(ch, peer string) *Call {
	for i := len(p.list) - 1; i >= 0; i-- {
		if p.list[i].Channel == ch && p.list[i].Peer == peer {
			return p.list[i]
		}
	}
	return nil
}

// newest is the newest call that satisfies ok.
func (p *callsPane) newest(ok func(*Call) bool) *Call {
	for i := len(p.list) - 1; i >= 0; i-- {
		if ok(p.list[i]) {
			return p.list[i]
		}
	}
	return nil
}

// ringingIncoming is the newest incoming call waiting for an answer.
func (p *callsPane) ringingIncoming() *Call {
	return p.newest(func(c *Call) bool { return c.Incoming && c.Ringing() })
}

// live is the newest call still ringing or accepted.
func (p *callsPane) live() *Call { return p.newest((*Call).Live) }

// liveWith is the newest live call with peer.
func (p *callsPane) liveWith(peer string) *Call {
	return p.newest(func(c *Call) bool { return c.Peer == peer && c.Live() })
}

// rows are the calls, newest first.
func (p *callsPane) rows() []*Call {
	out := make([]*Call, 0, len(p.list))
	for i := len(p.list) - 1; i >= 0; i-- {
		out = append(out, p.list[i])
	}
	return out
}

// acceptCall answers an incoming call.
func (m *Model) acceptCall(c *Call, extra string) {
	if c == nil || !c.Incoming || !c.Ringing() {
		m.fail("no incoming call is ringing")
		return
	}
	m.c.ChannelInviteAccept(c.Channel, c.Peer, 0, extra)
	c.State, c.Answered = "accepted", m.now()
	m.info(fmt.Sprintf("call with %s accepted (channel %s) — /dtmf DIGITS or p for the keypad, /end to hang up", c.Peer, c.Channel))
	m.closeCallDialogs(c, false)
}

func (m *Model) refuseCall(c *Call, extra string) {
	if c == nil || !c.Incoming || !c.Ringing() {
		m.fail("no incoming call is ringing")
		return
	}
	m.c.ChannelInviteRefuse(c.Channel, c.Peer, 0, extra)
	c.State, c.Ended, c.Detail = "refused", m.now(), "by you"
	m.info(fmt.Sprintf("call from %s refused", c.Peer))
	m.closeCallDialogs(c, false)
}

func (m *Model) endCall(c *Call) {
	if c == nil || !c.Live() {
		m.fail("no call to end")
		return
	}
	m.c.ChannelInviteEnd(c.Channel, c.Peer, 0)
}

// invite places a call.
func (m *Model) invite(peer, ch, extra string) {
	if extra != "" && !json.Valid([]byte(extra)) {
		m.fail(`invite extra must be JSON, e.g. {"_timeout":20}`)
		return
	}
	now := m.now()
	c := &Call{Channel: ch, Peer: peer, State: "calling", Extra: extra, Started: now, Deadline: now.Add(inviteTimeout(extra))}
	m.calls.list = append(m.calls.list, c)
	m.accounts[peer] = true
	m.c.ChannelInviteUser2(ch, peer, extra)
	m.info(fmt.Sprintf("calling %s (channel %s) — /end or x in the calls pane hangs up", peer, ch))
}

func (m *Model) sendDTMF(c *Call, digits string) {
	m.c.ChannelInviteDTMF(c.Channel, c.Peer, digits)
	c.DTMF += digits
}

// closeCallDialogs closes the call's answer dialog and, when the call is
// over, its keypad.
func (m *Model) closeCallDialogs(c *Call, keypad bool) {
	kept := m.dialogs[:0]
	for _, d := range m.dialogs {
		if id, ok := d.(*inviteDialog); ok && id.call == c {
			continue
		}
		if k, ok := d.(*keypadDialog); ok && keypad && k.call == c {
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

func inviteFailure(code int) string {
	switch code {
	case int(sdk.InvitePeerOffline):
		return "peer offline (INVITE_E_PEEROFFLINE)"
	case int(sdk.InviteTimeout):
		return "no answer (INVITE_E_TIMEOUT)"
	case int(sdk.InviteReinvite):
		return "already calling (INVITE_E_REINVITE)"
	case int(sdk.InviteNet):
		return "the connection to the server was lost (INVITE_E_NET)"
	}
	return codeName(code)
}

// --- events ----------------------------------------------------------------

// callReducers apply the call events to the calls pane.
var callReducers = reducers{
	"InviteReceived":       (*Model).inviteReceived,
	"InviteReceivedByPeer": (*Model).inviteDelivered,
	"InviteAcceptedByPeer": (*Model).inviteAccepted,
	"InviteRefusedByPeer":  (*Model).inviteRefused,
	"InviteFailed":         (*Model).inviteFailed,
	"InviteEndByPeer":      (*Model).inviteEndedByPeer,
	"InviteEndByMyself":    (*Model).inviteEndedByMe,
	"InviteMsg":            (*Model).inviteMsg,
}

func (m *Model) inviteReceived(e Event) tea.Cmd {
	m.accounts[e.Account] = true
	now := m.now()
	c := &Call{Channel: e.Channel, Peer: e.Account, Incoming: true, State: "ringing", Extra: e.Extra, Started: now,
		Deadline: now.Add(inviteTimeout(e.Extra))}
	m.calls.list = append(m.calls.list, c)
	m.info(fmt.Sprintf("%s is calling you (channel %s)%s — ctrl+y accepts, ctrl+r refuses", e.Account, e.Channel, extraNote(e.Extra)))
	m.pushDialog(&inviteDialog{call: c, opened: m.now()})
	var cmds []tea.Cmd
	if m.opt.Notify {
		cmds = append(cmds, bell(true))
		if !m.termFocused {
			cmds = append(cmds, m.notify(e.Account+" is calling you"))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) inviteDelivered(e Event) tea.Cmd {
	if c := m.calls.find(e.Channel, e.Account); c != nil && c.State == "calling" {
		c.State = "ringing"
	}
	return nil
}

func (m *Model) inviteAccepted(e Event) tea.Cmd {
	if c := m.calls.find(e.Channel, e.Account); c != nil {
		c.State, c.Answered = "accepted", m.now()
	}
	m.info(fmt.Sprintf("%s accepted your call (channel %s)%s", e.Account, e.Channel, extraNote(e.Extra)))
	return bell(m.opt.Notify)
}

func (m *Model) inviteRefused(e Event) tea.Cmd {
	if c := m.calls.find(e.Channel, e.Account); c != nil {
		c.State, c.Ended, c.Detail = "refused", m.now(), "by "+e.Account
	}
	m.info(fmt.Sprintf("%s refused your call%s", e.Account, extraNote(e.Extra)))
	return nil
}

func (m *Model) inviteFailed(e Event) tea.Cmd {
	c := m.calls.find(e.Channel, e.Account)
	if c != nil && !c.Live() {
		return nil // the client already said how it ended (the server restarted)
	}
	if c != nil {
		c.State, c.Ended, c.Detail = "failed", m.now(), inviteFailure(e.Code)
	}
	m.fail(m.withReason(fmt.Sprintf("call to %s failed: %s", e.Account, inviteFailure(e.Code)), e.Account))
	return nil
}

func (m *Model) inviteEndedByPeer(e Event) tea.Cmd {
	c := m.calls.find(e.Channel, e.Account)
	switch {
	case c == nil:
		m.info(fmt.Sprintf("%s ended the call%s", e.Account, extraNote(e.Extra)))
	case !c.Live():
		// the client already said how it ended (the server restarted)
	case c.ringingIn():
		m.missedCall(c)
	case c.interrupted && e.Extra == "":
		m.endLocally(c, "")
		c.State = "lost"
		m.info(fmt.Sprintf("the call with %s ended while the connection to the server was down — %s may not have hung up", c.Peer, c.Peer))
	default:
		m.endLocally(c, "by "+e.Account)
		m.info(fmt.Sprintf("%s ended the call%s", e.Account, extraNote(e.Extra)))
	}
	return nil
}

// endLocally marks a live call over and closes its dialogs.
func (m *Model) endLocally(c *Call, detail string) {
	c.State, c.Ended, c.Detail = "ended", m.now(), detail
	m.closeCallDialogs(c, true)
}

// missedCall is an incoming call that stopped ringing unanswered: the
// caller gave up or it timed out. It is said in the caller's conversation,
// counted unread, so a call that came and went while you looked elsewhere
// leaves a trace.
func (m *Model) missedCall(c *Call) {
	c.State, c.Ended, c.Detail = "missed", m.now(), ""
	m.closeCallDialogs(c, true)
	text := fmt.Sprintf("missed call from %s (rang %s) — /invite %s calls back", c.Peer, fmtDur(c.Ended.Sub(c.Started)), c.Peer)
	peer := m.conv(convPeer, c.Peer)
	m.appendMsg(peer, &Message{Kind: kindSystem, Text: text, Notable: true})
	if m.actionTarget() != peer {
		m.info(text)
	}
}

// callsLostWithSession ends the live calls when the server started a new
// session: the calls were the old session's and are gone, whoever was on
// them. The SDK's own reports of them, which follow, say nothing more.
func (m *Model) callsLostWithSession() {
	for _, c := range m.calls.list {
		if !c.Live() {
			continue
		}
		m.endLocally(c, "")
		c.State = "lost"
		m.info(fmt.Sprintf("the call with %s ended: the connection to the server dropped and the server started a new session, so the call is gone — nobody hung up", c.Peer))
	}
}

func (m *Model) inviteEndedByMe(e Event) tea.Cmd {
	if c := m.calls.find(e.Channel, e.Account); c != nil && c.Live() {
		c.State, c.Ended, c.Detail = "ended", m.now(), "by you"
		m.closeCallDialogs(c, true)
	}
	m.info(fmt.Sprintf("call with %s ended", e.Account))
	return nil
}

func (m *Model) inviteMsg(e Event) tea.Cmd {
	if c := m.calls.find(e.Channel, e.Account); c != nil && e.Typ == "DTMF" {
		c.DTMF += e.Value
	}
	m.info(fmt.Sprintf("%s sent %s %q on the call", e.Account, e.Typ, e.Value))
	return nil
}

// --- keys ------------------------------------------------------------------

func (p *callsPane) len(*Model) int { return len(p.list) }

func (p *callsPane) uses(m *Model, msg tea.KeyPressMsg) bool {
	l := m.keys.List
	return key.Matches(msg, l.Accept, l.Refuse, l.End, l.Keypad)
}

func (p *callsPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	list := p.rows()
	i := clampSel(p.sel, len(list))
	if i < 0 {
		if key.Matches(msg, l.Invite) {
			m.pushDialog(newOutgoingDialog(m, ""))
		}
		return nil
	}
	c := list[i]
	m.actionConv = m.chats.active.Key()
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
		p.open(m, c)
	}
	return nil
}

// open acts on a call: answer a ringing one, the keypad of a live one,
// else the conversation with its peer.
func (p *callsPane) open(m *Model, c *Call) {
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

// --- view ------------------------------------------------------------------

func (p *callsPane) title() string {
	n := 0
	for _, c := range p.list {
		if c.Live() {
			n++
		}
	}
	if n > 0 {
		return fmt.Sprintf("calls · %d active", n)
	}
	return "calls"
}

func (p *callsPane) render(m *Model, w, h int) []string {
	list := p.rows()
	if len(list) == 0 {
		return []string{m.st.Hint.Render("no calls — /invite ACCOUNT")}
	}
	sel := clampSel(p.sel, len(list))
	var rows []string
	for i, c := range list {
		txt := p.row(m, c)
		row := fit(txt, w)
		if i == sel && m.focus == focusCalls {
			row = m.st.Selected.Render(fit(ansi.Strip(txt), w))
		}
		rows = append(rows, row)
	}
	if m.focus == focusCalls && h > 2 {
		hint := m.paneHint(w, callsHint)
		rows = scrollRows(rows, sel, max(h-len(hint), 1))
		return append(rows, hint...)
	}
	return scrollRows(rows, sel, h)
}

// row is one call: its direction, peer and state (with the time left to
// ring, or how long it has been live).
func (p *callsPane) row(m *Model, c *Call) string {
	now := m.now()
	dir := "→ "
	if c.Incoming {
		dir = "← "
	}
	state := c.State
	style := m.st.Muted
	switch c.State {
	case "calling", "ringing":
		state += " " + fmtDur(max(c.Deadline.Sub(now), 0))
		style = m.st.Warn
	case "accepted":
		state = "live " + fmtDur(now.Sub(c.Answered))
		style = m.st.OK
	case "failed":
		style = m.st.Error
		state += ": " + c.Detail
	default:
		if c.Detail != "" {
			state += " " + c.Detail
		}
	}
	txt := dir + m.st.Nick(c.Peer).Render(c.Peer) + " " + style.Render(state)
	if c.DTMF != "" && c.State == "accepted" {
		txt += m.st.Muted.Render(" ☏" + c.DTMF)
	}
	return txt
}

func fmtDur(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
