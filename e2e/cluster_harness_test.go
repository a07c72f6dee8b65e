package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
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
		nc := ns[i%len(ns)]
		mb, err := cluster.Start(ctx, cluster.Config{
			NATS: nc, Server: s.cfg, OpenStore: clusterStore(nc, s.prefix), Prefix: s.prefix, Replicas: 3,
			LeaseTTL: suiteLease, NodeTimeout: suiteNodeTimeout, Streams: store.NATSStreams("S" + s.prefix),
		})
		if err != nil {
			s.t.Fatalf("member %d: %v", i, err)
		}
		addr := "127.0.0.1:0"
		if addrs[i] != "" {
			addr = addrs[i]
		}
		l := listen(s.t, addr)
		m := &member{m: mb, nats: nc, addr: l.Addr().String(), done: make(chan error, 1)}
		go func() { m.done <- mb.Serve(l) }()
		s.members = append(s.members, m)
	}
	s.addr = s.members[0].addr // where a test's proxy points
	s.waitCore()
}

// waitCore waits until one member is the core and every member follows it.
func (s *srv) waitCore() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cores := 0
		for _, m := range s.members {
			if m.m.IsCore() {
				cores++
			}
		}
		if cores == 1 && s.allFollow() {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no single core after 10 s (%d cores)", cores)
		}
		time.Sleep(10 * time.Millisecond) // no event to wait on across members; poll with a deadline
	}
}

func (s *srv) allFollow() bool {
	core := ""
	for _, m := range s.members {
		if m.m.IsCore() {
			core = m.m.ID()
		}
	}
	for _, m := range s.members {
		if m.m.Following() != core {
			return false
		}
	}
	return true
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

// clusterStore opens the members' durable state in JetStream, each time a
// member becomes the core; it reaches JetStream through n, the member's
// own NATS server.
func clusterStore(n *cluster.NATS, prefix string) func() (store.Store, error) {
	return func() (store.Store, error) {
		return store.NATS(n.JS, store.NATSOptions{Replicas: 3, Prefix: "S" + prefix})
	}
}
