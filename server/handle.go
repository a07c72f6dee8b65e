package server

import (
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// req is one request being answered.
type req struct {
	c  *Conn
	s  *Session
	f  *wire.Frame
	sl *slot
}

func (r *req) ok(res any)         { r.c.ok(r.sl, res) }
func (r *req) fail(e *wire.Error) { r.c.fail(r.sl, e) }
func (r *req) node() *Node        { return r.c.node }
func (r *req) app() string        { return r.s.app }
func (r *req) decode(v any) bool  { return r.check(decode(r.f, v)) }
func (r *req) done(e *wire.Error) { r.answer(nil, e) }
func (r *req) answer(res any, e *wire.Error) {
	if e != nil {
		r.fail(e)
		return
	}
	r.ok(res)
}

// check fails the request with e, if any, and reports whether it is still
// to be answered.
func (r *req) check(e *wire.Error) bool {
	if e != nil {
		r.fail(e)
		return false
	}
	return true
}

// handler runs one kind of request on the connection's reader and answers
// it through its req, at once or later. A pipelined one (peer.send) does
// not wait for the answers still to come before it; a channel send waits
// only for those that are not sends (a join before it); the others wait
// for all (see answers.go). Without that, a publisher whose channel is
// served by another node got one message per round trip between the nodes
// (0.15 M deliveries/s where the nodes do 1.5 M). The handlers are in the file of their area: h_messages.go,
// h_channels.go, h_attrs.go, h_queries.go, h_calls.go.
type handler struct {
	run       func(r *req)
	pipelined bool
	send      bool // waits only for answers to requests that are not sends
}

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		wire.OpPeerSend:       {run: handlePeerSend, pipelined: true},
		wire.OpChannelSend:    {run: handleChannelSend, send: true},
		wire.OpChannelJoin:    {run: handleJoin},
		wire.OpChannelLeave:   {run: handleLeave},
		wire.OpChannelCount:   {run: handleCount},
		wire.OpChannelSetAttr: {run: handleSetChannelAttr},
		wire.OpChannelDelAttr: {run: handleDelChannelAttr},
		wire.OpChannelClear:   {run: handleClearChannelAttrs},
		wire.OpUserSetAttr:    {run: handleSetUserAttr},
		wire.OpUserGetAttr:    {run: handleGetUserAttr},
		wire.OpUserGetAttrAll: {run: handleGetUserAttrs},
		wire.OpUserStatus:     {run: handleUserStatus},
		wire.OpInvoke:         {run: handleInvoke},
		wire.OpInvite:         {run: handleInvite},
		wire.OpInviteAck:      {run: handleInviteAck},
		wire.OpInviteEnd:      {run: handleInviteEnd},
		wire.OpInviteAccept:   {run: handleInviteAnswer},
		wire.OpInviteRefuse:   {run: handleInviteAnswer},
		wire.OpInviteDTMF:     {run: handleInviteDTMF},
	}
}

// handle answers one frame. Every request gets exactly one answer.
func (c *Conn) handle(f *wire.Frame) {
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
	if c.answeredAlready(s, f.ID) {
		return
	}
	h, known := handlers[f.Op]
	if f.Op == wire.OpLogout {
		c.awaitAnswers()
		s.finish(f.ID)
		c.logout(f, s)
		return
	}
	switch {
	case h.pipelined:
	case h.send:
		c.awaitBarriers()
	default:
		c.awaitAnswers()
	}
	r := &req{c: c, s: s, f: f, sl: c.later(f.ID, s, !h.pipelined && !h.send)}
	n := c.node
	switch {
	case s.hasEnded():
		r.fail(wire.Errf(wire.GeneralNotLogin, "the session has ended"))
	case !c.requests.Allow():
		n.metrics.limited.Add(1)
		r.fail(wire.Errf(wire.GeneralFailed, "too many requests on this connection (limit %d/s)", n.cfg.RequestRate))
	case !known:
		r.fail(wire.Errf(wire.GeneralWrongParam, "unknown op %q", f.Op))
	default:
		h.run(r)
	}
}

// answeredAlready deals with a request id the session has seen: a resend
// after a resume. One still running (on the old connection) is answered
// once it is; one answered already gets that answer again, not run again.
func (c *Conn) answeredAlready(s *Session, id uint64) bool {
	if wait := s.begin(id); wait != nil {
		select {
		case <-wait:
		case <-time.After(c.node.cfg.WriteTimeout):
		}
		if b, ok := s.answered(id); ok {
			c.send(b)
		}
		return true
	}
	if b, ok := s.answered(id); ok {
		s.finish(id)
		c.send(b)
		return true
	}
	return false
}

func (s *Session) hasEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

var pongFrame = wire.MustEncode(0, wire.OpPong, nil)

func decode(f *wire.Frame, v any) *wire.Error {
	if err := f.Decode(v); err != nil {
		return wire.Errf(wire.GeneralWrongParam, "%v", err)
	}
	return nil
}

func internal(err error) *wire.Error { return wire.Errf(wire.General, "server error: %v", err) }
