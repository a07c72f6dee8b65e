package server

import (
	"errors"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// handle answers one frame. Every request gets exactly one answer.
func (c *Conn) handle(f *wire.Frame) {
	n := c.node
	s := c.session()
	switch f.Op {
	case wire.OpPing:
		var p wire.PingReq
		if s != nil && f.Decode(&p) == nil && p.Ack > 0 {
			s.ack(p.Ack)
		}
		c.send(pongFrame)
		return
	case wire.OpLogin:
		c.login(f)
		return
	}
	if f.ID == 0 {
		c.replyErr(0, wire.Errf(wire.GeneralWrongParam, "request %q has no id", f.Op))
		return
	}
	if s == nil {
		c.replyErr(f.ID, errLoginFirst)
		return
	}
	if wait := s.begin(f.ID); wait != nil {
		// A resend of a request still running on the old connection:
		// answer it once that one has.
		select {
		case <-wait:
		case <-time.After(c.node.cfg.WriteTimeout):
		}
		if b, ok := s.answered(f.ID); ok {
			c.send(b)
		}
		return
	}
	if b, ok := s.answered(f.ID); ok {
		s.finish(f.ID)
		c.send(b) // a request resent after a resume: answer it again, do not run it again
		return
	}
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		c.replyErr(f.ID, wire.Errf(wire.GeneralNotLogin, "the session has ended"))
		s.finish(f.ID)
		return
	}
	if !c.requests.Allow() {
		n.metrics.limited.Add(1)
		e := wire.Errf(wire.GeneralFailed, "too many requests on this connection (limit %d/s)", n.cfg.RequestRate)
		if f.Op == wire.OpPeerSend {
			c.later(f.ID, s).fail(e) // in order with the answers still to come
		} else {
			c.awaitAnswers()
			c.replyErr(f.ID, e)
			s.finish(f.ID)
		}
		return
	}
	if f.Op == wire.OpPeerSend {
		var req wire.PeerSendReq
		a := c.later(f.ID, s)
		if e := decode(f, &req); e != nil {
			a.fail(e)
			return
		}
		n.sendPeer(s, &req, a)
		return
	}
	// Every other request is answered after the peer messages before it.
	c.awaitAnswers()
	defer s.finish(f.ID)
	var res any
	var e *wire.Error
	switch f.Op {
	case wire.OpLogout:
		c.logout(f, s)
		return
	case wire.OpChannelJoin:
		c.join(f, s)
		return
	case wire.OpChannelSend:
		var req wire.ChannelSendReq
		if e = decode(f, &req); e == nil {
			e = n.sendChannel(s, &req)
		}
	case wire.OpChannelLeave:
		var req wire.ChannelReq
		if e = decode(f, &req); e == nil {
			e = n.leaveChannel(s, req.Channel)
		}
	case wire.OpChannelCount:
		var req wire.ChannelReq
		if e = decode(f, &req); e == nil {
			if e = wire.CheckName("channel", req.Channel); e == nil {
				res = wire.CountRes{Num: n.channelCount(s.app, req.Channel)}
			}
		}
	case wire.OpChannelSetAttr, wire.OpChannelDelAttr:
		var req wire.ChannelAttrReq
		if e = decode(f, &req); e == nil {
			if f.Op == wire.OpChannelSetAttr {
				e = n.setChannelAttr(s, req.Channel, req.Name, req.Value)
			} else {
				e = n.delChannelAttr(s, req.Channel, req.Name)
			}
		}
	case wire.OpChannelClear:
		var req wire.ChannelReq
		if e = decode(f, &req); e == nil {
			e = n.clearChannelAttrs(s, req.Channel)
		}
	case wire.OpUserSetAttr:
		var req wire.UserAttrReq
		if e = decode(f, &req); e == nil {
			e = n.setUserAttr(s, req.Name, req.Value)
		}
	case wire.OpUserGetAttr:
		var req wire.UserAttrReq
		if e = decode(f, &req); e == nil {
			var v string
			if v, e = n.userAttr(s.app, req.Account, req.Name); e == nil {
				res = wire.UserAttrRes{Value: v}
			}
		}
	case wire.OpUserGetAttrAll:
		var req wire.UserAttrReq
		if e = decode(f, &req); e == nil {
			var all map[string]string
			if all, e = n.userAttrs(s.app, req.Account); e == nil {
				res = wire.UserAttrAllRes{Attrs: all}
			}
		}
	case wire.OpUserStatus:
		var req wire.UserAttrReq
		if e = decode(f, &req); e == nil {
			if e = wire.CheckName("account", req.Account); e == nil {
				res = wire.StatusRes{Online: n.online(s.app, req.Account)}
			}
		}
	case wire.OpInvoke:
		var req wire.InvokeReq
		if e = decode(f, &req); e == nil {
			var resp []byte
			if resp, e = n.invoke(s, req.Name, req.Req); e == nil {
				res = wire.InvokeRes{Resp: resp}
			}
		}
	case wire.OpInvite:
		var req wire.InviteReq
		if e = decode(f, &req); e == nil {
			e = n.invite(s, &req)
		}
	case wire.OpInviteAck, wire.OpInviteEnd:
		var req wire.InviteRef
		if e = decode(f, &req); e == nil {
			if f.Op == wire.OpInviteAck {
				e = n.inviteAck(s, &req)
			} else {
				e = n.endInvite(s, &req)
			}
		}
	case wire.OpInviteAccept, wire.OpInviteRefuse:
		var req wire.InviteReply
		if e = decode(f, &req); e == nil {
			e = n.answerInvite(s, &req, f.Op == wire.OpInviteAccept)
		}
	case wire.OpInviteDTMF:
		var req wire.InviteDTMF
		if e = decode(f, &req); e == nil {
			e = n.inviteDTMF(s, &req)
		}
	default:
		e = wire.Errf(wire.GeneralWrongParam, "unknown op %q", f.Op)
	}
	if e != nil {
		c.replyErr(f.ID, e)
		return
	}
	c.reply(f.ID, res)
}

