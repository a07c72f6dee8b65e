package server

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// Peer and channel messages.

func handlePeerSend(r *req) {
	var p wire.PeerSendReq
	if !r.decode(&p) ||
		!r.check(wire.CheckName("account", p.To)) ||
		!r.check(wire.CheckText("message", p.Msg, wire.MaxMessageBytes)) {
		return
	}
	n, s := r.node(), r.s
	if !s.limiter.Allow() {
		n.metrics.limited.Add(1)
		r.fail(wire.Errf(wire.SendMessageOther, "rate limited: more than %d messages per second from this account", n.cfg.UserRate))
		return
	}
	q := store.Queued{From: s.account, Msg: p.Msg, MID: p.MID, TS: time.Now().UnixMilli()}
	n.askAt(s.app, p.To, opPeerEnqueue, appendPeerEnqueue(nil, p.To, q), time.Now().Add(movePatience),
		func() { n.enqueuePeer(s.app, p.To, q, r.done) },
		func(_ []byte, e *wire.Error) { r.done(e) })
}

// enqueuePeer, on the node serving the recipient, queues a peer message
// durably; once it is, the recipient gets it if online, and done is called.
// It leaves the queue when the recipient acknowledges it, so a message whose
// sender was told "sent" survives any crash or disconnection, and the
// recipient never sees one before it is durable: what it saw, it still has
// after a crash.
func (n *Node) enqueuePeer(app, to string, q store.Queued, done func(*wire.Error)) {
	st := n.storeOf(app, to)
	if st == nil {
		done(errNotHere)
		return
	}
	st.Enqueue(app, to, q, n.queueLimits, func(key uint64, err error) {
		switch {
		case errors.Is(err, store.ErrDuplicate):
			done(nil) // a resend of a message already accepted
		case errors.Is(err, store.ErrQueueFull):
			done(wire.Errf(wire.SendMessageOther, "the recipient has %d undelivered messages, the limit", n.cfg.QueueMax))
		case err != nil:
			done(internal(err))
		default:
			n.deliverPeer(app, to, wire.PeerMsg{From: q.From, Msg: q.Msg, MID: q.MID, TS: q.TS, Key: key})
			done(nil)
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

func handleChannelSend(r *req) {
	var p wire.ChannelSendReq
	if !r.decode(&p) ||
		!r.check(wire.CheckName("channel", p.Channel)) ||
		!r.check(wire.CheckText("message", p.Msg, wire.MaxMessageBytes)) {
		return
	}
	if wire.IsSpecialChannel(p.Channel) {
		r.fail(wire.Errf(wire.SendMessageOther, "%s is written by the server only", p.Channel))
		return
	}
	n, s := r.node(), r.s
	if p.MID != "" && s.seenMID(p.MID) {
		r.ok(nil)
		return
	}
	done := func(e *wire.Error) {
		if e != nil {
			s.forgetMID(p.MID)
			if e.Code == wire.SendMessageOther {
				n.metrics.limited.Add(1)
			}
		}
		r.done(e)
	}
	// The account's rate first, here where its session is; the channel's
	// where the channel is.
	if !s.limiter.Allow() {
		done(wire.Errf(wire.SendMessageOther, "rate limited: more than %d messages per second from this account", n.cfg.UserRate))
		return
	}
	who := n.memberOf(s)
	// A session joining its channel again (its server moved) sends once it
	// is in: before, the next server does not know it.
	n.whenSynced(s, p.Channel, func() { n.askChSend(s.app, who, &p, done) })
}

// askChSend sends a channel message on the node serving the channel.
func (n *Node) askChSend(app string, who memberRef, p *wire.ChannelSendReq, done func(*wire.Error)) {
	n.ask(app, p.Channel, opChanSend, chSendReq{Channel: p.Channel, Who: who.wire(), Msg: p.Msg, Force: p.Force},
		func() {
			n.chSendSettled(app, p.Channel, who, p.Msg, p.Force, done, func() { n.askChSend(app, who, p, done) })
		},
		func(_ []byte, e *wire.Error) { done(e) })
}

// chSend publishes a channel message to every member, the sender too, on
// the node serving the channel.
func (n *Node) chSend(app, channel string, who memberRef, msg string, force bool) *wire.Error {
	var e *wire.Error
	err := n.withChannel(app, channel, func(ch *Channel) {
		var uid uint32
		if uid, e = ch.mayPostLocked(who, force); e == nil {
			ch.postLocked(who, uid, msg)
		}
	})
	if err != nil {
		return internal(err)
	}
	return e
}

// chSendSettled is chSend in a cluster, where the channel's shard may have
// just come here and be settling (settle.go): whether who may send is
// decided now, as if the message went at once, and it is published once
// the shard has settled; elsewhere runs instead when the shard moved on
// meanwhile.
func (n *Node) chSendSettled(app, channel string, who memberRef, msg string, force bool, done func(*wire.Error), elsewhere func()) {
	if n.peers == nil || !n.isSettling(app, channel) {
		done(n.chSend(app, channel, who, msg, force))
		return
	}
	var uid uint32
	var e *wire.Error
	if err := n.withChannel(app, channel, func(ch *Channel) { uid, e = ch.mayPostLocked(who, force) }); err != nil {
		e = internal(err)
	}
	if e != nil {
		done(e)
		return
	}
	n.afterSettle(app, channel, func(here bool) {
		if !here {
			elsewhere()
			return
		}
		if err := n.withChannel(app, channel, func(ch *Channel) { ch.postLocked(who, uid, msg) }); err != nil {
			done(internal(err))
			return
		}
		done(nil)
	})
}

// mayPostLocked says whether who may send a message to the channel now
// (and takes it from the channel's rate), and with which uid.
func (ch *Channel) mayPostLocked(who memberRef, force bool) (uint32, *wire.Error) {
	m, member := ch.members[who.account]
	if member && !m.is(who) {
		member = false
	}
	if !force && !member {
		return 0, wire.Errf(wire.SendMessageOther, "not in channel %s (join it, or use MessageChannelSendForce)", ch.name)
	}
	if !ch.allowMessageLocked() {
		return 0, wire.Errf(wire.SendMessageOther, "rate limited: channel %s allows %d messages per second", ch.name, ch.intAttr(wire.AttrSendMsgLimit, ch.node.cfg.ChannelRate))
	}
	if !member {
		return 0, nil
	}
	return m.uid, nil
}

func (ch *Channel) postLocked(who memberRef, uid uint32, msg string) {
	ch.pushLocked(wire.PushChannelMsg, wire.ChannelMsg{Channel: ch.name, From: who.account, UID: uid, Msg: msg})
}

const opPeerEnqueue = 'P'

// A peer message for the node serving its recipient: the busiest request
// between nodes, so in binary rather than JSON (which cost a tenth of a
// node's CPU in p2p): to, from, msg, mid (length-prefixed), ts (uvarint).
func appendPeerEnqueue(b []byte, to string, q store.Queued) []byte {
	b = appendName(b, to)
	b = appendName(b, q.From)
	b = appendName(b, q.Msg)
	b = appendName(b, q.MID)
	return binary.AppendUvarint(b, uint64(q.TS))
}

func readPeerEnqueue(b []byte) (to string, q store.Queued, err error) {
	if to, b, err = readName(b); err != nil {
		return
	}
	if q.From, b, err = readName(b); err != nil {
		return
	}
	if q.Msg, b, err = readName(b); err != nil {
		return
	}
	if q.MID, b, err = readName(b); err != nil {
		return
	}
	ts, _, err := readUvarint(b)
	q.TS = int64(ts)
	return to, q, err
}

func init() {
	remoteOps[opPeerEnqueue] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		to, q, err := readPeerEnqueue(b)
		if err != nil {
			answer(nil, wire.Errf(wire.GeneralWrongParam, "cluster request: peer message: %v", err))
			return
		}
		n.enqueuePeer(app, to, q, func(e *wire.Error) { answer(nil, e) })
	}
}
