package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/cluster"
)

// faultCluster is three members, each on its own server of a three-server
// NATS cluster (so a test can take one down), each reached through a proxy
// so a test can cut its clients off as a crash would. Members advertise
// their proxies: a login redirected to another node goes through its proxy.
type faultCluster struct {
	t           *testing.T
	cfg         server.Config
	nodeTimeout time.Duration
	nats        []*cluster.NATS
	members     []*cluster.Member
	proxies     []*proxy
	done        []chan error
	down        []bool
}

func startFaultCluster(t *testing.T, cfg server.Config) *faultCluster {
	t.Helper()
	return startFaultClusterTimeout(t, cfg, testNodeTimeout)
}

func startFaultClusterTimeout(t *testing.T, cfg server.Config, nodeTimeout time.Duration) *faultCluster {
	t.Helper()
	if clusterSize() > 0 {
		// These tests make their own cluster: the plain run has run them;
		// the run on a cluster (XINLING_E2E_CLUSTER) is for the others.
		t.Skip("runs in the plain run (it starts its own cluster)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := cluster.LocalCluster(ctx, 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fc := &faultCluster{t: t, cfg: cfg, nodeTimeout: nodeTimeout, nats: ns}
	t.Cleanup(func() {
		for _, n := range ns {
			n.Close()
		}
	})
	t.Cleanup(fc.stop) // first: the members, then their NATS servers
	for i := range ns {
		fc.startMember(ctx, i)
	}
	fc.waitServed()
	return fc
}

// startMember starts member i (again, after a stop) on NATS server i.
func (fc *faultCluster) startMember(ctx context.Context, i int) {
	fc.t.Helper()
	l := listen(fc.t, "127.0.0.1:0")
	addr := l.Addr().String()
	if i == len(fc.members) {
		fc.members = append(fc.members, nil)
		fc.proxies = append(fc.proxies, nil)
		fc.done = append(fc.done, nil)
		fc.down = append(fc.down, false)
	}
	if fc.proxies[i] == nil {
		fc.proxies[i] = startProxy(fc.t, nil)
	}
	fc.proxies[i].retarget(func() string { return addr })
	m, err := cluster.Start(ctx, cluster.Config{NATS: fc.nats[i], Server: fc.cfg, NodeID: fmt.Sprintf("node%d", i+1),
		URL: fc.proxies[i].url(), OpenStore: clusterStore(fc.nats[i], "fault"), StorePrefix: "Sfault",
		Replicas: 3, LeaseTTL: testLease, NodeTimeout: fc.nodeTimeout})
	if err != nil {
		l.Close()
		fc.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(l) }()
	fc.members[i], fc.done[i], fc.down[i] = m, done, false
}

func (fc *faultCluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range fc.members {
		if fc.done[i] != nil {
			fc.shutdown(ctx, i)
		}
	}
}

// shutdown stops member i as SIGTERM would.
func (fc *faultCluster) shutdown(ctx context.Context, i int) {
	if err := fc.members[i].Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fc.t.Errorf("shutdown %d: %v", i, err)
	}
	if err := <-fc.done[i]; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fc.t.Errorf("serve %d: %v", i, err)
	}
	fc.done[i] = nil
	fc.down[i] = true
}

// live lists the members that are up.
func (fc *faultCluster) live() []int {
	var out []int
	for i := range fc.members {
		if !fc.down[i] {
			out = append(out, i)
		}
	}
	return out
}

// waitServed waits until the live members serve every shard between them
// and agree by whom.
func (fc *faultCluster) waitServed() {
	fc.t.Helper()
	deadline := time.Now().Add(jetStreamFailover)
	for !fc.served() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, i := range fc.live() {
				fmt.Fprintf(&b, "node%d serves %d; ", i+1, fc.members[i].Serving())
			}
			fc.t.Fatalf("the shards are not all served within %v: %s", jetStreamFailover, b.String())
		}
		time.Sleep(10 * time.Millisecond) // no event spans the members; polled with a deadline
	}
}

