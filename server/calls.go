package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/gateway"
)

// callState is where a call is in its life. Every transition happens under
// calls.mu, and a call in stateDone is out of the maps, so no transition and
// no callback can follow the final one.
type callState int

const (
	statePending   callState = iota // the callee is offline; held for InviteHold
	stateRinging                    // sent to the callee
	stateDelivered                  // the callee's SDK acknowledged it
	stateAccepted                   // answered
	stateDone
)

type callKey struct{ app, channel, caller, callee string }

// call is one invite: a user calling an account, or a phone number through the gateway.
type call struct {
	key    callKey
	extra  string
	state  callState
	caller party // the caller's session; its end ends the call
	callee party // the callee's session once the invite reached it
	phone  bool
	leg    *legRunner // a phone call's gateway leg
	hold   *time.Timer
	expiry *time.Timer
}

// calls is the node's call registry: the calls to accounts it serves (the
// callee's node keeps a call; the caller may be a session of another node),
// and its sessions' phone calls.
type calls struct {
	mu        sync.Mutex
	byKey     map[callKey]*call
	bySession map[party]map[*call]struct{}
	pending   map[key][]*call // by callee: invites waiting for it to log in
}

func newCalls() *calls {
	return &calls{
		byKey:     make(map[callKey]*call),
		bySession: make(map[party]map[*call]struct{}),
		pending:   make(map[key][]*call),
	}
}

func (cs *calls) bind(s party, c *call) {
	m := cs.bySession[s]
	if m == nil {
		m = make(map[*call]struct{})
		cs.bySession[s] = m
	}
	m[c] = struct{}{}
}

func (cs *calls) unbind(s party, c *call) {
	if s == nil {
		return
	}
	if m := cs.bySession[s]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(cs.bySession, s)
		}
	}
}

// finishLocked takes a call out of every map and stops its timers.
func (cs *calls) finishLocked(c *call) {
	c.state = stateDone
	delete(cs.byKey, c.key)
	cs.unbind(c.caller, c)
	cs.unbind(c.callee, c)
	if c.hold != nil {
		c.hold.Stop()
	}
	if c.expiry != nil {
		c.expiry.Stop()
	}
	pk := key{c.key.app, c.key.callee}
	list := cs.pending[pk]
	for i, p := range list {
		if p == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(cs.pending, pk)
	} else {
		cs.pending[pk] = list
	}
}

// received reports whether the callee has been shown the invite.
func (c *call) received() bool { return c.state >= stateRinging && c.state < stateDone && !c.phone }

func (n *Node) pushCall(p party, op string, ev wire.InviteEvent) {
	if p != nil {
		p.pushCall(n, op, ev)
	}
}

// inviteOptions are the keys of an invite's extra that the server acts on.
type inviteOptions struct {
	requireOnline bool
	timeout       time.Duration // 0: the server's default expiry
}

func parseInviteExtra(extra string) (inviteOptions, *wire.Error) {
	var o inviteOptions
	if e := wire.CheckExtra(extra); e != nil {
		return o, e
	}
	if extra == "" {
		return o, nil
	}
	var x struct {
		Require *json.Number `json:"_require_peer_online"`
		Timeout *json.Number `json:"_timeout"`
	}
	if err := json.Unmarshal([]byte(extra), &x); err != nil {
		return o, wire.Errf(wire.GeneralWrongParam, "extra: _require_peer_online and _timeout take numbers: %v", err)
	}
	if x.Require != nil {
		v, err := x.Require.Int64()
		if err != nil || (v != 0 && v != 1) {
			return o, wire.Errf(wire.GeneralWrongParam, "extra: _require_peer_online takes 0 or 1, not %s", x.Require)
		}
		o.requireOnline = v == 1
	}
	if x.Timeout != nil {
		v, err := x.Timeout.Float64()
		if err != nil || v < 0 || v > 30 {
			return o, wire.Errf(wire.GeneralWrongParam, "extra: _timeout takes 0 to 30 seconds, not %s", x.Timeout)
		}
		o.timeout = time.Duration(v * float64(time.Second))
	}
	return o, nil
}

// checkInvite validates an invite where it is asked for.
func checkInvite(req *wire.InviteReq) (inviteOptions, *wire.Error) {
	if e := wire.CheckName("channel", req.Channel); e != nil {
		return inviteOptions{}, e
	}
	what := "account"
	if req.Phone {
		what = "phone number"
	}
	if e := wire.CheckName(what, req.To); e != nil {
		return inviteOptions{}, e
	}
	if req.Source != "" {
		if e := wire.CheckName("source number", req.Source); e != nil {
			return inviteOptions{}, e
		}
	}
	return parseInviteExtra(req.Extra)
}

