package sdk

// The call system: invites between accounts, phone invites through the
// server's gateway, and DTMF. Outcomes arrive as user-stream pushes
// (see push.go); the methods here only start or answer calls.

import (
	"cmp"
	"slices"

	"github.com/xinling/xinling/sdk/wire"
)

func (e *engine) invite(method, ch, to, extra, source string, phone bool) {
	r := &request{kind: kInvite, method: method, op: wire.OpInvite, ch: ch, account: to}
	what := "account"
	if phone {
		what = "phone number"
	}
	if e.invalid(r, wire.CheckName("channel", ch), wire.CheckName(what, to),
		checkOptionalName("source number", source), wire.CheckExtra(extra)) {
		return
	}
	r.d = wire.InviteReq{Channel: ch, To: to, Extra: extra, Phone: phone, Source: source}
	if _, live := e.calls[callRef{ch, to}]; !live && (e.ph == phOnline || e.ph == phReconnect) {
		e.trackCall(ch, to, true)
		r.ownsCall = true // a reinvite (701) must not forget the live call
	}
	e.submit(r)
}

// ChannelInviteUser invites account to channelID: ChannelInviteUser2 with
// extra "".
func (c *Client) ChannelInviteUser(channelID, account string, uid uint32) {
	c.do(func(e *engine) { e.invite("ChannelInviteUser", channelID, account, "", "", false) })
}

// ChannelInviteUser2 invites account to channelID with a JSON extra:
// `_require_peer_online` 1 fails at once (703) when the peer is offline,
// `_timeout` (0–30 s) bounds the wait for an answer (704); other keys reach
// the callee's onInviteReceived as they are.
func (c *Client) ChannelInviteUser2(channelID, account, extra string) {
	c.do(func(e *engine) { e.invite("ChannelInviteUser2", channelID, account, extra, "", false) })
}

// ChannelInviteDTMF sends DTMF digits (0-9 * #) to the other party of an
// answered call on channelID: an account (onInviteMsg "DTMF") or a phone.
func (c *Client) ChannelInviteDTMF(channelID, phoneNum, dtmf string) {
	c.do(func(e *engine) {
		r := &request{kind: kPlain, method: "ChannelInviteDTMF", op: wire.OpInviteDTMF, ch: channelID, account: phoneNum}
		if e.invalid(r, wire.CheckName("channel", channelID), wire.CheckName("phone number", phoneNum), wire.CheckDTMF(dtmf)) {
			return
		}
		r.d = wire.InviteDTMF{Channel: channelID, Peer: phoneNum, Digits: dtmf}
		e.submit(r)
	})
}

// ChannelInviteAccept accepts account's invite to channelID; the caller
// gets onInviteAcceptedByPeer(extra).
func (c *Client) ChannelInviteAccept(channelID, account string, uid uint32, extra string) {
	c.do(func(e *engine) { e.reply("ChannelInviteAccept", wire.OpInviteAccept, channelID, account, extra) })
}

// ChannelInviteRefuse refuses account's invite to channelID; the caller
// gets onInviteRefusedByPeer(extra).
func (c *Client) ChannelInviteRefuse(channelID, account string, uid uint32, extra string) {
	c.do(func(e *engine) { e.reply("ChannelInviteRefuse", wire.OpInviteRefuse, channelID, account, extra) })
}

func (e *engine) reply(method, op, ch, account, extra string) {
	r := &request{kind: kPlain, method: method, op: op, ch: ch, account: account}
	if e.invalid(r, wire.CheckName("channel", ch), wire.CheckName("account", account), wire.CheckExtra(extra)) {
		return
	}
	r.d = wire.InviteReply{Channel: ch, Peer: account, Extra: extra}
	e.submit(r)
}

// ChannelInviteEnd ends the call with account on channelID, by either side,
// before or after the answer: onInviteEndByMyself here, onInviteEndByPeer there.
func (c *Client) ChannelInviteEnd(channelID, account string, uid uint32) {
	c.do(func(e *engine) {
		r := &request{kind: kInviteEnd, method: "ChannelInviteEnd", op: wire.OpInviteEnd, ch: channelID, account: account}
		if e.invalid(r, wire.CheckName("channel", channelID), wire.CheckName("account", account)) {
			return
		}
		r.d = wire.InviteRef{Channel: channelID, Peer: account}
		e.submit(r)
	})
}

// MessageDTMFSend (deprecated in the seed) sends DTMF digits on the
// instance's one answered call → onMessageSendSuccess/Error(msgID).
func (c *Client) MessageDTMFSend(uid uint32, msg, msgID string) {
	c.do(func(e *engine) {
		r := &request{kind: kSend, method: "MessageDTMFSend", op: wire.OpInviteDTMF, mid: e.mid(msgID)}
		if e.invalid(r, wire.CheckDTMF(msg), checkMID(r.mid)) {
			return
		}
		r.d = wire.InviteDTMF{Digits: msg}
		e.submit(r)
	})
}