func (fc *faultCluster) served() bool {
	live := fc.live()
	total := 0
	for _, i := range live {
		if !fc.members[i].Settled() {
			return false
		}
		total += fc.members[i].Serving()
	}
	shards := fc.members[live[0]].Shards()
	if total != shards {
		return false
	}
	for k := range shards {
		want, _ := fc.members[live[0]].Owner(k)
		for _, i := range live[1:] {
			if got, _ := fc.members[i].Owner(k); got != want || got == "" {
				return false
			}
		}
	}
	return true
}

// owner is the member serving an account's or a channel's shard, -1 none.
func (fc *faultCluster) owner(name string) int {
	for _, i := range fc.live() {
		if fc.members[i].OwnerOf(testApp, name) == fc.members[i].ID() {
			return i
		}
	}
	return -1
}

// nameOn is a name starting with base whose shard member i serves.
func (fc *faultCluster) nameOn(i int, base string) string {
	fc.t.Helper()
	for n := range 1000 {
		name := fmt.Sprintf("%s%d", base, n)
		if fc.owner(name) == i {
			return name
		}
	}
	fc.t.Fatalf("no name %s… served by node%d", base, i+1)
	return ""
}

// crash takes member i off the network as a killed process would leave
// it: its clients' connections break and new ones are refused, and its
// NATS server goes down, so the others hear nothing more from it.
func (fc *faultCluster) crash(i int) {
	fc.nats[i].Server.Shutdown() // first: nothing the node does after this reaches the others
	fc.proxies[i].cut(true)
	fc.down[i] = true
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

// jetStreamFailover bounds how long JetStream takes to elect a new leader
// for a stream whose leader's server died (its Raft election timeouts are
// 4–9 s), and so how long a dead node's shards take to be served again.
const jetStreamFailover = 20 * time.Second

// The shards spread evenly, and each shard's streams are led from the NATS
// server of the node serving it: only that server's death makes its writes
// wait for an election.
func TestClusterShardsSpreadAndTheirStreamsFollow(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	shards := fc.members[0].Shards()
	for i, m := range fc.members {
		if got := m.Serving(); got != shards/3 {
			t.Errorf("node%d serves %d shards, want %d", i+1, got, shards/3)
		}
	}
	js := fc.nats[0].JS
	for k := range shards {
		relay, _ := fc.members[0].Owner(k)
		i := -1
		for j, m := range fc.members {
			if m.RelayID() == relay {
				i = j
			}
		}
		want := fc.nats[i].Server.Name()
		for _, name := range []string{"Sfault_LOG_s" + fmt.Sprint(k), "Sfault_SNAP_s" + fmt.Sprint(k)} {
			deadline := time.Now().Add(15 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				leader := cluster.StreamLeader(ctx, js, name)
				cancel()
				if leader == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stream %s led by %q, want %q, the server of node%d which serves shard %d", name, leader, want, i+1, k)
				}
				time.Sleep(50 * time.Millisecond) // polling JetStream's view; deadline above
			}
		}
	}
}

// A login on any node ends on the node serving the account (the others
// redirect it); a second login elsewhere kicks the first.
func TestClusterLoginGoesToTheAccountsNode(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	home := fc.owner("alice")
	via := (home + 1) % 3
	old := fc.login(t, via, "alice")
	for i, m := range fc.members {
		want := 0
		if i == home {
			want = 1
		}
		if got := m.Node().Stats().Sessions; got != want {
			t.Errorf("node%d has %d sessions, want %d (alice's account is served by node%d)", i+1, got, want, home+1)
		}
	}
	fc.login(t, (home+2)%3, "alice")
	old.wait(t, "OnLogout(103)")
}