// invite starts a call from caller (account of app) to req.To, on the node
// serving req.To's account (or, for a phone number, the caller's node).
func (n *Node) invite(app, account string, caller party, req *wire.InviteReq, opts inviteOptions) *wire.Error {
	if !req.Phone && req.To == account {
		return wire.Errf(wire.GeneralWrongParam, "cannot invite oneself")
	}
	if req.Phone && n.cfg.Gateway == nil {
		return wire.Errf(wire.InviteOther, "this server has no phone gateway (start it with --sip-proxy) to call %s", req.To)
	}
	cs := n.calls
	k := callKey{app, req.Channel, account, req.To}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, live := cs.byKey[k]; live {
		return wire.Errf(wire.InviteReinvite, "an invite to %s for %s is already in progress", req.To, req.Channel)
	}
	expiry := n.cfg.InviteExpiry
	if opts.timeout > 0 {
		expiry = opts.timeout
	}
	c := &call{key: k, extra: req.Extra, caller: caller, phone: req.Phone}
	if req.Phone {
		return n.dialLocked(c, req, expiry)
	}
	callee, online := n.sessions.get(key{app, req.To})
	if !online && opts.requireOnline {
		return wire.Errf(wire.InvitePeerOffline, "%s is not online", req.To)
	}
	cs.byKey[k] = c
	cs.bind(caller, c)
	if online {
		n.ringLocked(c, callee)
	} else {
		c.state = statePending
		pk := key{app, req.To}
		cs.pending[pk] = append(cs.pending[pk], c)
		c.hold = time.AfterFunc(n.cfg.InviteHold, func() { n.failCall(c, stateRinging, wire.InvitePeerOffline) })
	}
	c.expiry = time.AfterFunc(expiry, func() { n.failCall(c, stateAccepted, wire.InviteTimeout) })
	return nil
}

// ringLocked shows the invite to the callee's session.
func (n *Node) ringLocked(c *call, callee *Session) {
	c.state = stateRinging
	c.callee = callee
	n.calls.bind(callee, c)
	if c.hold != nil {
		c.hold.Stop()
	}
	n.pushCall(callee, wire.PushInviteRecv, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.caller, Extra: c.extra})
}

// failCall ends an unanswered call whose state is still before `before`
// (the hold or the expiry ran out): the caller gets onInviteFailed(code),
// a callee that was ringing onInviteEndByPeer.
func (n *Node) failCall(c *call, before callState, code wire.Code) {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c.state >= before {
		return
	}
	received := c.received()
	cs.finishLocked(c)
	if c.leg != nil {
		c.leg.hangup()
	}
	n.pushCall(c.caller, wire.PushInviteFailed, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee, Code: code})
	if received {
		n.pushCall(c.callee, wire.PushInviteEnded, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.caller})
	}
}

// legRunner runs a phone call's gateway operations one after another, off
// the registry lock and in the order they were asked for (DTMF before the
// hangup that follows it).
type legRunner struct {
	n   *Node
	leg gateway.Leg
	ops chan func()
}

func newLegRunner(n *Node, leg gateway.Leg) *legRunner {
	r := &legRunner{n: n, leg: leg, ops: make(chan func(), 64)}
	go func() {
		for op := range r.ops {
			op()
		}
	}()
	return r
}

// dtmf queues digits; false when too many operations are waiting.
func (r *legRunner) dtmf(digits string) bool {
	select {
	case r.ops <- func() {
		if err := r.leg.SendDTMF(digits); err != nil {
			r.n.log.Warn("phone dtmf", "err", err)
		}
	}:
		return true
	default:
		return false
	}
}

// hangup queues the hangup and retires the runner; called once, when the
// call finishes from our side.
func (r *legRunner) hangup() {
	r.ops <- func() {
		if err := r.leg.Hangup(); err != nil {
			r.n.log.Warn("phone hangup", "err", err)
		}
	}
	close(r.ops)
}

// retire ends the runner when the far end finished the call.
func (r *legRunner) retire() { close(r.ops) }

// deliverInvites shows a newly logged-in account the invites held for it.
func (n *Node) deliverInvites(s *Session) {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pk := key{s.app, s.account}
	list := cs.pending[pk]
	delete(cs.pending, pk)
	for _, c := range list {
		if c.state == statePending {
			n.ringLocked(c, s)
		}
	}
}

