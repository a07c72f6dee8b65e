package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS starts an embedded JetStream server keeping its data in dir; it is
// shut down at cleanup, or earlier by calling stop (which is idempotent).
func startNATS(tb testing.TB, dir string) (srv *natsserver.Server, stop func()) {
	tb.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
	}
	tb.Cleanup(stop)
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("embedded nats-server not ready")
	}
	return srv, stop
}

// connectJS connects to srv; the connection is closed at cleanup, or earlier
// by calling closeConn.
func connectJS(tb testing.TB, srv *natsserver.Server) (js jetstream.JetStream, closeConn func()) {
	tb.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err = jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js, nc.Close
}

// openNATS opens a store on js; it is closed at cleanup.
func openNATS(tb testing.TB, js jetstream.JetStream, opts NATSOptions) Store {
	tb.Helper()
	s, err := NATS(js, opts)
	if err != nil {
		tb.Fatal(err)
	}
	closeAtCleanup(tb, s)
	return s
}

// newNATS is the conformance suite's opener: a store on its own embedded
// server.
func newNATS(tb testing.TB, opts Options) Store {
	srv, _ := startNATS(tb, tb.TempDir())
	js, _ := connectJS(tb, srv)
	return openNATS(tb, js, NATSOptions{Store: opts})
}

// TestNATSOptions checks the option checks.
func TestNATSOptions(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	for _, opts := range []NATSOptions{
		{Prefix: "a.b"}, {Prefix: "a b"}, {Prefix: "*"}, {Log: "x.y"}, {Replicas: -1}, {Replicas: 6},
		{Replicas: 3}, // a single server cannot hold 3 replicas
	} {
		if s, err := NATS(js, opts); err == nil {
			s.Close()
			t.Errorf("NATS(%+v): no error", opts)
		}
	}
	if _, err := NATS(nil, NATSOptions{}); err == nil {
		t.Error("NATS(nil): no error")
	}
}

// fill writes a little of everything and returns the queue's keys.
func fill(t *testing.T, s Store, n int) []uint64 {
	t.Helper()
	must(t, s.SetUserAttr("app", "alice", "nick", "Al"))
	must(t, s.SetChannelAttr("app", "ch", "topic", "hi"))
	must(t, s.SetChannelExpiry("app", "ch", time.UnixMilli(1_700_000_000_000)))
	var keys []uint64
	for i := range n {
		keys = append(keys, enqueue(t, s, "app", "bob", Queued{From: "alice", Msg: fmt.Sprint(i), MID: fmt.Sprint("m", i), TS: 1}, 0, 0))
	}
	return keys
}

// wantFilled checks what fill wrote, with the queue's first cut keys dequeued.
func wantFilled(t *testing.T, s Store, keys []uint64, cut int) {
	t.Helper()
	wantAttr(t, s, "app", "alice", "nick", "Al")
	m, err := s.ChannelAttrs("app", "ch")
	wantMap(t, "ChannelAttrs", m, err, map[string]string{"topic": "hi"})
	q := queue(t, s, "app", "bob", 0)
	var got []uint64
	for _, m := range q {
		got = append(got, m.Key)
	}
	if !slices.Equal(got, keys[cut:]) {
		t.Fatalf("queue keys %v, want %v", got, keys[cut:])
	}
	if k := enqueue(t, s, "app", "bob", Queued{Msg: "after"}, 0, 0); k <= keys[len(keys)-1] {
		t.Fatalf("key after reopening %d not above %d", k, keys[len(keys)-1])
	}
	// The message ids came back with the log.
	if _, err := tryEnqueue(s, "app", "carol", Queued{From: "alice", MID: "m0"}, 0, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resend of an id from before reopening: %v, want ErrDuplicate", err)
	}
}

// TestNATSReopen: a store opened again reads everything from the log.
func TestNATSReopen(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	a, err := NATS(js, NATSOptions{})
	must(t, err)
	keys := fill(t, a, 20)
	a.Dequeue("app", "bob", keys[4])
	must(t, a.Close())
	b := openNATS(t, js, NATSOptions{})
	wantFilled(t, b, keys, 5)
	wantExpired(t, b, time.UnixMilli(1_700_000_000_000), [2]string{"app", "ch"})
}

// TestNATSSnapshot: with a small snapshot size the log is replaced by
// snapshots as it grows, and a reopened store reads the latest snapshot
// and the log after it.
func TestNATSSnapshot(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	opts := NATSOptions{SnapshotBytes: 4 << 10}
	a, err := NATS(js, opts)
	must(t, err)
	keys := fill(t, a, 300)
	a.Dequeue("app", "bob", keys[99])
	must(t, a.Close()) // waits for a snapshot being written
	logSt, err := js.Stream(context.Background(), "XL_LOG_0")
	must(t, err)
	info, err := logSt.Info(context.Background())
	must(t, err)
	if info.State.FirstSeq <= 1 {
		t.Errorf("the log starts at %d after snapshots: not purged", info.State.FirstSeq)
	}
	snapSt, err := js.Stream(context.Background(), "XL_SNAP_0")
	must(t, err)
	sinfo, err := snapSt.Info(context.Background())
	must(t, err)
	if sinfo.State.Msgs == 0 {
		t.Fatal("no snapshot was written")
	}
	b := openNATS(t, js, opts)
	wantFilled(t, b, keys, 100)
}