var pongFrame = wire.MustEncode(0, wire.OpPong, nil)

// errTooManyAttrs refuses a new attribute past wire.MaxAttrs: what a join
// answer carries stays bounded (256 × 8 KB values, well under the SDK's read limit).
var errTooManyAttrs = errors.New("too many attributes")

func decode(f *wire.Frame, v any) *wire.Error {
	if err := f.Decode(v); err != nil {
		return wire.Errf(wire.GeneralWrongParam, "%v", err)
	}
	return nil
}

func internal(err error) *wire.Error { return wire.Errf(wire.General, "server error: %v", err) }

// sendPeer queues a peer message durably; once it is, the recipient gets
// it if online and the sender its answer (a). It leaves the queue when the
// recipient acknowledges it, so a message whose sender was told "sent"
// survives any crash or disconnection. The recipient never sees a message
// before it is durable: what it saw, it still has after a crash.
func (n *Node) sendPeer(s *Session, req *wire.PeerSendReq, a *laterAnswer) {
	if e := wire.CheckName("account", req.To); e != nil {
		a.fail(e)
		return
	}
	if e := wire.CheckText("message", req.Msg, wire.MaxMessageBytes); e != nil {
		a.fail(e)
		return
	}
	if !s.limiter.Allow() {
		n.metrics.limited.Add(1)
		a.fail(wire.Errf(wire.SendMessageOther, "rate limited: more than %d messages per second from this account", n.cfg.UserRate))
		return
	}
	q := store.Queued{From: s.account, Msg: req.Msg, MID: req.MID, TS: time.Now().UnixMilli()}
	n.store.Enqueue(s.app, req.To, q, n.queueLimits, func(key uint64, err error) {
		switch {
		case errors.Is(err, store.ErrDuplicate):
			a.ok() // a resend of a message already accepted
		case errors.Is(err, store.ErrQueueFull):
			a.fail(wire.Errf(wire.SendMessageOther, "the recipient has %d undelivered messages, the limit", n.cfg.QueueMax))
		case err != nil:
			a.fail(internal(err))
		default:
			n.deliverPeer(s.app, req.To, wire.PeerMsg{From: q.From, Msg: q.Msg, MID: q.MID, TS: q.TS, Key: key})
			a.ok()
		}
	})
}

// deliverPeer pushes a durable peer message to its recipient if online.
// Under the account's mailbox, as a login reads the queue: each message
// reaches a session once, from the one or the other.
func (n *Node) deliverPeer(app, to string, m wire.PeerMsg) {
	mb := n.mailbox(app, to)
	mb.Lock()
	if s, ok := n.sessions.get(key{app, to}); ok {
		s.pushUser(wire.PushPeerMsg, m, m.Key)
	}
	mb.Unlock()
}

