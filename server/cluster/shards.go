package cluster

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/xinling/xinling/server/store"
)

// Shards. Accounts and channels hash into Config.Shards shards (server
// shardOf); each is served by one node at a time, the holder of its lease:
// key "<k>" of the key-value bucket <prefix>_shards (TTL LeaseTTL), renewed
// every sixth of it. Which node should hold which shard is a plan every
// node computes alike from the live nodes: each shard goes to the node that
// ranks it highest (rendezvous hashing), within ⌈shards ÷ nodes⌉ per node,
// so the shards spread evenly and a node that comes or goes moves few. A
// node campaigns for its planned shards that are free, and hands over the
// ones planned for another node once that node has been live for a
// NodeTimeout (a node that just appeared may go again).

// Plan assigns every shard a node among nodes (sorted, not empty): what
// every member computes from the live nodes.
func Plan(shards int, nodes []string) []string {
	limit := (shards + len(nodes) - 1) / len(nodes)
	count := make(map[string]int, len(nodes))
	owner := make([]string, shards)
	type ranked struct {
		node string
		h    uint64
	}
	rank := make([]ranked, len(nodes))
	for k := range shards {
		for i, n := range nodes {
			rank[i] = ranked{n, hrw(k, n)}
		}
		slices.SortFunc(rank, func(a, b ranked) int {
			switch {
			case a.h > b.h:
				return -1
			case a.h < b.h:
				return 1
			}
			return 0
		})
		for _, r := range rank {
			if count[r.node] < limit {
				owner[k] = r.node
				count[r.node]++
				break
			}
		}
	}
	return owner
}

func hrw(k int, node string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strconv.Itoa(k)))
	h.Write([]byte{0})
	h.Write([]byte(node))
	return h.Sum64()
}

// hold is a shard this node holds the lease of.
type hold struct {
	k        int
	rev      uint64    // the lease revision it holds (renewed)
	term     uint64    // the revision it was won with: a later holder's is larger
	renewed  time.Time // when the last renewal that succeeded was sent
	store    store.Store
	ready    bool // the store is open and the node serves the shard
	dropping bool // being handed over or lost: requests go elsewhere
}

// campaignOnce renews this node's leases, hands over the shards planned
// for others and asks for the free shards planned for it.
func (m *Member) campaignOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.LeaseTTL/3)
	defer cancel()
	m.mu.Lock()
	// Those being handed over too: their lease is kept until their store
	// is closed and it is released, or the next node would open the store
	// while they still write.
	held := make([]*hold, 0, len(m.held))
	for _, h := range m.held {
		held = append(held, h)
	}
	m.mu.Unlock()
	for _, h := range held {
		m.renew(ctx, h)
	}
	planned, settled := m.planned()
	m.mu.Lock()
	var release []*hold
	for _, h := range m.held {
		if owner := planned[h.k]; owner != m.cfg.NodeID && settled[owner] && h.ready && !h.dropping {
			release = append(release, h)
		}
	}
	m.mu.Unlock()
	for _, h := range release {
		m.log.Info("handing a shard over", "shard", h.k, "to", planned[h.k])
		m.mu.Lock()
		h.dropping = true // at once, so the next round does not release it again
		m.mu.Unlock()
		// In the background: a handover waits for the successor, and this
		// loop must go on renewing the other leases meanwhile.
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.letGo(h, true) // marked dropping above
		}()
	}
	for k, owner := range planned {
		if owner != m.cfg.NodeID {
			continue
		}
		m.mu.Lock()
		_, have := m.held[k]
		m.mu.Unlock()
		if !have {
			m.take(ctx, k)
		}
	}
}

