package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/cluster"
	"github.com/xinling/xinling/server/store"
)

// Every loop of the tool stops by itself and every connection closes: no
// goroutine may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs a real xinling server in process, its limits out of the way.
func startServer(t *testing.T) string {
	t.Helper()
	n := server.New(benchLimits())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- n.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "ws://" + l.Addr().String() + "/ws"
}

// benchLimits are a server's limits out of the benchmark's way.
func benchLimits() server.Config {
	return server.Config{UserRate: 1 << 30, ChannelRate: 1 << 30, RequestRate: 1 << 30, LoginRate: 1 << 30, QueueMax: 1 << 20}
}

// startCluster runs a three-node cluster in process (three embedded NATS
// servers, one member each, the shards spread over them) and returns the
// members' WebSocket URLs once every shard is served where it is planned.
// Every /metrics is the same process's, so the summed CPU and RSS count it
// three times: only the mechanics are tested here.
func startCluster(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns, err := cluster.LocalCluster(ctx, 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var (
		members []*cluster.Member
		served  []chan error
		urls    []string
	)
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for i := range members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := members[i].Shutdown(ctx); err != nil {
					t.Errorf("shutdown %d: %v", i, err)
				}
				if err := <-served[i]; err != nil {
					t.Errorf("serve %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		for _, n := range ns {
			n.Close()
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range ns {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		js := ns[i].JS
		open := func(log string) (store.Store, error) {
			return store.NATS(js, store.NATSOptions{Replicas: 3, Prefix: "X", Log: log})
		}
		url := "ws://" + l.Addr().String()
		m, err := cluster.Start(ctx, cluster.Config{NATS: ns[i], Server: benchLimits(), OpenStore: open, StorePrefix: "X",
			NodeID: fmt.Sprintf("node%d", i+1), URL: url, Replicas: 3, LeaseTTL: 1500 * time.Millisecond,
			NodeTimeout: 1500 * time.Millisecond, Logger: quiet})
		if err != nil {
			l.Close()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Serve(l) }()
		members, served = append(members, m), append(served, done)
		urls = append(urls, url+"/ws")
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		settled := true
		for _, m := range members {
			settled = settled && m.Settled()
		}
		if settled {
			return urls
		}
		if time.Now().After(deadline) {
			t.Fatal("the shards not where they are planned within 30 s")
		}
		time.Sleep(20 * time.Millisecond) // polling the members' shards; deadline above
	}
}

// startRaw runs the baseline broadcast server in process.
func startRaw(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newRawServer()
	served := make(chan error, 1)
	go func() { served <- s.serve(l) }()
	t.Cleanup(func() {
		s.close()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "ws://" + l.Addr().String() + "/"
}

// opts are a scenario's options as the command line would make them.
func opts(t *testing.T, scenario string, args ...string) *options {
	t.Helper()
	o := &options{scenario: scenario, quiet: true}
	fs := newFlags(o, &bytes.Buffer{})
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.defaults(set); err != nil {
		t.Fatal(err)
	}
	return o
}

func runOK(t *testing.T, o *options) *Result {
	t.Helper()
	start := time.Now()
	r, err := run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var out bytes.Buffer
	r.print(&out)
	t.Logf("%s in %s:\n%s", o.scenario, time.Since(start).Round(time.Millisecond), out.String())
	if err := r.check(); err != nil {
		t.Fatal(err)
	}
	if !r.ServerFig.Scraped {
		t.Errorf("server figures not scraped: %s", r.ServerFig.ScrapeErr)
	}
	if r.ServerFig.RSSPeak <= 0 {
		t.Errorf("no peak RSS")
	}
	return r
}

// checkDelivery asserts a messaging run moved messages and lost none.
func checkDelivery(t *testing.T, r *Result) {
	t.Helper()
	if r.Accepted == 0 || r.Delivered == 0 || r.DelivPerS <= 0 || r.MsgsPerSec <= 0 {
		t.Fatalf("no throughput: accepted %d, delivered %d", r.Accepted, r.Delivered)
	}
	if r.Lost != 0 || r.OutOfOrder != 0 || r.Unanswered != 0 || r.Refused != 0 || r.Foreign != 0 {
		t.Fatalf("lost %d, out of order %d, unanswered %d, refused %d, foreign %d",
			r.Lost, r.OutOfOrder, r.Unanswered, r.Refused, r.Foreign)
	}
	if r.Delivered != r.Expected {
		t.Fatalf("delivered %d, expected %d", r.Delivered, r.Expected)
	}
	if r.Latency.Count != r.Delivered && r.Scenario == "fanout" {
		t.Fatalf("latency of %d deliveries recorded, %d delivered", r.Latency.Count, r.Delivered)
	}
	if r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.P999 < r.Latency.P99 {
		t.Fatalf("latency p50 %s p99 %s p99.9 %s", r.Latency.P50, r.Latency.P99, r.Latency.P999)
	}
}

func TestFanout(t *testing.T) {
	url := startServer(t)
	// 50 members over 3 source addresses, 2 publishers.
	o := opts(t, "fanout", "--server", url, "--conns", "50", "--pubs", "2", "--window", "16", "--duration", "1s", "--per-addr", "20")
	r := runOK(t, o)
	checkDelivery(t, r)
	if r.Addrs != 3 {
		t.Errorf("%d source addresses, want 3", r.Addrs)
	}
	if r.Expected != r.Accepted*50 {
		t.Errorf("expected %d deliveries for %d messages to 50 members", r.Expected, r.Accepted)
	}
	if d := r.ServerFig.Counters["xinling_channel_deliveries_total"]; d != float64(r.Delivered) {
		t.Errorf("server counted %v deliveries, the members %d", d, r.Delivered)
	}
	if r.ServerUSPer <= 0 {
		t.Errorf("no server CPU per delivery")
	}
}

// checkNodes asserts a run on several servers reported each one: dialed
// connections spread round robin, the sessions (where logins were
// redirected, while they are open) summing to conns and every shard served by one of them.
func checkNodes(t *testing.T, r *Result, urls []string, conns int, open bool) {
	t.Helper()
	if len(r.Nodes) != len(urls) {
		t.Fatalf("%d nodes reported, want %d", len(r.Nodes), len(urls))
	}
	dialed, sessions, shards := 0, 0, 0
	var cpu float64
	for i, n := range r.Nodes {
		if n.Server != urls[i] {
			t.Errorf("node %d is %s, want %s", i, n.Server, urls[i])
		}
		if n.Shards == 0 {
			t.Errorf("node %d serves no shard", i)
		}
		if !n.Scraped || n.RSSPeak <= 0 {
			t.Errorf("node %d not scraped: %s", i, n.ScrapeErr)
		}
		dialed += n.Conns
		sessions += n.Sessions
		shards += n.Shards
		cpu += n.CPU
	}
	want := 0 // sessions still open at the end of the run
	if open {
		want = conns
	}
	if dialed != conns || sessions != want {
		t.Errorf("%d connections dialed, %d sessions over the nodes, want %d and %d", dialed, sessions, conns, want)
	}
	if shards != 12 {
		t.Errorf("%d shards served, want 12", shards)
	}
	if d := r.ServerFig.CPU - cpu; d < -1e-9 || d > 1e-9 {
		t.Errorf("server CPU %v is not the nodes' sum %v", r.ServerFig.CPU, cpu)
	}
	if r.Server != strings.Join(urls, ",") {
		t.Errorf("server %q", r.Server)
	}
}

// TestCluster runs the scenarios against the three nodes of a cluster at
// once: connection i dials node i mod 3 and logs in where its account is
// served, so channel members and the two sides of a pair sit on different
// nodes and most frames cross between them.
func TestCluster(t *testing.T) {
	urls := startCluster(t)
	servers := strings.Join(urls, ",")
	t.Run("fanout", func(t *testing.T) {
		o := opts(t, "fanout", "--server", servers, "--conns", "30", "--pubs", "2", "--window", "16", "--duration", "1s")
		r := runOK(t, o)
		checkDelivery(t, r)
		checkNodes(t, r, urls, 30, true)
		if want := urls[:2]; strings.Join(r.PubServers, ",") != strings.Join(want, ",") {
			t.Errorf("publishers on %v, want %v", r.PubServers, want)
		}
		if d := r.ServerFig.Counters["xinling_channel_deliveries_total"]; d != float64(r.Delivered) {
			t.Errorf("the nodes counted %v deliveries, the members %d", d, r.Delivered)
		}
		var out bytes.Buffer
		r.print(&out)
		for _, want := range []string{"3 servers ", "node 1 ", "node 3 ", "shards, 10 connections", "publishers   0 on node 1", "1 on node 2"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
	t.Run("p2p", func(t *testing.T) {
		o := opts(t, "p2p", "--server", servers, "--conns", "15", "--window", "4", "--duration", "700ms")
		r := runOK(t, o)
		checkDelivery(t, r)
		checkNodes(t, r, urls, 30, true)
	})
	t.Run("one entry node", func(t *testing.T) {
		o := opts(t, "fanout", "--server", urls[0], "--scrape", strings.Join(urls[1:], ","), "--conns", "20", "--duration", "500ms")
		r := runOK(t, o)
		checkDelivery(t, r)
		if len(r.Nodes) != 3 || r.Nodes[0].Server != urls[0] || r.Nodes[0].Conns != 20 || r.Nodes[1].Conns != 0 || r.Nodes[2].Conns != 0 {
			t.Fatalf("nodes %+v", r.Nodes)
		}
		if s := r.Nodes[0].Sessions + r.Nodes[1].Sessions + r.Nodes[2].Sessions; s != 20 || r.Nodes[0].Sessions == 20 {
			t.Errorf("sessions %d, %d, %d: want 20, redirected to the accounts' nodes", r.Nodes[0].Sessions, r.Nodes[1].Sessions, r.Nodes[2].Sessions)
		}
		if len(r.PubServers) != 1 || r.PubServers[0] != urls[0] {
			t.Errorf("publishers on %v", r.PubServers)
		}
	})
	t.Run("logins", func(t *testing.T) {
		o := opts(t, "logins", "--server", servers, "--conns", "30", "--window", "8")
		r := runOK(t, o)
		if r.Logins != 30 || r.Failures != 0 {
			t.Fatalf("%d logins, %d failures", r.Logins, r.Failures)
		}
		checkNodes(t, r, urls, 30, false)
		if r.ServerFig.Counters["xinling_login_failures_total"] != 0 || r.ServerFig.Counters["xinling_login_redirects_total"] == 0 {
			t.Errorf("counters %v: want redirects, no failures", r.ServerFig.Counters)
		}
	})
}

// A single server reports as it always did: no per-node figures.
func TestOneServerNoNodes(t *testing.T) {
	url := startServer(t)
	o := opts(t, "fanout", "--server", url+" ,", "--conns", "5", "--duration", "200ms")
	r := runOK(t, o)
	if r.Nodes != nil || r.PubServers != nil || r.Server != url {
		t.Fatalf("nodes %v, publishers %v, server %q", r.Nodes, r.PubServers, r.Server)
	}
	var out bytes.Buffer
	r.print(&out)
	if strings.Contains(out.String(), "node ") || !strings.Contains(out.String(), "\n  server       CPU ") {
		t.Fatalf("report:\n%s", out.String())
	}
	o = &options{scenario: "fanout", raw: true, server: "ws://a/,ws://b/"}
	if err := o.defaults(map[string]bool{}); err == nil {
		t.Fatal("--raw with two servers accepted")
	}
}

func TestFanoutFixedRateStrict(t *testing.T) {
	url := startServer(t)
	o := opts(t, "fanout", "--server", url, "--conns", "30", "--rate", "200", "--duration", "1s", "--strict", "--size", "300")
	r := runOK(t, o)
	checkDelivery(t, r)
	if r.Accepted < 150 || r.Accepted > 210 {
		t.Errorf("%d messages at 200/s for 1 s", r.Accepted)
	}
}

func TestFanoutRaw(t *testing.T) {
	url := startRaw(t)
	o := opts(t, "fanout", "--raw", "--server", url, "--conns", "50", "--pubs", "2", "--window", "16", "--duration", "1s", "--per-addr", "20")
	r := runOK(t, o)
	checkDelivery(t, r)
	if d := r.ServerFig.Counters["raw_messages_in_total"]; d != float64(r.Sent) {
		t.Errorf("raw server got %v messages, %d sent", d, r.Sent)
	}
}

func TestP2P(t *testing.T) {
	url := startServer(t)
	for _, ack := range []string{"200ms", "0"} {
		t.Run("ack="+ack, func(t *testing.T) {
			o := opts(t, "p2p", "--server", url, "--conns", "20", "--window", "4", "--duration", "700ms", "--ack", ack)
			r := runOK(t, o)
			checkDelivery(t, r)
			if r.Latency.Count == 0 || r.Latency.Count*2 != r.Delivered {
				t.Errorf("%d round trips for %d deliveries", r.Latency.Count, r.Delivered)
			}
		})
	}
}

func TestLogins(t *testing.T) {
	url := startServer(t)
	o := opts(t, "logins", "--server", url, "--conns", "200", "--window", "16", "--per-addr", "90")
	r := runOK(t, o)
	if r.Logins != 200 || r.Failures != 0 || r.LoginsPerS <= 0 {
		t.Fatalf("%d logins, %d failures, %.0f/s", r.Logins, r.Failures, r.LoginsPerS)
	}
	if r.Latency.Count != 200 {
		t.Fatalf("%d login latencies", r.Latency.Count)
	}
}

func TestIdle(t *testing.T) {
	url := startServer(t)
	o := opts(t, "idle", "--server", url, "--conns", "50", "--duration", "1s")
	r := runOK(t, o)
	if r.Elapsed < time.Second {
		t.Fatalf("idle for %s", r.Elapsed)
	}
	if r.ServerFig.RSSAfter <= 0 {
		t.Fatal("no RSS")
	}
}

// TestMainCommand runs the command line end to end, in JSON.
func TestMainCommand(t *testing.T) {
	url := startServer(t)
	var out, errOut bytes.Buffer
	err := Main([]string{"fanout", "--server", url, "--conns", "10", "--window", "2", "--e2e", "--duration", "300ms", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Scenario != "fanout" || !r.E2E || r.Delivered == 0 || r.Lost != 0 {
		t.Fatalf("%+v", r)
	}
	if err := Main([]string{"nonsense"}, &out, &errOut); err == nil {
		t.Fatal("unknown scenario accepted")
	}
	if err := Main(nil, &out, &errOut); err == nil {
		t.Fatal("no scenario accepted")
	}
	out.Reset()
	if err := Main([]string{"raw-server", "--listen", "127.0.0.1:0", "--duration", "100ms"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "raw server listening") {
		t.Fatalf("raw-server said %q", out.String())
	}
}

func TestHist(t *testing.T) {
	var h hist
	for i := 1; i <= 100000; i++ {
		h.record(int64(i) * 1000) // 1 µs … 100 ms, uniform
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.999, 99900 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.04 || d > 0.04 {
			t.Errorf("q%g = %s, want %s ±4%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v += 1 + v/7 {
		i := histBucket(v)
		if i > 0 && histBucket(v-1) > i {
			t.Fatalf("buckets not monotonic at %d", v)
		}
		if mid := histValue(i); v >= 16 && (float64(mid) < float64(v)*0.93 || float64(mid) > float64(v)*1.07) {
			t.Fatalf("value %d in bucket %d, whose middle is %d", v, i, mid)
		}
	}
	if histBucket(^uint64(0)) != histBuckets-1 {
		t.Fatalf("max in bucket %d of %d", histBucket(^uint64(0)), histBuckets)
	}
	h.record(-5) // a clock step counts as 0
	if testing.AllocsPerRun(100, func() { h.record(rand.Int64N(1e9)) }) != 0 {
		t.Error("record allocates")
	}
}

// TestClassify checks that the in-place recognition of the server's hot
// frames agrees with wire.Split, and falls back for anything else.
func TestClassify(t *testing.T) {
	text := string(appendText(nil, 3, 42, 1700000000123456789, 100))
	lines := []string{
		string(wire.MustEncode(0, wire.PushChannelMsg, wire.ChannelMsg{Channel: "fan", From: "m3", UID: 4, Msg: text})),
		`{"op":"ch.msg","off":17,"d":{"ch":"fan","from":"m3","uid":4,"msg":"` + text + `"}}`,
		`{"op":"peer.msg","seq":9,"d":{"from":"pa1","msg":"` + text + `","ts":1700000000000}}`,
		`{"op":"peer.msg","seq":9,"d":{"from":"pa1","msg":"` + text + `","mid":"x","ts":1700000000000}}`,
		`{"id":12,"op":"res","d":{}}`,
		`{"id":12,"op":"res","err":{"code":400,"msg":"rate limited"}}`,
		`{"op":"pong"}`,
		`{"op":"ch.joined","off":3,"d":{"ch":"fan","account":"m1","uid":2}}`,
		`{"op":"kicked","d":{"code":103,"reason":"the account logged in elsewhere"}}`,
		`{"op":"ch.msg","off":18,"d":{"ch":"fan","from":"m\"msg\":\"3","uid":4,"msg":"say \"hi\""}}`,
	}
	for _, line := range lines {
		var fast, strict event
		if err := classify([]byte(line), false, &fast); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if err := classify([]byte(line), true, &strict); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if fast.kind != strict.kind || fast.id != strict.id || fast.num != strict.num || !bytes.Equal(fast.text, strict.text) ||
			(fast.resErr == nil) != (strict.resErr == nil) {
			t.Errorf("%s:\nfast   %+v\nstrict %+v", line, fast, strict)
		}
	}
	pub, seq, ts, ok := parseText([]byte(text))
	if !ok || pub != 3 || seq != 42 || ts != 1700000000123456789 || len(text) != 100 {
		t.Fatalf("parseText(%q) = %d %d %d %v", text, pub, seq, ts, ok)
	}
	var ev event
	line := []byte(lines[1])
	if n := testing.AllocsPerRun(100, func() { _ = classify(line, false, &ev) }); n != 0 {
		t.Errorf("classify of a ch.msg allocates %v times", n)
	}
}
