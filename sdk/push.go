package sdk

import (
	"fmt"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// frames handles the frames of one message received on cn.
func (e *engine) frames(cn *conn, fs []wire.Frame) {
	if cn != e.cn || e.stopped {
		return // an old connection's: dropped
	}
	e.lastRecv = time.Now()
	for i := range fs {
		if e.cn != cn {
			return // the frame before ended this connection
		}
		e.frame(cn, &fs[i])
	}
	// Acknowledge the user stream at once, so the server can let go of
	// delivered offline messages and never hands them out twice.
	if e.cn == cn && e.lastSeq > e.ackedSeq {
		e.ackedSeq = e.lastSeq
		cn.send(wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: e.lastSeq}))
	}
}

func (e *engine) frame(cn *conn, f *wire.Frame) {
	switch f.Op {
	case wire.OpResult:
		if e.loginID != 0 && f.ID == e.loginID {
			e.loginAnswer(f)
		} else if e.ph == phOnline {
			e.answer(f)
		}
	case wire.OpPong:
	case wire.PushPeerMsg:
		var m wire.PeerMsg
		if !e.decodePush(f, &m) {
			return
		}
		if f.Seq > 0 {
			if f.Seq <= e.lastSeq {
				return // replayed after a resume: seen already
			}
			e.lastSeq = f.Seq
		}
		if m.Key > 0 {
			if m.Key <= e.queueKey {
				e.log("dropped a redelivered message %q from %q (already delivered from the queue)", m.MID, m.From)
				return
			}
			e.queueKey = m.Key
		}
		if m.MID != "" && e.seenPeerMsg(m.From, m.MID) {
			e.log("dropped a redelivered message %q from %q", m.MID, m.From)
			return
		}
		e.emit(func(cb Callback) { cb.OnMessageInstantReceive(m.From, 0, m.Msg) })
	case wire.PushInviteRecv, wire.PushInviteDelivered, wire.PushInviteAccepted, wire.PushInviteRefused,
		wire.PushInviteFailed, wire.PushInviteEnded, wire.PushInviteMsg:
		var v wire.InviteEvent
		if !e.decodePush(f, &v) {
			return
		}
		if f.Seq > 0 {
			if f.Seq <= e.lastSeq {
				return // replayed after a resume: seen already
			}
			e.lastSeq = f.Seq
		}
		e.invitePush(f.Op, &v)
	case wire.PushChannelMsg:
		var m wire.ChannelMsg
		if e.decodePush(f, &m) && e.channelPush(m.Channel, f.Off) {
			e.emit(func(cb Callback) { cb.OnMessageChannelReceive(m.Channel, m.From, m.UID, m.Msg) })
		}
	case wire.PushUserJoined:
		var u wire.ChannelUser
		if e.decodePush(f, &u) && e.channelPush(u.Channel, f.Off) {
			e.emit(func(cb Callback) { cb.OnChannelUserJoined(u.Account, u.UID) })
		}
	case wire.PushUserLeft:
		var u wire.ChannelUser
		if e.decodePush(f, &u) && e.channelPush(u.Channel, f.Off) {
			e.emit(func(cb Callback) { cb.OnChannelUserLeaved(u.Account, u.UID) })
		}
	case wire.PushAttrUpdated:
		var a wire.AttrUpdate
		if e.decodePush(f, &a) && e.channelPush(a.Channel, f.Off) {
			e.emit(func(cb Callback) {
				cb.OnChannelAttrUpdated(a.Channel, a.Name, a.Value, a.Type)
				if x, ok := cb.(AttrAuthorCallback); ok {
					x.OnChannelAttrChangedBy(a.Channel, a.Name, a.Type, a.By)
				}
			})
		}
	case wire.PushChannelGone:
		var g wire.ChannelGone
		if !e.decodePush(f, &g) || g.Channel == "" || g.Channel != e.channel {
			return
		}
		code := g.Code
		if code < wire.LeaveChannelOther || code > wire.LeaveChannelDisconn {
			code = wire.LeaveChannelOther
		}
		e.channel, e.lastOff, e.chSync = "", 0, false
		e.log("the server took this session out of channel %q (%d %s)", g.Channel, int(code), code)
		e.emit(func(cb Callback) { cb.OnChannelLeaved(g.Channel, int(code)) })
	case wire.PushChannelSnap:
		var res wire.JoinRes
		if !e.decodePush(f, &res) || res.Channel == "" || res.Channel != e.channel {
			return
		}
		e.joined(res.Channel, &res, false)
	case wire.PushLog:
		var l wire.LogLine
		if e.decodePush(f, &l) {
			e.emit(func(cb Callback) { cb.OnLog(l.Text) })
		}
	case wire.PushKicked:
		var k wire.Kicked
		e.decodePush(f, &k)
		e.kicked(&k)
	case wire.PushGoAway:
		var g wire.GoAway
		e.decodePush(f, &g)
		e.avoid = e.cur // the next attempts start with another server
		if g.URL != "" {
			e.redirectTo(g.URL)
		}
		e.connLost(cn, fmt.Sprintf("the server %s is going away: %s", e.urls[e.cur], g.Reason))
	default:
		e.log("ignored an unknown frame from the server: %s", f.Describe())
	}
}

// decodePush decodes a push's payload, logging a malformed one.
func (e *engine) decodePush(f *wire.Frame, v any) bool {
	if err := f.Decode(v); err != nil {
		e.log("ignored a malformed %s: %v", f.Describe(), err)
		return false
	}
	return true
}

// channelPush reports whether a channel-stream push is for the current
// channel and new (offset past the last one delivered), recording it.
func (e *engine) channelPush(ch string, off uint64) bool {
	if ch == "" || ch != e.channel || !e.chSync {
		return false
	}
	if off > 0 {
		if off <= e.lastOff {
			return false
		}
		e.lastOff = off
	}
	return true
}

// kicked ends the session for good: the server will not take it back.
func (e *engine) kicked(k *wire.Kicked) {
	code := k.Code
	if code < wire.LogoutOther || code > wire.LogoutAlready {
		code = wire.LogoutKicked
	}
	why := "kicked by the server"
	if k.Reason != "" {
		why += ": " + k.Reason
	}
	switch e.ph {
	case phLogin:
		e.loginFail(wire.LoginTokenKicked, why)
	case phOnline, phReconnect:
		e.endSession(wire.LeaveChannelKicked, code, why)
	}
}

// recentPeerMsgs is how many received message ids an instance remembers to
// drop redeliveries (a message the server handed out again because its
// acknowledgement was lost with a connection).
const recentPeerMsgs = 4096

// seenPeerMsg records (from, mid) and reports whether it was seen before.
func (e *engine) seenPeerMsg(from, mid string) bool {
	k := from + "\x00" + mid
	if _, ok := e.peerSeen[k]; ok {
		return true
	}
	if e.peerSeen == nil {
		e.peerSeen = make(map[string]struct{})
	}
	e.peerSeen[k] = struct{}{}
	e.peerRing = append(e.peerRing, k)
	if len(e.peerRing) > recentPeerMsgs {
		delete(e.peerSeen, e.peerRing[0])
		e.peerRing = e.peerRing[1:]
	}
	return false
}
