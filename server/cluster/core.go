package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// coreTerm is this member's time as the core: a fresh node (sessions start
// empty; durable state comes from the shared store) and the relay to edges.
type coreTerm struct {
	m        *Member
	node     *server.Node       // set by start, before ready
	store    store.Store        // the term's own store, when Config.OpenStore makes one
	rev      uint64             // the lease revision it holds (refreshed)
	renewed  time.Time          // when it was last refreshed
	term     uint64             // the revision it was won with
	sub      *nats.Subscription // set by start
	ready    atomic.Bool        // serving: the stream leaders are gathered and the edges told
	stop     chan struct{}
	haltOnce sync.Once
	wg       sync.WaitGroup

	mu    sync.Mutex
	edges map[string]*edgeState
}

// edgeState is what the core knows of one edge.
type edgeState struct {
	out      *outbox
	parts    joiner // used by the subscription's goroutine only
	seq      uint64 // number of the last message from it (subscription's goroutine)
	lastSeen time.Time
}

func (m *Member) becomeCoreLocked(rev uint64, sent time.Time) {
	t := &coreTerm{m: m, rev: rev, term: rev, renewed: sent, stop: make(chan struct{}), edges: make(map[string]*edgeState)}
	m.core.Store(t)
	m.log.Info("this node is now the core", "term", rev)
	t.wg.Add(1)
	go t.start()
}

// start opens the term's store (reading it can take a while: the lease is
// renewed meanwhile, not held up), starts its node, and, once the streams
// it writes are led from its server so that its first writes do not wait
// on moves, tells the edges.
func (t *coreTerm) start() {
	defer t.wg.Done()
	m := t.m
	cfg := m.serverConfig()
	if m.cfg.OpenStore != nil {
		start := time.Now()
		st, err := m.cfg.OpenStore()
		if err != nil {
			m.log.Error("core: open the store; giving the role up", "err", err)
			go m.giveUp(t)
			return
		}
		m.log.Info("core: store opened", "took", time.Since(start).Round(time.Millisecond))
		t.store, cfg.Store = st, st
	}
	select {
	case <-t.stop:
		return
	default:
	}
	t.node = server.New(cfg)
	sub, err := m.nc.Subscribe(m.inSubject(m.cfg.NodeID, t.term), t.onEdge)
	if err == nil {
		err = sub.SetPendingLimits(-1, -1) // the edges' flow is bounded per client by the node
	}
	if err != nil {
		m.log.Error("core: subscribe; giving the role up", "err", err)
		go m.giveUp(t)
		return
	}
	t.sub = sub
	start := time.Now()
	t.gatherLeaders()
	m.log.Info("core: ready", "gathering stream leaders took", time.Since(start).Round(time.Millisecond))
	t.ready.Store(true)
	t.beat()
}

// halt stops the term's goroutines and its subscription to the edges.
func (t *coreTerm) halt() {
	t.haltOnce.Do(func() {
		close(t.stop)
		t.wg.Wait()
		if t.sub != nil {
			_ = t.sub.Unsubscribe()
		}
	})
}

// giveUp ends term t if it is still this member's.
func (m *Member) giveUp(t *coreTerm) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.core.Load() == t {
		m.stepDownLocked()
	}
}

// gatherLeaders asks JetStream to move the leaders of the lease's and the
// store's streams to the NATS server this node is connected to. Then only
// the death of the core's own server makes JetStream elect new leaders;
// without it, an edge dying with a leader on its server would stall the
// core's writes and lease renewals for JetStream's election (4–9 s).
func (t *coreTerm) gatherLeaders() {
	m := t.m
	here := m.nc.ConnectedServerName()
	if here == "" {
		return
	}
	req, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": here}})
	streams := append([]string{"KV_" + m.cfg.Prefix + "_lease"}, m.cfg.Streams...)
	for _, st := range streams {
		msg, err := m.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+st, req, time.Second)
		if err != nil {
			m.log.Debug("move stream leader", "stream", st, "err", err)
			continue
		}
		var res struct {
			Error *struct{ Description string } `json:"error"`
		}
		if json.Unmarshal(msg.Data, &res) == nil && res.Error != nil {
			m.log.Debug("move stream leader", "stream", st, "err", res.Error.Description) // e.g. already the leader
		}
	}
	// The step-downs answer before the elections: wait for them, but not
	// long — a core that serves a little late is better than none.
	deadline := time.Now().Add(3 * time.Second)
	for _, st := range streams {
		if !t.awaitLeader(st, here, deadline) {
			m.log.Info("stream leader not moved to the core's server", "stream", st)
		}
	}
}

// StreamLeader is the name of the NATS server leading the stream, "" when
// JetStream does not say (no leader yet, or no answer).
func StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) string {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	si, err := st.Info(ctx)
	if err != nil || si.Cluster == nil {
		return ""
	}
	return si.Cluster.Leader
}

