package server

import (
	"encoding/json"
	"sync"

	"github.com/xinling/xinling/sdk/wire"
)

// The call system across nodes. A call to an account lives on the node
// serving the callee (its pending invites wait there for it to log in, and
// its answers are local); the caller may be a session of another node: a
// remoteParty, whose pushes travel there (recUserPush) and whose end is
// told (recEnded). The caller's node remembers where its sessions' calls
// are (Session.callNodes), to send their ends and DTMF there. Phone calls
// live on the caller's node, with its gateway.

const (
	opInvite     = 'v'
	opInviteEnd  = 'E'
	opInviteDTMF = 'D'
)

// party is one side of a call: a session of this node, or of another.
type party interface {
	pushCall(n *Node, op string, ev wire.InviteEvent)
}

func (s *Session) pushCall(_ *Node, op string, ev wire.InviteEvent) { s.pushUser(op, ev, 0) }

// remoteParty is a session of another node; one value per session, so
// that parties compare equal.
type remoteParty struct {
	node, app, account, sid string
}

func (p *remoteParty) pushCall(n *Node, op string, ev wire.InviteEvent) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return
	}
	b := []byte{recUserPush}
	b = appendName(b, p.app)
	b = appendName(b, p.account)
	b = appendName(b, p.sid)
	b = appendName(b, op)
	n.peers.Send(p.node, append(b, raw...))
}

// parties are the remote parties of this node's calls, by node and session.
type parties struct {
	mu sync.Mutex
	m  map[[2]string]*remoteParty
}

func (n *Node) remoteParty(node, app, account, sid string) *remoteParty {
	n.parties.mu.Lock()
	defer n.parties.mu.Unlock()
	k := [2]string{node, sid}
	p := n.parties.m[k]
	if p == nil {
		p = &remoteParty{node: node, app: app, account: account, sid: sid}
		n.parties.m[k] = p
	}
	return p
}

func (n *Node) forgetParty(node, sid string) *remoteParty {
	n.parties.mu.Lock()
	defer n.parties.mu.Unlock()
	k := [2]string{node, sid}
	p := n.parties.m[k]
	delete(n.parties.m, k)
	return p
}

// inviteReq is an invite asked of the callee's node.
type inviteReq struct {
	wire.InviteReq
	Caller wireMember `json:"caller"`
}

type callReq struct {
	Ref    wire.InviteRef  `json:"ref"`
	DTMF   wire.InviteDTMF `json:"dtmf"`
	Caller wireMember      `json:"caller"`
}

func handleInvite(r *req) {
	var p wire.InviteReq
	if !r.decode(&p) {
		return
	}
	opts, e := checkInvite(&p)
	if !r.check(e) {
		return
	}
	n, s := r.node(), r.s
	if !p.Phone {
		n.inviteAccount(s, &p, opts, r.done)
		return
	}
	// A "phone number" that is an online account is called as one.
	n.onlineAt(s.app, p.To, func(on bool, _ *wire.Error) {
		if on {
			p.Phone = false
			n.inviteAccount(s, &p, opts, r.done)
			return
		}
		r.done(n.invite(s.app, s.account, s, &p, opts))
	})
}

// inviteAccount places an account call where the callee is served.
func (n *Node) inviteAccount(s *Session, p *wire.InviteReq, opts inviteOptions, done func(*wire.Error)) {
	k, node, local := n.place(s.app, p.To)
	_ = k
	if !local && node != "" {
		s.addCallNode(node)
	}
	n.ask(s.app, p.To, opInvite, inviteReq{InviteReq: *p, Caller: n.memberOf(s).wire()},
		func() { done(n.invite(s.app, s.account, s, p, opts)) },
		func(_ []byte, e *wire.Error) { done(e) })
}

func handleInviteAck(r *req) {
	var p wire.InviteRef
	if r.decode(&p) {
		r.done(r.node().inviteAck(r.s, &p))
	}
}

func handleInviteAnswer(r *req) {
	var p wire.InviteReply
	if r.decode(&p) {
		r.done(r.node().answerInvite(r.s, &p, r.f.Op == wire.OpInviteAccept))
	}
}

func handleInviteEnd(r *req) {
	var p wire.InviteRef
	if !r.decode(&p) || !r.check(checkCallRef(p.Channel, p.Peer)) {
		return
	}
	n, s := r.node(), r.s
	// A call this node holds (I am its callee, or both are here); else the
	// callee's node holds it, I being its caller.
	e := n.endInvite(s.app, s.account, s, &p)
	if e == nil || n.peers == nil {
		r.done(e)
		return
	}
	if _, _, local := n.place(s.app, p.Peer); local {
		r.done(e)
		return
	}
	n.ask(s.app, p.Peer, opInviteEnd, callReq{Ref: p, Caller: n.memberOf(s).wire()},
		func() { r.done(n.endInvite(s.app, s.account, s, &p)) },
		func(_ []byte, e *wire.Error) { r.done(e) })
}

