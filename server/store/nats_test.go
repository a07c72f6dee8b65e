package store

import (
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
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// newNATS is the conformance suite's opener: a store on its own embedded
// server.
func newNATS(tb testing.TB) Store {
	srv, _ := startNATS(tb, tb.TempDir())
	js, _ := connectJS(tb, srv)
	return openNATS(tb, js, NATSOptions{})
}

func TestTok(t *testing.T) {
	for _, s := range []string{
		"", "_", "__", "a", "alice", "Alice-01", "a.b", "a b", "*", ">", "a.*.>",
		"$JS", "%2E", "_2E", "名前", "ü", "\x00\xff", "a_b", "_41",
	} {
		tk := tok(s)
		if tk == "" || slices.ContainsFunc([]byte(tk), func(c byte) bool {
			return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_')
		}) {
			t.Errorf("tok(%q) = %q: not a safe token", s, tk)
		}
		back, err := untok(tk)
		if err != nil || back != s {
			t.Errorf("untok(tok(%q) = %q) = %q, %v", s, tk, back, err)
		}
	}
	if tok("a.b") == tok("a_2Eb") || tok("") == tok("_") {
		t.Error("tok is not injective")
	}
	for _, bad := range []string{"_4", "_zz", "a_", "_G0"} {
		if _, err := untok(bad); err == nil {
			t.Errorf("untok(%q): no error", bad)
		}
	}
}

// TestNATSNames checks that names which are special in NATS subjects stay
// separate and round-trip.
func TestNATSNames(t *testing.T) {
	s := newNATS(t)
	names := []string{"", "a", "a.b", "a b", "*", ">", "a.*", "a_2Eb", "_", "名前", "x\x00y"}
	attrs := []string{"a", "a.b", "*", ">", "_"}
	for i, app := range names {
		for j, acct := range names {
			for k, name := range attrs {
				must(t, s.SetUserAttr(app, acct, name, fmt.Sprint(i, j, k)))
			}
		}
	}
	for i, app := range names {
		for j, acct := range names {
			want := map[string]string{}
			for k, name := range attrs {
				want[name] = fmt.Sprint(i, j, k)
				wantAttr(t, s, app, acct, name, fmt.Sprint(i, j, k))
			}
			m, err := s.UserAttrs(app, acct)
			wantMap(t, fmt.Sprintf("UserAttrs(%q, %q)", app, acct), m, err, want)
		}
	}
	for _, ch := range names[1:] {
		must(t, s.SetChannelAttr("a", ch, "*", ch))
		must(t, s.SetChannelAttr("a", ch, ">", ""))
		must(t, s.SetChannelExpiry("a", ch, time.UnixMilli(1000)))
		enqueue(t, s, "a", ch, Queued{Msg: ch, TS: time.Now().UnixMilli()}, 0, 0)
	}
	must(t, s.ClearChannelAttrs("a", "*")) // not a wildcard over channels
	for _, ch := range names[1:] {
		want := map[string]string{"*": ch, ">": ""}
		if ch == "*" {
			want = map[string]string{}
		}
		m, err := s.ChannelAttrs("a", ch)
		wantMap(t, fmt.Sprintf("ChannelAttrs(a, %q)", ch), m, err, want)
		wantMsgs(t, fmt.Sprintf("Queue(a, %q)", ch), queue(t, s, "a", ch, 0), ch)
	}
	var want [][2]string
	for _, ch := range names[1:] {
		want = append(want, [2]string{"a", ch})
	}
	slices.SortFunc(want, func(x, y [2]string) int {
		if x[1] < y[1] {
			return -1
		}
		return 1
	})
	wantExpired(t, s, time.UnixMilli(1000), want...)
}

// TestNATSPersistence checks that everything survives closing the store and
// restarting the server on the same data, and that a second store on the
// same streams (another node, after a failover) sees it all.
func TestNATSPersistence(t *testing.T) {
	dir := t.TempDir()
	srv, stop := startNATS(t, dir)
	js, closeConn := connectJS(t, srv)
	opts := NATSOptions{Prefix: "T"}

	// Several nodes bind at once.
	stores := make([]Store, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = NATS(js, opts) })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	s := stores[0]

	now := time.Now().UnixMilli()
	t0 := time.UnixMilli(1_700_000_000_000)
	must(t, s.SetUserAttr("a", "alice", "nick", "Al"))
	must(t, s.SetUserAttr("b", "alice", "nick", "Other"))
	must(t, s.SetUserAttr("a", "alice", "gone", "x"))
	must(t, s.SetUserAttr("a", "alice", "gone", ""))
	must(t, s.SetChannelAttr("a", "ch", "topic", "hi"))
	must(t, s.SetChannelAttr("a", "ch", "blank", ""))
	must(t, s.SetChannelAttr("a", "keep", "topic", "kept"))
	must(t, s.SetChannelExpiry("a", "ch", t0))
	must(t, s.SetChannelExpiry("a", "keep", t0.Add(time.Hour)))
	k1 := enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "one", MID: "m1", TS: now}, 10, time.Hour)
	k2 := enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "two", MID: "m2", TS: now + 1}, 10, time.Hour)
	k3 := enqueue(t, s, "a", "carol", Queued{From: "alice", Msg: "gone", TS: now}, 0, 0)
	must(t, s.Dequeue("a", "carol", k3)) // drained queue must still not reuse keys

	// Another node sees it all at once.
	m, err := stores[1].ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs(a, ch) from another store", m, err, map[string]string{"topic": "hi", "blank": ""})
	wantMsgs(t, "Queue(a, bob) from another store", queue(t, stores[1], "a", "bob", 0), "one", "two")

	for _, st := range stores {
		must(t, st.Close())
	}
	if err := s.SetUserAttr("a", "alice", "nick", "x"); err == nil {
		t.Fatal("SetUserAttr after Close: no error")
	}
	if _, err := s.Queue("a", "bob", 0); err == nil {
		t.Fatal("Queue after Close: no error")
	}
	// Close left the connection alone.
	if _, err := js.AccountInfo(t.Context()); err != nil {
		t.Fatalf("connection unusable after Close: %v", err)
	}
	closeConn()
	stop()

	srv, _ = startNATS(t, dir)
	js, _ = connectJS(t, srv)
	s = openNATS(t, js, opts)

	wantAttr(t, s, "a", "alice", "nick", "Al")
	wantAttr(t, s, "b", "alice", "nick", "Other")
	m, err = s.UserAttrs("a", "alice")
	wantMap(t, "UserAttrs(a, alice) after restart", m, err, map[string]string{"nick": "Al"})
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs(a, ch) after restart", m, err, map[string]string{"topic": "hi", "blank": ""})
	got := queue(t, s, "a", "bob", 0)
	want := []Queued{
		{Key: k1, From: "alice", Msg: "one", MID: "m1", TS: now},
		{Key: k2, From: "alice", Msg: "two", MID: "m2", TS: now + 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Queue after restart = %+v, want %+v", got, want)
	}
	if k := enqueue(t, s, "a", "bob", Queued{Msg: "three", TS: now}, 10, time.Hour); k <= k2 {
		t.Fatalf("key after restart %d not above %d", k, k2)
	}
	if k := enqueue(t, s, "a", "carol", Queued{Msg: "again", TS: now}, 0, 0); k <= k3 {
		t.Fatalf("key for drained queue after restart %d not above %d", k, k3)
	}
	wantExpired(t, s, t0, [2]string{"a", "ch"})
	wantExpired(t, s, t0.Add(time.Hour), [2]string{"a", "keep"})

	// A store with another prefix shares nothing.
	o := openNATS(t, js, NATSOptions{Prefix: "other"})
	wantAttr(t, o, "b", "alice", "nick", "")
}

