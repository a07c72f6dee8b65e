package cluster

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jetStreamNATS is a lone nats-server with JetStream, joined by URL.
func jetStreamNATS(t *testing.T) *NATS {
	t.Helper()
	ns := natsServer(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Connect(ctx, NATSConfig{URL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// TestEdgeSendsOnlyToTheCoreItFollows: once an edge hears a core of a newer
// term, the deposed core gets nothing more from it — were it to keep
// serving (a core that has not yet noticed it lost the lease), no client
// message would reach it.
func TestEdgeSendsOnlyToTheCoreItFollows(t *testing.T) {
	n := jetStreamNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const prefix = "fence"
	// The lease is held by a node that is not in this test: the member
	// stays an edge.
	kv, err := n.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: prefix + "_lease", TTL: time.Minute,
		History: 1, Storage: jetstream.FileStorage, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, leaseKey, []byte("elsewhere")); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string // the subjects of the edge's messages, in order
	arrived := make(chan struct{}, 100)
	sub, err := n.Conn.Subscribe(prefix+".in.>", func(m *nats.Msg) {
		mu.Lock()
		got = append(got, m.Subject)
		mu.Unlock()
		arrived <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	m, err := Start(ctx, Config{NATS: n, Prefix: prefix, NodeTimeout: 600 * time.Millisecond, LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())

	beat := func(term uint64, id string) {
		if err := n.Conn.Publish(prefix+".core", encodeBeat(term, id)); err != nil {
			t.Fatal(err)
		}
	}
	// waitFrom waits for the edge's liveness message to core id of term,
	// beating for it meanwhile.
	waitFrom := func(term uint64, id string) {
		t.Helper()
		want := prefix + ".in." + id + "." + itoa(term)
		deadline := time.After(5 * time.Second)
		for {
			beat(term, id)
			select {
			case <-arrived:
				mu.Lock()
				last := got[len(got)-1]
				mu.Unlock()
				if last == want {
					return
				}
			case <-deadline:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("nothing on %s; got %v", want, got)
			}
		}
	}
	waitFrom(1, "old")
	waitFrom(2, "new")
	beat(1, "old") // the deposed core still beats: the edge ignores it
	for range 3 {
		waitFrom(2, "new")
	}
	mu.Lock()
	defer mu.Unlock()
	seenNew := false
	for _, s := range got {
		switch {
		case strings.HasSuffix(s, ".new.2"):
			seenNew = true
		case seenNew:
			t.Fatalf("the edge sent on %s after following the newer core: %v", s, got)
		}
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// stallingKV is a lease bucket that applies one renewal but answers it
// late, then answers none.
type stallingKV struct {
	jetstream.KeyValue
	late time.Duration

	mu      sync.Mutex
	applied time.Time // when the renewal that was applied was sent
}

func (kv *stallingKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	kv.mu.Lock()
	first := kv.applied.IsZero()
	if first {
		kv.applied = time.Now()
	}
	kv.mu.Unlock()
	if !first {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	r, err := kv.KeyValue.Update(ctx, key, value, rev)
	select {
	case <-time.After(kv.late):
		return r, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestCoreStepsDownBeforeItsLeaseExpires: a core whose renewals stall steps
// down two thirds of the TTL after its last renewal was written, a third
// before the others can take the lease: timed from the write, as the bucket
// times it, not from the (late) answer.
func TestCoreStepsDownBeforeItsLeaseExpires(t *testing.T) {
	n := jetStreamNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const ttl = 6 * time.Second
	m, err := Start(ctx, Config{NATS: n, Prefix: "stall", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for m.core.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the lone member did not take the lease")
		}
		time.Sleep(10 * time.Millisecond) // no event for winning the lease; polled with a deadline
	}
	kv := &stallingKV{late: ttl / 4} // answered within the renewal's timeout (a third)
	m.mu.Lock()
	kv.KeyValue = m.kv
	m.kv = kv
	m.mu.Unlock()
	for m.core.Load() != nil {
		if time.Now().After(deadline.Add(2 * ttl)) {
			t.Fatal("the core kept its role with its lease unrenewable")
		}
		time.Sleep(10 * time.Millisecond) // as above
	}
	down := time.Now()
	kv.mu.Lock()
	fence := kv.applied.Add(ttl * 2 / 3)
	kv.mu.Unlock()
	// A sixth of the TTL is left for the scheduler; the lease passes to
	// another node at a full TTL.
	if late := down.Sub(fence); late > ttl/6 {
		t.Fatalf("stepped down %v after two thirds of the TTL since the last renewal was written", late)
	}
}