// One channel with a member on each node, served by one of them: every
// member gets every message once, all in the same order, and sees the
// others' attribute changes.
func TestClusterChannelAcrossNodes(t *testing.T) {
	fc := startFaultCluster(t, server.Config{ChannelRate: 1 << 20, UserRate: 1 << 20, RequestRate: 1 << 20})
	room := fc.nameOn(0, "room")
	var users []*user
	for i := range 3 {
		u := fc.login(t, i, fc.nameOn(i, "user"))
		u.join(t, room)
		users = append(users, u)
	}
	const each = 50
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				u.MessageChannelSend(room, fmt.Sprintf("%s-%d", u.account, k), "")
			}
		}()
	}
	wg.Wait()
	var orders [][]string
	for _, u := range users {
		var got []string
		for len(got) < 3*each {
			e := string(u.wait(t, "OnMessageChannelReceive("+room+","))
			got = append(got, e)
		}
		orders = append(orders, got)
	}
	for i := range orders[1:] {
		for k := range orders[0] {
			if orders[i+1][k] != orders[0][k] {
				t.Fatalf("%s and %s disagree at message %d: %s, %s", users[0].account, users[i+1].account, k, orders[0][k], orders[i+1][k])
			}
		}
	}
	users[2].ChannelSetAttr(room, "topic", "three nodes")
	for _, u := range users {
		u.wait(t, "OnChannelAttrUpdated("+room+",topic,three nodes,update)")
	}
	for _, u := range users {
		u.quiet(t, u.Client)
		if n := u.count("OnMessageChannelReceive(" + room + ","); n != 3*each {
			t.Fatalf("%s got %d channel messages, want %d", u.account, n, 3*each)
		}
	}
}

// A node dies with the shards of a channel and of two accounts: the other
// nodes take its shards over with their durable state; its client logs in
// again there and rejoins; the channel's members elsewhere rejoin it where
// it is served now; a peer message queued before the crash is delivered
// once.
func TestClusterNodeDiesItsShardsMove(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	const dead = 0
	room, alice, bob, carol := fc.roomOnThree(t)
	dave := fc.nameOn(dead, "dave") // offline
	bob.ChannelSetAttr(room, "topic", "failover")
	carol.wait(t, "OnChannelAttrUpdated("+room+",topic,failover,update)")
	bob.MessageInstantSend(dave, 0, "kept across the crash", "q1")
	bob.wait(t, "OnMessageSendSuccess(q1)")

	fc.crash(dead)
	// The node cut off says so to a load balancer; the others are healthy.
	waitHealth(t, fc.members[dead], http.StatusServiceUnavailable)
	waitHealth(t, fc.members[1], http.StatusOK)
	alice.waitWithin(t, "OnReconnected(", jetStreamFailover)
	alice.waitWithin(t, "OnChannelJoined("+room+")", jetStreamFailover)
	alice.wait(t, "OnChannelAttrUpdated("+room+",topic,failover,update)")
	fc.waitServed()
	// bob and carol rejoined the channel where it is served now: they hear
	// alice come back, and each other's messages.
	bob.waitWithin(t, "OnChannelUserJoined("+alice.account, jetStreamFailover)
	carol.MessageChannelSend(room, "after the move", "c1")
	for _, u := range []*user{alice, bob, carol} {
		u.wait(t, "OnMessageChannelReceive("+room+","+carol.account+",")
	}
	carol.wait(t, "OnMessageSendSuccess(c1)")
	d := fc.login(t, 1, dave)
	d.waitWithin(t, "OnMessageInstantReceive("+bob.account+",0,kept across the crash)", jetStreamFailover)
	for _, u := range []*user{alice, bob, carol, d} {
		u.quiet(t, u.Client)
	}
	if n := d.count("OnMessageInstantReceive("); n != 1 {
		t.Fatalf("dave got the queued message %d times", n)
	}
	for _, u := range []*user{bob, carol} {
		if n := u.count("OnChannelLeaved("); n != 0 {
			t.Fatalf("%s was told it left the channel: %v", u.account, u.all())
		}
	}
}

// A node dies and its client does not come back: the node serving
// __agora_user_online announces the logout once it finds the node dead.
func TestClusterDeadNodePresenceEnds(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	home := fc.owner(wire.ChannelUserOnline)
	dead := (home + 1) % 3
	watcher := fc.login(t, home, fc.nameOn(home, "watcher"))
	watcher.join(t, wire.ChannelUserOnline)
	bob := fc.login(t, dead, fc.nameOn(dead, "bob"))
	waitSpecial(t, watcher, wire.ChannelUserOnline, "login", "", bob.account)
	start := time.Now()
	fc.crash(dead)
	bob.Destroy()
	waitSpecial(t, watcher, wire.ChannelUserOnline, "logout", "", bob.account)
	if took := time.Since(start); took > testNodeTimeout+2*time.Second {
		t.Fatalf("presence ended after %v, want about the node timeout, %v", took, testNodeTimeout)
	}
	fc.waitServed()
	watcher.QueryUserStatus(bob.account)
	watcher.wait(t, "OnQueryUserStatusResult("+bob.account+",0)")
}

