package server

import (
	"hash/fnv"

	"github.com/xinling/xinling/server/store"
)

// Peers is a node's view of the other nodes of a sharded cluster: the engine
// boundary across machines (server/cluster implements it over NATS). Nil in
// Config: a single node, which owns every account and channel and never
// leaves the process.
//
// Accounts and channels hash into Shards() shards; each shard is served by
// one node at a time, which keeps its durable state (its own store) and runs
// its logic: an account's sessions, offline queue, user attributes and the
// calls it receives; a channel's membership, order, attributes and rate
// limits. A client logs in on the node serving its account (any other
// redirects it there), so its session and socket are on one node; what
// involves another shard travels as a record to the node serving it
// (remote*.go).
type Peers interface {
	// Self is this node's name on the cluster's transport.
	Self() string
	// Nodes are the other nodes heard from now.
	Nodes() []string
	// Shards is the number of shards, the same on every node.
	Shards() int
	// Owner is the node serving shard k now, "" while none does (it is
	// moving), and whether that is this node.
	Owner(k int) (node string, local bool)
	// URL is where node's clients connect, "" when it is not known.
	URL(node string) string
	// Store is this node's store of shard k, nil when it does not serve k.
	Store(k int) store.Store
	// Send queues a record for node. Records to one node arrive in the order
	// they were sent, or not at all (then PeerGone follows). It never blocks.
	Send(node string, rec []byte)
}

// shardOf is the shard of an account or a channel of app: the same on every
// node and release (FNV-1a of app, a zero byte, name).
func shardOf(app, name string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(app))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(shards))
}

// ShardOf is shardOf for the cluster package and tests.
func ShardOf(app, name string, shards int) int { return shardOf(app, name, shards) }

// place says where an account's or a channel's shard is served: here
// (local), on node, or nowhere right now (node "" and not local).
func (n *Node) place(app, name string) (k int, node string, local bool) {
	if n.peers == nil {
		return 0, "", true
	}
	k = shardOf(app, name, n.peers.Shards())
	node, local = n.peers.Owner(k)
	return k, node, local
}

// storeOf is the store holding an account's or a channel's durable state
// when this node serves its shard; nil otherwise.
func (n *Node) storeOf(app, name string) store.Store {
	if n.peers == nil {
		return n.store
	}
	return n.peers.Store(shardOf(app, name, n.peers.Shards()))
}
