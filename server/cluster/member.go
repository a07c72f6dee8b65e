package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	Server server.Config // the node's settings (Peers and Store are set here)
	// OpenStore opens the durable store of one shard's log (store.NATS with
	// that Log), each time this member wins the shard; it is closed when the
	// member stops serving it.
	OpenStore func(log string) (store.Store, error)
	// StorePrefix is the prefix OpenStore's stores name their streams with
	// (store.NATSOptions.Prefix): a shard's streams are led from the NATS
	// server of the node serving it.
	StorePrefix string
	NodeID      string // unique among the members (default: random)
	// URL is where clients reach this node ("ws://host:port"): a login on
	// another node for an account this one serves is sent here.
	URL    string
	Prefix string // of subjects and buckets, so clusters can share a NATS (default "xl")
	// Shards is how many shards accounts and channels hash into (default
	// 12). Every member must say the same, for the cluster's whole life:
	// the first member records it, the others check.
	Shards int
	// Replicas of the shard lease bucket (default: min(3, NATS.ClusterSz)).
	Replicas int
	// LeaseTTL is how long a silent node keeps its shards (default 6 s): a
	// dead node's shards move after about this long. A holder renews every
	// sixth of it and lets a shard go after two thirds without a renewal.
	LeaseTTL time.Duration
	// NodeTimeout is how long a node may be silent before the others treat
	// it as gone (default 3 s): its sessions' channel memberships and calls
	// end, and what was waiting on it fails.
	NodeTimeout time.Duration
	Logger      *slog.Logger
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
	if c.Shards <= 0 {
		c.Shards = 12
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

// Member is one node of the cluster: a server.Node serving the shards it
// holds, and the transport to the other members. It is an http.Handler for
// the node's address.
type Member struct {
	cfg  Config
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	node *server.Node
	// relayID names this process on the transport: the node id and a
	// random incarnation, so a restarted node is a new peer.
	relayID string
	subs    []*nats.Subscription

	routes atomic.Pointer[[]route] // shard → who serves it, for the node's every request

	mu       sync.Mutex
	held     map[int]*hold
	peers    map[string]*peer // by relay id
	out      map[string]*outbox
	in       map[string]*inbound
	gaps     uint64
	stopping bool

	beat     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// peer is another member, as its heartbeats tell.
type peer struct {
	relay, node, url string
	since, heard     time.Time
	shards           map[int]uint64 // the shards it serves, by lease term
}

type route struct {
	relay string
	term  uint64
	local bool
	store store.Store
}

// Start joins the cluster and campaigns for shards.
func Start(ctx context.Context, cfg Config) (*Member, error) {
	cfg.defaults()
	if !subjectToken(cfg.NodeID) {
		return nil, fmt.Errorf("cluster: node id %q: use letters, digits, '-' and '_' only", cfg.NodeID)
	}
	if cfg.OpenStore == nil {
		return nil, errors.New("cluster: no OpenStore")
	}
	var inc [3]byte
	_, _ = rand.Read(inc[:])
	m := &Member{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), nc: cfg.NATS.Conn, js: cfg.NATS.JS,
		relayID: cfg.NodeID + "-" + hex.EncodeToString(inc[:]),
		held:    make(map[int]*hold), peers: make(map[string]*peer), out: make(map[string]*outbox), in: make(map[string]*inbound),
		beat: make(chan struct{}, 1), stop: make(chan struct{})}
	m.routes.Store(&[]route{})
	var err error
	if m.kv, err = ensureKV(ctx, m.js, m.kvConfig()); err != nil {
		return nil, fmt.Errorf("cluster: shard bucket: %w", err)
	}
	if err := m.checkShards(ctx); err != nil {
		return nil, err
	}
	if st, err := m.kv.Status(ctx); err == nil && st.TTL() != m.cfg.LeaseTTL {
		// The first node made the bucket: every node must time the leases alike.
		m.log.Warn("the shard bucket keeps another TTL; using it", "bucket_ttl", st.TTL(), "lease_ttl", m.cfg.LeaseTTL)
		m.cfg.LeaseTTL = st.TTL()
	}
	sc := cfg.Server
	sc.Peers = m
	sc.Logger = m.log
	sc.Collectors = append(append([]prometheus.Collector(nil), sc.Collectors...), m.collectors()...)
	m.node = server.New(sc)
	m.rebuildRoutes()
	for subj, h := range map[string]nats.MsgHandler{
		m.subject("n", m.relayID): m.onMessage,
		m.subject("hb"):           m.onBeat,
	} {
		sub, err := m.nc.Subscribe(subj, h)
		if err == nil {
			err = sub.SetPendingLimits(-1, -1) // what comes is bounded by the senders' own limits
		}
		if err != nil {
			m.unsubscribe()
			_ = m.node.Shutdown(ctx)
			return nil, fmt.Errorf("cluster: subscribe: %w", err)
		}
		m.subs = append(m.subs, sub)
	}
	m.wg.Add(2)
	go m.heartbeats()
	go m.campaign()
	return m, nil
}

func (m *Member) subject(parts ...string) string {
	s := m.cfg.Prefix
	for _, p := range parts {
		s += "." + p
	}
	return s
}

func (m *Member) kvConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:   m.cfg.Prefix + "_shards",
		TTL:      m.cfg.LeaseTTL,
		History:  1,
		Storage:  jetstream.FileStorage, // survives a restart of NATS, and its revisions keep counting up
		Replicas: m.cfg.Replicas,
	}
}

