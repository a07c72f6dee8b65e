package server

import (
	"container/list"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
)

// member is one session in a channel: of this node (sess), or of another
// (node, sid), which delivers the channel's pushes to it.
type member struct {
	sess      *Session
	node, sid string
	uid       uint32
	el        *list.Element // in Channel.recent
}

// histEntry is a channel push kept so a resuming session can catch up.
type histEntry struct {
	off   uint64
	frame []byte
}

// Channel is one channel of one app. Every change to it happens under mu,
// and every push is encoded once and handed to each member in offset order
// while mu is held, so all members see one order.
type Channel struct {
	node *Node
	app  string
	name string

	mu         sync.Mutex
	dead       bool // removed from the hub; callers must look it up again
	changed    bool // members or attributes changed since it was last empty
	emptySince time.Time
	base       uint64 // offsets of this incarnation are > base
	members    map[string]*member
	remote     map[string]int // members per other node: where each push goes once
	recent     *list.List     // accounts, most recently joined first
	nextUID    uint32
	off        uint64
	hist       []histEntry // ring, oldest first
	attrs      map[string]string
	msgLimiter *rate.Limiter
	attrLimits map[string]*rate.Limiter
	totalJoins int
	numChanged bool
	totalDirty bool
	autoTimer  *time.Timer
	autoEvery  time.Duration
	autoGen    int // a timer of an older generation does nothing
}

func (c *Channel) special() bool { return wire.IsSpecialChannel(c.name) }

// pushLocked encodes a channel-stream push once, records it in the history
// and hands it to every member. mu must be held.
func (c *Channel) pushLocked(op string, d any) {
	raw, err := json.Marshal(d)
	if err != nil {
		c.node.log.Error("encode channel push", "op", op, "err", err)
		return
	}
	c.off++
	f := wire.Frame{Op: op, Off: c.off, D: raw}
	b := f.Append(nil)
	if len(c.hist) >= c.node.cfg.ChannelHistory {
		copy(c.hist, c.hist[1:])
		c.hist = c.hist[:len(c.hist)-1]
	}
	c.hist = append(c.hist, histEntry{off: c.off, frame: b})
	for _, m := range c.members {
		if m.sess != nil {
			m.sess.deliverChannel(b)
		}
	}
	if len(c.remote) > 0 {
		rec := c.node.chanPushRecord(c.app, c.name, b)
		for node := range c.remote {
			c.node.peers.Send(node, rec)
		}
	}
	c.node.metrics.deliveries.Add(uint64(len(c.members)))
}

// replayLocked returns the pushes after off, or false when the history no
// longer reaches back that far — or when they add up to more than half a
// connection's outbound bound: queued at once, they would get the resuming
// connection dropped as a slow client, at every attempt (1024 pushes of 8 KB
// are 8 MiB), so the client gets a ch.snap instead.
func (c *Channel) replayLocked(off uint64) ([][]byte, bool) {
	if off >= c.off {
		return nil, true
	}
	if off < c.base || len(c.hist) == 0 || c.hist[0].off > off+1 {
		return nil, false
	}
	i := sort.Search(len(c.hist), func(i int) bool { return c.hist[i].off > off })
	out := make([][]byte, 0, len(c.hist)-i)
	size := 0
	for _, h := range c.hist[i:] {
		if size += len(h.frame); size > c.node.cfg.OutboundBytes/2 {
			return nil, false
		}
		out = append(out, h.frame)
	}
	return out, true
}

// snapshotLocked is the state a joiner receives.
func (c *Channel) snapshotLocked(uid uint32) *wire.JoinRes {
	res := &wire.JoinRes{Channel: c.name, UID: uid, Off: c.off, Members: []wire.Member{}, Attrs: []wire.Attr{}}
	for e := c.recent.Front(); e != nil && len(res.Members) < 200; e = e.Next() {
		acct := e.Value.(string)
		res.Members = append(res.Members, wire.Member{Account: acct, UID: c.members[acct].uid})
	}
	res.Attrs = c.attrListLocked()
	return res
}