// The node serving __agora_user_online dies, and with it an account logged
// in there: the node that serves the channel next announces that logout,
// to the watchers its move left in the channel. Every node knows who is
// logged in where (present.go), so the dead node's knowledge is not needed.
func TestClusterPresenceNodeDiesAndItsAccountsLogoutIsAnnounced(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	dead := fc.owner(wire.ChannelUserOnline)
	home := (dead + 1) % 3
	watcher := fc.login(t, home, fc.nameOn(home, "watcher"))
	watcher.join(t, wire.ChannelUserOnline)
	bob := fc.login(t, dead, fc.nameOn(dead, "bob"))
	waitSpecial(t, watcher, wire.ChannelUserOnline, "login", "", bob.account)
	// carol logs in after bob, on the third node, which must hear of bob
	// all the same should it serve the channel next.
	third := (dead + 2) % 3
	carol := fc.login(t, third, fc.nameOn(third, "carol"))
	waitSpecial(t, watcher, wire.ChannelUserOnline, "login", "", carol.account)
	fc.crash(dead)
	bob.Destroy()
	for {
		s := string(watcher.waitWithin(t, "OnMessageChannelReceive("+wire.ChannelUserOnline+",,0,", jetStreamFailover))
		if strings.Contains(s, `"account":"`+bob.account+`"`) {
			if !strings.Contains(s, `"type":"logout"`) {
				t.Fatalf("bob: %s", s)
			}
			break
		}
	}
	fc.waitServed()
	watcher.QueryUserStatus(bob.account)
	watcher.wait(t, "OnQueryUserStatusResult("+bob.account+",0)")
	// carol is alive (the plan may have moved her account's shard too: she
	// is then announced out and in again, as a planned move does).
	watcher.QueryUserStatus(carol.account)
	watcher.wait(t, "OnQueryUserStatusResult("+carol.account+",1)")
}

// A node shut down (SIGTERM) hands its shards over at once: it releases
// their leases and sends its clients away; they log in where their account
// is served next without anyone waiting for the node timeout (a minute).
func TestClusterShutdownHandsOverAtOnce(t *testing.T) {
	fc := startFaultClusterTimeout(t, server.Config{}, time.Minute)
	const leaving = 0
	alice := fc.login(t, leaving, fc.nameOn(leaving, "alice"))
	bob := fc.login(t, 1, fc.nameOn(1, "bob"))
	room := fc.nameOn(leaving, "room")
	alice.join(t, room)
	bob.join(t, room)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	fc.shutdown(ctx, leaving)
	alice.wait(t, "OnReconnected(")
	alice.wait(t, "OnChannelJoined("+room+")")
	bob.wait(t, "OnChannelUserJoined("+alice.account)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the handover took %v", took)
	}
	fc.waitServed()
}