// findLocked finds the live call on channel between me and peer, either way round.
func (cs *calls) findLocked(app, channel, me, peer string) (c *call, iAmCaller bool) {
	if c := cs.byKey[callKey{app, channel, me, peer}]; c != nil {
		return c, true
	}
	if c := cs.byKey[callKey{app, channel, peer, me}]; c != nil {
		return c, false
	}
	return nil, false
}

// inviteAck records that the callee's SDK has the invite.
func (n *Node) inviteAck(s *Session, ref *wire.InviteRef) *wire.Error {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byKey[callKey{s.app, ref.Channel, ref.Peer, s.account}]
	if c == nil || c.callee != party(s) || c.state != stateRinging {
		return nil // late or duplicate: nothing to do
	}
	c.state = stateDelivered
	n.pushCall(c.caller, wire.PushInviteDelivered, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee})
	return nil
}

// answerInvite accepts or refuses a call from ref.Peer.
func (n *Node) answerInvite(s *Session, r *wire.InviteReply, accept bool) *wire.Error {
	if e := checkCallRef(r.Channel, r.Peer); e != nil {
		return e
	}
	if e := wire.CheckExtra(r.Extra); e != nil {
		return e
	}
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byKey[callKey{s.app, r.Channel, r.Peer, s.account}]
	if c == nil || c.callee != party(s) || c.state < stateRinging || c.state > stateDelivered {
		return wire.Errf(wire.GeneralFailed, "no unanswered invite from %s for %s", r.Peer, r.Channel)
	}
	ev := wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee, Extra: r.Extra}
	if accept {
		c.state = stateAccepted
		c.expiry.Stop()
		n.pushCall(c.caller, wire.PushInviteAccepted, ev)
	} else {
		cs.finishLocked(c)
		n.pushCall(c.caller, wire.PushInviteRefused, ev)
	}
	return nil
}

func checkCallRef(channel, peer string) *wire.Error {
	if e := wire.CheckName("channel", channel); e != nil {
		return e
	}
	return wire.CheckName("account", peer)
}

// endInvite ends a call by either side (me, of app and account), before or
// after the answer.
func (n *Node) endInvite(app, account string, me party, ref *wire.InviteRef) *wire.Error {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, iAmCaller := cs.findLocked(app, ref.Channel, account, ref.Peer)
	if c == nil || (iAmCaller && c.caller != me) || (!iAmCaller && (c.callee != me || !c.received())) {
		return errNoCall(ref.Peer, ref.Channel)
	}
	received := c.received()
	cs.finishLocked(c)
	if c.leg != nil {
		c.leg.hangup()
	}
	if iAmCaller {
		if received {
			n.pushCall(c.callee, wire.PushInviteEnded, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.caller})
		}
	} else {
		n.pushCall(c.caller, wire.PushInviteEnded, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee})
	}
	return nil
}

func errNoCall(peer, channel string) *wire.Error {
	return wire.Errf(wire.GeneralFailed, "no call with %s on %s", peer, channel)
}

var errNoAnsweredCall = wire.Errf(wire.GeneralFailed, "no answered call to send DTMF on")

// inviteDTMF sends digits to the other party of an answered call of me (of
// app and account).
func (n *Node) inviteDTMF(app, account string, me party, d *wire.InviteDTMF) *wire.Error {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var c *call
	iAmCaller := false
	if d.Peer == "" {
		// MessageDTMFSend names no call: it goes to the sender's one answered call.
		for x := range cs.bySession[me] {
			if x.state == stateAccepted {
				if c != nil {
					return wire.Errf(wire.GeneralFailed, "more than one answered call: use ChannelInviteDTMF")
				}
				c, iAmCaller = x, x.caller == me
			}
		}
	} else {
		c, iAmCaller = cs.findLocked(app, d.Channel, account, d.Peer)
	}
	if c == nil || c.state != stateAccepted {
		return errNoAnsweredCall
	}
	if c.phone {
		if !c.leg.dtmf(d.Digits) {
			return wire.Errf(wire.GeneralFailed, "too much DTMF waiting to be sent on this call")
		}
		return nil
	}
	to, from := c.callee, c.key.caller
	if !iAmCaller {
		to, from = c.caller, c.key.callee
	}
	n.pushCall(to, wire.PushInviteMsg, wire.InviteEvent{Channel: c.key.channel, Peer: from, Type: "DTMF", Data: d.Digits, Extra: c.extra})
	return nil
}