// awaitLeader waits until JetStream reports the stream led from server
// here, or the deadline.
func (t *coreTerm) awaitLeader(stream, here string, deadline time.Time) bool {
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		leader := StreamLeader(ctx, t.m.js, stream)
		cancel()
		if leader == here {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-t.stop:
			return false
		case <-time.After(50 * time.Millisecond): // JetStream has no event for a new leader
		}
	}
}

// beat announces the core to the edges and drops edges gone silent.
func (t *coreTerm) beat() {
	m := t.m
	every := m.cfg.NodeTimeout / 6
	tick := time.NewTicker(every)
	defer tick.Stop()
	beat := encodeBeat(t.term, m.cfg.NodeID)
	for {
		_ = m.nc.Publish(m.subject("core"), beat)
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.mu.Lock()
			var dead []string
			for id, e := range t.edges {
				if now.Sub(e.lastSeen) > m.cfg.NodeTimeout {
					dead = append(dead, id)
					delete(t.edges, id)
					go e.out.close()
				}
			}
			t.mu.Unlock()
			for _, id := range dead {
				n := t.node.DropEdge(id)
				m.log.Warn("edge silent; its clients are detached", "edge", id, "clients", n)
			}
		}
	}
}

func (t *coreTerm) edgeCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.edges)
}

func (t *coreTerm) edge(id string) *edgeState {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.edges[id]
	if e == nil {
		e = &edgeState{out: newOutbox(t.m.nc, t.m.subject("out", id), nil), parts: joiner{}}
		t.edges[id] = e
	}
	e.lastSeen = time.Now()
	return e
}

// onEdge handles a message from an edge. It runs on the subscription's
// goroutine and never waits: the node queues each client's messages.
func (t *coreTerm) onEdge(msg *nats.Msg) {
	id, body, err := readHead(msg.Data)
	var seq uint64
	if err == nil {
		seq, body, err = readSeq(body)
	}
	if err != nil || !subjectToken(id) {
		t.m.log.Warn("core: bad relay message", "err", err)
		return
	}
	e := t.edge(id)
	if e.seq != 0 && seq != e.seq+1 {
		// A message of this edge was lost: what its clients sent may be
		// missing. Their connections end here; they resume their sessions.
		n := t.node.DropEdge(id)
		t.m.log.Warn("relay message from an edge lost; its clients are detached", "edge", id, "want", e.seq+1, "got", seq, "clients", n)
	}
	e.seq = seq
	err = records(body, func(r record) {
		if !e.parts.join(&r) {
			return
		}
		lid := server.LinkID{Edge: id, Conn: r.conn}
		switch r.kind {
		case recOpen:
			if err := t.node.OpenLink(lid, string(r.payload), &link{out: e.out, conn: r.conn}); err != nil {
				e.out.add(recRefuse, r.conn, []byte(err.Error()), true)
				return
			}
			e.out.add(recAccept, r.conn, nil, false)
		case recMsg:
			if !t.node.LinkMessage(lid, r.payload) {
				e.out.add(recClose, r.conn, nil, false) // a client the core no longer knows
			}
		case recGone:
			t.node.LinkGone(lid)
		}
	})
	if err != nil {
		t.m.log.Warn("core: bad relay message", "edge", id, "err", err)
	}
}

func (m *Member) stepDownLocked() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.stepDownCtxLocked(ctx)
}

// stepDownCtxLocked ends the term: every client, local or relayed, is told to go away.
func (m *Member) stepDownCtxLocked(ctx context.Context) error {
	t := m.core.Swap(nil)
	if t == nil {
		return nil
	}
	t.halt()
	// A heartbeat with no core id: the edges stop sending to this core at
	// once instead of after --node-timeout.
	_ = m.nc.Publish(m.subject("core"), encodeBeat(t.term, ""))
	var err error
	if t.node != nil {
		err = t.node.Shutdown(ctx)
	}
	if t.store != nil {
		// After the node: what its last sessions wrote is made durable.
		if serr := t.store.Close(); serr != nil {
			m.log.Warn("core: close the store", "err", serr)
		}
	}
	t.mu.Lock()
	for _, e := range t.edges {
		e.out.close()
	}
	t.mu.Unlock()
	m.log.Info("this node is no longer the core", "term", t.term)
	return err
}

// link is the core's server.Link to one client of an edge.
type link struct {
	out  *outbox
	conn uint64
}

func (l *link) Write(frame []byte) { l.out.add(recFrame, l.conn, frame, true) }

func (l *link) Close(flush bool) {
	if flush {
		l.out.add(recFlush, l.conn, nil, false)
	} else {
		l.out.add(recClose, l.conn, nil, false)
	}
}

func (l *link) ReadTimeout(d time.Duration) {
	l.out.addNum(recTimeout, l.conn, uint64(d/time.Millisecond))
}

// subjectToken reports whether s can be one token of a NATS subject.
func subjectToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' || c == '*' || c == '>' || c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return true
}