// checkShards records the shard count, or checks it against the one recorded.
func (m *Member) checkShards(ctx context.Context) error {
	cfg := jetstream.KeyValueConfig{Bucket: m.cfg.Prefix + "_config", History: 1, Storage: jetstream.FileStorage, Replicas: m.cfg.Replicas}
	kv, err := ensureKV(ctx, m.js, cfg)
	if err != nil {
		return fmt.Errorf("cluster: config bucket: %w", err)
	}
	want := []byte(fmt.Sprint(m.cfg.Shards))
	if _, err := kv.Create(ctx, "shards", want); err == nil {
		return nil
	}
	e, err := kv.Get(ctx, "shards")
	if err != nil {
		return fmt.Errorf("cluster: read the shard count: %w", err)
	}
	if string(e.Value()) != string(want) {
		return fmt.Errorf("cluster: this cluster has %s shards; this node was started with %d (--shards)", e.Value(), m.cfg.Shards)
	}
	return nil
}

// Node is the member's server node.
func (m *Member) Node() *server.Node { return m.node }

// ID is this member's node id.
func (m *Member) ID() string { return m.cfg.NodeID }

// RelayID is this process's name on the transport.
func (m *Member) RelayID() string { return m.relayID }

// ServeHTTP hands every request to the node. /healthz fails on a node that
// is stopped or hears no majority of the cluster: cut off, it can serve
// no login, and a load balancer should send clients elsewhere.
func (m *Member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		switch {
		case m.stopped():
			http.Error(w, "stopped\n", http.StatusServiceUnavailable)
			return
		case !m.hearsMajority():
			http.Error(w, "cut off: this node hears no majority of the cluster\n", http.StatusServiceUnavailable)
			return
		}
	}
	m.node.ServeHTTP(w, r)
}

// hearsMajority: this node and the peers heard within NodeTimeout are more
// than half of the cluster (the larger of Replicas and the nodes known).
func (m *Member) hearsMajority() bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hearsMajorityLocked(now)
}

func (m *Member) hearsMajorityLocked(now time.Time) bool {
	heard := 1
	for _, p := range m.peers {
		if now.Sub(p.heard) <= m.cfg.NodeTimeout {
			heard++
		}
	}
	return 2*heard > max(m.cfg.Replicas, len(m.peers)+1)
}

