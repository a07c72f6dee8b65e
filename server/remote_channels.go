package server

import (
	"encoding/json"
	"sync"

	"github.com/xinling/xinling/sdk/wire"
)

// Channels served by another node. The node serving a channel sends each
// push once to every node with members (recChanPush), which hands it to its
// sessions in the channel (subs): fan-out happens where the members are.
// Pushes and answers from one node come in order, so a join's answer
// precedes the channel's pushes after it, and a resume's replay the live
// pushes after the replay.

const (
	opChanJoin   = 'J'
	opChanLeave  = 'L'
	opChanSend   = 'S'
	opChanCount  = 'C'
	opChanReplay = 'R'
	opChanIsIn   = 'I'
	opChanList   = 'U'
	opChanAttr   = 'T'
	opAnnounce   = 'N'
)

type chReq struct {
	Channel string `json:"ch"`
}

type chJoinReq struct {
	Channel string     `json:"ch"`
	Who     wireMember `json:"who"`
}

type chSendReq struct {
	Channel string     `json:"ch"`
	Who     wireMember `json:"who"`
	Msg     string     `json:"msg"`
	Force   bool       `json:"force,omitempty"`
}

type chReplayReq struct {
	Channel string     `json:"ch"`
	Who     wireMember `json:"who"`
	Off     uint64     `json:"off"`
	Known   bool       `json:"known"` // the client named this channel in its resume
}

// chReplayRes is what a resume gets of its channel: the pushes after its
// offset, or the state afresh (snap), or Gone (it is not a member).
type chReplayRes struct {
	Frames [][]byte      `json:"frames,omitempty"`
	Snap   *wire.JoinRes `json:"snap,omitempty"`
	Gone   bool          `json:"gone,omitempty"`
}

// subs are this node's sessions in channels other nodes serve.
type subs struct {
	mu     sync.Mutex
	byChan map[key]*chanSubs
}

type chanSubs struct {
	servedBy string            // the node that answered their joins
	synced   map[*Session]bool // false: waiting for a replay or a snapshot
	// waiting are the requests of sessions that are joining the channel
	// again: they go once the join is answered, in order.
	waiting map[*Session][]func()
}

// whenSynced runs fn once s takes the channel's live pushes again (or is
// no longer in it); at once when it does now.
func (n *Node) whenSynced(s *Session, channel string, fn func()) {
	n.subs.mu.Lock()
	if cs := n.subs.byChan[key{s.app, channel}]; cs != nil {
		if on, in := cs.synced[s]; in && !on {
			if cs.waiting == nil {
				cs.waiting = make(map[*Session][]func())
			}
			cs.waiting[s] = append(cs.waiting[s], fn)
			n.subs.mu.Unlock()
			return
		}
	}
	n.subs.mu.Unlock()
	fn()
}

// waitersLocked takes what waits for s.
func (cs *chanSubs) waitersLocked(s *Session) []func() {
	w := cs.waiting[s]
	delete(cs.waiting, s)
	return w
}

func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

func (n *Node) chanPushRecord(app, channel string, frame []byte) []byte {
	b := make([]byte, 0, 1+len(app)+len(channel)+len(frame)+6)
	b = append(b, recChanPush)
	b = appendName(b, app)
	b = appendName(b, channel)
	return append(b, frame...)
}

// subscribe makes session s a receiver of the pushes of a channel another
// node serves (it joined there); false when s ended meanwhile.
func (n *Node) subscribe(s *Session, channel string) bool {
	_, node, _ := n.place(s.app, channel)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.rchan = channel
	s.mu.Unlock()
	n.subs.mu.Lock()
	defer n.subs.mu.Unlock()
	k := key{s.app, channel}
	cs := n.subs.byChan[k]
	if cs == nil {
		cs = &chanSubs{synced: make(map[*Session]bool)}
		n.subs.byChan[k] = cs
	}
	cs.servedBy = node
	cs.synced[s] = true
	return true
}

func (n *Node) unsubscribe(s *Session, channel string) {
	s.mu.Lock()
	if s.rchan == channel {
		s.rchan = ""
	}
	s.mu.Unlock()
	n.subs.mu.Lock()
	var waiting []func()
	k := key{s.app, channel}
	if cs := n.subs.byChan[k]; cs != nil {
		waiting = cs.waitersLocked(s)
		delete(cs.synced, s)
		if len(cs.synced) == 0 {
			delete(n.subs.byChan, k)
		}
	}
	n.subs.mu.Unlock()
	runAll(waiting)
}

