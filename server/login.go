package server

import (
	"errors"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/token"
)

// authenticate applies SPEC.md "Token" and the --closed rule.
func (n *Node) authenticate(req *wire.LoginReq, checkExpiry bool) *wire.Error {
	if req.Proto != wire.Version {
		return wire.Errf(wire.LoginOldVersion, "protocol version %d is not supported; this server speaks %d", req.Proto, wire.Version)
	}
	if e := wire.CheckName("app id", req.App); e != nil {
		return wire.Errf(wire.LoginFailed, "%s", e.Msg)
	}
	if e := wire.CheckName("account", req.Account); e != nil {
		return wire.Errf(wire.LoginInvalidUser, "%s", e.Msg)
	}
	cert, registered := n.cfg.Apps[req.App]
	if !registered {
		if n.cfg.Closed {
			return wire.Errf(wire.LoginFailed, "app %q is not registered on this server", req.App)
		}
		return nil
	}
	if cert == "" {
		return nil
	}
	now := time.Now()
	if !checkExpiry {
		now = time.Unix(0, 0)
	}
	switch err := token.Verify(req.Token, req.App, cert, req.Account, now); {
	case errors.Is(err, token.ErrExpired):
		return wire.Errf(wire.LoginTokenExpired, "the token expired")
	case err != nil:
		return wire.Errf(wire.LoginTokenWrong, "the token is not valid for this app and account")
	}
	return nil
}

// login opens or resumes the session of c.
func (c *Conn) login(f *wire.Frame) {
	n := c.node
	if c.session() != nil {
		c.replyErr(f.ID, wire.Errf(wire.LoginAlready, "already logged in on this connection"))
		return
	}
	if !n.logins.Allow() {
		n.metrics.limited.Add(1)
		n.metrics.loginFailures.Add(1)
		// 201 asks the client to try again later (the SDK backs off and retries).
		c.replyErr(f.ID, wire.Errf(wire.LoginNet, "too many logins on this server right now (limit %d/s); try again", n.cfg.LoginRate))
		return
	}
	var req wire.LoginReq
	if err := f.Decode(&req); err != nil {
		c.replyErr(f.ID, wire.LoginDecodeError(err)) // 209 for an account that is not UTF-8
		return
	}
	// A token that expired during a session does not stop its resume; a
	// new session needs a valid one.
	if e := n.authenticate(&req, req.Resume == nil); e != nil {
		n.metrics.loginFailures.Add(1)
		c.replyErr(f.ID, e)
		return
	}
	if !c.servesAccount(f.ID, &req) {
		return
	}
	if req.Resume != nil {
		if c.resume(f.ID, &req) {
			n.metrics.logins.Add(1)
			return
		}
		if n.kicks.has(req.Resume.Session, time.Now()) {
			n.metrics.loginFailures.Add(1)
			c.replyErr(f.ID, wire.Errf(wire.LoginTokenKicked, "the session was ended by a login elsewhere"))
			return
		}
		if e := n.authenticate(&req, true); e != nil {
			n.metrics.loginFailures.Add(1)
			c.replyErr(f.ID, e)
			return
		}
	}
	n.metrics.logins.Add(1)
	k := key{req.App, req.Account}
	s := newSession(n, newID(), req.App, req.Account)
	s.conn = c
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	c.loggedIn()
	mb := n.mailbox(req.App, req.Account)
	mb.Lock()
	// Queued with the account's lock held, just before the session enters
	// the hub: pushes to it can start only then, so the client sees the
	// answer first; and a login the client makes after seeing the answer
	// swaps in after this one, so it is the later one that wins.
	st := n.storeOf(req.App, req.Account)
	c.reply(f.ID, wire.LoginRes{Session: s.id, Fd: c.fd, Heartbeat: int(n.cfg.Heartbeat / time.Millisecond), Queue: st.ID()})
	// Noted before the swap: a resume that misses the session (swapped
	// out) then finds it here.
	if prev, ok := n.sessions.get(k); ok {
		n.kicks.add(prev.id, time.Now())
	}
	old, kicked := n.sessions.swap(k, s)
	if kicked {
		n.announceSession(req.App, req.Account, "logout")
	}
	n.announceSession(req.App, req.Account, "login")
	if cur := req.Cursor; cur != nil && cur.Key > 0 && cur.Queue == st.ID() {
		// What the client delivered before is not delivered again, even
		// if its acknowledgement never reached the store.
		st.Dequeue(req.App, req.Account, cur.Key)
	}
	n.deliverQueued(s) // the old session's unacknowledged messages too: they are still queued
	mb.Unlock()
	if kicked {
		n.endSession(old, endKicked)
	}
	n.deliverInvites(s)
}

