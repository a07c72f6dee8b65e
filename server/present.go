package server

import (
	"sync"

	"github.com/xinling/xinling/sdk/wire"
)

// present is what the node serving an app's __agora_user_online knows of the
// accounts logged in on other nodes: which node announced each. When a node
// dies its sessions announce nothing, so this node announces their logout
// for them (PeerGone). A later login on another node wins: the dead node's
// account that logged in again elsewhere is not announced gone.
//
// It starts empty when the channel's shard moves here: the accounts online
// on the other nodes before that are not announced gone if their node dies.
type present struct {
	mu    sync.Mutex
	where map[key]string // account → the node that announced its login
}

func (o *present) note(node string, k key, in bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case in:
		o.where[k] = node
	case o.where[k] == node:
		delete(o.where, k)
	}
}

// gone forgets node's accounts and returns them.
func (o *present) gone(node string) []key {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []key
	for k, n := range o.where {
		if n == node {
			out = append(out, k)
			delete(o.where, k)
		}
	}
	return out
}

// forget drops what was noted for the channels of shard k (it left).
func (o *present) forget(k, shards int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for a := range o.where {
		if shardOf(a.app, wire.ChannelUserOnline, shards) == k {
			delete(o.where, a)
		}
	}
}

// announceGone announces the logout of the accounts a dead node had online.
func (n *Node) announceGone(node string) {
	for _, k := range n.present.gone(node) {
		if _, _, local := n.place(k.app, wire.ChannelUserOnline); local {
			b, _ := jsonMarshal(presenceMsg(k.name, "logout"))
			n.announceHere(k.app, wire.ChannelUserOnline, string(b))
		}
	}
}