// setSynced marks whether s takes the channel's live pushes.
func (n *Node) setSynced(s *Session, channel string, on bool) bool {
	n.subs.mu.Lock()
	cs := n.subs.byChan[key{s.app, channel}]
	if cs == nil {
		n.subs.mu.Unlock()
		return false
	}
	if _, in := cs.synced[s]; !in {
		n.subs.mu.Unlock()
		return false
	}
	cs.synced[s] = on
	var waiting []func()
	if on {
		waiting = cs.waitersLocked(s)
	}
	n.subs.mu.Unlock()
	runAll(waiting)
	return true
}

func (n *Node) onChanPush(from string, b []byte) error {
	app, b, err := readName(b)
	if err != nil {
		return err
	}
	channel, frame, err := readName(b)
	if err != nil {
		return err
	}
	frame = append([]byte(nil), frame...) // the transport's buffer is reused; the sessions queue this one
	n.subs.mu.Lock()
	cs := n.subs.byChan[key{app, channel}]
	var to []*Session
	if cs != nil {
		for s, on := range cs.synced {
			if on {
				to = append(to, s)
			}
		}
	}
	n.subs.mu.Unlock()
	for _, s := range to {
		s.deliverChannel(frame)
	}
	return nil
}

// resumeRemoteChannel gives a resuming session what it missed of the
// channel another node serves: that node replays (or sends the state
// afresh, or says the session is no longer in it) in the order of its
// pushes; live pushes wait for that.
func (n *Node) resumeRemoteChannel(s *Session, c *Conn, channel string, r *wire.Resume) {
	n.setSynced(s, channel, false)
	who := n.memberOf(s)
	n.ask(s.app, channel, opChanReplay, chReplayReq{Channel: channel, Who: who.wire(), Off: r.Off, Known: r.Channel == channel},
		func() { n.resumeRemoteChannel(s, c, channel, r) }, // served here now: a rejoin will follow the move
		func(raw []byte, e *wire.Error) {
			var res chReplayRes
			if e == nil && json.Unmarshal(raw, &res) != nil {
				e = wire.Errf(wire.General, "bad replay")
			}
			switch {
			case e != nil || res.Gone:
				n.unsubscribe(s, channel)
				c.send(wire.MustEncode(0, wire.PushChannelGone, wire.ChannelGone{Channel: channel, Code: wire.LeaveChannelDisconn}))
			case res.Snap != nil:
				c.send(wire.MustEncode(0, wire.PushChannelSnap, res.Snap))
				n.setSynced(s, channel, true)
			default:
				for _, f := range res.Frames {
					c.send(f)
				}
				n.setSynced(s, channel, true)
			}
		})
}

// rejoin makes the sessions here in a channel whose shard moved (or whose
// server is gone) members where it is served now; each gets the channel's
// state afresh (ch.snap), as after a resume that cannot replay.
func (n *Node) rejoin(app, channel string) {
	n.subs.mu.Lock()
	cs := n.subs.byChan[key{app, channel}]
	var who []*Session
	if cs != nil {
		cs.servedBy = "" // known again when a join is answered
		for s := range cs.synced {
			cs.synced[s] = false
			who = append(who, s)
		}
	}
	n.subs.mu.Unlock()
	for _, s := range who {
		n.rejoinSession(s, channel)
	}
}

func (n *Node) rejoinSession(s *Session, channel string) {
	who := n.memberOf(s)
	k := shardOf(s.app, channel, n.peers.Shards())
	n.rejoinStarted(k)
	n.askWithin(rejoinPatience, s.app, channel, opChanJoin, chJoinReq{Channel: channel, Who: who.wire()},
		func() {
			defer n.rejoinDone(k)
			// The channel is served here now: the session becomes a member
			// of the local object.
			n.unsubscribe(s, channel)
			_ = n.chJoin(s.app, channel, who, func(res *joinResult) {
				s.mu.Lock()
				ended := s.ended
				if !ended {
					s.channel = res.local
				}
				c := s.conn
				s.mu.Unlock()
				if c != nil && !ended {
					c.send(wire.MustEncode(0, wire.PushChannelSnap, res.JoinRes))
				}
			})
		},
		func(raw []byte, e *wire.Error) {
			defer n.rejoinDone(k)
			var res wire.JoinRes
			if e == nil && json.Unmarshal(raw, &res) != nil {
				e = wire.Errf(wire.General, "bad join answer")
			}
			c := s.connected()
			if e != nil {
				n.log.Warn("could not rejoin a member of a channel that moved; its client is told it left (604)", "channel", channel, "account", s.account, "err", e)
				n.unsubscribe(s, channel)
				if c != nil {
					c.send(wire.MustEncode(0, wire.PushChannelGone, wire.ChannelGone{Channel: channel, Code: wire.LeaveChannelDisconn}))
				}
				return
			}
			if !n.setSynced(s, channel, true) {
				n.chLeaveAt(s.app, channel, who) // it left or ended meanwhile
				return
			}
			if _, node, _ := n.place(s.app, channel); node != "" {
				n.setServedBy(s.app, channel, node)
			}
			if c != nil {
				c.send(wire.MustEncode(0, wire.PushChannelSnap, &res))
			}
		})
}

