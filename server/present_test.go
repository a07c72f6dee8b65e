package server

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/xinling/xinling/sdk/wire"
)

func presenceRecord(app, account string, in bool) []byte {
	return appendPresence([]byte{recPresence}, app, account, in)
}

// presenceEvents waits for the next __agora_user_online event about each
// of accounts, in any order, and returns their types.
func presenceEvents(t *testing.T, c *raw, accounts ...string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for len(got) < len(accounts) {
		var m wire.ChannelMsg
		mustDecode(t, c.push(wire.PushChannelMsg), &m)
		var ev map[string]any
		if json.Unmarshal([]byte(m.Msg), &ev) != nil {
			t.Fatalf("not a presence event: %q", m.Msg)
		}
		a, _ := ev["account"].(string)
		if _, seen := got[a]; !seen && slices.Contains(accounts, a) {
			got[a], _ = ev["type"].(string)
		}
	}
	return got
}

// Every login and logout here is told to every other node, and a node that
// appears is told who is logged in here.
func TestPresenceIsToldToEveryNode(t *testing.T) {
	n, url, p := settleNodePeers(t)
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	want := presenceRecord("app", "alice", true)
	if got := p.sent("other", recPresence); len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("the other node was told %q, want %q", got, want)
	}
	n.PeerJoined("new")
	if got := p.sent("new", recPresence); len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("the node that appeared was told %q, want %q", got, want)
	}
	if err := n.onPresence("other", presenceRecord("app", "bob", true)[1:len(want)-1]); err == nil {
		t.Fatal("a truncated presence record was read")
	}
}

// The logouts of a dead node's accounts are announced by the node serving
// __agora_user_online; when nobody serves it as the node dies, by the one
// that gains it, once its members are back; an account that logged in
// again elsewhere meanwhile is not announced gone.
func TestPresenceOfADeadNodesAccountsEnds(t *testing.T) {
	n, url, p := settleNodePeers(t)
	watcher := dialRaw(t, url)
	watcher.login("app", "watcher")
	if f := watcher.call(wire.OpChannelJoin, wire.ChannelReq{Channel: wire.ChannelUserOnline}); f.Err != nil {
		t.Fatalf("join: %v", f.Err)
	}
	n.PeerMessage("other", presenceRecord("app", "bob", true))
	n.PeerMessage("other", presenceRecord("app", "carol", true))
	n.PeerMessage("other", presenceRecord("app", "dave", true))
	n.PeerMessage("other", presenceRecord("app", "dave", false))
	n.PeerGone("other")
	if got := presenceEvents(t, watcher, "bob", "carol"); got["bob"] != "logout" || got["carol"] != "logout" {
		t.Fatalf("got %v, want bob's and carol's logouts", got)
	}

	// Now the dead node served the channel: the logouts wait for its shard.
	n.PeerMessage("third", presenceRecord("app", "erin", true))
	n.PeerMessage("third", presenceRecord("app", "frank", true))
	p.setMoving(true)
	n.PeerGone("third")
	n.PeerMessage("fourth", presenceRecord("app", "frank", true)) // back, elsewhere
	p.setMoving(false)
	n.ShardGained(0, p.st)
	n.PeerMessage("me", settledRecord())
	n.PeerMessage("other", settledRecord())
	if got := presenceEvents(t, watcher, "erin"); got["erin"] != "logout" {
		t.Fatalf("erin: %v, want logout", got)
	}
	// Every held announcement is out once the hold is over; what was
	// pushed before an answer arrives before it.
	waitUntil(t, "the hold is over", func() bool { return heldMessages(n) == -1 })
	watcher.call(wire.OpChannelCount, wire.ChannelReq{Channel: wire.ChannelUserOnline})
	for _, f := range watcher.queue {
		if f.Op == wire.PushChannelMsg && bytes.Contains(f.D, []byte("frank")) {
			t.Fatalf("frank, logged in elsewhere, was announced: %s", f.D)
		}
	}
}
