package server

import (
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
)

// userPush is a user-stream push kept until the client acknowledges it.
type userPush struct {
	seq      uint64
	frame    []byte
	queueKey uint64 // a peer message: its key in the durable queue, deleted once acknowledged
}

// Session is a logged-in account. It outlives its connection by the grace
// period, so a client that reconnects in time resumes it without loss.
type Session struct {
	node    *Node
	id      string
	app     string
	account string
	limiter *rate.Limiter // the per-user message limit, peer and channel together

	mu      sync.Mutex
	conn    *Conn    // nil while detached
	channel *Channel // the one channel the session is in, when this node serves it
	rchan   string   // the one channel the session is in, when another node serves it
	movedTo string   // where its account is served next, once its shard left
	// callNodes hold calls of this session as their caller (h_calls.go).
	callNodes map[string]bool
	seq       uint64     // last user-stream seq assigned
	backlog   []userPush // unacknowledged user-stream pushes, in seq order
	// sent of them are written to conn, inflight bytes in all (flow control:
	// see userWindow).
	sent     int
	inflight int
	// delivered is the key of the last queued peer message pushed: the
	// login's read of the queue and the messages accepted meanwhile may
	// offer one twice, and keys only grow.
	delivered uint64
	grace     *time.Timer
	detachN   int // which detach the grace timer belongs to
	ended     bool
	answers   map[uint64][]byte // recent answers by request id, to answer a resent request once
	ansRing   []uint64
	running   map[uint64]chan struct{} // requests being handled, closed when answered
	mids      map[string]struct{}      // recent message ids, to answer a resent send once
	midRing   []string
}

const recentMIDs = 1024

func newSession(n *Node, id, app, account string) *Session {
	return &Session{
		node:    n,
		id:      id,
		app:     app,
		account: account,
		limiter: rate.NewLimiter(rate.Limit(n.cfg.UserRate), n.cfg.UserRate),
		mids:    make(map[string]struct{}),
		answers: make(map[uint64][]byte),
		running: make(map[uint64]chan struct{}),
	}
}

// begin marks request id as being handled. When it already is (a resend
// on a new connection while the old one still runs it), it returns the
// channel that closes when the first one is answered.
func (s *Session) begin(id uint64) (wait <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.running[id]; ok {
		return ch
	}
	s.running[id] = make(chan struct{})
	return nil
}