// sessionCallsEnded ends every call of a session that is over (of this
// node, or of another): the other party hears onInviteEndByPeer (or, for an
// invite it never saw, nothing).
func (n *Node) sessionCallsEnded(s party) {
	cs := n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for c := range cs.bySession[s] {
		received := c.received()
		cs.finishLocked(c)
		if c.leg != nil {
			c.leg.hangup()
		}
		switch {
		case c.caller == s && received:
			n.pushCall(c.callee, wire.PushInviteEnded, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.caller})
		case c.callee == s:
			n.pushCall(c.caller, wire.PushInviteEnded, wire.InviteEvent{Channel: c.key.channel, Peer: c.key.callee})
		}
	}
}

// dialLocked hands a phone invite to the gateway.
func (n *Node) dialLocked(c *call, req *wire.InviteReq, expiry time.Duration) *wire.Error {
	src := req.Source
	if src == "" {
		var x struct {
			Src string `json:"srcNum"`
		}
		_ = json.Unmarshal([]byte(req.Extra), &x)
		src = x.Src
	}
	leg, err := n.cfg.Gateway.Dial(context.Background(), gateway.Call{
		App: c.key.app, Channel: c.key.channel, Caller: c.key.caller,
		Number: c.key.callee, Source: src, Extra: c.extra,
	}, &phoneEvents{n: n, c: c})
	if err != nil {
		return wire.Errf(wire.InviteOther, "phone gateway: %v", err)
	}
	c.leg = newLegRunner(n, leg)
	c.state = stateRinging
	n.calls.byKey[c.key] = c
	n.calls.bind(c.caller, c)
	c.expiry = time.AfterFunc(expiry, func() { n.failCall(c, stateAccepted, wire.InviteTimeout) })
	return nil
}

// phoneEvents turns what the gateway reports into the caller's callbacks.
type phoneEvents struct {
	n *Node
	c *call
}

func (p *phoneEvents) update(fn func(cs *calls, c *call)) {
	cs := p.n.calls
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if p.c.state == stateDone {
		return
	}
	fn(cs, p.c)
}

func (p *phoneEvents) ev(extra string) wire.InviteEvent {
	return wire.InviteEvent{Channel: p.c.key.channel, Peer: p.c.key.callee, Extra: extra}
}

func (p *phoneEvents) Ringing() {
	p.update(func(cs *calls, c *call) {
		if c.state == stateRinging {
			c.state = stateDelivered
			p.n.pushCall(c.caller, wire.PushInviteDelivered, p.ev(""))
		}
	})
}

func (p *phoneEvents) Answered(extra string) {
	p.update(func(cs *calls, c *call) {
		if c.state < stateAccepted {
			c.state = stateAccepted
			c.expiry.Stop()
			p.n.pushCall(c.caller, wire.PushInviteAccepted, p.ev(extra))
		}
	})
}

func (p *phoneEvents) Rejected(code int, reason string) {
	p.update(func(cs *calls, c *call) {
		cs.finishLocked(c)
		c.leg.retire()
		b, _ := json.Marshal(map[string]any{"sip_code": code, "reason": reason})
		p.n.pushCall(c.caller, wire.PushInviteRefused, p.ev(string(b)))
	})
}

func (p *phoneEvents) Failed(reason string) {
	p.update(func(cs *calls, c *call) {
		cs.finishLocked(c)
		c.leg.retire()
		p.n.log.Info("phone call failed", "number", c.key.callee, "reason", reason)
		b, _ := json.Marshal(map[string]string{"reason": reason})
		ev := p.ev(string(b))
		ev.Code = wire.InviteOther
		p.n.pushCall(c.caller, wire.PushInviteFailed, ev)
	})
}

func (p *phoneEvents) Hangup() {
	p.update(func(cs *calls, c *call) {
		cs.finishLocked(c)
		c.leg.retire()
		p.n.pushCall(c.caller, wire.PushInviteEnded, p.ev(""))
	})
}

func (c *call) String() string {
	return fmt.Sprintf("call %s→%s on %s (%d)", c.key.caller, c.key.callee, c.key.channel, c.state)
}

// shutdown ends every call without telling anyone (the clients are going
// away too), hanging up phone legs so no phone keeps ringing.
func (cs *calls) shutdown() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.byKey {
		cs.finishLocked(c)
		if c.leg != nil {
			c.leg.hangup()
		}
	}
}
