package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/xinling/xinling/server"
)

// edgeSide relays this member's clients to the core: it is the
// server.Upstream of the edge node.
type edgeSide struct {
	m    *Member
	node *server.Node
	out  *outbox
	subs []*nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	coreID   string
	term     uint64
	lastBeat time.Time
	pending  map[uint64]chan error // opens waiting for the core's answer
	parts    joiner                // used by the subscription's goroutine only
	seq      uint64                // number of the last message from the core; 0: none yet from this core
}

// openTimeout bounds how long a new client waits for the core to accept it.
const openTimeout = 5 * time.Second

var errNoCore = errors.New("no core node reachable right now; try again")

func newEdgeSide(m *Member) (*edgeSide, error) {
	e := &edgeSide{m: m, stop: make(chan struct{}), pending: make(map[uint64]chan error), parts: joiner{}}
	e.out = newOutbox(m.nc, "", appendHead(m.relayID)) // aimed at a core once one beats
	cfg := m.serverConfig()
	cfg.Upstream = e
	e.node = server.New(cfg)
	for subj, fn := range map[string]nats.MsgHandler{
		m.subject("out", m.relayID): e.onCore,
		m.subject("core"):           e.onBeat,
	} {
		sub, err := m.nc.Subscribe(subj, fn)
		if err == nil {
			err = sub.SetPendingLimits(-1, -1)
		}
		if err != nil {
			e.unsubscribe()
			_ = e.node.Shutdown(context.Background())
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		e.subs = append(e.subs, sub)
	}
	e.wg.Add(1)
	go e.watch()
	return e, nil
}

func (e *edgeSide) unsubscribe() {
	for _, s := range e.subs {
		_ = s.Unsubscribe()
	}
}

// watch tells the core this edge lives and notices when the core does not.
func (e *edgeSide) watch() {
	defer e.wg.Done()
	timeout := e.m.cfg.NodeTimeout
	tick := time.NewTicker(timeout / 6)
	defer tick.Stop()
	for {
		e.out.add(recAlive, 0, nil, false)
		select {
		case <-e.stop:
			return
		case now := <-tick.C:
			e.mu.Lock()
			lost := e.coreID != "" && now.Sub(e.lastBeat) > timeout
			if lost {
				e.m.log.Warn("core silent; its clients here must reconnect", "core", e.coreID)
				// Whatever core comes next is followed, whatever its term:
				// the lease bucket may have been made anew, its revisions
				// starting over.
				e.followLocked("", 0)
			}
			e.mu.Unlock()
			if lost {
				e.node.CloseAll("the core node is unreachable; reconnect")
			}
		}
	}
}

// onBeat follows the core's heartbeats. A core of a newer term means the
// old one is gone with its sessions: this edge's clients reconnect to the
// new one (resuming fails there, so their SDKs log in afresh).
func (e *edgeSide) onBeat(msg *nats.Msg) {
	term, id, ok := decodeBeat(msg.Data)
	if !ok {
		return
	}
	e.mu.Lock()
	if id == "" { // the core of that term stepped down
		gone := term == e.term && e.coreID != ""
		if gone {
			e.m.log.Info("core stepped down", "core", e.coreID, "term", term)
			e.followLocked("", 0)
		}
		e.mu.Unlock()
		if gone {
			e.node.CloseAll("the core node stepped down; reconnect")
		}
		return
	}
	switch {
	case term < e.term:
		e.mu.Unlock()
		return // a deposed core not yet aware of it
	case term == e.term && id == e.coreID:
		e.lastBeat = time.Now()
		e.mu.Unlock()
		return
	}
	had := e.coreID != ""
	e.followLocked(id, term)
	e.mu.Unlock()
	e.m.log.Info("following core", "core", id, "term", term)
	if had {
		e.node.CloseAll("the core node changed; reconnect")
	}
}

// followLocked makes core id of term the one this edge relays to ("": none
// known). The opens still waiting were sent to the old one: they are
// refused, and their clients retry at once.
func (e *edgeSide) followLocked(id string, term uint64) {
	e.coreID, e.term, e.lastBeat, e.seq = id, term, time.Now(), 0
	if id == "" {
		e.out.retarget("")
	} else {
		e.out.retarget(e.m.inSubject(id, term))
	}
	e.failOpensLocked()
}

// onCore applies what the core sends to this edge's clients.
func (e *edgeSide) onCore(msg *nats.Msg) {
	seq, body, err := readSeq(msg.Data)
	if err != nil {
		e.m.log.Warn("edge: bad relay message", "err", err)
		return
	}
	e.mu.Lock()
	lost := e.seq != 0 && seq != e.seq+1
	e.seq = seq
	e.mu.Unlock()
	if lost {
		// A message from the core was lost: a client may have missed a
		// frame and would acknowledge past it. Every client reconnects and
		// resumes, the core resending what each has not acknowledged.
		e.m.log.Warn("relay message from the core lost; clients here reconnect", "got", seq)
		e.node.CloseAll("relay interrupted; reconnect")
	}
	var frames [][]byte
	err = records(body, func(r record) {
		if !e.parts.join(&r) {
			return
		}
		switch r.kind {
		case recFrame:
			frames = append(frames, r.payload)
			e.node.Deliver(r.conn, r.payload)
		case recRef:
			if r.ref < uint64(len(frames)) {
				e.node.Deliver(r.conn, frames[r.ref])
			}
		case recClose, recFlush:
			e.node.CloseConn(r.conn, r.kind == recFlush)
		case recTimeout:
			e.node.SetReadTimeout(r.conn, time.Duration(r.ref)*time.Millisecond)
		case recAccept, recRefuse:
			e.mu.Lock()
			ch := e.pending[r.conn]
			delete(e.pending, r.conn)
			e.mu.Unlock()
			if ch != nil {
				if r.kind == recAccept {
					ch <- nil
				} else {
					ch <- errors.New(string(r.payload))
				}
			}
		}
	})
	if err != nil {
		e.m.log.Warn("edge: bad relay message", "err", err)
	}
}

// failOpensLocked refuses the opens waiting for a core that will not answer.
func (e *edgeSide) failOpensLocked() {
	for conn, ch := range e.pending {
		ch <- errNoCore
		delete(e.pending, conn)
	}
}

// Open asks the core to take a new client and waits for its answer.
func (e *edgeSide) Open(conn uint64, addr string) error {
	e.mu.Lock()
	if e.coreID == "" {
		e.mu.Unlock()
		return errNoCore
	}
	ch := make(chan error, 1)
	e.pending[conn] = ch
	e.mu.Unlock()
	e.out.add(recOpen, conn, []byte(addr), true)
	t := time.NewTimer(openTimeout)
	defer t.Stop()
	err := errNoCore
	select {
	case err = <-ch:
		if err == nil {
			return nil
		}
	case <-t.C:
	case <-e.stop:
	}
	e.mu.Lock()
	delete(e.pending, conn)
	e.mu.Unlock()
	// Should a core accept it late (the open may have reached the next
	// core when this one changed meanwhile), it lets go at once.
	e.out.add(recGone, conn, nil, false)
	return err
}

func (e *edgeSide) Message(conn uint64, msg []byte) { e.out.add(recMsg, conn, msg, true) }

func (e *edgeSide) Gone(conn uint64) { e.out.add(recGone, conn, nil, false) }

func (e *edgeSide) shutdown(ctx context.Context) error {
	close(e.stop)
	e.wg.Wait()
	err := e.node.Shutdown(ctx) // its clients' Gone records go out before the outbox closes
	e.unsubscribe()
	e.out.close()
	return err
}