// planned is the plan for the live nodes, and which of them are settled
// (live for a NodeTimeout: a shard is handed over only to those).
func (m *Member) planned() ([]string, map[string]bool) {
	now := time.Now()
	m.mu.Lock()
	nodes := []string{m.cfg.NodeID}
	settled := map[string]bool{m.cfg.NodeID: true}
	for _, p := range m.peers {
		if !slices.Contains(nodes, p.node) {
			nodes = append(nodes, p.node)
		}
		if now.Sub(p.since) >= m.cfg.NodeTimeout {
			settled[p.node] = true
		}
	}
	m.mu.Unlock()
	slices.Sort(nodes)
	return Plan(m.cfg.Shards, nodes), settled
}

// Settled reports whether this member serves just the shards the plan for
// the live nodes gives it (none is to come or to go).
func (m *Member) Settled() bool {
	planned, _ := m.planned()
	rs := *m.routes.Load()
	for k, owner := range planned {
		if (owner == m.cfg.NodeID) != rs[k].local {
			return false
		}
	}
	return true
}

// successor is the relay of the live node that the plan without this one
// gives shard k, "" when there is none.
func (m *Member) successor(k int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var nodes []string
	relay := make(map[string]string)
	for _, p := range m.peers {
		if _, dup := relay[p.node]; !dup {
			nodes = append(nodes, p.node)
		}
		relay[p.node] = p.relay
	}
	if len(nodes) == 0 {
		return ""
	}
	if !m.stopping {
		nodes = append(nodes, m.cfg.NodeID)
	}
	slices.Sort(nodes)
	owner := Plan(m.cfg.Shards, nodes)[k]
	return relay[owner] // "" for this node itself: it is not handing over
}

func shardKey(k int) string { return strconv.Itoa(k) }

// take asks for shard k's lease; won, the shard's store is opened (reading
// it can take a while) and then the node serves it.
func (m *Member) take(ctx context.Context, k int) {
	sent := time.Now()
	rev, err := m.kv.Create(ctx, shardKey(k), []byte(m.relayID))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			m.log.Debug("shard lease", "shard", k, "err", err)
		}
		return
	}
	h := &hold{k: k, rev: rev, term: rev, renewed: sent}
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.held[k] = h
	m.mu.Unlock()
	m.log.Info("serving a shard", "shard", k, "term", rev)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.open(h)
	}()
}

// open opens the store of a shard just won, then serves it.
func (m *Member) open(h *hold) {
	start := time.Now()
	for {
		st, err := m.cfg.OpenStore("s" + strconv.Itoa(h.k))
		if err == nil {
			m.mu.Lock()
			if m.held[h.k] != h || h.dropping {
				m.mu.Unlock()
				_ = st.Close()
				return
			}
			h.store = st
			m.mu.Unlock()
			break
		}
		m.log.Warn("shard store: open; trying again", "shard", h.k, "err", err)
		select {
		case <-m.stop:
			return
		case <-time.After(time.Second):
		}
		m.mu.Lock()
		gone := m.held[h.k] != h || h.dropping
		m.mu.Unlock()
		if gone {
			return
		}
	}
	m.node.ShardGained(h.k, h.store) // before its requests come here
	m.mu.Lock()
	h.ready = true
	m.mu.Unlock()
	m.rebuildRoutes()
	m.beatNow()
	m.wg.Add(2) // open runs under the WaitGroup: no race with Shutdown's Wait
	go func() {
		defer m.wg.Done()
		m.gatherLeader(h.k)
	}()
	go func() {
		defer m.wg.Done()
		m.watchStore(h)
	}()
	m.log.Info("shard ready", "shard", h.k, "took", time.Since(start).Round(time.Millisecond))
}

// watchStore lets the shard go when its store fails (another node wrote to
// its log: it served the shard a moment too long, while this one had
// begun). A store takes no writes after a failure; the shard is opened
// again, from the log, once the lease is won again.
func (m *Member) watchStore(h *hold) {
	f, ok := h.store.(interface{ Failed() <-chan struct{} })
	if !ok {
		return
	}
	select {
	case <-m.stop:
	case <-f.Failed():
		m.mu.Lock()
		current := m.held[h.k] == h && !h.dropping
		m.mu.Unlock()
		if current {
			m.log.Warn("a shard's store failed; letting the shard go to open it again", "shard", h.k)
			m.drop(h, false)
		}
	}
}

