// Package e2e drives SDK instances against a real server over a real
// WebSocket on loopback: one test per rule of SPEC.md §4.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopNATS()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitFor bounds every wait for a callback. A cluster makes every durable
// write a replicated JetStream write, and the race detector on two cores
// slows those most: its suite waits longer.
func waitFor() time.Duration {
	if clusterSize() > 0 {
		return 20 * time.Second
	}
	return 5 * time.Second
}

// clusterSize, from XINLING_E2E_CLUSTER, runs every test against that many
// nodes clustered over NATS (clients spread over them) instead of one node.
// It is read while tests run, not at package init: only then does go test
// record the variable in its cache key, so a clustered run never reuses a
// single node's result.
func clusterSize() int {
	n, _ := strconv.Atoi(os.Getenv("XINLING_E2E_CLUSTER"))
	return n
}

// srv is a server on a loopback port that a test can stop and start again
// on the same address and store directory; in cluster mode, the members of
// one cluster, stopped and started together.
type srv struct {
	t    testing.TB
	cfg  server.Config
	dir  string // "" = memory store
	addr string
	node *server.Node
	st   store.Store
	done chan error

	size    int // cluster members; 0: one plain node
	prefix  string
	members []*member
	next    atomic.Int64 // the member the next user connects to
}

func startServer(t testing.TB, cfg server.Config) *srv {
	t.Helper()
	return startCluster(t, cfg, clusterSize(), false)
}

func startDurable(t testing.TB, cfg server.Config) *srv {
	t.Helper()
	return startCluster(t, cfg, clusterSize(), true)
}

// startCluster starts n members of one cluster (n 0: a plain node).
func startCluster(t testing.TB, cfg server.Config, n int, durable bool) *srv {
	t.Helper()
	s := &srv{t: t, cfg: cfg, addr: "127.0.0.1:0", size: n}
	if durable && n == 0 {
		s.dir = t.TempDir()
	}
	if n > 0 {
		s.prefix = fmt.Sprintf("t%d", prefixes.Add(1))
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *srv) start() {
	s.t.Helper()
	if s.size > 0 {
		s.startMembers()
		return
	}
	var err error
	if s.dir != "" {
		if s.st, err = store.Open(s.dir); err != nil {
			s.t.Fatalf("open store: %v", err)
		}
	} else {
		s.st = store.Memory()
	}
	l := listen(s.t, s.addr)
	s.addr = l.Addr().String()
	cfg := s.cfg
	cfg.Store = s.st
	s.node = server.New(cfg)
	s.done = make(chan error, 1)
	go func() { s.done <- s.node.Serve(l) }()
}

// listen listens on addr, waiting for a port a stopped server held to be free.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	var err error
	for i := 0; ; i++ { // the old port may linger briefly after a stop
		if l, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return l
}

func (s *srv) stop() {
	if s.size > 0 {
		s.stopMembers()
		return
	}
	if s.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.node.Shutdown(ctx); err != nil {
		s.t.Errorf("shutdown: %v", err)
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.t.Errorf("serve: %v", err)
	}
	if err := s.st.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
	s.node = nil
}

func (s *srv) restart() {
	s.stop()
	s.start()
}

// waitStore waits until cond holds of the durable state of the account or
// channel name (in a cluster, the store of its shard, on the member serving
// it: it reads the log as it writes it).
func (s *srv) waitStore(t testing.TB, what, name string, cond func(store.Store) (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitFor())
	for {
		st := s.st
		if m := s.memberOf(name); m != nil {
			st = m.m.Store(server.ShardOf(testApp, name, m.m.Shards()))
		}
		if st == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no node serves %s", what, name)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		ok, err := cond(st)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %v", what, waitFor())
		}
		time.Sleep(20 * time.Millisecond) // the store has no change events; polled with a deadline
	}
}

// urlOf is the address of the node that serves account (in a cluster, a
// login elsewhere is redirected, which a raw client does not follow).
func (s *srv) urlOf(account string) string { return "ws://" + s.target(account)() }

// url is the address of the node the next user connects to.
func (s *srv) url() string {
	if s.size > 0 {
		i := int(s.next.Add(1)-1) % len(s.members)
		return "ws://" + s.members[i].addr
	}
	return "ws://" + s.addr
}