// onMoved: the node that served a channel stopped (its shard moved): the
// sessions here in it join again where it is served next.
func (n *Node) onMoved(b []byte) error {
	app, channel, by, err := readMoved(b)
	if err != nil {
		return err
	}
	if by != "" {
		n.setServedBy(app, channel, by) // handed over as it was: nothing to do
		return nil
	}
	n.rejoin(app, channel)
	return nil
}

// setServedBy notes which node serves a channel the sessions here are in.
func (n *Node) setServedBy(app, channel, node string) {
	n.subs.mu.Lock()
	defer n.subs.mu.Unlock()
	if cs := n.subs.byChan[key{app, channel}]; cs != nil {
		cs.servedBy = node
	}
}

// dropRemoteMembers, on a channel's server, takes out the members of a node
// that is gone; and the sessions here in channels that node served join
// them again where they are served next.
func (n *Node) dropRemoteMembers(node string) {
	n.channels.each(func(ch *Channel) {
		ch.mu.Lock()
		var gone []*member
		if ch.remote[node] > 0 {
			for _, m := range ch.members {
				if m.sess == nil && m.node == node {
					gone = append(gone, m)
				}
			}
		}
		for _, m := range gone {
			ch.removeMemberLocked(m)
		}
		ch.mu.Unlock()
	})
	n.subs.mu.Lock()
	var moved []key
	for k, cs := range n.subs.byChan {
		if cs.servedBy == node {
			moved = append(moved, k)
		}
	}
	n.subs.mu.Unlock()
	for _, k := range moved {
		n.rejoin(k.app, k.name)
	}
}

func init() {
	remoteOps[opChanJoin] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p chJoinReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		if e := n.chJoin(app, p.Channel, p.Who.at(from), func(res *joinResult) { answer(res.JoinRes, nil) }); e != nil {
			answer(nil, e)
		}
	}
	remoteOps[opChanLeave] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p chJoinReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.chLeave(app, p.Channel, p.Who.at(from)), nil)
	}
	remoteOps[opChanSend] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p chSendReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		n.chSendSettled(app, p.Channel, p.Who.at(from), p.Msg, p.Force,
			func(e *wire.Error) { answer(nil, e) },
			func() { answer(nil, errNotHere) }) // the shard moved on while it settled: asked again there
	}
	remoteOps[opChanCount] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p chReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.channelCount(app, p.Channel), nil)
	}
	remoteOps[opChanReplay] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p chReplayReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		n.chReplay(app, p.Channel, p.Who.at(from), p.Off, p.Known, func(res chReplayRes) { answer(res, nil) })
	}
}

// chReplay gives a resuming member what it missed, on the node serving the
// channel; answer is called with the channel locked, so that live pushes
// follow it.
func (n *Node) chReplay(app, name string, who memberRef, off uint64, known bool, answer func(chReplayRes)) {
	err := n.withChannel(app, name, func(ch *Channel) {
		m, ok := ch.members[who.account]
		switch {
		case !ok || !m.is(who):
			answer(chReplayRes{Gone: true})
		case known:
			if frames, ok := ch.replayLocked(off); ok {
				answer(chReplayRes{Frames: frames})
				return
			}
			answer(chReplayRes{Snap: ch.snapshotLocked(m.uid)})
		default:
			answer(chReplayRes{Snap: ch.snapshotLocked(m.uid)})
		}
	})
	if err != nil {
		answer(chReplayRes{Gone: true})
	}
}

// PeerLost: records from node went missing (the transport saw a gap in its
// numbering). The sessions here in channels it serves may have missed
// pushes: their connections close, the SDKs resume, and the replay from
// their offsets gives them what they missed, once. Requests whose answer was
// lost fail by their timeout.
func (n *Node) PeerLost(node string) {
	n.subs.mu.Lock()
	var who []*Session
	for _, cs := range n.subs.byChan {
		if cs.servedBy == node {
			for s := range cs.synced {
				who = append(who, s)
			}
		}
	}
	n.subs.mu.Unlock()
	for _, s := range who {
		if c := s.connected(); c != nil {
			c.close()
		}
	}
	if len(who) > 0 {
		n.log.Warn("cluster: records from a node were lost; its channels' members here resume", "node", node, "sessions", len(who))
	}
}