// attrListLocked lists the attributes sorted by name, with the server-kept
// _member_num (and _total_member_num when enabled).
func (c *Channel) attrListLocked() []wire.Attr {
	out := make([]wire.Attr, 0, len(c.attrs)+2)
	for k, v := range c.attrs {
		out = append(out, wire.Attr{Name: k, Value: v})
	}
	out = append(out, wire.Attr{Name: wire.AttrMemberNum, Value: strconv.Itoa(len(c.members))})
	if c.intAttr(wire.AttrAutoUpdateTotal, 0) != 0 {
		out = append(out, wire.Attr{Name: wire.AttrTotalMemberNum, Value: strconv.Itoa(c.totalJoins)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// intAttr reads a built-in attribute, clamped to its bounds (wire.BuiltinMax)
// whatever the store holds.
func (c *Channel) intAttr(name string, def int) int {
	v, ok := c.attrs[name]
	return wire.BuiltinValue(name, v, ok, def)
}

// ttl is how long the channel's attributes outlive its last member.
func (c *Channel) ttl() time.Duration { return channelTTL(c.attrs, c.node.cfg.ChannelTTL) }

// channelTTL is the TTL a channel's attributes give it (_channel_ttl), else def.
func channelTTL(attrs map[string]string, def time.Duration) time.Duration {
	v, ok := attrs[wire.AttrChannelTTL]
	if s := wire.BuiltinValue(wire.AttrChannelTTL, v, ok, -1); s >= 0 {
		return time.Duration(s) * time.Second
	}
	return def
}

func (c *Channel) memberCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// expiryMayHaveComeLocked reports whether the store's expiry of an empty
// channel may be due at now: its TTL has run since it emptied, or this
// object does not know when that was (made after it emptied).
func (c *Channel) expiryMayHaveComeLocked(now time.Time) bool {
	return c.emptySince.IsZero() || !now.Before(c.emptySince.Add(c.ttl()))
}

func (c *Channel) notifyMembership() bool { return c.intAttr(wire.AttrUserNotify, 1) != 0 }

// recentAccounts lists up to max accounts, most recent first, and the count.
func (c *Channel) recentAccounts(max int) ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, min(max, len(c.members)))
	if c.dead {
		return out, 0
	}
	for e := c.recent.Front(); e != nil && len(out) < max; e = e.Next() {
		out = append(out, e.Value.(string))
	}
	return out, len(c.members)
}

// addLocked makes who a member and tells the others.
func (c *Channel) addLocked(who memberRef) *member {
	c.nextUID++
	m := &member{sess: who.sess, uid: c.nextUID}
	if who.sess == nil {
		m.node, m.sid = who.node, who.sid
		if c.remote == nil {
			c.remote = make(map[string]int)
		}
		c.remote[who.node]++
	}
	m.el = c.recent.PushFront(who.account)
	c.members[who.account] = m
	c.totalJoins++
	c.changed = true
	c.numChanged = true
	c.totalDirty = true
	if c.notifyMembership() {
		c.pushLocked(wire.PushUserJoined, wire.ChannelUser{Channel: c.name, Account: who.account, UID: m.uid})
	}
	return m
}

// removeLocked takes sess out and tells the others; false if it was not a member.
func (c *Channel) removeLocked(sess *Session) bool {
	m, ok := c.members[sess.account]
	if !ok || m.sess != sess {
		return false
	}
	c.removeMemberLocked(m)
	return true
}

// removeMemberLocked takes m out and tells the others.
func (c *Channel) removeMemberLocked(m *member) {
	account := m.el.Value.(string)
	delete(c.members, account)
	c.recent.Remove(m.el)
	c.numChanged = true
	if m.sess == nil {
		if c.remote[m.node]--; c.remote[m.node] <= 0 {
			delete(c.remote, m.node)
		}
	}
	if c.notifyMembership() {
		c.pushLocked(wire.PushUserLeft, wire.ChannelUser{Channel: c.name, Account: account, UID: m.uid})
	}
}

// allowMessage applies the channel's message rate (_sendmsg_limit or the default).
func (c *Channel) allowMessageLocked() bool {
	limit := c.intAttr(wire.AttrSendMsgLimit, 0)
	if limit <= 0 {
		limit = c.node.cfg.ChannelRate // 0 or unset: the server's default, as for _setattr_limit
	}
	if c.msgLimiter == nil || int(c.msgLimiter.Limit()) != limit {
		c.msgLimiter = rate.NewLimiter(rate.Limit(limit), limit)
	}
	return c.msgLimiter.Allow()
}

// allowAttrLocked applies _setattr_limit to one attribute.
func (c *Channel) allowAttrLocked(name string) bool {
	limit := c.intAttr(wire.AttrSetAttrLimit, 0)
	if limit <= 0 {
		return true
	}
	l := c.attrLimits[name]
	if l == nil || int(l.Limit()) != limit {
		l = rate.NewLimiter(rate.Limit(limit), limit)
		c.attrLimits[name] = l
	}
	return l.Allow()
}

// scheduleAutoUpdateLocked (re)arms the _member_num auto-update timer after
// the attributes changed.
func (c *Channel) scheduleAutoUpdateLocked() {
	every := time.Duration(c.intAttr(wire.AttrAutoUpdateNum, 0)) * time.Second
	if every == c.autoEvery {
		return
	}
	c.stopTimersLocked()
	c.autoEvery = every
	if every > 0 {
		gen := c.autoGen
		c.autoTimer = time.AfterFunc(every, func() { c.autoUpdate(gen) })
	}
}

// autoUpdate pushes _member_num (and _total_member_num) if membership changed.
func (c *Channel) autoUpdate(gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.autoEvery <= 0 || gen != c.autoGen {
		return
	}
	if c.numChanged {
		c.numChanged = false
		c.pushLocked(wire.PushAttrUpdated, wire.AttrUpdate{Channel: c.name, Name: wire.AttrMemberNum, Value: strconv.Itoa(len(c.members)), Type: "update"})
	}
	if c.totalDirty && c.intAttr(wire.AttrAutoUpdateTotal, 0) != 0 {
		c.totalDirty = false
		c.pushLocked(wire.PushAttrUpdated, wire.AttrUpdate{Channel: c.name, Name: wire.AttrTotalMemberNum, Value: strconv.Itoa(c.totalJoins), Type: "update"})
	}
	c.autoTimer = time.AfterFunc(c.autoEvery, func() { c.autoUpdate(gen) })
}

func (c *Channel) stopTimersLocked() {
	c.autoGen++
	if c.autoTimer != nil {
		c.autoTimer.Stop()
		c.autoTimer = nil
	}
	c.autoEvery = 0
}