// stats sums the figures of every node.
func (s *srv) stats() server.Stats {
	if s.size == 0 {
		return s.node.Stats()
	}
	var sum server.Stats
	for _, m := range s.members {
		if m.done == nil {
			continue
		}
		st := m.m.Node().Stats()
		sum.SlowDrops += st.SlowDrops
		sum.Sessions += st.Sessions
		sum.Limited += st.Limited
		sum.BadFrames += st.BadFrames
	}
	return sum
}

// ev is one callback, rendered as text: "OnChannelJoined(lobby)".
type ev string

// rec records every callback of one instance.
type rec struct {
	sdk.BaseCallback
	mu     sync.Mutex
	events []ev
	next   int // events before next have been consumed by expect/wait
	change chan struct{}
}

func newRec() *rec { return &rec{change: make(chan struct{}, 1)} }

func (r *rec) add(name string, args ...any) {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	r.mu.Lock()
	r.events = append(r.events, ev(name+"("+strings.Join(parts, ",")+")"))
	r.mu.Unlock()
	select {
	case r.change <- struct{}{}:
	default:
	}
}

// wait returns the first unconsumed event with the given prefix, consuming
// everything up to it, or fails the test after the deadline.
func (r *rec) wait(t testing.TB, prefix string) ev {
	t.Helper()
	return r.waitWithin(t, prefix, waitFor())
}

// waitWithin is wait with its own deadline.
func (r *rec) waitWithin(t testing.TB, prefix string, d time.Duration) ev {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		for i := r.next; i < len(r.events); i++ {
			if strings.HasPrefix(string(r.events[i]), prefix) {
				r.next = i + 1
				e := r.events[i]
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		select {
		case <-r.change:
		case <-deadline:
			t.Fatalf("no %s within %v; events: %v", prefix, d, r.all())
			return ""
		}
	}
}

// expect waits until the next events (OnLog lines skipped) are exactly want,
// in order, and consumes them.
func (r *rec) expect(t testing.TB, want ...ev) {
	t.Helper()
	deadline := time.After(waitFor())
	for {
		r.mu.Lock()
		var got []ev
		i := r.next
		for ; i < len(r.events) && len(got) < len(want); i++ {
			if !strings.HasPrefix(string(r.events[i]), "OnLog(") {
				got = append(got, r.events[i])
			}
		}
		if len(got) == len(want) {
			r.next = i
			r.mu.Unlock()
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("callbacks:\n got  %v\n want %v", got, want)
				}
			}
			return
		}
		r.mu.Unlock()
		select {
		case <-r.change:
		case <-deadline:
			t.Fatalf("callbacks: got only %v, want %v", got, want)
			return
		}
	}
}

// quiet asserts that nothing but OnLog lines arrives until a round trip
// through the client shows the pipeline is drained.
func (r *rec) quiet(t testing.TB, c *sdk.Client) {
	t.Helper()
	c.QueryUserStatus("__sync__")
	r.expect(t, "OnQueryUserStatusResult(__sync__,0)")
}

// sync waits for a round trip through the client, whatever else arrives first.
func (r *rec) sync(t testing.TB, c *sdk.Client) {
	t.Helper()
	c.QueryUserStatus("__sync__")
	r.wait(t, "OnQueryUserStatusResult(__sync__,")
}

func (r *rec) all() []ev {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ev(nil), r.events...)
}