// sendChannel publishes a channel message to every member, the sender too.
func (n *Node) sendChannel(s *Session, req *wire.ChannelSendReq) *wire.Error {
	if e := wire.CheckName("channel", req.Channel); e != nil {
		return e
	}
	if e := wire.CheckText("message", req.Msg, wire.MaxMessageBytes); e != nil {
		return e
	}
	if wire.IsSpecialChannel(req.Channel) {
		return wire.Errf(wire.SendMessageOther, "%s is written by the server only", req.Channel)
	}
	if req.MID != "" && s.seenMID(req.MID) {
		return nil
	}
	var e *wire.Error
	err := n.withChannel(s.app, req.Channel, func(ch *Channel) {
		m, member := ch.members[s.account]
		if member && m.sess != s {
			member = false
		}
		if !req.Force && !member {
			e = wire.Errf(wire.SendMessageOther, "not in channel %s (join it, or use MessageChannelSendForce)", req.Channel)
			return
		}
		if !s.limiter.Allow() {
			e = wire.Errf(wire.SendMessageOther, "rate limited: more than %d messages per second from this account", n.cfg.UserRate)
			return
		}
		if !ch.allowMessageLocked() {
			e = wire.Errf(wire.SendMessageOther, "rate limited: channel %s allows %d messages per second", ch.name, ch.intAttr(wire.AttrSendMsgLimit, n.cfg.ChannelRate))
			return
		}
		var uid uint32
		if member {
			uid = m.uid
		}
		ch.pushLocked(wire.PushChannelMsg, wire.ChannelMsg{Channel: ch.name, From: s.account, UID: uid, Msg: req.Msg})
	})
	if err != nil {
		e = internal(err)
	}
	if e != nil {
		s.forgetMID(req.MID)
		if e.Code == wire.SendMessageOther {
			n.metrics.limited.Add(1)
		}
	}
	return e
}

// join moves the session into a channel, leaving its current one first. The
// answer is queued with the channel locked, so it precedes every push after it.
func (c *Conn) join(f *wire.Frame, s *Session) {
	n := c.node
	var req wire.ChannelReq
	if e := decode(f, &req); e != nil {
		c.replyErr(f.ID, e)
		return
	}
	if e := wire.CheckName("channel", req.Channel); e != nil {
		c.replyErr(f.ID, e)
		return
	}
	left := ""
	if cur := s.currentChannel(); cur != nil && cur.name != req.Channel {
		n.leave(s, cur)
		left = cur.name
	}
	// A join that fails after leaving the old channel says so first.
	fail := func(e *wire.Error) {
		if left != "" {
			c.send(wire.MustEncode(0, wire.PushChannelGone, wire.ChannelGone{Channel: left, Code: wire.LeaveChannelByUser}))
		}
		c.replyErr(f.ID, e)
	}
	joined := false
	err := n.withChannel(s.app, req.Channel, func(ch *Channel) {
		m, ok := ch.members[s.account]
		if ok && m.sess == s {
			c.reply(f.ID, ch.snapshotLocked(m.uid)) // already in: the state again
			return
		}
		if len(ch.members) >= n.cfg.MaxMembers && !ch.special() {
			fail(wire.Errf(wire.JoinChannelOther, "channel %s is full (%d members)", ch.name, n.cfg.MaxMembers))
			return
		}
		if ok {
			ch.removeLocked(m.sess) // a stale session of the same account
		}
		if len(ch.members) == 0 && len(ch.attrs) > 0 {
			if err := n.store.SetChannelExpiry(s.app, ch.name, time.Time{}); err != nil {
				n.log.Error("clear channel expiry", "channel", ch.name, "err", err)
			}
			// The janitor expires attributes in the store without the
			// channel's lock and tells the node after: if the expiry may
			// have come, the first member sees what the store holds now
			// that none can.
			if ch.expiryMayHaveComeLocked(time.Now()) {
				n.reloadAttrsLocked(ch)
			}
		}
		m = ch.addLocked(s)
		s.mu.Lock()
		s.channel = ch
		s.mu.Unlock()
		ch.scheduleAutoUpdateLocked()
		res := ch.snapshotLocked(m.uid)
		res.Left = left
		c.reply(f.ID, res)
		joined = true
	})
	if err != nil {
		fail(internal(err))
		return
	}
	if joined {
		n.announce(s.app, wire.ChannelEvents, map[string]any{"type": "join", "channel": req.Channel, "account": s.account, "ts": time.Now().UnixMilli()})
	}
}

func (n *Node) leaveChannel(s *Session, name string) *wire.Error {
	if e := wire.CheckName("channel", name); e != nil {
		return e
	}
	cur := s.currentChannel()
	if cur == nil || cur.name != name {
		return wire.Errf(wire.GeneralFailed, "not in channel %s", name)
	}
	n.leave(s, cur)
	return nil
}

