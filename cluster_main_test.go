package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/cluster"
)

// startServeCluster starts three `xinling serve` processes clustered over
// their embedded NATS servers, concurrently (each waits for the others'
// JetStream before it listens).
func startServeCluster(t *testing.T, extra ...string) []*serveProc {
	t.Helper()
	if testing.Short() {
		t.Skip("starts three clustered processes")
	}
	var routes []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, l.Addr().String())
		l.Close()
	}
	procs := make([]*serveProc, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		args := append([]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(),
			"--cluster-name", "test", "--cluster-listen", routes[i], "--cluster-routes", strings.Join(routes, ","),
			"--node-id", fmt.Sprintf("node%d", i+1), "--lease-ttl", "1s", "--node-timeout", "1s",
			"--cluster-secret", "test-secret"}, extra...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i] = startServe(t, args...)
		}()
	}
	wg.Wait()
	for _, p := range procs {
		if p == nil {
			t.FailNow() // startServe reported why
		}
	}
	return procs
}

// reportOnFailure logs the nodes' warnings and errors when t fails, and
// writes their whole logs to $XINLING_TEST_LOGS/<test>-node<i>.log when set.
func reportOnFailure(t *testing.T, procs []*serveProc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dir := os.Getenv("XINLING_TEST_LOGS")
		for i, p := range procs {
			t.Logf("node%d's warnings and errors:\n%s", i+1, notable(p.log.String()))
			if dir != "" {
				name := filepath.Join(dir, fmt.Sprintf("%s-node%d.log", strings.ReplaceAll(t.Name(), "/", "_"), i+1))
				if err := os.WriteFile(name, p.log.Bytes(), 0o644); err != nil {
					t.Log(err)
				}
			}
		}
	})
}

// clusterShards is the shards of a test cluster (serve's default).
const clusterShards = 12

// shardsOf reads how many shards a node serves from its /metrics (-1: unreadable).
func shardsOf(addr string) int {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "xinling_cluster_shards "); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err == nil {
				return n
			}
		}
	}
	return -1
}

// waitSpread waits until the nodes of procs not in gone serve every shard
// as planned among them: an equal share each (the plan gives at most
// ⌈shards/nodes⌉ to one).
func waitSpread(t *testing.T, procs []*serveProc, gone ...int) {
	t.Helper()
	live := 0
	for i := range procs {
		if !slices.Contains(gone, i) {
			live++
		}
	}
	limit := (clusterShards + live - 1) / live
	deadline := time.Now().Add(30 * time.Second)
	var got []int
	for time.Now().Before(deadline) {
		got = got[:0]
		total, ok := 0, true
		for i, p := range procs {
			if slices.Contains(gone, i) {
				continue
			}
			n := shardsOf(p.addr)
			got = append(got, n)
			total += n
			ok = ok && n > 0 && n <= limit
		}
		if ok && total == clusterShards {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling other processes' /metrics; deadline above
	}
	t.Fatalf("the shards not spread over %d nodes within 30 s: %v", live, got)
}

// nodeOf is the index of the node serving an account or channel of app
// once the shards are spread as planned over the nodes of procs not in gone.
func nodeOf(app, name string, gone ...int) int {
	var nodes []string
	for i := range 3 {
		if !slices.Contains(gone, i) {
			nodes = append(nodes, fmt.Sprint("node", i+1))
		}
	}
	var i int
	fmt.Sscanf(cluster.Plan(clusterShards, nodes)[server.ShardOf(app, name, clusterShards)], "node%d", &i)
	return i - 1
}

// accountOn is an account named prefix<n> that node i serves, with all
// three nodes and without those in gone (it does not move when they go).
func accountOn(app, prefix string, i int, gone ...int) string {
	for n := 0; ; n++ {
		if a := fmt.Sprint(prefix, n); nodeOf(app, a) == i && nodeOf(app, a, gone...) == i {
			return a
		}
	}
}

func connectCluster(t *testing.T, procs []*serveProc, first int, account string) (*sdk.Client, *events) {
	t.Helper()
	var urls []string
	for k := range procs {
		urls = append(urls, "ws://"+procs[(first+k)%len(procs)].addr)
	}
	return connectURLs(t, account, urls...)
}

// TestServeClusterSIGKILLNode: three real processes; the node serving the
// recipient is killed while peer messages flow from a sender on another.
// The survivors take its shards with the durable state; every message
// whose sender got onMessageSendSuccess reaches the recipient exactly once.
func TestServeClusterSIGKILLNode(t *testing.T) {
	procs := startServeCluster(t, "--user-rate", "100000")
	waitSpread(t, procs)
	alice, bob := accountOn("app", "alice", 0), accountOn("app", "bob", 1)
	sender, aev := connectCluster(t, procs, 0, alice)
	_, bev := connectCluster(t, procs, 2, bob)
	const n = 300
	for i := range n {
		sender.MessageInstantSend(bob, 0, fmt.Sprint("msg ", i), fmt.Sprint("id", i))
		if i == n/2 {
			aev.waitFor(t, "some sent", func() bool { return len(aev.sent) > 20 })
			if err := procs[1].stop(syscall.SIGKILL); err == nil {
				t.Fatal("SIGKILL did not kill")
			}
		}
	}
	waitSpread(t, procs, 1)
	checkDeliveredOnce(t, aev, bev, n)
	t.Logf("node2 (serving %s) killed: %d sent, %d failed, %d delivered", bob, len(aev.sent), len(aev.failed), len(bev.received))
}

// TestServeClusterPausedNodeRejoins: the node serving a client is frozen
// (SIGSTOP) past its leases, as a node cut off from the others would be;
// the others take its shards and the client resumes on one of them.
// Thawed, the node finds its leases gone, lets the shards go, then takes
// its share back, and serves the clients that land on it.
func TestServeClusterPausedNodeRejoins(t *testing.T) {
	procs := startServeCluster(t)
	waitSpread(t, procs)
	alice := accountOn("app", "alice", 0)
	_, aev := connectCluster(t, procs, 0, alice)
	if err := procs[0].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitSpread(t, procs, 0)
	if err := procs[0].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	aev.waitFor(t, "alice on another node", func() bool { return aev.has("reconnected") })
	waitSpread(t, procs)
	bob, _ := connectCluster(t, procs, 0, "bob") // through the thawed node
	bob.MessageInstantSend(alice, 0, "via the thawed node", "r1")
	aev.waitFor(t, "message through the thawed node", func() bool { return aev.received["via the thawed node"] == 1 })
}

// TestServeJoinsExistingNATS: two nodes joined to an existing NATS with
// JetStream (--nats URL) are one system: a kick and a peer message cross
// from one to the other.
func TestServeJoinsExistingNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and two processes")
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	var procs []*serveProc
	for i := range 2 {
		procs = append(procs, startServe(t, "--listen", "127.0.0.1:0", "--nats", ns.ClientURL(),
			"--node-id", fmt.Sprintf("n%d", i+1), "--lease-ttl", "1s", "--node-timeout", "1s"))
	}
	waitSpread(t, procs)
	alice, aev := connectURLs(t, "alice", "ws://"+procs[0].addr, "ws://"+procs[1].addr)
	_, bev := connectURLs(t, "bob", "ws://"+procs[0].addr, "ws://"+procs[1].addr)
	_, bev2 := connectURLs(t, "bob", "ws://"+procs[1].addr, "ws://"+procs[0].addr) // bob again, dialing the other node
	bev.waitFor(t, "kicked across nodes", func() bool { return bev.has("logout 103") })
	alice.MessageInstantSend("bob", 0, "across nodes", "x1")
	aev.waitFor(t, "sent", func() bool { return aev.sent["x1"] })
	bev2.waitFor(t, "received", func() bool { return bev2.received["across nodes"] == 1 })
}