// TestNATSOptions checks the option checks.
func TestNATSOptions(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	for _, opts := range []NATSOptions{
		{Prefix: "a.b"}, {Prefix: "a b"}, {Prefix: "*"}, {Replicas: -1}, {Replicas: 6},
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
// cluster, then fails one node over to another after losing a server.
func TestNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	srvs, stops := startCluster(t, 3)
	js0, close0 := connectJS(t, srvs[0])
	retryNATS(t, js0, NATSOptions{Replicas: 3, Prefix: "warmup"})

	t.Run("Conformance", func(t *testing.T) {
		for i, tc := range conformance {
			if tc.name == "Concurrent" {
				continue // slow here, and about this process rather than replicas
			}
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				// Each on its own server, so that some read through a
				// server that is not the streams' leader.
				js, _ := connectJS(t, srvs[i%3])
				tc.fn(t, retryNATS(t, js, NATSOptions{Replicas: 3, Prefix: fmt.Sprint("c", i)}))
			})
		}
	})

	// Node A, on server 0, writes; server 0 then dies with A.
	a := retryNATS(t, js0, NATSOptions{Replicas: 3})
	now := time.Now().UnixMilli()
	must(t, a.SetUserAttr("app", "alice", "nick", "Al"))
	must(t, a.SetChannelAttr("app", "ch", "topic", "hi"))
	var keys []uint64
	for i := range 30 {
		keys = append(keys, enqueue(t, a, "app", "bob", Queued{Msg: fmt.Sprint(i), TS: now}, 100, time.Hour))
	}
	must(t, a.Dequeue("app", "bob", keys[9]))
	must(t, a.Close())
	close0()
	stops[0]()

	// Node B, on server 1, takes over and sees every acknowledged write,
	// once the streams that server 0 led have elected new leaders.
	js1, _ := connectJS(t, srvs[1])
	b := retryNATS(t, js1, NATSOptions{Replicas: 3})
	eventually := func(what string, f func() error) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := f()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after failover: %v", what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var q []Queued
	eventually("Queue", func() (err error) { q, err = b.Queue("app", "bob", 0); return err })
	var got []uint64
	for _, m := range q {
		got = append(got, m.Key)
	}
	if !slices.Equal(got, keys[10:]) {
		t.Fatalf("Queue keys after failover = %v, want %v", got, keys[10:])
	}
	var nick string
	eventually("UserAttr", func() (err error) { nick, err = b.UserAttr("app", "alice", "nick"); return err })
	if nick != "Al" {
		t.Fatalf("UserAttr after failover = %q, want Al", nick)
	}
	var m map[string]string
	eventually("ChannelAttrs", func() (err error) { m, err = b.ChannelAttrs("app", "ch"); return err })
	wantMap(t, "ChannelAttrs after failover", m, nil, map[string]string{"topic": "hi"})
	if k := enqueue(t, b, "app", "bob", Queued{Msg: "after", TS: now}, 100, time.Hour); k <= keys[29] {
		t.Fatalf("key after failover %d not above %d", k, keys[29])
	}
}

