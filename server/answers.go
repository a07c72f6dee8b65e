package server

import (
	"sync"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// A connection's requests are answered in order. A peer message is
// answered only once it is durable, by the store's continuation, while the
// reader goes on; so the reader counts the answers still to come and holds
// any other request until they have been given (the store runs its
// continuations in the order of the messages, so those come in order too).

// answerGate counts a connection's answers still to come.
type answerGate struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while nobody waits
}

func (g *answerGate) add() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

func (g *answerGate) done() {
	g.mu.Lock()
	if g.n--; g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// wait returns once no answer is to come, or after patience.
func (g *answerGate) wait(patience time.Duration) bool {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return true
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	ch := g.idle
	g.mu.Unlock()
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// awaitAnswers holds the reader until the answers still to come are given.
// A store that takes longer than a write to a client is stuck: then the
// next answer goes out of order rather than never.
func (c *Conn) awaitAnswers() {
	if !c.pending.wait(c.node.cfg.WriteTimeout) {
		c.node.log.Warn("a durable write is late; answering out of order", "fd", c.fd)
	}
}

// laterAnswer is the answer to request id, given by whoever finishes it.
type laterAnswer struct {
	c  *Conn
	s  *Session
	id uint64
}

// later counts an answer to come; it must be given with ok or fail.
func (c *Conn) later(id uint64, s *Session) *laterAnswer {
	c.pending.add()
	return &laterAnswer{c, s, id}
}

func (a *laterAnswer) ok() {
	a.c.reply(a.id, nil)
	a.finish()
}

// fail answers with e, after every write made before it is durable: so
// after the answers that write's continuation gives.
func (a *laterAnswer) fail(e *wire.Error) {
	a.c.node.store.Then(func(error) {
		a.c.replyErr(a.id, e)
		a.finish()
	})
}

func (a *laterAnswer) finish() {
	a.s.finish(a.id)
	a.c.pending.done()
}