// ChannelInvitePhone invites a phone number (deprecated in the seed).
func (c *Client) ChannelInvitePhone(channelID, phoneNum string, uid uint32) {
	c.do(func(e *engine) { e.invite("ChannelInvitePhone", channelID, phoneNum, "", "", true) })
}

// ChannelInvitePhone2 invites a phone number showing sourcesNum.
func (c *Client) ChannelInvitePhone2(channelID, phoneNum, sourcesNum string) {
	c.do(func(e *engine) { e.invite("ChannelInvitePhone2", channelID, phoneNum, "", sourcesNum, true) })
}

// ChannelInvitePhone3 invites a phone number showing sourcesNum, with extra.
func (c *Client) ChannelInvitePhone3(channelID, phoneNum, sourcesNum, extra string) {
	c.do(func(e *engine) { e.invite("ChannelInvitePhone3", channelID, phoneNum, extra, sourcesNum, true) })
}

func checkOptionalName(what, s string) *wire.Error {
	if s == "" {
		return nil
	}
	return wire.CheckName(what, s)
}

// invitePush reports a call push; an invite received is acknowledged to the
// server at once, which tells the caller (onInviteReceivedByPeer).
func (e *engine) invitePush(op string, v *wire.InviteEvent) {
	ch, peer, extra := v.Channel, v.Peer, v.Extra
	// Pushes about a call this instance no longer tracks (it reported the
	// call's final outcome already) are dropped: one final outcome, ever.
	switch op {
	case wire.PushInviteRecv:
	case wire.PushInviteRefused, wire.PushInviteFailed, wire.PushInviteEnded:
		if !e.untrackCall(ch, peer) {
			return
		}
	default:
		c := e.calls[callRef{ch, peer}]
		if c == nil {
			return
		}
		if op == wire.PushInviteAccepted {
			c.answered = true
		}
	}
	switch op {
	case wire.PushInviteRecv:
		e.trackCall(ch, peer, false)
		e.emit(func(cb Callback) { cb.OnInviteReceived(ch, peer, 0, extra) })
		e.submit(&request{kind: kAck, method: "ChannelInviteAck", op: wire.OpInviteAck,
			d: wire.InviteRef{Channel: ch, Peer: peer}, ch: ch, account: peer})
	case wire.PushInviteDelivered:
		e.emit(func(cb Callback) { cb.OnInviteReceivedByPeer(ch, peer, 0) })
	case wire.PushInviteAccepted:
		e.emit(func(cb Callback) { cb.OnInviteAcceptedByPeer(ch, peer, 0, extra) })
	case wire.PushInviteRefused:
		e.emit(func(cb Callback) { cb.OnInviteRefusedByPeer(ch, peer, 0, extra) })
	case wire.PushInviteFailed:
		code := int(v.Code)
		if code < int(wire.InviteOther) || code > int(wire.InviteCantRecv) {
			code = int(wire.InviteOther)
		}
		e.emit(func(cb Callback) { cb.OnInviteFailed(ch, peer, 0, code, extra) })
	case wire.PushInviteEnded:
		e.emit(func(cb Callback) { cb.OnInviteEndByPeer(ch, peer, 0, extra) })
	case wire.PushInviteMsg:
		typ, data := v.Type, v.Data
		e.emit(func(cb Callback) { cb.OnInviteMsg(ch, peer, 0, typ, data, extra) })
	}
}

// callRef names a call from this instance's side: its channel and the other party.
type callRef struct{ ch, peer string }

// callInfo is what the instance knows of a live call.
type callInfo struct{ outgoing, answered bool }

func (e *engine) trackCall(ch, peer string, outgoing bool) {
	if e.calls == nil {
		e.calls = make(map[callRef]*callInfo)
	}
	e.calls[callRef{ch, peer}] = &callInfo{outgoing: outgoing}
}

// untrackCall forgets a call and reports whether it was live.
func (e *engine) untrackCall(ch, peer string) bool {
	k := callRef{ch, peer}
	_, ok := e.calls[k]
	delete(e.calls, k)
	return ok
}

// endCalls gives every live call its final outcome when the session that
// carried it is over: the user's own logout ends them (onInviteEndByMyself);
// a lost session fails an unanswered invite of ours (702) and ends the rest
// (onInviteEndByPeer), since the server ended them with the session.
func (e *engine) endCalls(byMe bool) {
	refs := make([]callRef, 0, len(e.calls))
	for k := range e.calls {
		refs = append(refs, k)
	}
	slices.SortFunc(refs, func(a, b callRef) int { return cmp.Or(cmp.Compare(a.ch, b.ch), cmp.Compare(a.peer, b.peer)) })
	for _, k := range refs {
		c := e.calls[k]
		ch, peer := k.ch, k.peer
		switch {
		case byMe:
			e.emit(func(cb Callback) { cb.OnInviteEndByMyself(ch, peer, 0) })
		case c.outgoing && !c.answered:
			e.emit(func(cb Callback) { cb.OnInviteFailed(ch, peer, 0, int(wire.InviteNet), "") })
		default:
			e.emit(func(cb Callback) { cb.OnInviteEndByPeer(ch, peer, 0, "") })
		}
	}
	clear(e.calls)
}