func (r *rec) OnReconnecting(n uint32)           { r.add("OnReconnecting", n) }
func (r *rec) OnReconnected(fd int)              { r.add("OnReconnected") }
func (r *rec) OnLoginSuccess(uid uint32, fd int) { r.add("OnLoginSuccess", uid) }
func (r *rec) OnLogout(code int)                 { r.add("OnLogout", code) }
func (r *rec) OnLoginFailed(code int)            { r.add("OnLoginFailed", code) }
func (r *rec) OnError(name string, code int, desc string) {
	r.add("OnError", name, code)
}
func (r *rec) OnLog(txt string)                     { r.add("OnLog", txt) }
func (r *rec) OnInvokeRet(callID, err, resp string) { r.add("OnInvokeRet", callID, err, resp) }
func (r *rec) OnQueryUserStatusResult(name, status string) {
	r.add("OnQueryUserStatusResult", name, status)
}
func (r *rec) OnUserAttrResult(account, name, value string) {
	r.add("OnUserAttrResult", account, name, value)
}
func (r *rec) OnUserAttrAllResult(account, value string) {
	r.add("OnUserAttrAllResult", account, value)
}
func (r *rec) OnMessageSendError(id string, code int) { r.add("OnMessageSendError", id, code) }
func (r *rec) OnMessageSendSuccess(id string)         { r.add("OnMessageSendSuccess", id) }
func (r *rec) OnMessageInstantReceive(account string, uid uint32, msg string) {
	r.add("OnMessageInstantReceive", account, uid, msg)
}
func (r *rec) OnMessageChannelReceive(ch, account string, uid uint32, msg string) {
	r.add("OnMessageChannelReceive", ch, account, uid, msg)
}
func (r *rec) OnChannelJoined(ch string)               { r.add("OnChannelJoined", ch) }
func (r *rec) OnChannelJoinFailed(ch string, code int) { r.add("OnChannelJoinFailed", ch, code) }
func (r *rec) OnChannelLeaved(ch string, code int)     { r.add("OnChannelLeaved", ch, code) }
func (r *rec) OnChannelUserJoined(account string, uid uint32) {
	r.add("OnChannelUserJoined", account, uid)
}
func (r *rec) OnChannelUserLeaved(account string, uid uint32) {
	r.add("OnChannelUserLeaved", account, uid)
}
func (r *rec) OnChannelUserList(accounts []string, uids []uint32) {
	r.add("OnChannelUserList", accounts, uids)
}
func (r *rec) OnChannelQueryUserNumResult(ch string, code, num int) {
	r.add("OnChannelQueryUserNumResult", ch, code, num)
}
func (r *rec) OnChannelAttrUpdated(ch, name, value, typ string) {
	r.add("OnChannelAttrUpdated", ch, name, value, typ)
}
func (r *rec) OnInviteReceived(ch, account string, uid uint32, extra string) {
	r.add("OnInviteReceived", ch, account, uid, extra)
}
func (r *rec) OnInviteReceivedByPeer(ch, account string, uid uint32) {
	r.add("OnInviteReceivedByPeer", ch, account, uid)
}
func (r *rec) OnInviteAcceptedByPeer(ch, account string, uid uint32, extra string) {
	r.add("OnInviteAcceptedByPeer", ch, account, uid, extra)
}
func (r *rec) OnInviteRefusedByPeer(ch, account string, uid uint32, extra string) {
	r.add("OnInviteRefusedByPeer", ch, account, uid, extra)
}
func (r *rec) OnInviteFailed(ch, account string, uid uint32, code int, extra string) {
	r.add("OnInviteFailed", ch, account, uid, code, extra)
}
func (r *rec) OnInviteEndByPeer(ch, account string, uid uint32, extra string) {
	r.add("OnInviteEndByPeer", ch, account, uid, extra)
}
func (r *rec) OnInviteEndByMyself(ch, account string, uid uint32) {
	r.add("OnInviteEndByMyself", ch, account, uid)
}
func (r *rec) OnInviteMsg(ch, account string, uid uint32, typ, data, extra string) {
	r.add("OnInviteMsg", ch, account, uid, typ, data, extra)
}

// user is one SDK instance with its recorder.
type user struct {
	*sdk.Client
	*rec
	account string
}

const testApp = "testapp"

// newUser makes an instance against s, not logged in.
func newUser(t testing.TB, s *srv, account string, opts ...sdk.Option) *user {
	t.Helper()
	c := sdk.NewInstance(testApp, append([]sdk.Option{sdk.WithServer(s.url())}, opts...)...)
	r := newRec()
	c.CallbackSet(r)
	t.Cleanup(c.Destroy)
	return &user{Client: c, rec: r, account: account}
}

// login makes a logged-in instance.
func login(t testing.TB, s *srv, account string, opts ...sdk.Option) *user {
	t.Helper()
	u := newUser(t, s, account, opts...)
	u.Login(testApp, account, "_no_need_token", 0, "")
	u.wait(t, "OnLoginSuccess(0")
	return u
}

// join joins a channel and consumes the joiner's callbacks up to the
// _member_num attribute of the snapshot (attributes named after it, which
// sort later, stay for the test to see).
func (u *user) join(t testing.TB, ch string) {
	t.Helper()
	u.ChannelJoin(ch)
	u.wait(t, "OnChannelJoined("+ch+")")
	u.wait(t, "OnChannelUserList(")
	u.wait(t, "OnChannelAttrUpdated("+ch+",_member_num,")
}