// A node joins: once it is settled it takes its share of the shards, and
// the channel moving to it loses nothing its members send meanwhile.
func TestClusterNodeJoinsAndTakesItsShare(t *testing.T) {
	fc := startFaultCluster(t, server.Config{ChannelRate: 1 << 20, UserRate: 1 << 20, RequestRate: 1 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fc.shutdown(ctx, 2)
	fc.waitServed()
	shards := fc.members[0].Shards()
	if got := fc.members[0].Serving() + fc.members[1].Serving(); got != shards {
		t.Fatalf("two nodes serve %d of %d shards", got, shards)
	}
	// Names whose shards stay where they are, and a channel whose shard
	// moves to the new node (a moving account's sessions log in again).
	after := cluster.Plan(shards, []string{"node1", "node2", "node3"})
	stays := func(base string) string {
		for k := range 1000 {
			name := fmt.Sprintf("%s%d", base, k)
			if i := fc.owner(name); i >= 0 && after[server.ShardOf(testApp, name, shards)] == fc.members[i].ID() {
				return name
			}
		}
		t.Fatalf("no name %s… that stays", base)
		return ""
	}
	room := ""
	for k := 0; room == ""; k++ {
		if name := fmt.Sprintf("room%d", k); after[server.ShardOf(testApp, name, shards)] == "node3" {
			room = name
		}
	}
	alice := fc.login(t, 0, stays("alice"))
	bob := fc.login(t, 1, stays("bob"))
	alice.join(t, room)
	bob.join(t, room)
	// alice keeps talking while the new node settles and shards move to it.
	fc.startMember(ctx, 2)
	deadline := time.Now().Add(jetStreamFailover)
	n := 0
	for ; !fc.served() || fc.members[2].Serving() != shards/3; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("node3 serves %d shards after %v, want %d", fc.members[2].Serving(), jetStreamFailover, shards/3)
		}
		alice.MessageChannelSend(room, fmt.Sprint(n), fmt.Sprint(n))
		alice.wait(t, fmt.Sprintf("OnMessageSendSuccess(%d)", n))
	}
	for _, i := range fc.live() {
		if got := fc.members[i].Serving(); got != shards/3 {
			t.Errorf("node%d serves %d shards, want %d", i+1, got, shards/3)
		}
	}
	for k := range n {
		e := bob.waitWithin(t, fmt.Sprintf("OnMessageChannelReceive(%s,%s,", room, alice.account), jetStreamFailover)
		if !strings.HasSuffix(string(e), fmt.Sprintf(",%d)", k)) {
			t.Fatalf("message %d: bob got %s", k, e)
		}
	}
	bob.quiet(t, bob.Client)
	if got := bob.count("OnMessageChannelReceive("); got != n {
		t.Fatalf("bob got %d of the %d messages sent while the shards moved", got, n)
	}
	for _, u := range []*user{alice, bob} {
		if got := u.count("OnChannelUserLeaved(") + u.count("OnChannelUserJoined(") - 1; got > 0 || u.count("OnReconnect") > 0 {
			t.Errorf("%s saw the channel move: %v", u.account, u.all()[len(u.all())-5:])
		}
	}
}

// Records from the node serving a channel went missing (the transport saw a
// gap in their numbering): its members on this node resume, and the replay
// gives them what they missed, without a rejoin.
func TestClusterLostRecordsMakeMembersResume(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	room := fc.nameOn(0, "room")
	alice := fc.login(t, 0, fc.nameOn(0, "alice"))
	bob := fc.login(t, 1, fc.nameOn(1, "bob"))
	alice.join(t, room)
	bob.join(t, room)
	fc.members[1].Node().PeerLost(fc.members[0].RelayID())
	bob.wait(t, "OnReconnecting(1)")
	bob.wait(t, "OnReconnected(")
	alice.MessageChannelSend(room, "after the gap", "g1")
	bob.wait(t, "OnMessageChannelReceive("+room+","+alice.account+",")
	bob.quiet(t, bob.Client)
	if n := bob.count("OnChannelJoined("); n != 1 {
		t.Fatalf("bob joined %d times: the session was not resumed", n)
	}
}

