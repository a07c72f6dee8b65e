package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// Config is one member's part in the cluster.
type Config struct {
	NATS   *NATS
	Server server.Config // the node's settings
	// OpenStore opens the durable store each time this member becomes the
	// core (store.NATS: the store is read afresh, with what the previous
	// core wrote), closed when it stops being the core. Nil: Server.Store.
	OpenStore func() (store.Store, error)
	NodeID    string // unique among the members (default: random)
	Prefix    string // of subjects and buckets, so clusters can share a NATS (default "xl")
	// Replicas of the lease bucket (default: min(3, NATS.ClusterSz)).
	Replicas int
	// LeaseTTL is how long a silent core keeps the role (default 6 s): a
	// dead core is replaced after about this long. The core renews every
	// sixth of it and steps down after two thirds without a renewal, so a
	// JetStream hiccup of a few seconds costs nothing and two cores never
	// overlap.
	LeaseTTL time.Duration
	// NodeTimeout is how long an edge or the core may be silent before the
	// others treat it as dead (default 3 s). A dead edge's clients are then
	// detached, and their sessions end after Server.Grace unless resumed.
	NodeTimeout time.Duration
	// Streams are JetStream streams the core writes (the store's): their
	// leaders are moved to the core's NATS server, so a dying edge never
	// stalls a durable write while JetStream elects a new leader.
	Streams []string
	Logger  *slog.Logger
}

func (c *Config) defaults() {
	if c.NodeID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.NodeID = hex.EncodeToString(b[:])
	}
	if c.Prefix == "" {
		c.Prefix = "xl"
	}
	if c.Replicas <= 0 {
		c.Replicas = min(3, max(1, c.NATS.ClusterSz))
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 6 * time.Second
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Member is one node of the cluster: always an edge for its clients, and the
// core while it holds the lease. It is an http.Handler for the node's address.
type Member struct {
	cfg  Config
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	edge *edgeSide
	// relayID names this process's edge to the core: the node id and a
	// random incarnation, so a restarted node's connection ids never meet
	// those of its previous life still known to the core.
	relayID string

	core atomic.Pointer[coreTerm]

	mu          sync.Mutex // serializes role changes
	createFails int        // lease creations failed in a row, other than "held"; under mu
	stop        chan struct{}
	stopOnce    sync.Once
	wg          sync.WaitGroup
}

const leaseKey = "core"

func (m *Member) subject(parts ...string) string {
	s := m.cfg.Prefix
	for _, p := range parts {
		s += "." + p
	}
	return s
}

// inSubject is where edges send to the core id of term: only to the core
// they follow, so a deposed core that does not know it yet hears nothing.
func (m *Member) inSubject(id string, term uint64) string {
	return m.subject("in", id, strconv.FormatUint(term, 10))
}

// Start joins the cluster: it starts the edge and campaigns for the core role.
func Start(ctx context.Context, cfg Config) (*Member, error) {
	cfg.defaults()
	if !subjectToken(cfg.NodeID) {
		return nil, fmt.Errorf("cluster: node id %q: use letters, digits, '-' and '_' only", cfg.NodeID)
	}
	var inc [3]byte
	_, _ = rand.Read(inc[:])
	m := &Member{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), nc: cfg.NATS.Conn, stop: make(chan struct{}),
		relayID: cfg.NodeID + "-" + hex.EncodeToString(inc[:]), js: cfg.NATS.JS}
	var err error
	m.kv, err = ensureKV(ctx, m.js, m.kvConfig())
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket: %w", err)
	}
	if st, err := m.kv.Status(ctx); err == nil && st.TTL() != cfg.LeaseTTL {
		// The first node made the bucket: every node must time the lease alike.
		m.log.Warn("the lease bucket keeps another TTL; using it", "bucket_ttl", st.TTL(), "lease_ttl", cfg.LeaseTTL)
		m.cfg.LeaseTTL = st.TTL()
	}
	if m.edge, err = newEdgeSide(m); err != nil {
		return nil, err
	}
	m.wg.Add(1)
	go m.campaign()
	return m, nil
}

// RelayID is the name this member's edge has on the relay: the core sends
// to it on <prefix>.out.<RelayID>.
func (m *Member) RelayID() string { return m.relayID }

// ID is this member's node id.
func (m *Member) ID() string { return m.cfg.NodeID }

// IsCore reports whether this member runs the sessions now.
func (m *Member) IsCore() bool { return m.serving() != nil }

// serving is this member's term as the core once it is ready, else nil.
func (m *Member) serving() *coreTerm {
	if t := m.core.Load(); t != nil && t.ready.Load() {
		return t
	}
	return nil
}

// CoreNode is the node running the sessions when this member is the core, else nil.
func (m *Member) CoreNode() *server.Node {
	if t := m.serving(); t != nil {
		return t.node
	}
	return nil
}

// CoreStore is the store the core node writes, when this member is the
// core and Config.OpenStore opened it; else nil.
func (m *Member) CoreStore() store.Store {
	if t := m.serving(); t != nil {
		return t.store
	}
	return nil
}

// EdgeNode is the node relaying this member's clients when it is not the core.
func (m *Member) EdgeNode() *server.Node { return m.edge.node }

// ServeHTTP hands a request to the core node when this member is the core,
// else to the edge node that relays to it.
func (m *Member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && !m.IsCore() && m.Following() == "" {
		// A load balancer should send no one here: this node knows no core.
		http.Error(w, "no core node reachable\n", http.StatusServiceUnavailable)
		return
	}
	if t := m.serving(); t != nil {
		t.node.ServeHTTP(w, r)
		return
	}
	m.edge.node.ServeHTTP(w, r)
}