func handleInviteDTMF(r *req) {
	var p wire.InviteDTMF
	if !r.decode(&p) || !r.check(wire.CheckDTMF(p.Digits)) {
		return
	}
	if p.Peer != "" && (!r.check(wire.CheckName("channel", p.Channel)) || !r.check(wire.CheckName("phone number", p.Peer))) {
		return
	}
	n, s := r.node(), r.s
	e := n.inviteDTMF(s.app, s.account, s, &p)
	if e != errNoAnsweredCall || n.peers == nil {
		r.done(e)
		return
	}
	// Not a call held here: ask where the peer is served, or, for
	// MessageDTMFSend (no peer), the nodes holding this session's calls.
	var nodes []string
	if p.Peer != "" {
		if _, node, local := n.place(s.app, p.Peer); !local && node != "" {
			nodes = []string{node}
		}
	} else {
		nodes = s.callNodeList()
	}
	n.dtmfAt(s, &p, nodes, e, r.done)
}

// dtmfAt asks the nodes in turn until one has the call.
func (n *Node) dtmfAt(s *Session, p *wire.InviteDTMF, nodes []string, last *wire.Error, done func(*wire.Error)) {
	if len(nodes) == 0 {
		done(last)
		return
	}
	n.askNode(nodes[0], s.app, opInviteDTMF, callReq{DTMF: *p, Caller: n.memberOf(s).wire()}, func(_ []byte, e *wire.Error) {
		if e != nil && e.Msg == errNoAnsweredCall.Msg {
			n.dtmfAt(s, p, nodes[1:], e, done)
			return
		}
		done(e)
	})
}

// askNode sends a request to one node, whatever it serves (the shard is
// not checked: the request is about a call it holds).
func (n *Node) askNode(node, app string, op byte, payload any, reply func([]byte, *wire.Error)) {
	body, err := json.Marshal(payload)
	if err != nil {
		reply(nil, internal(err))
		return
	}
	n.sendRequest(node, -1, app, op, body, func(status byte, payload []byte) {
		if status == answerOK {
			reply(payload, nil)
			return
		}
		reply(nil, refusal(node, payload))
	})
}

// addCallNode notes that node holds a call of s (it is told when s ends).
func (s *Session) addCallNode(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callNodes == nil {
		s.callNodes = make(map[string]bool)
	}
	s.callNodes[node] = true
}

func (s *Session) callNodeList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.callNodes))
	for node := range s.callNodes {
		out = append(out, node)
	}
	return out
}

// tellSessionEnded tells the nodes holding calls of s that it ended.
func (n *Node) tellSessionEnded(s *Session) {
	for _, node := range s.callNodeList() {
		b := []byte{recEnded}
		b = appendName(b, s.id)
		n.peers.Send(node, b)
	}
}

// onEnded: a session of node from ended; its calls here end.
func (n *Node) onEnded(from string, b []byte) error {
	sid, _, err := readName(b)
	if err != nil {
		return err
	}
	if p := n.forgetParty(from, sid); p != nil {
		n.sessionCallsEnded(p)
	}
	return nil
}

// onUserPush hands a call push from the call's node to the session here.
func (n *Node) onUserPush(b []byte) error {
	var app, account, sid, op string
	var err error
	for _, f := range []*string{&app, &account, &sid, &op} {
		if *f, b, err = readName(b); err != nil {
			return err
		}
	}
	var ev wire.InviteEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return err
	}
	if s, ok := n.sessions.get(key{app, account}); ok && s.id == sid {
		s.pushUser(op, ev, 0)
	}
	return nil
}

// dropRemoteParties ends the calls whose other side was on a node now gone.
func (n *Node) dropRemoteParties(node string) {
	n.parties.mu.Lock()
	var gone []*remoteParty
	for k, p := range n.parties.m {
		if k[0] == node {
			gone = append(gone, p)
			delete(n.parties.m, k)
		}
	}
	n.parties.mu.Unlock()
	for _, p := range gone {
		n.sessionCallsEnded(p)
	}
}

func init() {
	remoteOps[opInvite] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p inviteReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		opts, e := checkInvite(&p.InviteReq)
		if e != nil {
			answer(nil, e)
			return
		}
		caller := n.remoteParty(from, app, p.Caller.Account, p.Caller.SID)
		answer(nil, n.invite(app, p.Caller.Account, caller, &p.InviteReq, opts))
	}
	remoteOps[opInviteEnd] = callOp(func(n *Node, app string, caller party, p *callReq) *wire.Error {
		return n.endInvite(app, p.Caller.Account, caller, &p.Ref)
	})
	remoteOps[opInviteDTMF] = callOp(func(n *Node, app string, caller party, p *callReq) *wire.Error {
		return n.inviteDTMF(app, p.Caller.Account, caller, &p.DTMF)
	})
}

// callOp is the remote side of a request on a live call from another
// node's session (its caller, in callReq).
func callOp(op func(n *Node, app string, caller party, p *callReq) *wire.Error) remoteOp {
	return func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p callReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(nil, op(n, app, n.remoteParty(from, app, p.Caller.Account, p.Caller.SID), &p))
	}
}