func (m *Member) stopped() bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
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

// Serving counts the shards this member serves now.
func (m *Member) Serving() int {
	n := 0
	for _, r := range *m.routes.Load() {
		if r.local {
			n++
		}
	}
	return n
}

// OwnerOf is the node id serving the shard of an account or a channel of
// app, "" while none does.
func (m *Member) OwnerOf(app, name string) string {
	k := server.ShardOf(app, name, m.cfg.Shards)
	r := (*m.routes.Load())[k]
	if r.local {
		return m.cfg.NodeID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.peers[r.relay]; p != nil {
		return p.node
	}
	return ""
}

// --- server.Peers ---------------------------------------------------------

func (m *Member) Self() string { return m.relayID }

// Nodes are the relays of the peers heard from within NodeTimeout.
func (m *Member) Nodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.peers))
	for r := range m.peers {
		out = append(out, r)
	}
	return out
}

func (m *Member) Shards() int { return m.cfg.Shards }

// Owner is the relay serving shard k, and whether it is this one.
func (m *Member) Owner(k int) (string, bool) {
	rs := *m.routes.Load()
	if k < 0 || k >= len(rs) {
		return "", false
	}
	return rs[k].relay, rs[k].local
}

func (m *Member) Store(k int) store.Store {
	rs := *m.routes.Load()
	if k < 0 || k >= len(rs) || !rs[k].local {
		return nil
	}
	return rs[k].store
}