// TestNATSQueueCacheForgotten: the queue's count is cached by the store
// that writes it; when another store (a new core) has emptied the queue,
// ForgetCache makes the first one see that, and until then it is only
// stricter (it may say full, never lose a message).
func TestNATSQueueCacheForgotten(t *testing.T) {
	srv, _ := startNATS(t, t.TempDir())
	js, _ := connectJS(t, srv)
	a := openNATS(t, js, NATSOptions{})
	b := openNATS(t, js, NATSOptions{})
	const max = 3
	var last uint64
	for i := range max {
		k, err := a.Enqueue("app", "bob", Queued{From: "alice", Msg: fmt.Sprint(i), TS: time.Now().UnixMilli()}, max, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		last = k
	}
	if _, err := a.Enqueue("app", "bob", Queued{Msg: "over", TS: time.Now().UnixMilli()}, max, time.Hour); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("enqueue past max: %v, want ErrQueueFull", err)
	}
	if err := b.Dequeue("app", "bob", last); err != nil {
		t.Fatal(err)
	}
	a.(interface{ ForgetCache() }).ForgetCache()
	if _, err := a.Enqueue("app", "bob", Queued{Msg: "room again", TS: time.Now().UnixMilli()}, max, time.Hour); err != nil {
		t.Fatalf("enqueue after the other store emptied the queue: %v", err)
	}
	// Dequeue keeps the count exact: two more fit, then it is full.
	for i := range 2 {
		if _, err := a.Enqueue("app", "bob", Queued{Msg: fmt.Sprint("more", i), TS: time.Now().UnixMilli()}, max, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Enqueue("app", "bob", Queued{Msg: "over", TS: time.Now().UnixMilli()}, max, time.Hour); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("enqueue past max: %v, want ErrQueueFull", err)
	}
	q, err := a.Queue("app", "bob", time.Hour)
	if err != nil || len(q) != max {
		t.Fatalf("queue: %d messages, %v; want %d", len(q), err, max)
	}
	if err := a.Dequeue("app", "bob", q[0].Key); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Enqueue("app", "bob", Queued{Msg: "one freed", TS: time.Now().UnixMilli()}, max, time.Hour); err != nil {
		t.Fatalf("enqueue after a dequeue freed one: %v", err)
	}
}
