package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// onePeers makes a node the server of every shard of a cluster in which it
// also hears other nodes, which never send it anything themselves: the test
// speaks for them.
type onePeers struct {
	others []string
	st     store.Store

	mu      sync.Mutex
	moving  bool                // the shard has no server
	records map[string][][]byte // sent, by node
}

func (p *onePeers) Self() string    { return "me" }
func (p *onePeers) Nodes() []string { return p.others }
func (p *onePeers) Shards() int     { return 1 }
func (p *onePeers) URL(string) string {
	return ""
}

func (p *onePeers) Owner(int) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.moving {
		return "", false
	}
	return "me", true
}

func (p *onePeers) Store(k int) store.Store {
	if _, local := p.Owner(k); !local {
		return nil
	}
	return p.st
}

func (p *onePeers) Send(node string, rec []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.records == nil {
		p.records = make(map[string][][]byte)
	}
	p.records[node] = append(p.records[node], append([]byte(nil), rec...))
}

func (p *onePeers) setMoving(on bool) {
	p.mu.Lock()
	p.moving = on
	p.mu.Unlock()
}

// sent are the records of kind sent to node.
func (p *onePeers) sent(node string, kind byte) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	for _, r := range p.records[node] {
		if r[0] == kind {
			out = append(out, r)
		}
	}
	return out
}

func settledRecord() []byte { return binary.AppendUvarint([]byte{recSettled}, 0) }

// settleNode is a node of a cluster that has just gained its one shard
// after its last server died: the shard's channel messages are held until
// this node and "other" say they have rejoined their members.
func settleNode(t *testing.T) (*Node, string) {
	n, url, _ := settleNodePeers(t)
	return n, url
}

func settleNodePeers(t *testing.T) (*Node, string, *onePeers) {
	t.Helper()
	st := store.Memory()
	p := &onePeers{others: []string{"other"}, st: st}
	n, url := testNode(t, Config{Store: st, Peers: p})
	return n, url, p
}

func heldMessages(n *Node) int {
	n.settling.mu.Lock()
	defer n.settling.mu.Unlock()
	if st := n.settling.shards[0]; st != nil {
		return len(st.held)
	}
	return -1
}

// waitUntil polls cond until it holds, for at most 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A message sent to a channel whose shard is settling waits for every node
// to rejoin its members; whether its sender may send is decided when it
// comes, so a sender whose session ends meanwhile (a login elsewhere) still
// has it delivered, as on a node that sent it at once.
func TestSettlingShardHoldsChannelMessagesUntilEveryNodeRejoined(t *testing.T) {
	n, url := settleNode(t)
	alice, bob := dialRaw(t, url), dialRaw(t, url)
	alice.login("app", "alice")
	bob.login("app", "bob")
	for _, c := range []*raw{alice, bob} {
		if f := c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
			t.Fatalf("join: %v", f.Err)
		}
	}
	n.ShardGained(0, n.peers.Store(0))
	alice.write(wire.MustEncode(100, wire.OpChannelSend, wire.ChannelSendReq{Channel: "room", Msg: "held"}))
	waitUntil(t, "the message is held", func() bool { return heldMessages(n) == 1 })
	dialRaw(t, url).login("app", "alice") // ends alice's first session: she leaves the channel
	bob.waitFor(func(f wire.Frame) bool { return f.Op == wire.PushUserLeft })
	for _, f := range bob.queue {
		if f.Op == wire.PushChannelMsg {
			t.Fatalf("bob got the message while the shard was settling: %s", f.D)
		}
	}

	n.PeerMessage("me", settledRecord())
	if heldMessages(n) != 1 {
		t.Fatal("the hold ended before every node had said it rejoined its members")
	}
	n.PeerMessage("other", settledRecord())
	var m wire.ChannelMsg
	mustDecode(t, bob.push(wire.PushChannelMsg), &m)
	if m.From != "alice" || m.Msg != "held" {
		t.Fatalf("bob got %+v", m)
	}
	waitUntil(t, "the hold is over", func() bool { return heldMessages(n) == -1 })
	if f := bob.call(wire.OpChannelSend, wire.ChannelSendReq{Channel: "room", Msg: "now"}); f.Err != nil {
		t.Fatalf("a message after the hold: %v", f.Err)
	}
	if s := n.Stats(); s.Settles != 1 || s.SettleTimeouts != 0 {
		t.Fatalf("settles %d, timeouts %d; want 1, 0", s.Settles, s.SettleTimeouts)
	}
}

// aliceInSettlingRoom: alice is in "room" when its shard comes to the node,
// which then has rejoined its own members; the other node has not said so.
func aliceInSettlingRoom(t *testing.T) (*Node, *raw) {
	t.Helper()
	n, url := settleNode(t)
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	if f := alice.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
		t.Fatalf("join: %v", f.Err)
	}
	n.ShardGained(0, n.peers.Store(0))
	n.PeerMessage("me", settledRecord())
	return n, alice
}

// A node that never says it is done (it is overloaded, or its word was
// lost) holds the messages for settleWait only.
func TestSettlingShardReleasesItsMessagesAfterSettleWait(t *testing.T) {
	n, alice := aliceInSettlingRoom(t)
	start := time.Now()
	if f := alice.call(wire.OpChannelSend, wire.ChannelSendReq{Channel: "room", Msg: "late"}); f.Err != nil {
		t.Fatalf("the held message failed: %v", f.Err)
	}
	if waited := time.Since(start); waited < settleWait/2 {
		t.Fatalf("answered after %v: the message was not held", waited)
	}
	alice.push(wire.PushChannelMsg)
	if s := n.Stats(); s.Settles != 1 || s.SettleTimeouts != 1 {
		t.Fatalf("settles %d, timeouts %d; want 1, 1", s.Settles, s.SettleTimeouts)
	}
}

// A node that is gone counts as done.
func TestSettlingShardDoesNotWaitForAGoneNode(t *testing.T) {
	n, alice := aliceInSettlingRoom(t)
	n.PeerGone("other")
	if f := alice.call(wire.OpChannelSend, wire.ChannelSendReq{Channel: "room", Msg: "m"}); f.Err != nil {
		t.Fatalf("send: %v", f.Err)
	}
	if s := n.Stats(); s.Settles != 1 || s.SettleTimeouts != 0 {
		t.Fatalf("settles %d, timeouts %d; want 1, 0", s.Settles, s.SettleTimeouts)
	}
}