// Serve accepts connections on l until Shutdown.
func (m *Member) Serve(l net.Listener) error {
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-m.stop
		_ = srv.Close()
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// campaign keeps the lease while core, and tries to take it otherwise.
func (m *Member) campaign() {
	defer m.wg.Done()
	every := m.cfg.LeaseTTL / 6
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.tryLease(m.cfg.LeaseTTL / 3) // a slow answer is still an answer
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

func (m *Member) tryLease(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.stop:
		return
	default:
	}
	// The bucket stamps a write when it stores it, after it was sent: a
	// lease counted from the sending lasts no longer than the others see it.
	sent := time.Now()
	if t := m.core.Load(); t != nil {
		// No renewal outlives the term's last moment: a core that cannot
		// renew in time steps down then, not after a slow answer.
		fence := t.renewed.Add(m.cfg.LeaseTTL * 2 / 3)
		uctx, ucancel := context.WithDeadline(ctx, fence)
		rev, err := m.kv.Update(uctx, leaseKey, []byte(m.cfg.NodeID), t.rev)
		ucancel()
		switch {
		case err == nil:
			t.rev, t.renewed = rev, sent
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists):
			// A renewal that timed out may have been applied after all: then
			// the lease is still ours, at a later revision.
			if e, gerr := m.kv.Get(ctx, leaseKey); gerr == nil && string(e.Value()) == m.cfg.NodeID && e.Revision() > t.rev {
				t.rev = e.Revision()
				return
			}
			m.log.Warn("another node holds the core lease; stepping down", "err", err)
			m.stepDownLocked()
		case !time.Now().Before(fence):
			// Step down a third of the TTL before the lease can expire for
			// the others, so two cores never serve at once.
			m.log.Warn("could not renew the core lease in time; stepping down", "err", err)
			m.stepDownLocked()
		default:
			// JetStream is busy (electing the lease stream's leader after a
			// server died, say): nobody else can take the lease meanwhile.
			m.log.Info("renewing the core lease", "err", err)
		}
		return
	}
	rev, err := m.kv.Create(ctx, leaseKey, []byte(m.cfg.NodeID))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			m.createFails = 0
			return
		}
		// After several failures in a row (NATS may have lost the bucket: a
		// lone server restarted without its files, whose errors say only
		// "no response"), make the bucket again if it is gone.
		m.log.Debug("lease", "err", err)
		if m.createFails++; m.createFails >= 3 {
			m.createFails = 0
			if kv, kerr := ensureKV(ctx, m.js, m.kvConfig()); kerr == nil {
				m.kv = kv
			}
		}
		return
	}
	m.becomeCoreLocked(rev, sent)
}

// Shutdown hands the core role over at once (deleting the lease), tells
// every client to go away and stops.
func (m *Member) Shutdown(ctx context.Context) error {
	var err error
	m.stopOnce.Do(func() {
		m.mu.Lock()
		close(m.stop)
		if t := m.core.Load(); t != nil {
			// Stop taking the edges' messages before another node can take
			// the lease and subscribe too: no message is handled twice.
			t.halt()
			_ = m.nc.Flush()
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			if derr := m.kv.Delete(dctx, leaseKey, jetstream.LastRevision(t.rev)); derr != nil {
				m.log.Debug("release lease", "err", derr)
			}
			cancel()
			err = m.stepDownCtxLocked(ctx)
		}
		m.mu.Unlock()
		m.wg.Wait()
		if eerr := m.edge.shutdown(ctx); err == nil {
			err = eerr
		}
	})
	return err
}

// collectors are the cluster's figures on /metrics of both nodes.
func (m *Member) collectors() []prometheus.Collector {
	g := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "xinling", Subsystem: "cluster", Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		g("is_core", "1 when this node runs the sessions (holds the core lease).", func() float64 {
			if m.IsCore() {
				return 1
			}
			return 0
		}),
		g("term", "The lease revision of the core this node follows.", func() float64 {
			m.edge.mu.Lock()
			defer m.edge.mu.Unlock()
			return float64(m.edge.term)
		}),
		g("edges", "Nodes whose edges the core hears from, itself included (on the core).", func() float64 {
			if t := m.core.Load(); t != nil {
				return float64(t.edgeCount())
			}
			return 0
		}),
	}
}

func (m *Member) serverConfig() server.Config {
	c := m.cfg.Server
	c.Logger = m.log
	c.Collectors = append(append([]prometheus.Collector(nil), c.Collectors...), m.collectors()...)
	return c
}

// heartbeat payload: the lease revision (term), then the core's id.
func encodeBeat(term uint64, id string) []byte {
	return append(binary.AppendUvarint(nil, term), id...)
}

func decodeBeat(b []byte) (uint64, string, bool) {
	term, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, "", false
	}
	return term, string(b[k:]), true
}

// Following is the id of the core this member's edge relays to ("" while it knows none).
func (m *Member) Following() string {
	m.edge.mu.Lock()
	defer m.edge.mu.Unlock()
	return m.edge.coreID
}

func (m *Member) kvConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:   m.cfg.Prefix + "_lease",
		TTL:      m.cfg.LeaseTTL,
		History:  1,
		Storage:  jetstream.FileStorage, // survives a restart of NATS, and its revisions keep counting up
		Replicas: m.cfg.Replicas,
	}
}

// ensureKV binds to the bucket, creating it when absent; attempts are short
// because JetStream leaves all but one of several concurrent creations
// unanswered (the members start together).
func ensureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		kv, err := js.KeyValue(actx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(actx, cfg)
		}
		cancel()
		if err == nil {
			return kv, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond): // a cluster still gathering its peers
		}
	}
}