// resumeChannelLocked gives a resuming session its channel stream: the
// history after its offset, or the state afresh; for a channel served
// elsewhere, that node does, after (resumeRemoteChannel). Called with the
// channel (if any, served here) and the session locked.
func (c *Conn) resumeChannelLocked(s *Session, ch *Channel, r *wire.Resume) {
	var m *member
	if ch != nil {
		if m = ch.members[s.account]; m != nil && m.sess != s {
			m = nil
		}
	}
	switch {
	case m != nil && r.Channel == ch.name:
		if frames, ok := ch.replayLocked(r.Off); ok {
			for _, b := range frames {
				c.send(b)
			}
		} else {
			c.send(wire.MustEncode(0, wire.PushChannelSnap, ch.snapshotLocked(m.uid)))
		}
	case m != nil:
		c.send(wire.MustEncode(0, wire.PushChannelSnap, ch.snapshotLocked(m.uid)))
	case s.rchan != "":
	case r.Channel != "":
		c.send(wire.MustEncode(0, wire.PushChannelGone, wire.ChannelGone{Channel: r.Channel, Code: wire.LeaveChannelDisconn}))
	}
}

// resume attaches c to the session the client names, replaying what it
// missed; false when that session is gone (the client then gets a new one).
func (c *Conn) resume(id uint64, req *wire.LoginReq) bool {
	n := c.node
	s, ok := n.sessions.get(key{req.App, req.Account})
	if !ok || s.id != req.Resume.Session {
		return false
	}
	for {
		ch := s.currentChannel()
		if ch != nil {
			ch.mu.Lock()
		}
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			if ch != nil {
				ch.mu.Unlock()
			}
			return false
		}
		if s.channel != ch {
			s.mu.Unlock()
			if ch != nil {
				ch.mu.Unlock()
			}
			continue // it changed channel meanwhile; lock the right one
		}
		if s.grace != nil {
			s.grace.Stop()
			s.grace = nil
		}
		old := s.conn
		s.conn = c
		c.reply(id, wire.LoginRes{Session: s.id, Fd: c.fd, Resumed: true, Heartbeat: int(n.cfg.Heartbeat / time.Millisecond), Queue: n.storeOf(s.app, s.account).ID()})
		// User stream: drop what the client has, resend the rest.
		i := 0
		for i < len(s.backlog) && s.backlog[i].seq <= req.Resume.Seq {
			i++
		}
		acked := s.backlog[:i]
		s.backlog = append(s.backlog[:0:0], s.backlog[i:]...)
		s.rewindLocked()
		s.pumpLocked()
		c.resumeChannelLocked(s, ch, req.Resume)
		remote := s.rchan
		s.mu.Unlock()
		if remote != "" {
			n.resumeRemoteChannel(s, c, remote, req.Resume)
		}
		if ch != nil {
			ch.mu.Unlock()
		}
		c.mu.Lock()
		c.sess = s
		c.mu.Unlock()
		c.loggedIn()
		if old != nil && old != c {
			old.mu.Lock()
			old.sess = nil // its end must not detach the session we now hold
			old.mu.Unlock()
			old.close()
		}
		n.dequeueAcked(s, acked)
		return true
	}
}

func (n *Node) dequeueAcked(s *Session, acked []userPush) {
	var maxKey uint64
	for _, p := range acked {
		maxKey = max(maxKey, p.queueKey)
	}
	if st := n.storeOf(s.app, s.account); st != nil && maxKey > 0 {
		st.Dequeue(s.app, s.account, maxKey)
	}
}

// deliverQueued pushes the account's queued messages, in order; they leave
// the store when the client acknowledges them.
func (n *Node) deliverQueued(s *Session) {
	st := n.storeOf(s.app, s.account)
	if st == nil {
		return
	}
	msgs, err := st.Queue(s.app, s.account, n.cfg.QueueTTL)
	if err != nil {
		n.log.Error("read offline queue", "account", s.account, "err", err)
		return
	}
	for i := range msgs {
		m := msgs[i]
		if !s.pushUser(wire.PushPeerMsg, wire.PeerMsg{From: m.From, Msg: m.Msg, MID: m.MID, TS: m.TS, Key: m.Key}, m.Key) {
			return
		}
	}
}

// logout ends the session at the client's request.
func (c *Conn) logout(f *wire.Frame, s *Session) {
	var req wire.PingReq
	if f.Decode(&req) == nil && req.Ack > 0 {
		s.ack(req.Ack)
	}
	c.reply(f.ID, nil)
	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	c.node.endSession(s, endLogout)
	c.closeAfterFlush()
}

// servesAccount checks that this node serves the account of a login; when
// another node does, the client is sent there (a goaway naming it, then
// the refusal: the SDK goes there at once), and while none does it is asked
// to try again.
func (c *Conn) servesAccount(id uint64, req *wire.LoginReq) bool {
	n := c.node
	_, node, local := n.place(req.App, req.Account)
	if local && n.storeOf(req.App, req.Account) != nil {
		return true
	}
	if url := n.peersURL(node); url != "" {
		n.metrics.redirects.Add(1)
		c.send(wire.MustEncode(0, wire.PushGoAway, wire.GoAway{Reason: "the account is served by another node", URL: url}))
		c.replyErr(id, wire.Errf(wire.LoginNet, "%s is served by %s: log in there", req.Account, url))
		c.closeAfterFlush()
		return false
	}
	n.metrics.loginFailures.Add(1)
	c.replyErr(id, wire.Errf(wire.LoginNet, "the server of %s is moving; try again", req.Account))
	return false
}

func (n *Node) peersURL(node string) string {
	if node == "" || n.peers == nil {
		return ""
	}
	return n.peers.URL(node)
}