// TestNATSFenced: a second writer on the same log makes the first one's
// next write fail instead of forking the log.
func TestNATSFenced(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	a := openNATS(t, js, NATSOptions{})
	must(t, a.SetUserAttr("app", "alice", "nick", "Al"))
	b := openNATS(t, js, NATSOptions{})
	must(t, b.SetUserAttr("app", "alice", "nick", "Bee"))
	failed := a.(interface{ Failed() <-chan struct{} }).Failed()
	select {
	case <-failed:
		t.Fatal("Failed closed before a write failed")
	default:
	}
	err := a.SetUserAttr("app", "alice", "nick", "stale")
	if err == nil || !strings.Contains(err.Error(), "another writer") {
		t.Fatalf("write of a replaced writer: %v, want it refused", err)
	}
	select {
	case <-failed: // what a cluster member waits on to let the shard go
	case <-time.After(10 * time.Second):
		t.Fatal("Failed not closed after the write failed")
	}
	if _, err := tryEnqueue(a, "app", "bob", Queued{Msg: "x"}, 0, 0); err == nil {
		t.Fatal("a replaced writer still takes messages")
	}
	wantAttr(t, b, "app", "alice", "nick", "Bee")
	c := openNATS(t, js, NATSOptions{})
	wantAttr(t, c, "app", "alice", "nick", "Bee")
	// a's failure is reported at Close too; b and c are fine.
	if err := a.Close(); err == nil {
		t.Error("Close of a failed store: no error")
	}
}

// TestNATSPartialBatch: a batch whose writer died between its parts is not
// applied, and the next writer appends after it.
func TestNATSPartialBatch(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	a := openNATS(t, js, NATSOptions{})
	must(t, a.SetUserAttr("app", "alice", "nick", "Al"))
	var half Batch
	half.Set(itemKey(tagUser, "app", "alice", "nick"), []byte("half"))
	msg := nats.NewMsg("XL.log.0")
	msg.Data = encodeOps(&half)
	msg.Header.Set("Xl-Batch", "dead-1") // no Xl-End
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	b := openNATS(t, js, NATSOptions{})
	wantAttr(t, b, "app", "alice", "nick", "Al")
	must(t, b.SetUserAttr("app", "alice", "lang", "en"))
	c := openNATS(t, js, NATSOptions{})
	wantAttr(t, c, "app", "alice", "nick", "Al")
	wantAttr(t, c, "app", "alice", "lang", "en")
}

// TestNATSLargeBatch: a batch over one message's size goes in parts and
// comes back whole.
func TestNATSLargeBatch(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	b, err := OpenNATSBackend(js, NATSOptions{})
	must(t, err)
	var big Batch
	val := bytes.Repeat([]byte("v"), 8000)
	for i := range 300 { // 2.4 MB: five parts
		big.Set([]byte(fmt.Sprintf("k%04d", i)), val)
	}
	must(t, b.Apply(&big))
	must(t, b.Close())
	b2, err := OpenNATSBackend(js, NATSOptions{})
	must(t, err)
	defer b2.Close()
	n := 0
	must(t, b2.Scan([]byte("k"), []byte("l"), func(k, v []byte) error {
		if !bytes.Equal(v, val) {
			return fmt.Errorf("%s: wrong value", k)
		}
		n++
		return nil
	}))
	if n != 300 {
		t.Fatalf("read back %d keys, want 300", n)
	}
}

// startCluster starts n embedded servers clustered with each other.
func startCluster(tb testing.TB, n int) (srvs []*natsserver.Server, stops []func()) {
	tb.Helper()
	ports := make([]int, n)
	var routes []string
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[i]))
	}
	for i := range n {
		srv, err := natsserver.NewServer(&natsserver.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   tb.TempDir(),
			NoLog:      true,
			NoSigs:     true,
			Cluster:    natsserver.ClusterOpts{Name: "xl", Host: "127.0.0.1", Port: ports[i]},
			Routes:     natsserver.RoutesFromStr(strings.Join(routes, ",")),
		})
		if err != nil {
			tb.Fatal(err)
		}
		srv.Start()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				srv.Shutdown()
				srv.WaitForShutdown()
			})
		}
		tb.Cleanup(stop)
		srvs, stops = append(srvs, srv), append(stops, stop)
	}
	for _, srv := range srvs {
		if !srv.ReadyForConnections(10 * time.Second) {
			tb.Fatal("embedded nats-server not ready")
		}
	}
	return srvs, stops
}

// retryNATS opens a store, retrying while the cluster elects its leaders.
func retryNATS(tb testing.TB, js jetstream.JetStream, opts NATSOptions) Store {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := NATS(js, opts)
		if err == nil {
			tb.Cleanup(func() { s.Close() })
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNATSCluster runs the conformance suite on 3 replicas in a 3-node
// cluster, then fails the store over to another server after losing one.
func TestNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	srvs, stops := startCluster(t, 3)
	js0, close0 := connectJS(t, srvs[0])
	retryNATS(t, js0, NATSOptions{Replicas: 3, Prefix: "warmup"})

	t.Run("Conformance", func(t *testing.T) {
		for i, tc := range conformance {
			if tc.name == "Concurrent" || tc.name == "Dedupe" {
				continue // slow here, and about this process rather than replicas
			}
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				// Each on its own server, so that some read through a
				// server that is not the streams' leader.
				js, _ := connectJS(t, srvs[i%3])
				c := newClock()
				tc.fn(t, retryNATS(t, js, NATSOptions{Replicas: 3, Prefix: fmt.Sprint("c", i), Store: Options{Clock: c.now}}), c)
			})
		}
	})

	// A writes through server 0; server 0 then dies with A.
	a := retryNATS(t, js0, NATSOptions{Replicas: 3})
	keys := fill(t, a, 30)
	a.Dequeue("app", "bob", keys[9])
	must(t, a.Close())
	close0()
	stops[0]()

	// B, on server 1, takes over and reads every acknowledged write, once
	// the streams that server 0 led have elected new leaders.
	js1, _ := connectJS(t, srvs[1])
	b := retryNATS(t, js1, NATSOptions{Replicas: 3})
	wantFilled(t, b, keys, 10)
}
