package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/cluster"
	"github.com/xinling/xinling/server/store"
)

// faultCluster is three members, each on its own embedded NATS server (a
// cluster of its own, so a test can take one down), each reached through a
// proxy so a test can cut its clients off as a crash would.
type faultCluster struct {
	t       *testing.T
	nats    []*cluster.NATS
	members []*cluster.Member
	addrs   []string
	proxies []*proxy
	done    []chan error
}

func startFaultCluster(t *testing.T, cfg server.Config) *faultCluster {
	t.Helper()
	return startFaultClusterTimeout(t, cfg, testNodeTimeout)
}

func startFaultClusterTimeout(t *testing.T, cfg server.Config, nodeTimeout time.Duration) *faultCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := cluster.LocalCluster(ctx, 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fc := &faultCluster{t: t, nats: ns}
	t.Cleanup(func() {
		for _, n := range ns {
			n.Close()
		}
	})
	for i := range ns {
		m, err := cluster.Start(ctx, cluster.Config{NATS: ns[i], Server: cfg, OpenStore: clusterStore(ns[i], "fault"), NodeID: fmt.Sprintf("node%d", i+1),
			Replicas: 3, LeaseTTL: testLease, NodeTimeout: nodeTimeout, Streams: store.NATSStreams("Sfault")})
		if err != nil {
			t.Fatal(err)
		}
		l := listen(t, "127.0.0.1:0")
		done := make(chan error, 1)
		go func() { done <- m.Serve(l) }()
		fc.members = append(fc.members, m)
		fc.addrs = append(fc.addrs, l.Addr().String())
		fc.done = append(fc.done, done)
		addr := l.Addr().String()
		fc.proxies = append(fc.proxies, startProxy(t, func() string { return addr }))
	}
	t.Cleanup(fc.stop)
	fc.waitCore(-1)
	return fc
}

func (fc *faultCluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, m := range fc.members {
		if err := m.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fc.t.Errorf("shutdown %d: %v", i, err)
		}
		if err := <-fc.done[i]; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fc.t.Errorf("serve %d: %v", i, err)
		}
	}
}

// core is the index of the member that is the core, or -1.
func (fc *faultCluster) core() int {
	for i, m := range fc.members {
		if m.IsCore() {
			return i
		}
	}
	return -1
}

// waitCore waits until a member other than not is the core and every other
// member but not follows it.
func (fc *faultCluster) waitCore(not int) int {
	fc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c := fc.core(); c >= 0 && c != not {
			ok := true
			for i, m := range fc.members {
				if i != not && m.Following() != fc.members[c].ID() {
					ok = false
				}
			}
			if ok {
				return c
			}
		}
		if time.Now().After(deadline) {
			fc.t.Fatalf("no core (other than %d) within 15 s", not)
		}
		time.Sleep(10 * time.Millisecond) // polling members' roles; deadline above
	}
}

// crash takes member i off the network as a killed process would leave
// it: its clients' connections break and new ones are refused, and its
// NATS server goes down, so the others hear nothing more from it.
func (fc *faultCluster) crash(i int) {
	fc.nats[i].Server.Shutdown() // first: nothing the node does after this reaches the others
	fc.proxies[i].cut(true)
}

// urls lists every member's proxy, member first first.
func (fc *faultCluster) urls(first int) []string {
	var out []string
	for k := range fc.proxies {
		out = append(out, fc.proxies[(first+k)%len(fc.proxies)].url())
	}
	return out
}

func (fc *faultCluster) login(t *testing.T, first int, account string) *user {
	t.Helper()
	return loginWith(t, account, sdk.WithServers(fc.urls(first)...))
}

// roomOnTwoEdges logs bob in through member a and alice through member b,
// both in "room", bob having seen alice join.
func (fc *faultCluster) roomOnTwoEdges(t *testing.T, a, b int) (bob, alice *user) {
	t.Helper()
	bob = fc.login(t, a, "bob")
	bob.join(t, "room")
	alice = fc.login(t, b, "alice")
	alice.join(t, "room")
	bob.wait(t, "OnChannelUserJoined(alice,2)")
	return bob, alice
}

// edges returns two members that are not the core.
func (fc *faultCluster) edges() (int, int) {
	c := fc.core()
	return (c + 1) % 3, (c + 2) % 3
}

// jetStreamFailover bounds how long JetStream takes to elect a new leader
// for a stream whose leader's server died (its Raft election timeouts are
// 4–9 s).
const jetStreamFailover = 20 * time.Second

// The streams the core writes have their leaders on the core's NATS server,
// so an edge's death never waits for a JetStream election.
func TestClusterStreamLeadersFollowTheCore(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	core := fc.core()
	want := fc.nats[core].Server.Name()
	js := fc.nats[(core+1)%3].JS
	for _, name := range append([]string{"KV_xl_lease"}, store.NATSStreams("Sfault")...) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			leader := cluster.StreamLeader(ctx, js, name)
			cancel()
			if leader == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stream %s led by %q, want the core's server %q", name, leader, want)
			}
			time.Sleep(50 * time.Millisecond) // polling JetStream's view; deadline above
		}
	}
}

func TestClusterKickAcrossNodes(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	a, b := fc.edges()
	old := fc.login(t, a, "alice")
	fc.login(t, b, "alice")
	old.wait(t, "OnLogout(103)")
}