func (m *Member) URL(relay string) string {
	if relay == m.relayID {
		return m.cfg.URL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.peers[relay]; p != nil {
		return p.url
	}
	return ""
}

// Send queues a record for relay.
func (m *Member) Send(relay string, rec []byte) {
	if relay == m.relayID {
		// Not sent to itself by the node; were it, it would come back in order.
		r := append([]byte(nil), rec...)
		go m.node.PeerMessage(relay, r)
		return
	}
	m.mu.Lock()
	o := m.out[relay]
	if o == nil {
		if _, known := m.peers[relay]; !known || m.stopping {
			m.mu.Unlock()
			return // gone: PeerGone told the node
		}
		o = newOutbox(m.nc, m.subject("n", relay), m.relayID)
		m.out[relay] = o
	}
	m.mu.Unlock()
	o.add(rec)
}

var _ server.Peers = (*Member)(nil)

// rebuildRoutes recomputes who serves each shard: this node for those it
// holds ready, else the live peer that says so with the latest term.
func (m *Member) rebuildRoutes() {
	m.mu.Lock()
	rs := make([]route, m.cfg.Shards)
	for k := range rs {
		if h := m.held[k]; h != nil && h.ready && !h.dropping {
			rs[k] = route{relay: m.relayID, term: h.term, local: true, store: h.store}
		}
	}
	for _, p := range m.peers {
		for k, term := range p.shards {
			if k < len(rs) && !rs[k].local && term >= rs[k].term {
				rs[k] = route{relay: p.relay, term: term}
			}
		}
	}
	old := *m.routes.Load()
	m.routes.Store(&rs)
	m.mu.Unlock()
	for k := range rs {
		if k < len(old) && old[k].relay != rs[k].relay {
			m.node.ShardMoved(k)
		}
	}
}

// --- heartbeats and liveness ----------------------------------------------

// beatMsg is a heartbeat: who, where its clients connect, what it serves.
type beatMsg struct {
	Relay  string         `json:"r"`
	Node   string         `json:"n"`
	URL    string         `json:"u"`
	Shards map[int]uint64 `json:"s,omitempty"` // serving, by term
	Bye    bool           `json:"bye,omitempty"`
}

// beatEvery is how often a node beats: six times per NodeTimeout, at least
// once a second.
func (m *Member) beatEvery() time.Duration { return min(m.cfg.NodeTimeout/6, time.Second) }

func (m *Member) beatNow() {
	select {
	case m.beat <- struct{}{}:
	default:
	}
}

func (m *Member) heartbeats() {
	defer m.wg.Done()
	t := time.NewTicker(m.beatEvery())
	defer t.Stop()
	for {
		m.publishBeat(false)
		select {
		case <-m.stop:
			return
		case <-m.beat:
		case now := <-t.C:
			m.expirePeers(now)
		}
	}
}

func (m *Member) publishBeat(bye bool) {
	b := beatMsg{Relay: m.relayID, Node: m.cfg.NodeID, URL: m.cfg.URL, Bye: bye}
	m.mu.Lock()
	for k, h := range m.held {
		if h.ready && !h.dropping && !bye {
			if b.Shards == nil {
				b.Shards = make(map[int]uint64)
			}
			b.Shards[k] = h.term
		}
	}
	m.mu.Unlock()
	raw, _ := json.Marshal(b)
	_ = m.nc.Publish(m.subject("hb"), raw)
}

func (m *Member) onBeat(msg *nats.Msg) {
	var b beatMsg
	if json.Unmarshal(msg.Data, &b) != nil || b.Relay == m.relayID || b.Relay == "" {
		return
	}
	now := time.Now()
	var gone []string
	joined := false
	m.mu.Lock()
	if b.Bye {
		if _, ok := m.peers[b.Relay]; ok {
			gone = append(gone, b.Relay)
		}
	} else {
		p := m.peers[b.Relay]
		if p == nil {
			p = &peer{relay: b.Relay, node: b.Node, since: now}
			m.peers[b.Relay] = p
			joined = true
			// The same node in a new life: the old one is gone.
			for r, q := range m.peers {
				if r != b.Relay && q.node == b.Node {
					gone = append(gone, r)
				}
			}
		}
		p.url, p.heard, p.shards = b.URL, now, b.Shards
	}
	// A shard we hold that a peer won later (while we could not renew).
	var lost []*hold
	for k, term := range b.Shards {
		if h := m.held[k]; h != nil && term > h.term && !h.dropping && !m.stopping {
			lost = append(lost, h)
		}
	}
	m.mu.Unlock()
	for _, h := range lost {
		m.log.Warn("another node serves a shard of ours; letting it go", "shard", h.k, "node", b.Node)
		m.wg.Add(1)
		go func() { // not in NATS's callback: ending its sessions takes a while
			defer m.wg.Done()
			m.drop(h, false)
		}()
	}
	for _, r := range gone {
		m.peerGone(r)
	}
	if joined {
		m.node.PeerJoined(b.Relay) // it learns who is logged in here
	}
	m.rebuildRoutes()
}

func (m *Member) expirePeers(now time.Time) {
	m.mu.Lock()
	var gone []string
	for r, p := range m.peers {
		if now.Sub(p.heard) > m.cfg.NodeTimeout {
			gone = append(gone, r)
		}
	}
	m.mu.Unlock()
	for _, r := range gone {
		m.log.Warn("a node went silent", "relay", r)
		m.peerGone(r)
	}
	if len(gone) > 0 {
		m.rebuildRoutes()
	}
}

// peerGone forgets a peer and tells the node.
func (m *Member) peerGone(relay string) {
	m.mu.Lock()
	_, known := m.peers[relay]
	delete(m.peers, relay)
	o := m.out[relay]
	delete(m.out, relay)
	delete(m.in, relay)
	m.mu.Unlock()
	if o != nil {
		go o.close()
	}
	if known {
		m.rebuildRoutes() // first: what PeerGone asks again goes to who serves now
		m.node.PeerGone(relay)
	}
}

func (m *Member) livePeers() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.peers))
	for _, p := range m.peers {
		out = append(out, p.node)
	}
	return out
}

