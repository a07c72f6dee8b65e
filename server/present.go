package server

import (
	"sync"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// Presence across nodes. When a node dies its sessions announce nothing, so
// the node serving the app's __agora_user_online announces their logouts
// for them (PeerGone). For that every node knows which accounts are logged
// in on which other node: each login and logout is told to every node
// (recPresence), and a node that appears is told every account logged in
// here (PeerJoined). A later login on another node wins: the dead node's
// account that logged in again elsewhere is not announced gone.
//
// The node serving __agora_user_online may be the one that died, and then
// nobody serves it until its shard moves: every node keeps the logouts to
// announce (pending), and the one that gains the shard announces them once
// the channel's members are back (afterSettle).

// recPresence: (app, account, 1 login | 0 logout) repeated.
const recPresence = 's'

// pendingGoneTTL bounds how long a logout waits for __agora_user_online to
// be served again (a dead node's shards are served again within a minute).
const pendingGoneTTL = 2 * time.Minute

type present struct {
	mu      sync.Mutex
	where   map[key]string    // account → the other node it is logged in on
	pending map[key]time.Time // logouts of dead nodes' accounts, to announce
	sendMu  sync.Mutex        // keeps the records of logins and of a node's list in order
}

func (o *present) note(node string, k key, in bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case in:
		if o.where == nil {
			o.where = make(map[key]string)
		}
		o.where[k] = node
		delete(o.pending, k)
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

func (o *present) addPending(k key, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending = make(map[key]time.Time)
	}
	o.pending[k] = now
}

// takePending removes and returns the pending logouts whose
// __agora_user_online is in shard k, dropping those older than
// pendingGoneTTL.
func (o *present) takePending(k, shards int, now time.Time) []key {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []key
	for a, at := range o.pending {
		switch {
		case now.Sub(at) > pendingGoneTTL:
			delete(o.pending, a)
		case k >= 0 && shardOf(a.app, wire.ChannelUserOnline, shards) == k:
			out = append(out, a)
			delete(o.pending, a)
		}
	}
	return out
}

func appendPresence(b []byte, app, account string, in bool) []byte {
	b = appendName(b, app)
	b = appendName(b, account)
	if in {
		return append(b, 1)
	}
	return append(b, 0)
}

// tellPresence tells every other node of a login or logout here.
func (n *Node) tellPresence(app, account string, in bool) {
	rec := appendPresence([]byte{recPresence}, app, account, in)
	n.present.sendMu.Lock()
	defer n.present.sendMu.Unlock()
	for _, node := range n.peers.Nodes() {
		n.peers.Send(node, rec)
	}
}

// PeerJoined: a node appeared; it is told every account logged in here.
func (n *Node) PeerJoined(node string) {
	n.present.sendMu.Lock()
	defer n.present.sendMu.Unlock()
	rec := []byte{recPresence}
	n.sessions.each(func(s *Session) {
		rec = appendPresence(rec, s.app, s.account, true)
		if len(rec) > 64<<10 {
			n.peers.Send(node, rec)
			rec = []byte{recPresence}
		}
	})
	if len(rec) > 1 {
		n.peers.Send(node, rec)
	}
}

func (n *Node) onPresence(from string, b []byte) error {
	for len(b) > 0 {
		app, rest, err := readName(b)
		if err != nil {
			return err
		}
		account, rest, err := readName(rest)
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			return errShortRecord
		}
		n.present.note(from, key{app, account}, rest[0] == 1)
		b = rest[1:]
	}
	return nil
}

// announceGone announces the logout of the accounts a dead node had
// logged in: at once where __agora_user_online is served here; later, by
// whichever node gains it, when nobody serves it now.
func (n *Node) announceGone(node string) {
	now := time.Now()
	for _, k := range n.present.gone(node) {
		_, owner, local := n.place(k.app, wire.ChannelUserOnline)
		switch {
		case local:
			n.announceLogout(k)
		case owner == "" || owner == node:
			n.present.addPending(k, now)
		}
	}
}

// announcePending announces the logouts kept for __agora_user_online of
// shard k, which came here.
func (n *Node) announcePending(k int) {
	for _, a := range n.present.takePending(k, n.peers.Shards(), time.Now()) {
		n.announceLogout(a)
	}
}

func (n *Node) announceLogout(k key) {
	b, _ := jsonMarshal(presenceMsg(k.name, "logout"))
	n.afterSettle(k.app, wire.ChannelUserOnline, func(here bool) {
		if here {
			n.announceHere(k.app, wire.ChannelUserOnline, string(b))
		}
	})
}