// renew keeps a lease; a node that cannot renew in time lets the shard go a
// third of the TTL before others may take it, so two never serve one —
// unless it outlasts the bucket's outage (see outlasts).
func (m *Member) renew(ctx context.Context, h *hold) {
	sent := time.Now()
	fence := h.renewed.Add(m.cfg.LeaseTTL * 2 / 3)
	uctx, cancel := context.WithDeadline(ctx, fence)
	rev, err := m.kv.Update(uctx, shardKey(h.k), []byte(m.relayID), h.rev)
	cancel()
	switch {
	case err == nil:
		m.mu.Lock()
		h.rev, h.renewed = rev, sent
		m.mu.Unlock()
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists):
		// A renewal that timed out may have been applied after all.
		if e, gerr := m.kv.Get(ctx, shardKey(h.k)); gerr == nil && string(e.Value()) == m.relayID && e.Revision() > h.rev {
			m.mu.Lock()
			h.rev = e.Revision()
			m.mu.Unlock()
			return
		}
		m.log.Warn("another node holds a shard of ours; letting it go", "shard", h.k, "err", err)
		m.drop(h, false)
	case !time.Now().Before(fence) && m.outlasts(h):
		// The bucket's leader is being elected again (its node died): no
		// node can take the lease meanwhile, and letting every shard go
		// would end every session of the cluster.
		m.log.Info("the lease bucket does not answer; keeping the shard while the cluster is whole", "shard", h.k, "err", err)
	case !time.Now().Before(fence):
		m.log.Warn("could not renew a shard's lease in time; letting it go", "shard", h.k, "err", err)
		m.drop(h, false)
	default:
		m.log.Info("renewing a shard's lease", "shard", h.k, "err", err)
	}
}

// outlasts says whether a node that cannot renew h's lease may go on
// serving it: it hears a majority of the cluster (so it is not the one cut
// off: the bucket is down for every node, and a lease can only change hands
// through it) and no peer says it serves the shard. A peer that takes the
// lease once the bucket is back says so in its next beat, and this node
// lets the shard go on hearing it (onBeat).
func (m *Member) outlasts(h *hold) bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if _, ok := p.shards[h.k]; ok {
			return false
		}
	}
	return m.hearsMajorityLocked(now)
}

// drop stops serving a shard: requests for it go elsewhere at once, the node
// hands its sessions and channels over (to the node the plan gives it, when
// handing over), its store is closed (what was written is durable), and,
// when handing over, the lease is released so the next node takes it at
// once.
func (m *Member) drop(h *hold, release bool) {
	m.mu.Lock()
	if h.dropping {
		m.mu.Unlock()
		return
	}
	h.dropping = true
	m.mu.Unlock()
	m.letGo(h, release)
}

// letGo is drop's work, for a hold already marked dropping.
func (m *Member) letGo(h *hold, release bool) {
	m.mu.Lock()
	ready := h.ready
	m.mu.Unlock()
	m.rebuildRoutes()
	m.beatNow()
	if ready {
		to := ""
		if release {
			to = m.successor(h.k)
		}
		m.node.ShardLost(h.k, to)
	}
	if h.store != nil {
		if err := h.store.Close(); err != nil {
			m.log.Warn("shard store: close", "shard", h.k, "err", err)
		}
	}
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := m.kv.Delete(ctx, shardKey(h.k), jetstream.LastRevision(h.rev)); err != nil {
			m.log.Debug("release shard lease", "shard", h.k, "err", err)
		}
		cancel()
	}
	m.mu.Lock()
	if m.held[h.k] == h {
		delete(m.held, h.k)
	}
	m.mu.Unlock()
	m.rebuildRoutes()
	m.beatNow()
}