// A channel with members on all three nodes while its node dies under a
// stream of messages: every member sees one order, without duplicates, and
// every message acknowledged after the node died reaches every member left.
func TestClusterChannelOrderWhileItsNodeDies(t *testing.T) {
	fc := startFaultCluster(t, server.Config{})
	const dead = 0
	room, _, bob, carol := fc.roomOnThree(t)
	send := func(i int) bool { // until acknowledged; true when a try failed
		failed := false
		for try := 0; ; try++ {
			id := fmt.Sprintf("m%d-%d", i, try)
			bob.MessageChannelSend(room, fmt.Sprint("m", i), id)
			if bob.sendOutcome(t, id, jetStreamFailover) {
				return failed
			}
			failed = true
		}
	}
	const n = 60
	moved := false
	var acked []int // sent once the channel's node was dead, and acknowledged
	var before []server.Stats
	for i := 0; i < n; i++ {
		if i == n/3 {
			before = []server.Stats{fc.members[1].Node().Stats(), fc.members[2].Node().Stats()}
			fc.crash(dead)
		}
		moved = send(i) || moved
		if i >= n/3 {
			acked = append(acked, i)
		}
	}
	if !moved {
		t.Log("no send failed while the channel moved")
	}
	from := fmt.Sprintf("OnMessageChannelReceive(%s,%s,", room, bob.account)
	last := acked[len(acked)-1]
	for _, u := range []*user{bob, carol} {
		deadline := time.Now().Add(jetStreamFailover)
		for !slices.Contains(u.channelMsgs(from), last) {
			if time.Now().After(deadline) {
				t.Fatalf("%s got %v, not up to m%d", u.account, u.channelMsgs(from), last)
			}
			u.sync(t, u.Client)
		}
		got := u.channelMsgs(from)
		seen := map[int]bool{}
		for k, m := range got {
			if seen[m] || (k > 0 && m <= got[k-1]) {
				t.Fatalf("%s got the channel's messages out of order or twice: %v", u.account, got)
			}
			seen[m] = true
		}
		// The node that serves the channel next holds its messages until
		// every member's node has joined them again: none misses one.
		for _, m := range acked {
			if !seen[m] {
				t.Fatalf("%s missed m%d, acknowledged after the channel's node died: %v", u.account, m, got)
			}
		}
		missed := 0
		for i := range n / 3 {
			if !seen[i] {
				missed++
			}
		}
		t.Logf("%s missed %d of the %d acknowledged before the crash", u.account, missed, n/3)
	}
	// The dead node's shards were released by the survivors' word that
	// they had rejoined their members, not only by the wait's bound.
	var settles, timeouts uint64
	for i, b := range before {
		now := fc.members[i+1].Node().Stats()
		settles += now.Settles - b.Settles
		timeouts += now.SettleTimeouts - b.SettleTimeouts
	}
	if settles == 0 || timeouts == settles {
		t.Fatalf("the survivors gained %d shards, %d of them released only by the wait's bound", settles, timeouts)
	}
	t.Logf("the survivors gained %d shards, %d released by the wait's bound", settles, timeouts)
}

// sendOutcome waits for the answer to the message sent with id: true for
// success, false for an error.
func (u *user) sendOutcome(t *testing.T, id string, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, e := range u.all() {
			switch {
			case string(e) == "OnMessageSendSuccess("+id+")":
				return true
			case strings.HasPrefix(string(e), "OnMessageSendError("+id+","):
				return false
			}
		}
		select {
		case <-u.change:
		case <-deadline:
			t.Fatalf("no answer to %s within %v", id, d)
		}
	}
}

// channelMsgs lists the numbers of the "m<i>" channel messages received
// whose event starts with prefix, in the order received.
func (u *user) channelMsgs(prefix string) []int {
	var out []int
	for _, e := range u.all() {
		s := string(e)
		if !strings.HasPrefix(s, prefix) {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(s[strings.LastIndex(s, ",m")+2:], "%d)", &i); err == nil {
			out = append(out, i)
		}
	}
	return out
}

// roomOnThree is a channel served by node 0, with a member on each of the
// three nodes: alice on node 0, bob on node 1, carol on node 2.
func (fc *faultCluster) roomOnThree(t *testing.T) (room string, alice, bob, carol *user) {
	t.Helper()
	room = fc.nameOn(0, "room")
	alice = fc.login(t, 0, fc.nameOn(0, "alice"))
	bob = fc.login(t, 1, fc.nameOn(1, "bob"))
	carol = fc.login(t, 2, fc.nameOn(2, "carol"))
	for _, u := range []*user{alice, bob, carol} {
		u.join(t, room)
	}
	return room, alice, bob, carol
}

// waitHealth waits until h's /healthz answers code.
func waitHealth(t *testing.T, h http.Handler, code int) {
	t.Helper()
	deadline := time.Now().Add(jetStreamFailover)
	for {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz: %d %q, want %d", rec.Code, rec.Body.String(), code)
		}
		time.Sleep(20 * time.Millisecond) // polling the handler; deadline above
	}
}
