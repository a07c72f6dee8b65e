package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/xinling/xinling/sdk"
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

// isCore reads a node's role from its /metrics.
func isCore(addr string) bool {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nxinling_cluster_is_core 1\n")
}

// waitCore returns the index of the core among procs (skipping not), once there is one.
func waitCore(t *testing.T, procs []*serveProc, not int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for i, p := range procs {
			if i != not && isCore(p.addr) {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond) // polling another process's /metrics; deadline above
	}
	t.Fatalf("no core among the nodes within 20 s")
	return -1
}

func connectCluster(t *testing.T, procs []*serveProc, first int, account string) (*sdk.Client, *events) {
	t.Helper()
	var urls []string
	for k := range procs {
		urls = append(urls, "ws://"+procs[(first+k)%len(procs)].addr)
	}
	return connectURLs(t, account, urls...)
}

// TestServeClusterSIGKILLCore: three real processes; the core is killed
// while peer messages flow between users on the other two. A new core takes
// over with the durable state; every message whose sender got
// onMessageSendSuccess reaches the recipient exactly once.
func TestServeClusterSIGKILLCore(t *testing.T) {
	procs := startServeCluster(t, "--user-rate", "100000")
	core := waitCore(t, procs, -1)
	a, b := (core+1)%3, (core+2)%3
	alice, aev := connectCluster(t, procs, a, "alice")
	_, bev := connectCluster(t, procs, b, "bob")
	const n = 300
	for i := range n {
		alice.MessageInstantSend("bob", 0, fmt.Sprint("msg ", i), fmt.Sprint("id", i))
		if i == n/2 {
			aev.waitFor(t, "some sent", func() bool { return len(aev.sent) > 20 })
			if err := procs[core].stop(syscall.SIGKILL); err == nil {
				t.Fatal("SIGKILL did not kill")
			}
		}
	}
	newCore := waitCore(t, procs, core)
	checkDeliveredOnce(t, aev, bev, n)
	t.Logf("core node%d killed, node%d took over: %d sent, %d failed, %d delivered", core+1, newCore+1, len(aev.sent), len(aev.failed), len(bev.received))
}

// TestServeClusterPausedCoreRejoins: the core is frozen (SIGSTOP) past its
// lease, as a node cut off from the others would be; another takes over.
// Thawed, the old core finds its lease gone, steps down and serves its new
// clients as an edge of the new core.
func TestServeClusterPausedCoreRejoins(t *testing.T) {
	procs := startServeCluster(t)
	core := waitCore(t, procs, -1)
	other := (core + 1) % 3
	_, aev := connectCluster(t, procs, other, "alice")
	if err := procs[core].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	newCore := waitCore(t, procs, core)
	if err := procs[core].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	aev.waitFor(t, "alice on the new core", func() bool { return aev.has("reconnected") })
	deadline := time.Now().Add(10 * time.Second)
	for isCore(procs[core].addr) {
		if time.Now().After(deadline) {
			t.Fatalf("node%d still claims the core role after node%d took over", core+1, newCore+1)
		}
		time.Sleep(50 * time.Millisecond) // polling its /metrics; deadline above
	}
	bob, _ := connectCluster(t, procs, core, "bob") // through the rejoined node
	bob.MessageInstantSend("alice", 0, "via the rejoined node", "r1")
	aev.waitFor(t, "message through the rejoined node", func() bool { return aev.received["via the rejoined node"] == 1 })
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
	core := waitCore(t, procs, -1)
	edge := 1 - core
	alice, aev := connect(t, procs[edge].addr, "alice")
	_, bev := connect(t, procs[core].addr, "bob")
	_, bev2 := connect(t, procs[edge].addr, "bob") // bob again, on the other node
	bev.waitFor(t, "kicked across nodes", func() bool { return bev.has("logout 103") })
	alice.MessageInstantSend("bob", 0, "across nodes", "x1")
	aev.waitFor(t, "sent", func() bool { return aev.sent["x1"] })
	bev2.waitFor(t, "received", func() bool { return bev2.received["across nodes"] == 1 })
}

// TestServeClusterSIGKILLEdgePresenceEnds: an edge process is killed and
// its client does not come back: the account is announced logged out on
// the other nodes once the edge is found dead
// (--node-timeout) and the session's grace (--grace) has run out.
func TestServeClusterSIGKILLEdgePresenceEnds(t *testing.T) {
	procs := startServeCluster(t, "--grace", "1s")
	core := waitCore(t, procs, -1)
	edge, other := (core+1)%3, (core+2)%3
	watcher, wev := connect(t, procs[other].addr, "watcher")
	watcher.ChannelJoin("__agora_user_online")
	wev.waitFor(t, "watching", func() bool { return wev.has("joined __agora_user_online") })
	connect(t, procs[edge].addr, "alice") // one URL only: it cannot fail over
	wev.waitFor(t, "alice's login announced", func() bool {
		return wev.hasPrefix("channel __agora_user_online", `"account":"alice"`, `"type":"login"`)
	})
	start := time.Now()
	if err := procs[edge].stop(syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL did not kill")
	}
	wev.waitFor(t, "alice's logout announced", func() bool {
		return wev.hasPrefix("channel __agora_user_online", `"account":"alice"`, `"type":"logout"`)
	})
	took := time.Since(start)
	if took > 5*time.Second { // node timeout 1 s + grace 1 s, and slack for a loaded machine
		t.Fatalf("alice's presence ended %v after the kill", took)
	}
	t.Logf("presence ended %v after SIGKILL (node timeout 1 s + grace 1 s)", took)
}
