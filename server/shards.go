package server

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// A shard comes to this node or leaves it (server/cluster calls these).
//
// A shard handed over on purpose (a node joined, or this one is shutting
// down) takes its channels with it: the node giving it up sends each
// channel's members, offsets and recent pushes to the node it hands the
// shard to, which serves them as they were, so no member sees a leave, a
// join or a gap. A shard whose node died starts afresh on the next: the
// channels' members join again (and see the others do so).

const opChanAdopt = 'H'

// handOverWait bounds how long a node giving a shard up waits for the
// next one to take its channels.
const handOverWait = 2 * time.Second

// ShardGained: this node serves shard k from now on, with store st (called
// before requests for it come here). Channels handed over are set up as
// they were; channels that had members when the shard's last server died
// get their TTL from now (their members, if any are left, join again).
func (n *Node) ShardGained(k int, st store.Store) {
	n.holdShard(k)
	n.announcePending(k)
	for _, a := range n.adoptions.take(k, n.peers.Shards()) {
		n.adoptChannel(a.app, a.req, st)
	}
	n.recoverExpiries(st)
}

// ShardMoved: the node serving shard k changed (who serves it next may not
// be known yet). The sessions here in its channels that a node other than
// the one they expect serves now join again there; once they have, that
// node hears so (settle.go).
func (n *Node) ShardMoved(k int) {
	owner, _ := n.peers.Owner(k)
	if owner == "" {
		return
	}
	shards := n.peers.Shards()
	n.subs.mu.Lock()
	var stale []key
	for ck, cs := range n.subs.byChan {
		if shardOf(ck.app, ck.name, shards) == k && cs.servedBy != "" && cs.servedBy != owner {
			stale = append(stale, ck)
		}
	}
	n.subs.mu.Unlock()
	for _, ck := range stale {
		n.rejoin(ck.app, ck.name)
	}
	n.tellSettled(k)
}

// ShardLost: this node no longer serves shard k (requests for it already go
// elsewhere); its store closes after this returns. to is the node it is
// handed to, "" when not known (the lease was lost). Sessions of its
// accounts are told to go away (they log in again where it is served next);
// its channels go to the next node (handOver).
func (n *Node) ShardLost(k int, to string) {
	shards := n.peers.Shards()
	url := n.peersURL(to)
	var gone []*Session
	n.sessions.each(func(s *Session) {
		if shardOf(s.app, s.account, shards) == k {
			gone = append(gone, s)
		}
	})
	for _, s := range gone {
		s.mu.Lock()
		s.movedTo = url
		s.mu.Unlock()
		n.endSession(s, endMoved)
	}
	var chans []*Channel
	n.channels.each(func(ch *Channel) {
		if shardOf(ch.app, ch.name, shards) == k {
			chans = append(chans, ch)
		}
	})
	n.handOver(chans, to)
	n.dropShardHold(k)
	n.failPendingInvites(k)
}

// adoptReq is a channel handed over: what its next server needs to go on
// serving it as it was (its attributes are in the shard's store).
type adoptReq struct {
	Channel    string        `json:"ch"`
	Base       uint64        `json:"base"`
	Off        uint64        `json:"off"`
	NextUID    uint32        `json:"uid"`
	TotalJoins int           `json:"joins"`
	Members    []adoptMember `json:"members"` // most recently joined first
	Hist       []histWire    `json:"hist,omitempty"`
}

type adoptMember struct {
	Account string `json:"a"`
	UID     uint32 `json:"u"`
	Node    string `json:"n"`
	SID     string `json:"s"`
}

type histWire struct {
	Off   uint64 `json:"o"`
	Frame []byte `json:"f"`
}

// retired is a channel object taken out of service here, and who was in it.
type retired struct {
	ch     *Channel
	req    adoptReq
	local  []*Session
	remote []string
}

// handOver retires the channel objects of a shard that left. With a node
// to hand them to, it sends each one's state there first; the members'
// nodes are told (recMoved) who serves it now, or, when it was not handed
// over, that they must join again. The sessions here in it become members
// where it is served next.
func (n *Node) handOver(chans []*Channel, to string) {
	var out []*retired
	for _, ch := range chans {
		if r := n.retire(ch); r != nil {
			out = append(out, r)
		}
	}
	adopted := make([]bool, len(out))
	if to != "" {
		var wg sync.WaitGroup
		for i, r := range out {
			body, err := json.Marshal(r.req)
			if err != nil {
				continue
			}
			wg.Add(1)
			done := make(chan struct{})
			var once sync.Once
			n.sendRequest(to, -1, r.ch.app, opChanAdopt, body, func(status byte, _ []byte) {
				once.Do(func() {
					adopted[i] = status == answerOK
					close(done)
				})
			})
			go func() {
				defer wg.Done()
				select {
				case <-done:
				case <-time.After(handOverWait):
				}
			}()
		}
		wg.Wait()
	}
	for i, r := range out {
		by := ""
		if adopted[i] {
			by = to
		}
		rec := []byte{recMoved}
		rec = appendName(rec, r.ch.app)
		rec = appendName(rec, r.ch.name)
		rec = appendName(rec, by)
		for _, node := range r.remote {
			n.peers.Send(node, rec)
		}
		for _, s := range r.local {
			s.mu.Lock()
			in := s.channel == r.ch && !s.ended
			if in {
				s.channel = nil
			}
			s.mu.Unlock()
			if !in || !n.subscribe(s, r.ch.name) {
				continue
			}
			if adopted[i] {
				n.setServedBy(s.app, r.ch.name, to)
				continue
			}
			n.setSynced(s, r.ch.name, false)
			n.rejoinSession(s, r.ch.name)
		}
	}
}