// finish marks request id as answered.
func (s *Session) finish(id uint64) {
	s.mu.Lock()
	ch := s.running[id]
	delete(s.running, id)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

const recentAnswers = 256

// answered returns the answer already given to request id on this session.
func (s *Session) answered(id uint64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.answers[id]
	return b, ok
}

// maxRemembered bounds the answers kept: larger ones (a join's member list,
// all of an account's attributes) answer reads, which a resend may run again.
const maxRemembered = 512

// remember keeps an answer so a request resent after a resume is not run twice.
func (s *Session) remember(id uint64, b []byte) {
	if len(b) > maxRemembered {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.answers[id]; ok {
		return
	}
	s.answers[id] = b
	s.ansRing = append(s.ansRing, id)
	if len(s.ansRing) > recentAnswers {
		delete(s.answers, s.ansRing[0])
		s.ansRing = s.ansRing[1:]
	}
}

// seenMID records a message id and reports whether it was already seen.
func (s *Session) seenMID(mid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mids[mid]; ok {
		return true
	}
	s.mids[mid] = struct{}{}
	s.midRing = append(s.midRing, mid)
	if len(s.midRing) > recentMIDs {
		delete(s.mids, s.midRing[0])
		s.midRing = s.midRing[1:]
	}
	return false
}

// forgetMID lets a send whose id was recorded be retried after it failed.
func (s *Session) forgetMID(mid string) {
	s.mu.Lock()
	delete(s.mids, mid)
	s.mu.Unlock()
}

// pushUser appends a push to the user stream and sends it if connected; a
// queued peer message (queueKey > 0) only if it was not pushed already. It
// reports false when the session has ended (the caller must then keep the
// message elsewhere).
func (s *Session) pushUser(op string, d any, queueKey uint64) bool {
	raw, err := json.Marshal(d)
	if err != nil {
		s.node.log.Error("encode push", "op", op, "err", err)
		return false
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	if queueKey > 0 {
		if queueKey <= s.delivered {
			s.mu.Unlock()
			return true
		}
		s.delivered = queueKey
	}
	if len(s.backlog) >= s.node.cfg.UserBacklog {
		// The client has stopped acknowledging. End the session: its peer
		// messages stay in the durable queue, which its next login delivers.
		s.mu.Unlock()
		s.node.log.Warn("session ended: user stream not acknowledged", "app", s.app, "account", s.account, "backlog", s.node.cfg.UserBacklog)
		go s.node.endSession(s, endGrace)
		return false
	}
	s.seq++
	f := wire.Frame{Op: op, Seq: s.seq, D: raw}
	b := f.Append(nil)
	s.backlog = append(s.backlog, userPush{seq: s.seq, frame: b, queueKey: queueKey})
	s.pumpLocked()
	s.mu.Unlock()
	return true
}

// userWindow bounds the bytes of user-stream pushes written to a
// connection and not yet acknowledged; more are written as the client
// acknowledges. So a long backlog — a resume after many messages, a full
// queue at login — goes out at the client's pace instead of overflowing the
// connection's outbound bound (which would drop it at every attempt).
const userWindow = 1 << 20

// pumpLocked writes the backlog's next pushes while the window allows: in
// order, under the session's lock (which the lock order lets take Conn.mu).
func (s *Session) pumpLocked() {
	if s.conn == nil {
		return
	}
	for s.sent < len(s.backlog) && (s.inflight < userWindow || s.sent == 0) {
		p := s.backlog[s.sent]
		s.conn.send(p.frame)
		s.sent++
		s.inflight += len(p.frame)
	}
}

// rewindLocked forgets what was written to a connection that is gone: the
// next one gets the backlog from its start.
func (s *Session) rewindLocked() { s.sent, s.inflight = 0, 0 }

// ack drops acknowledged pushes and removes acknowledged offline messages from the store.
func (s *Session) ack(seq uint64) {
	s.mu.Lock()
	var maxKey uint64
	n := 0
	for n < len(s.backlog) && s.backlog[n].seq <= seq {
		if k := s.backlog[n].queueKey; k > maxKey {
			maxKey = k
		}
		if n < s.sent {
			s.inflight -= len(s.backlog[n].frame)
		}
		n++
	}
	s.sent = max(s.sent-n, 0)
	s.backlog = append(s.backlog[:0:0], s.backlog[n:]...)
	s.pumpLocked()
	s.mu.Unlock()
	if st := s.node.storeOf(s.app, s.account); st != nil && maxKey > 0 {
		st.Dequeue(s.app, s.account, maxKey)
	}
}

// deliverChannel sends a channel push; called with the channel locked, so
// every member sees the same order. A detached session gets it from the
// channel's history when it resumes.
func (s *Session) deliverChannel(b []byte) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.send(b)
	}
}

// detach is called when the session's connection ends: the session waits
// for a resume until the grace period is over.
func (s *Session) detach(c *Conn) {
	s.mu.Lock()
	if s.conn != c || s.ended {
		s.mu.Unlock()
		return
	}
	s.conn = nil
	s.rewindLocked()
	s.detachN++
	n := s.detachN
	s.grace = time.AfterFunc(s.node.cfg.Grace, func() { s.node.expire(s, n) })
	s.mu.Unlock()
	s.node.log.Debug("session detached", "app", s.app, "account", s.account)
}

// expire ends a session whose grace ran out, unless it was resumed meanwhile.
func (n *Node) expire(s *Session, detachN int) {
	select {
	case <-n.stop:
		return // shutting down: nothing to end, the store keeps the messages
	default:
	}
	n.endSessionIf(s, endGrace, func() bool { return s.conn == nil && s.detachN == detachN })
}

// currentChannel returns the session's channel.
func (s *Session) currentChannel() *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channel
}

func (s *Session) connected() *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}