// An edge dies: its clients fail over to another node and resume their
// sessions there (nothing lost, nothing twice); the others see no change.
func TestClusterEdgeDiesClientsResume(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	a, b := fc.edges()
	bob, alice := fc.roomOnTwoEdges(t, a, b)

	fc.crash(a)
	bob.wait(t, "OnReconnecting(1)")
	alice.MessageInstantSend("bob", 0, "while you were moving", "p1")
	// The dead node's NATS server may have led the queue's stream: the
	// durable write waits for JetStream to elect another leader.
	alice.waitWithin(t, "OnMessageSendSuccess(p1)", jetStreamFailover)
	alice.MessageChannelSend("room", "news", "c1")
	alice.wait(t, "OnMessageSendSuccess(c1)")
	bob.waitWithin(t, "OnReconnected(", jetStreamFailover)
	bob.wait(t, "OnMessageInstantReceive(alice,0,while you were moving)")
	bob.wait(t, "OnMessageChannelReceive(room,alice,2,news)")
	bob.quiet(t, bob.Client)
	if n := bob.count("OnChannelJoined("); n != 1 {
		t.Fatalf("bob joined %d times: the session was not resumed", n)
	}
	if n := bob.count("OnMessageInstantReceive("); n != 1 {
		t.Fatalf("bob got the peer message %d times", n)
	}
	alice.quiet(t, alice.Client) // alice saw no one leave or come back
}

// An edge dies and its client does not come back: its presence disappears
// from every node once the edge is found dead and the grace has run out.
func TestClusterDeadEdgePresenceEnds(t *testing.T) {
	grace := 500 * time.Millisecond
	fc := startFaultCluster(t, server.Config{Grace: grace})
	a, b := fc.edges()
	watcher := fc.login(t, b, "watcher")
	watcher.join(t, "__agora_user_online")
	bob := fc.login(t, a, "bob")
	waitSpecial(t, watcher, "__agora_user_online", "login", "", "bob")
	start := time.Now()
	fc.crash(a)
	bob.Destroy()
	waitSpecial(t, watcher, "__agora_user_online", "logout", "", "bob")
	if took := time.Since(start); took > testNodeTimeout+grace+2*time.Second {
		t.Fatalf("presence ended after %v, want about node timeout + grace = %v", took, testNodeTimeout+grace)
	}
	watcher.QueryUserStatus("bob")
	watcher.wait(t, "OnQueryUserStatusResult(bob,0)")
}

// The core dies: a new core takes over with the durable state; clients of
// every node log in afresh there, rejoin, and still say onReconnected; a
// peer message acknowledged before the crash is delivered once.
func TestClusterCoreDiesClientsLogInAfresh(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	core := fc.core()
	a, b := fc.edges()
	alice := fc.login(t, a, "alice")
	alice.join(t, "room")
	carol := fc.login(t, core, "carol")
	carol.join(t, "room")
	alice.wait(t, "OnChannelUserJoined(carol,2)")
	alice.ChannelSetAttr("room", "topic", "failover")
	alice.wait(t, "OnChannelAttrUpdated(room,topic,failover,update)")
	// bob is offline: the message waits in the durable queue.
	alice.MessageInstantSend("bob", 0, "kept across the crash", "q1")
	alice.wait(t, "OnMessageSendSuccess(q1)")

	fc.crash(core)
	fc.waitCore(core)
	alice.wait(t, "OnReconnected(")
	// The rejoin reads the channel's attributes from JetStream, which may
	// be electing new stream leaders.
	alice.waitWithin(t, "OnChannelJoined(room)", jetStreamFailover)
	alice.wait(t, "OnChannelAttrUpdated(room,topic,failover,update)")
	carol.waitWithin(t, "OnReconnected(", jetStreamFailover) // from the dead node to a live one
	carol.waitWithin(t, "OnChannelJoined(room)", jetStreamFailover)

	bob := fc.login(t, b, "bob")
	bob.waitWithin(t, "OnMessageInstantReceive(alice,0,kept across the crash)", jetStreamFailover)
	bob.quiet(t, bob.Client)
	if n := bob.count("OnMessageInstantReceive("); n != 1 {
		t.Fatalf("bob got the queued message %d times", n)
	}
}

// A relay message from the core to an edge goes missing (here: a forged
// later message number): the edge cannot know what its clients missed, so
// it sends them away; they resume, and get what they had not acknowledged.
func TestClusterLostRelayMessageMakesClientsResume(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	a, b := fc.edges()
	bob, alice := fc.roomOnTwoEdges(t, a, b)

	// Version 1, message number far ahead, no records.
	forged := binary.AppendUvarint([]byte{1}, 1<<40)
	if err := fc.nats[a].Conn.Publish("xl.out."+fc.members[a].RelayID(), forged); err != nil {
		t.Fatal(err)
	}
	bob.wait(t, "OnReconnecting(1)")
	bob.wait(t, "OnReconnected(")
	alice.MessageInstantSend("bob", 0, "after the gap", "g1")
	bob.wait(t, "OnMessageInstantReceive(alice,0,after the gap)")
	bob.quiet(t, bob.Client)
	if n := bob.count("OnChannelJoined("); n != 1 {
		t.Fatalf("bob joined %d times: the session was not resumed", n)
	}
}

// A core shut down (SIGTERM) hands over at once: it releases the lease and
// sends every client, local or relayed, away; they log in afresh on the
// next core without anyone waiting for the node timeout (a minute here).
func TestClusterCoreShutdownHandsOverAtOnce(t *testing.T) {
	fc := startFaultClusterTimeout(t, server.Config{}, time.Minute)
	core := fc.core()
	a, _ := fc.edges()
	alice := fc.login(t, a, "alice")
	alice.join(t, "room")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fc.members[core].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	alice.wait(t, "OnReconnected(")
	alice.wait(t, "OnChannelJoined(room)")
}