// TestServeClusterSIGKILLNodePresenceEnds: the node serving a client is
// killed and the client does not come back: the account is announced
// logged out to the watchers on the other nodes once the node is found
// dead (--node-timeout; the node serving __agora_user_online announces the
// dead node's logins as logouts, whatever their sessions' --grace).
func TestServeClusterSIGKILLNodePresenceEnds(t *testing.T) {
	procs := startServeCluster(t, "--grace", "1s")
	reportOnFailure(t, procs)
	waitSpread(t, procs)
	// The node to kill is one whose going leaves the channel where it is;
	// the watcher's account stays put too, so the watcher sees it all.
	online := nodeOf("app", "__agora_user_online")
	dead := (online + 1) % 3
	if nodeOf("app", "__agora_user_online", dead) != online {
		dead = (online + 2) % 3
	}
	if nodeOf("app", "__agora_user_online", dead) != online {
		t.Fatal("every node's going moves __agora_user_online")
	}
	watcher, wev := connectURLs(t, accountOn("app", "watcher", online, dead), "ws://"+procs[online].addr)
	watcher.ChannelJoin("__agora_user_online")
	wev.waitFor(t, "watching", func() bool { return wev.has("joined __agora_user_online") })
	alice := accountOn("app", "alice", dead)
	connect(t, procs[dead].addr, alice) // one URL only: it cannot fail over
	wev.waitFor(t, "alice's login announced", func() bool {
		return wev.hasPrefix("channel __agora_user_online", `"account":"`+alice+`"`, `"type":"login"`)
	})
	start := time.Now()
	if err := procs[dead].stop(syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL did not kill")
	}
	wev.waitFor(t, "alice's logout announced", func() bool {
		return wev.hasPrefix("channel __agora_user_online", `"account":"`+alice+`"`, `"type":"logout"`)
	})
	took := time.Since(start)
	if took > 5*time.Second { // node timeout 1 s, and slack for a loaded machine
		t.Fatalf("alice's presence ended %v after the kill", took)
	}
	t.Logf("presence ended %v after SIGKILL (node timeout 1 s)", took)
}
