package server

import (
	"encoding/binary"
	"sync"
	"time"
)

// A shard whose node died starts afresh on the next: each node joins its
// sessions in the shard's channels again (rejoin), one request per session.
// A message sent to such a channel before every member is back would miss
// those not yet back. So the node gaining a shard holds the shard's channel
// messages until every live node (itself too) has said that its rejoins of
// the shard are answered (recSettled), or for settleWait: order and
// exactly-once then hold for every member the move left in the channel.

const recSettled = 'r' // k: the sender's rejoins of shard k are answered

// settleWait bounds how long a gained shard's channel messages wait for
// the other nodes: a node learns who serves a shard from its heartbeats
// (at least one a second), then rejoins its sessions in one round trip.
const settleWait = 2 * time.Second

type settling struct {
	mu      sync.Mutex
	shards  map[int]*settle // gained shards whose messages are held
	rejoins map[int]int     // this node's rejoins in flight, by shard
}

type settle struct {
	waitFor  map[string]bool // the nodes that have not said they are done
	held     []func(here bool)
	draining bool
	timer    *time.Timer
}

// Why a settle ends.
const (
	settledAll     = iota // every node said it is done
	settleTimedOut        // settleWait passed
	settleDropped         // the shard left this node
)

// holdShard: shard k comes here; its channel messages wait for the nodes
// heard now to rejoin their sessions.
func (n *Node) holdShard(k int) {
	st := &settle{waitFor: map[string]bool{n.peers.Self(): true}}
	for _, node := range n.peers.Nodes() {
		st.waitFor[node] = true
	}
	n.settling.mu.Lock()
	if n.settling.shards == nil {
		n.settling.shards = make(map[int]*settle)
	}
	if old := n.settling.shards[k]; old != nil && !old.draining {
		old.timer.Stop()
		st.held = old.held
	}
	n.settling.shards[k] = st
	st.timer = time.AfterFunc(settleWait, func() { n.releaseShard(k, st, settleTimedOut) })
	n.settling.mu.Unlock()
}

// afterSettle runs fn, a channel message of (app, name), once its shard
// is settled: at once unless the shard was just gained. here says whether
// this node still serves the shard then.
func (n *Node) afterSettle(app, name string, fn func(here bool)) {
	k := shardOf(app, name, n.peers.Shards())
	n.settling.mu.Lock()
	if st := n.settling.shards[k]; st != nil {
		st.held = append(st.held, fn)
		n.settling.mu.Unlock()
		return
	}
	n.settling.mu.Unlock()
	fn(n.serves(k))
}

// isSettling says whether the shard of (app, name) holds its messages now.
func (n *Node) isSettling(app, name string) bool {
	k := shardOf(app, name, n.peers.Shards())
	n.settling.mu.Lock()
	defer n.settling.mu.Unlock()
	return n.settling.shards[k] != nil
}

func (n *Node) serves(k int) bool {
	_, local := n.peers.Owner(k)
	return local && n.peers.Store(k) != nil
}

// settledBy: node has rejoined its sessions in shard k's channels (or is
// gone, node for every shard when k < 0).
func (n *Node) settledBy(node string, k int) {
	n.settling.mu.Lock()
	var done []*settle
	var ks []int
	for sk, st := range n.settling.shards {
		if (k < 0 || sk == k) && st.waitFor[node] {
			delete(st.waitFor, node)
			if len(st.waitFor) == 0 {
				done, ks = append(done, st), append(ks, sk)
			}
		}
	}
	n.settling.mu.Unlock()
	for i, st := range done {
		n.releaseShard(ks[i], st, settledAll)
	}
}

// releaseShard runs a settle's held messages in the order they came, and
// those that come while it does; then the shard's messages run at once.
func (n *Node) releaseShard(k int, st *settle, why int) {
	n.settling.mu.Lock()
	if st.draining || n.settling.shards[k] != st {
		n.settling.mu.Unlock()
		return
	}
	st.draining = true
	st.timer.Stop()
	if why != settleDropped {
		n.metrics.settled.Add(1)
	}
	if why == settleTimedOut {
		n.metrics.settleTimeouts.Add(1)
		var missing []string
		for node := range st.waitFor {
			missing = append(missing, node)
		}
		n.log.Warn("cluster: a gained shard's messages waited settleWait for nodes to rejoin their sessions", "shard", k, "nodes", missing)
	}
	n.settling.mu.Unlock()
	go func() {
		for {
			n.settling.mu.Lock()
			held := st.held
			st.held = nil
			if len(held) == 0 {
				if n.settling.shards[k] == st {
					delete(n.settling.shards, k)
				}
				n.settling.mu.Unlock()
				return
			}
			n.settling.mu.Unlock()
			for _, fn := range held {
				fn(n.serves(k))
			}
		}
	}()
}

// dropShardHold: shard k left this node; what it held is asked again
// where k is served next.
func (n *Node) dropShardHold(k int) {
	n.settling.mu.Lock()
	st := n.settling.shards[k]
	n.settling.mu.Unlock()
	if st != nil {
		n.releaseShard(k, st, settleDropped)
	}
}

// rejoinStarted and rejoinDone count this node's rejoins of shard k; when
// none is left, the node serving k hears that this one is done.
func (n *Node) rejoinStarted(k int) {
	n.settling.mu.Lock()
	if n.settling.rejoins == nil {
		n.settling.rejoins = make(map[int]int)
	}
	n.settling.rejoins[k]++
	n.settling.mu.Unlock()
}

func (n *Node) rejoinDone(k int) {
	n.settling.mu.Lock()
	n.settling.rejoins[k]--
	left := n.settling.rejoins[k]
	if left == 0 {
		delete(n.settling.rejoins, k)
	}
	n.settling.mu.Unlock()
	if left == 0 {
		n.tellSettled(k)
	}
}

// tellSettled tells the node serving shard k that this one has no rejoin
// of k in flight, when that is so.
func (n *Node) tellSettled(k int) {
	n.settling.mu.Lock()
	busy := n.settling.rejoins[k] > 0
	n.settling.mu.Unlock()
	owner, _ := n.peers.Owner(k)
	if busy || owner == "" {
		return
	}
	n.peers.Send(owner, binary.AppendUvarint([]byte{recSettled}, uint64(k)))
}

func (n *Node) onSettled(from string, b []byte) error {
	k, _, err := readUvarint(b)
	if err != nil {
		return err
	}
	n.settledBy(from, int(k))
	return nil
}
