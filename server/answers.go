package server

import (
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// A connection's requests are answered in order. Most are answered by the
// reader as it handles them; some only later — a peer message once it is
// durable (the store's callback), anything another node serves once its
// answer comes back — while the reader goes on. Those take a slot in the
// connection's queue of answers to come, and an answer is written only when
// every answer before it has been (answerQueue). A request whose answer must
// precede pushes that follow it (a join: the channel's pushes; most others:
// simply its own effects) waits until the queue is empty (awaitAnswers), and
// is then answered at once.

// slot is one answer to come.
type slot struct {
	id      uint64
	s       *Session
	frame   []byte // the answer, once given
	done    bool
	barrier bool // its request is one that later sends must wait for (not a send)
}

// answerQueue is a connection's answers to come, in request order.
type answerQueue struct {
	slots    []*slot
	idle     chan struct{} // closed when the queue empties; nil while nobody waits
	barriers int           // slots not yet written whose request is a barrier
	calm     chan struct{} // closed when barriers drops to 0; nil while nobody waits
}

// later takes a slot for request id; it must be given with ok or fail.
// barrier: the request is not a send (sends wait for those: awaitBarriers).
func (c *Conn) later(id uint64, s *Session, barrier bool) *slot {
	sl := &slot{id: id, s: s, barrier: barrier}
	c.amu.Lock()
	c.answers.slots = append(c.answers.slots, sl)
	if barrier {
		c.answers.barriers++
	}
	c.amu.Unlock()
	return sl
}

// ok gives slot sl the answer res (nil: {}).
func (c *Conn) ok(sl *slot, res any) {
	if res == nil {
		res = struct{}{}
	}
	c.give(sl, wire.MustEncode(sl.id, wire.OpResult, res))
}

// fail gives slot sl the error e.
func (c *Conn) fail(sl *slot, e *wire.Error) { c.give(sl, wire.EncodeError(sl.id, e)) }

// give records sl's answer and writes every answer that is now first.
func (c *Conn) give(sl *slot, frame []byte) {
	c.amu.Lock()
	sl.frame, sl.done = frame, true
	q := &c.answers
	n := 0
	for n < len(q.slots) && q.slots[n].done {
		n++
	}
	ready := append([]*slot(nil), q.slots[:n]...)
	rest := copy(q.slots, q.slots[n:])
	clear(q.slots[rest:])
	q.slots = q.slots[:rest]
	empty := len(q.slots) == 0
	// Written under amu, so that two givers cannot write out of order.
	for _, r := range ready {
		c.answer(r.id, r.frame)
		r.s.finish(r.id)
		if r.barrier {
			q.barriers--
		}
	}
	// Counted once written, not once given: a channel's push after a join
	// must follow the join's answer on the wire (PROTOCOL.md §3 rule 5).
	if q.barriers == 0 {
		wake(&q.calm)
	}
	if empty {
		wake(&q.idle)
	}
	c.amu.Unlock()
}

// awaitBarriers holds the reader until every answer to come is to a send
// (peer.send, ch.send): a channel message sent behind a join waits for the
// join's answer, one sent behind other sends does not. Sends to one channel
// stay in order without it: they go to the node serving the channel, over
// one ordered stream, and run there in the order they came; their answers
// are written in order by the queue. Late answers let the reader go on, as
// in awaitAnswers.
func (c *Conn) awaitBarriers() {
	c.await(func(q *answerQueue) (bool, *chan struct{}) { return q.barriers == 0, &q.calm })
}

// awaitAnswers holds the reader until every answer to come is given. An
// answer that takes longer than a write to a client (a stuck store, a node
// that does not answer and is not yet declared gone) lets the reader go on:
// the next answer may then come before it, which beats never.
func (c *Conn) awaitAnswers() {
	c.await(func(q *answerQueue) (bool, *chan struct{}) { return len(q.slots) == 0, &q.idle })
}

// await holds the reader until state says the queue is as wanted, woken by
// the channel state names (closed by give), or for WriteTimeout at most.
func (c *Conn) await(state func(q *answerQueue) (ready bool, wake *chan struct{})) {
	c.amu.Lock()
	ready, wake := state(&c.answers)
	if ready {
		c.amu.Unlock()
		return
	}
	if *wake == nil {
		*wake = make(chan struct{})
	}
	ch := *wake
	c.amu.Unlock()
	t := time.NewTimer(c.node.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		c.node.log.Warn("an answer is late; answering out of order", "fd", c.fd)
	}
}

// wake closes a waiter's channel, if anyone waits.
func wake(ch *chan struct{}) {
	if *ch != nil {
		close(*ch)
		*ch = nil
	}
}