// onMessage takes a transport message from another member.
func (m *Member) onMessage(msg *nats.Msg) {
	var lost string
	err := readMessage(msg.Data, func(sender string, seq uint64) *inbound {
		in, gap := m.inbound(sender, seq)
		if gap {
			lost = sender
		}
		return in
	}, func(sender string, rec []byte) {
		m.node.PeerMessage(sender, rec)
	})
	if err != nil {
		m.log.Warn("cluster: bad message", "err", err)
	}
	if lost != "" {
		m.node.PeerLost(lost)
	}
}

// inbound is what this member keeps of sender, and whether message seq is
// not the one after the last (messages between were lost).
func (m *Member) inbound(sender string, seq uint64) (*inbound, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.in[sender]
	gap := false
	if in == nil {
		in = &inbound{}
		m.in[sender] = in
	} else if seq != in.seq+1 {
		gap = true
		m.gaps++
		m.log.Warn("a message from a node was lost", "relay", sender, "want", in.seq+1, "got", seq)
		in.part = nil
	}
	in.seq = seq
	return in, gap
}

// --- the loop ---------------------------------------------------------------

func (m *Member) campaign() {
	defer m.wg.Done()
	// Hear the live nodes first: a node that campaigned alone would take
	// every shard, to hand most over again a NodeTimeout later; nodes
	// started together plan together.
	select {
	case <-m.stop:
		return
	case <-time.After(2 * m.beatEvery()):
	}
	t := time.NewTicker(m.cfg.LeaseTTL / 6)
	defer t.Stop()
	for {
		m.campaignOnce()
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// gatherLeader asks JetStream to lead a shard's streams from this node's
// NATS server: then only the death of this server makes the shard's writes
// wait for an election. A step-down JetStream refuses (the preferred peer
// is behind) is asked again, a few times; the shard is served meanwhile.
func (m *Member) gatherLeader(k int) {
	here := m.nc.ConnectedServerName()
	if here == "" {
		return
	}
	req, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": here}})
	for _, st := range store.NATSStreamsOf(m.cfg.StorePrefix, "s"+fmt.Sprint(k)) {
		for try := 0; try < 10; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			leader := StreamLeader(ctx, m.js, st)
			cancel()
			if leader == here {
				break
			}
			if try > 0 {
				select {
				case <-m.stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
			_, _ = m.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+st, req, time.Second)
		}
	}
}

// Shutdown hands every shard over (releasing the leases, so others take
// them at once), tells every client to go away and stops.
func (m *Member) Shutdown(ctx context.Context) error {
	var err error
	m.stopOnce.Do(func() {
		close(m.stop)
		m.mu.Lock()
		m.stopping = true
		held := make([]*hold, 0, len(m.held))
		for _, h := range m.held {
			held = append(held, h)
		}
		m.mu.Unlock()
		m.wg.Wait()
		var wg sync.WaitGroup // together: the leases are not renewed meanwhile
		for _, h := range held {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.drop(h, true)
			}()
		}
		wg.Wait()
		m.publishBeat(true)
		err = m.node.Shutdown(ctx)
		m.unsubscribe()
		m.mu.Lock()
		outs := m.out
		m.out = map[string]*outbox{}
		m.mu.Unlock()
		for _, o := range outs {
			o.close()
		}
	})
	return err
}

func (m *Member) unsubscribe() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
	_ = m.nc.Flush()
}

// collectors are the cluster's figures on the node's /metrics.
func (m *Member) collectors() []prometheus.Collector {
	g := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "xinling", Subsystem: "cluster", Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		g("shards", "Shards this node serves.", func() float64 { return float64(m.Serving()) }),
		g("shards_total", "Shards of the cluster.", func() float64 { return float64(m.cfg.Shards) }),
		g("nodes", "Members this node hears, itself included.", func() float64 { return float64(len(m.livePeers()) + 1) }),
		g("lost_messages", "Messages from other nodes that never came.", func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return float64(m.gaps)
		}),
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
