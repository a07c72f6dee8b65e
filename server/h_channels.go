package server

import (
	"encoding/json"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// Joining, leaving and counting channels. The session side (handlers, here
// where the session is) and the channel side (ch*, where the channel is
// served: here, or another node, which runs them for remote members through
// remote_channels.go) are apart.

// memberRef names a channel member: a session of this node, or one of
// another node (which then delivers the channel's pushes to it).
type memberRef struct {
	account string
	sess    *Session // a session here
	node    string   // else the node of the session,
	sid     string   // and its id
}

// wireMember is a memberRef on the cluster's transport (its node is the
// request's sender).
type wireMember struct {
	Account string `json:"a"`
	SID     string `json:"s"`
}

func (n *Node) memberOf(s *Session) memberRef {
	return memberRef{account: s.account, sess: s, sid: s.id}
}

func (m memberRef) wire() wireMember { return wireMember{Account: m.account, SID: m.sid} }

func (w wireMember) at(node string) memberRef {
	return memberRef{account: w.Account, node: node, sid: w.SID}
}

// is reports whether member m is who.
func (m *member) is(who memberRef) bool {
	if who.sess != nil {
		return m.sess == who.sess
	}
	return m.sess == nil && m.node == who.node && m.sid == who.sid
}

func handleJoin(r *req) {
	var p wire.ChannelReq
	if !r.decode(&p) || !r.check(wire.CheckName("channel", p.Channel)) {
		return
	}
	n, s := r.node(), r.s
	left := ""
	if cur := s.channelName(); cur != "" && cur != p.Channel {
		n.leaveCurrent(s)
		left = cur
	}
	// A join that fails after leaving the old channel says so first.
	fail := func(e *wire.Error) {
		if left != "" {
			r.c.send(wire.MustEncode(0, wire.PushChannelGone, wire.ChannelGone{Channel: left, Code: wire.LeaveChannelByUser}))
		}
		r.fail(e)
	}
	who := n.memberOf(s)
	n.ask(s.app, p.Channel, opChanJoin, chJoinReq{Channel: p.Channel, Who: who.wire()},
		func() {
			// Answered with the channel locked, so the answer precedes
			// every push after it.
			if e := n.chJoin(s.app, p.Channel, who, func(res *joinResult) {
				s.mu.Lock()
				s.channel = res.local
				s.mu.Unlock()
				res.Left = left
				r.ok(res.JoinRes)
			}); e != nil {
				fail(e)
			}
		},
		func(raw []byte, e *wire.Error) {
			if e != nil {
				fail(e)
				return
			}
			var res wire.JoinRes
			if err := json.Unmarshal(raw, &res); err != nil {
				fail(internal(err))
				return
			}
			// On the transport's goroutine, before any push of the channel
			// after the join (they come after this answer): the session
			// gets them from now on.
			if !n.subscribe(s, p.Channel) {
				n.chLeaveAt(s.app, p.Channel, who) // it ended meanwhile
				fail(wire.Errf(wire.GeneralNotLogin, "the session has ended"))
				return
			}
			res.Left = left
			r.ok(&res)
		})
}

// chJoin adds who to the channel, on the node serving it; answer gets the
// channel's state with the channel locked. The others get ch.joined, and
// __agora_channel_event the join.
func (n *Node) chJoin(app, name string, who memberRef, answer func(res *joinResult)) *wire.Error {
	var e *wire.Error
	joined := false
	err := n.withChannel(app, name, func(ch *Channel) {
		m, ok := ch.members[who.account]
		if ok && m.is(who) {
			answer(&joinResult{JoinRes: ch.snapshotLocked(m.uid), local: ch.localTo(who)}) // already in: the state again
			return
		}
		if len(ch.members) >= n.cfg.MaxMembers && !ch.special() {
			e = wire.Errf(wire.JoinChannelOther, "channel %s is full (%d members)", ch.name, n.cfg.MaxMembers)
			return
		}
		if ok {
			ch.removeMemberLocked(m) // a stale session of the same account
		}
		if len(ch.members) == 0 && len(ch.attrs) > 0 {
			if err := n.storeOf(app, name).SetChannelExpiry(app, ch.name, time.Time{}); err != nil {
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
		m = ch.addLocked(who)
		ch.scheduleAutoUpdateLocked()
		answer(&joinResult{JoinRes: ch.snapshotLocked(m.uid), local: ch.localTo(who)})
		joined = true
	})
	if err != nil {
		return internal(err)
	}
	if joined {
		n.announce(app, wire.ChannelEvents, map[string]any{"type": "join", "channel": name, "account": who.account, "ts": time.Now().UnixMilli()})
	}
	return e
}

// joinResult is a join's answer, with the channel when the joiner is a
// session of this node.
type joinResult struct {
	*wire.JoinRes
	local *Channel
}

// localTo is the channel, for a member that is a session of this node.
func (c *Channel) localTo(who memberRef) *Channel {
	if who.sess != nil {
		return c
	}
	return nil
}

func handleLeave(r *req) {
	var p wire.ChannelReq
	if !r.decode(&p) || !r.check(wire.CheckName("channel", p.Channel)) {
		return
	}
	if r.s.channelName() != p.Channel {
		r.fail(wire.Errf(wire.GeneralFailed, "not in channel %s", p.Channel))
		return
	}
	r.node().leaveCurrent(r.s)
	r.ok(nil)
}

// leaveCurrent takes a session out of its channel, for a leave, a join
// elsewhere, a logout or a lost session. A channel served elsewhere hears
// of it after: the session gets none of its pushes from now on.
func (n *Node) leaveCurrent(s *Session) {
	s.mu.Lock()
	ch, remote := s.channel, s.rchan
	s.mu.Unlock()
	switch {
	case ch != nil:
		n.leave(s, ch)
	case remote != "":
		n.unsubscribe(s, remote)
		n.chLeaveAt(s.app, remote, n.memberOf(s))
	}
}

// chLeave takes who out of the channel, on the node serving it; false when
// it was not a member.
func (n *Node) chLeave(app, name string, who memberRef) bool {
	removed := false
	err := n.withChannel(app, name, func(ch *Channel) {
		if m, ok := ch.members[who.account]; ok && m.is(who) {
			ch.removeMemberLocked(m)
			removed = true
		}
	})
	if err != nil {
		n.log.Error("leave channel", "channel", name, "err", err)
	}
	if removed {
		n.announce(app, wire.ChannelEvents, map[string]any{"type": "leave", "channel": name, "account": who.account, "ts": time.Now().UnixMilli()})
	}
	return removed
}

// chLeaveAt is chLeave where the channel is served, not waiting for it.
func (n *Node) chLeaveAt(app, name string, who memberRef) {
	n.ask(app, name, opChanLeave, chJoinReq{Channel: name, Who: who.wire()},
		func() { n.chLeave(app, name, who) },
		func([]byte, *wire.Error) {})
}

func handleCount(r *req) {
	var p wire.ChannelReq
	if !r.decode(&p) || !r.check(wire.CheckName("channel", p.Channel)) {
		return
	}
	r.node().channelCountAt(r.app(), p.Channel, func(num int, e *wire.Error) { r.answer(wire.CountRes{Num: num}, e) })
}

// channelCountAt counts a channel's members where it is served.
func (n *Node) channelCountAt(app, name string, done func(int, *wire.Error)) {
	n.ask(app, name, opChanCount, chReq{Channel: name},
		func() { done(n.channelCount(app, name), nil) },
		func(raw []byte, e *wire.Error) {
			var num int
			if e == nil && json.Unmarshal(raw, &num) != nil {
				e = wire.Errf(wire.General, "bad count from the channel's server")
			}
			done(num, e)
		})
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

// channelName is the channel the session is in, wherever it is served.
func (s *Session) channelName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channel != nil {
		return s.channel.name
	}
	return s.rchan
}