// retire takes a channel out of the hub and describes it for the next
// server; nil when it was retired already.
func (n *Node) retire(ch *Channel) *retired {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.dead {
		return nil
	}
	ch.dead = true
	ch.stopTimersLocked()
	r := &retired{ch: ch, req: adoptReq{Channel: ch.name, Base: ch.base, Off: ch.off, NextUID: ch.nextUID, TotalJoins: ch.totalJoins}}
	self := n.peers.Self()
	for e := ch.recent.Front(); e != nil; e = e.Next() {
		acct := e.Value.(string)
		m := ch.members[acct]
		am := adoptMember{Account: acct, UID: m.uid, Node: m.node, SID: m.sid}
		if m.sess != nil {
			am.Node, am.SID = self, m.sess.id
			r.local = append(r.local, m.sess)
		}
		r.req.Members = append(r.req.Members, am)
	}
	for _, h := range ch.hist {
		r.req.Hist = append(r.req.Hist, histWire{Off: h.off, Frame: h.frame})
	}
	for node := range ch.remote {
		r.remote = append(r.remote, node)
	}
	n.channels.deleteIf(key{ch.app, ch.name}, func(v *Channel) bool { return v == ch })
	return r
}

// adoptions are channels handed to this node, kept until it serves their
// shard (or for adoptionTTL, when another node won it after all).
type adoptions struct {
	mu sync.Mutex
	m  map[key]adoption
}

type adoption struct {
	app string
	req adoptReq
	at  time.Time
}

const adoptionTTL = time.Minute

func (a *adoptions) put(app string, req adoptReq) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[key]adoption)
	}
	a.m[key{app, req.Channel}] = adoption{app: app, req: req, at: time.Now()}
}

// take removes and returns the adoptions of shard k, dropping stale ones.
func (a *adoptions) take(k, shards int) []adoption {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []adoption
	for ck, ad := range a.m {
		switch {
		case time.Since(ad.at) > adoptionTTL:
			delete(a.m, ck)
		case shardOf(ck.app, ck.name, shards) == k:
			out = append(out, ad)
			delete(a.m, ck)
		}
	}
	return out
}

// adoptChannel serves a channel handed over, as it was: its members (this
// node's sessions among them become local members), offsets and history.
func (n *Node) adoptChannel(app string, req adoptReq, st store.Store) {
	attrs, err := st.ChannelAttrs(app, req.Channel)
	if err != nil {
		n.log.Error("adopt channel: load attributes", "channel", req.Channel, "err", err)
		return
	}
	ch := &Channel{node: n, app: app, name: req.Channel, members: make(map[string]*member), recent: list.New(),
		attrs: attrs, attrLimits: make(map[string]*rate.Limiter),
		base: req.Base, off: req.Off, nextUID: req.NextUID, totalJoins: req.TotalJoins, changed: true}
	for _, h := range req.Hist {
		ch.hist = append(ch.hist, histEntry{off: h.Off, frame: h.Frame})
	}
	self := n.peers.Self()
	var here, gone []*member
	var sessions []*Session
	for i := len(req.Members) - 1; i >= 0; i-- { // oldest first, so the most recent ends up in front
		am := req.Members[i]
		m := &member{uid: am.UID, node: am.Node, sid: am.SID}
		if am.Node == self {
			m.node, m.sid = "", ""
			if s, ok := n.sessions.get(key{app, am.Account}); ok && s.id == am.SID {
				m.sess = s
				sessions = append(sessions, s)
			} else {
				m.node, m.sid = self, am.SID // ended meanwhile: taken out below
				gone = append(gone, m)
			}
		}
		if m.sess == nil {
			if ch.remote == nil {
				ch.remote = make(map[string]int)
			}
			ch.remote[m.node]++
		}
		m.el = ch.recent.PushFront(am.Account)
		ch.members[am.Account] = m
		here = append(here, m)
	}
	if got, _ := n.channels.getOrCreate(key{app, req.Channel}, func() (*Channel, error) { return ch, nil }); got != ch {
		return // served already (a join came first): its members join again
	}
	ch.mu.Lock()
	for _, s := range sessions {
		s.mu.Lock()
		if !s.ended && s.rchan == req.Channel {
			s.rchan, s.channel = "", ch
		}
		s.mu.Unlock()
		n.unsubscribe(s, req.Channel)
	}
	for _, m := range gone {
		ch.removeMemberLocked(m)
	}
	ch.scheduleAutoUpdateLocked()
	n.releaseLocked(ch)
	ch.mu.Unlock()
	n.log.Debug("adopted a channel", "channel", req.Channel, "members", len(here))
}

func init() {
	remoteOps[opChanAdopt] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p adoptReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		n.adoptions.put(app, p)
		answer(nil, nil)
	}
}

// readMoved decodes a recMoved: the channel, and who adopted it ("" none).
func readMoved(b []byte) (app, channel, by string, err error) {
	if app, b, err = readName(b); err != nil {
		return
	}
	if channel, b, err = readName(b); err != nil {
		return
	}
	if len(b) > 0 {
		by, _, err = readName(b)
	}
	return
}

// failPendingInvites ends the invites waiting for offline accounts of shard
// k: the caller hears they failed on the network (its callee's server moved).
func (n *Node) failPendingInvites(k int) {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	shards := n.peers.Shards()
	for pk, list := range cs.pending {
		if shardOf(pk.app, pk.name, shards) != k {
			continue
		}
		for _, c := range list {
			cs.finishLocked(c)
			n.pushCall(c.caller, wire.PushInviteFailed, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee, Code: wire.InviteNet})
		}
	}
}
