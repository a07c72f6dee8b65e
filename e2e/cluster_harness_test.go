package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinling/xinling/server/cluster"
	"github.com/xinling/xinling/server/store"
)

// One NATS cluster of three embedded servers serves every clustered test of
// the run; each test's members use their own subject and bucket prefix.
var (
	natsOnce sync.Once
	natsDir  string
	natsSrvs []*cluster.NATS
	natsErr  error
	prefixes atomic.Int64
)

func sharedNATS(t testing.TB) []*cluster.NATS {
	t.Helper()
	natsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		natsDir, natsErr = os.MkdirTemp("", "xinling-e2e-nats-")
		if natsErr == nil {
			natsSrvs, natsErr = cluster.LocalCluster(ctx, 3, natsDir)
		}
	})
	if natsErr != nil {
		t.Fatalf("NATS cluster: %v", natsErr)
	}
	return natsSrvs
}

func stopNATS() {
	for _, n := range natsSrvs {
		n.Close()
	}
	if natsDir != "" {
		_ = os.RemoveAll(natsDir)
	}
}

// member is one node of a test cluster.
type member struct {
	m    *cluster.Member
	nats *cluster.NATS
	addr string
	done chan error
}

// The fault tests kill nodes: short timeouts notice it quickly. The rest of
// the suite kills none, and its clusters get the defaults' margins, so a
// machine starved by the race detector does not fail a node over.
const (
	testLease        = 3 * time.Second
	testNodeTimeout  = 1500 * time.Millisecond
	suiteLease       = 6 * time.Second
	suiteNodeTimeout = 5 * time.Second
)

func (s *srv) startMembers() {
	s.t.Helper()
	ns := sharedNATS(s.t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addrs := make([]string, s.size)
	for i, m := range s.members {
		addrs[i] = m.addr // a restart keeps the addresses the users know
	}
	s.members = nil
	for i := 0; i < s.size; i++ {
		s.members = append(s.members, s.startMember(ctx, ns[i%len(ns)], fmt.Sprintf("n%d", i), addrs[i]))
	}
	s.addr = s.members[0].addr // where a test's proxy points
	s.waitServed()
}

// startMember starts one member listening on addr ("": any port).
func (s *srv) startMember(ctx context.Context, nc *cluster.NATS, id, addr string) *member {
	s.t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l := listen(s.t, addr)
	mb, err := cluster.Start(ctx, cluster.Config{
		NATS: nc, Server: s.cfg, NodeID: id, URL: "ws://" + l.Addr().String(),
		OpenStore: clusterStore(nc, s.prefix), StorePrefix: "S" + s.prefix, Prefix: s.prefix, Replicas: 3,
		LeaseTTL: suiteLease, NodeTimeout: suiteNodeTimeout,
	})
	if err != nil {
		l.Close()
		s.t.Fatalf("member %s: %v", id, err)
	}
	m := &member{m: mb, nats: nc, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { m.done <- mb.Serve(l) }()
	return m
}

// waitServed waits until every shard is served and every member agrees by
// whom. 4 s on an idle machine; the bound is for one the whole CI run
// starves (JetStream creates every shard's streams).
func (s *srv) waitServed() {
	s.t.Helper()
	const bound = time.Minute
	deadline := time.Now().Add(bound)
	for !s.allServed() {
		if time.Now().After(deadline) {
			s.t.Fatalf("the shards are not all served after %v: %s", bound, s.serving())
		}
		time.Sleep(10 * time.Millisecond) // no event to wait on across members; poll with a deadline
	}
}

func (s *srv) allServed() bool {
	total := 0
	for _, m := range s.members {
		if m.done != nil {
			if !m.m.Settled() {
				return false
			}
			total += m.m.Serving()
		}
	}
	if len(s.members) == 0 || total != s.members[0].m.Shards() {
		return false
	}
	for k := range s.members[0].m.Shards() {
		want := ""
		for _, m := range s.members {
			if m.done == nil {
				continue
			}
			relay, _ := m.m.Owner(k)
			if want == "" {
				want = relay
			}
			if relay == "" || relay != want {
				return false
			}
		}
	}
	return true
}

func (s *srv) serving() string {
	var b strings.Builder
	for _, m := range s.members {
		fmt.Fprintf(&b, "%s serves %d; ", m.m.ID(), m.m.Serving())
	}
	return b.String()
}

// memberOf is the live member serving an account's or a channel's shard.
func (s *srv) memberOf(name string) *member {
	for _, m := range s.members {
		if m.done != nil && m.m.OwnerOf(testApp, name) == m.m.ID() {
			return m
		}
	}
	return nil
}

// target is where a proxy for account's connections points: the node
// serving it (which a login elsewhere would be redirected to, past the
// proxy), asked again for each connection.
func (s *srv) target(account string) func() string {
	return func() string {
		if s.size == 0 {
			return s.addr
		}
		if m := s.memberOf(account); m != nil {
			return m.addr
		}
		return s.addr
	}
}

func (s *srv) stopMembers() {
	if s.members == nil || s.members[0].done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range s.members {
		if err := m.m.Shutdown(ctx); err != nil {
			s.t.Errorf("shutdown: %v", err)
		}
		if err := <-m.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("serve: %v", err)
		}
		m.done = nil
	}
}

// clusterStore opens a shard's durable state in JetStream, each time a
// member wins the shard; it reaches JetStream through n, the member's own
// NATS server.
func clusterStore(n *cluster.NATS, prefix string) func(log string) (store.Store, error) {
	return func(log string) (store.Store, error) {
		return store.NATS(n.JS, store.NATSOptions{Replicas: 3, Prefix: "S" + prefix, Log: log})
	}
}
