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

// frame handles one frame: an answer, or a push routed by its op.
func (e *engine) frame(cn *conn, f *wire.Frame) {
	switch f.Op {
	case wire.OpResult:
		if e.loginID != 0 && f.ID == e.loginID {
			e.loginAnswer(f)
		} else if e.ph == phOnline {
			e.answer(f)
		}
	case wire.OpPong:
	case wire.PushGoAway:
		e.goAway(cn, f)
	default:
		if push := pushes[f.Op]; push != nil {
			push(e, f)
		} else {
			e.log("ignored an unknown frame from the server: %s", f.Describe())
		}
	}
}

// pushes handles each push but goaway (which needs its connection).
var pushes = map[string]func(e *engine, f *wire.Frame){
	wire.PushPeerMsg:         (*engine).peerMsgPush,
	wire.PushInviteRecv:      (*engine).inviteFrame,
	wire.PushInviteDelivered: (*engine).inviteFrame,
	wire.PushInviteAccepted:  (*engine).inviteFrame,
	wire.PushInviteRefused:   (*engine).inviteFrame,
	wire.PushInviteFailed:    (*engine).inviteFrame,
	wire.PushInviteEnded:     (*engine).inviteFrame,
	wire.PushInviteMsg:       (*engine).inviteFrame,
	wire.PushChannelMsg:      (*engine).channelMsgPush,
	wire.PushUserJoined:      (*engine).userJoinedPush,
	wire.PushUserLeft:        (*engine).userLeftPush,
	wire.PushAttrUpdated:     (*engine).attrUpdatedPush,
	wire.PushChannelGone:     (*engine).channelGonePush,
	wire.PushChannelSnap:     (*engine).channelSnapPush,
	wire.PushLog:             (*engine).logPush,
	wire.PushKicked:          (*engine).kickedPush,
}

// userPush reports whether a user-stream push is new, recording its
// sequence number.
func (e *engine) userPush(f *wire.Frame) bool {
	if f.Seq > 0 {
		if f.Seq <= e.lastSeq {
			return false // replayed after a resume: seen already
		}
		e.lastSeq = f.Seq
	}
	return true
}

func (e *engine) peerMsgPush(f *wire.Frame) {
	var m wire.PeerMsg
	if !e.decodePush(f, &m) || !e.userPush(f) {
		return
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
}

func (e *engine) inviteFrame(f *wire.Frame) {
	var v wire.InviteEvent
	if e.decodePush(f, &v) && e.userPush(f) {
		e.invitePush(f.Op, &v)
	}
}

func (e *engine) channelMsgPush(f *wire.Frame) {
	var m wire.ChannelMsg
	if e.decodePush(f, &m) && e.channelPush(m.Channel, f.Off) {
		e.emit(func(cb Callback) { cb.OnMessageChannelReceive(m.Channel, m.From, m.UID, m.Msg) })
	}
}

func (e *engine) userJoinedPush(f *wire.Frame) {
	var u wire.ChannelUser
	if e.decodePush(f, &u) && e.channelPush(u.Channel, f.Off) {
		e.emit(func(cb Callback) { cb.OnChannelUserJoined(u.Account, u.UID) })
	}
}

func (e *engine) userLeftPush(f *wire.Frame) {
	var u wire.ChannelUser
	if e.decodePush(f, &u) && e.channelPush(u.Channel, f.Off) {
		e.emit(func(cb Callback) { cb.OnChannelUserLeaved(u.Account, u.UID) })
	}
}

func (e *engine) attrUpdatedPush(f *wire.Frame) {
	var a wire.AttrUpdate
	if e.decodePush(f, &a) && e.channelPush(a.Channel, f.Off) {
		e.emit(func(cb Callback) {
			cb.OnChannelAttrUpdated(a.Channel, a.Name, a.Value, a.Type)
			if x, ok := cb.(AttrAuthorCallback); ok {
				x.OnChannelAttrChangedBy(a.Channel, a.Name, a.Type, a.By)
			}
		})
	}
}

func (e *engine) channelGonePush(f *wire.Frame) {
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
}

func (e *engine) channelSnapPush(f *wire.Frame) {
	var res wire.JoinRes
	if e.decodePush(f, &res) && res.Channel != "" && res.Channel == e.channel {
		e.joined(res.Channel, &res, false)
	}
}

func (e *engine) logPush(f *wire.Frame) {
	var l wire.LogLine
	if e.decodePush(f, &l) {
		e.emit(func(cb Callback) { cb.OnLog(l.Text) })
	}
}

func (e *engine) kickedPush(f *wire.Frame) {
	var k wire.Kicked
	e.decodePush(f, &k) // a malformed one still ends the session
	e.kicked(&k)
}

// goAway moves to another server: the next attempts start with another
// one, or with the one the server names.
func (e *engine) goAway(cn *conn, f *wire.Frame) {
	var g wire.GoAway
	e.decodePush(f, &g)
	e.avoid = e.cur
	if g.URL != "" {
		e.redirectTo(g.URL)
	}
	e.connLost(cn, fmt.Sprintf("the server %s is going away: %s", e.urls[e.cur], g.Reason))
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