func (n *Node) channelCount(app, name string) int {
	ch, ok := n.channels.get(key{app, name})
	if !ok {
		return 0
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.dead {
		return 0
	}
	return len(ch.members)
}

func (n *Node) online(app, account string) bool {
	_, ok := n.sessions.get(key{app, account})
	return ok
}

func checkAttrName(name string) *wire.Error {
	if e := wire.CheckName("attribute name", name); e != nil {
		return e
	}
	if wire.ReadOnlyAttr(name) {
		return wire.Errf(wire.GeneralWrongParam, "%s is maintained by the server and cannot be changed", name)
	}
	return nil
}

func checkBuiltinValue(name, value string) *wire.Error { return wire.CheckBuiltinValue(name, value) }

func (n *Node) setChannelAttr(s *Session, channel, name, value string) *wire.Error {
	if e := wire.CheckName("channel", channel); e != nil {
		return e
	}
	if e := checkAttrName(name); e != nil {
		return e
	}
	if e := wire.CheckText("attribute value", value, wire.MaxValueBytes); e != nil {
		return e
	}
	if e := checkBuiltinValue(name, value); e != nil {
		return e
	}
	return n.changeChannel(s, channel, name, func(ch *Channel) (*wire.AttrUpdate, error) {
		if _, ok := ch.attrs[name]; !ok && len(ch.attrs) >= wire.MaxAttrs {
			return nil, errTooManyAttrs
		}
		if err := n.store.SetChannelAttr(s.app, channel, name, value); err != nil {
			return nil, err
		}
		ch.attrs[name] = value
		return &wire.AttrUpdate{Channel: channel, Name: name, Value: value, Type: "update"}, nil
	})
}

func (n *Node) delChannelAttr(s *Session, channel, name string) *wire.Error {
	if e := wire.CheckName("channel", channel); e != nil {
		return e
	}
	if e := checkAttrName(name); e != nil {
		return e
	}
	return n.changeChannel(s, channel, name, func(ch *Channel) (*wire.AttrUpdate, error) {
		if _, err := n.store.DelChannelAttr(s.app, channel, name); err != nil {
			return nil, err
		}
		delete(ch.attrs, name)
		return &wire.AttrUpdate{Channel: channel, Name: name, Type: "del"}, nil
	})
}

func (n *Node) clearChannelAttrs(s *Session, channel string) *wire.Error {
	if e := wire.CheckName("channel", channel); e != nil {
		return e
	}
	return n.changeChannel(s, channel, "", func(ch *Channel) (*wire.AttrUpdate, error) {
		if err := n.store.ClearChannelAttrs(s.app, channel); err != nil {
			return nil, err
		}
		clear(ch.attrs)
		return &wire.AttrUpdate{Channel: channel, Type: "clear"}, nil
	})
}

// changeChannel applies an attribute change under the channel's lock and
// tells every member. name "" (clear) is not rate limited per attribute.
func (n *Node) changeChannel(s *Session, channel, name string, apply func(ch *Channel) (*wire.AttrUpdate, error)) *wire.Error {
	var e *wire.Error
	err := n.withChannel(s.app, channel, func(ch *Channel) {
		if name != "" && !ch.allowAttrLocked(name) {
			n.metrics.limited.Add(1)
			e = wire.Errf(wire.GeneralFailed, "rate limited: _setattr_limit allows %d changes per second to %s", ch.intAttr(wire.AttrSetAttrLimit, 0), name)
			return
		}
		u, err := apply(ch)
		if errors.Is(err, errTooManyAttrs) {
			e = wire.Errf(wire.GeneralFailed, "a channel has at most %d attributes", wire.MaxAttrs)
			return
		}
		if err != nil {
			e = internal(err)
			return
		}
		ch.changed = true
		u.By = s.account
		ch.pushLocked(wire.PushAttrUpdated, u)
		ch.scheduleAutoUpdateLocked()
	})
	if err != nil {
		return internal(err)
	}
	return e
}

func (n *Node) setUserAttr(s *Session, name, value string) *wire.Error {
	if e := wire.CheckName("attribute name", name); e != nil {
		return e
	}
	if e := wire.CheckText("attribute value", value, wire.MaxValueBytes); e != nil {
		return e
	}
	if value != "" {
		count, err := n.store.UserAttrCount(s.app, s.account)
		if err != nil {
			return internal(err)
		}
		if count >= wire.MaxAttrs {
			// At the cap only an existing attribute may change.
			old, err := n.store.UserAttr(s.app, s.account, name)
			if err != nil {
				return internal(err)
			}
			if old == "" {
				return wire.Errf(wire.GeneralFailed, "an account has at most %d attributes", wire.MaxAttrs)
			}
		}
	}
	if err := n.store.SetUserAttr(s.app, s.account, name, value); err != nil {
		return internal(err)
	}
	return nil
}

func (n *Node) userAttr(app, account, name string) (string, *wire.Error) {
	if e := wire.CheckName("account", account); e != nil {
		return "", e
	}
	if e := wire.CheckName("attribute name", name); e != nil {
		return "", e
	}
	v, err := n.store.UserAttr(app, account, name)
	if err != nil {
		return "", internal(err)
	}
	return v, nil
}

func (n *Node) userAttrs(app, account string) (map[string]string, *wire.Error) {
	if e := wire.CheckName("account", account); e != nil {
		return nil, e
	}
	all, err := n.store.UserAttrs(app, account)
	if err != nil {
		return nil, internal(err)
	}
	return all, nil
}
