package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// stallDisk is a persistent backend in memory whose commits wait while it
// is held: a slow or stalled disk.
type stallDisk struct {
	store.Backend
	mu   sync.Mutex
	held chan struct{}
}

func (d *stallDisk) Persistent() bool { return true }

func (d *stallDisk) Apply(b *store.Batch) error {
	d.mu.Lock()
	held := d.held
	d.mu.Unlock()
	if held != nil {
		<-held
	}
	return d.Backend.Apply(b)
}

func (d *stallDisk) hold() {
	d.mu.Lock()
	d.held = make(chan struct{})
	d.mu.Unlock()
}

func (d *stallDisk) release() {
	d.mu.Lock()
	if d.held != nil {
		close(d.held)
		d.held = nil
	}
	d.mu.Unlock()
}

func stallStore(t *testing.T) (*stallDisk, store.Store) {
	t.Helper()
	d := &stallDisk{Backend: store.MemoryBackend()}
	st, err := store.New(d, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.release(); st.Close() })
	return d, st
}

// TestSlowDiskIsNotSilence: a client whose request waits on a stalled disk
// for longer than three heartbeats, and which pings all along, keeps its
// connection: silence is counted while the server waits to read, not while
// it works. (The server used to count from the last message it read, and
// dropped such clients: their pings sat unread behind the slow request.)
func TestSlowDiskIsNotSilence(t *testing.T) {
	d, st := stallStore(t)
	_, url := testNode(t, Config{Store: st, Heartbeat: 100 * time.Millisecond})
	c := dialRaw(t, url)
	c.login("app", "alice")
	d.hold()
	c.write(wire.MustEncode(7, wire.OpUserSetAttr, wire.UserAttrReq{Name: "nick", Value: "Al"}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(30 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{}))
			}
		}
	})
	time.AfterFunc(600*time.Millisecond, d.release) // the disk comes back after six heartbeats' worth
	f := c.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == 7 })
	if f.Err != nil {
		t.Fatalf("setattr after the stall: %v", f.Err)
	}
	close(stop)
	wg.Wait()
	// Still connected: a request is answered.
	if f := c.call(wire.OpUserGetAttr, wire.UserAttrReq{Account: "alice", Name: "nick"}); f.Err != nil {
		t.Fatalf("after the stall: %v", f.Err)
	}
}

// TestPeerMessagesWaitForTheDisk: while the disk is stalled the sender's
// reader goes on (its ping is answered), the recipient sees nothing and the
// sender no answer; once the disk is back, the recipient gets every message
// and the sender every answer, in order, and a request made after the
// messages is answered after them.
func TestPeerMessagesWaitForTheDisk(t *testing.T) {
	d, st := stallStore(t)
	_, url := testNode(t, Config{Store: st})
	bob := dialRaw(t, url)
	bob.login("app", "bob")
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	d.hold()
	for i := range 5 {
		alice.write(wire.MustEncode(uint64(10+i), wire.OpPeerSend, wire.PeerSendReq{To: "bob", Msg: string(rune('a' + i)), MID: string(rune('a' + i))}))
	}
	alice.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{}))
	alice.write(wire.MustEncode(20, wire.OpUserStatus, wire.UserAttrReq{Account: "bob"}))
	// The pong comes first: nothing of the rest can before the disk is back.
	f := alice.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpPong || f.Op == wire.OpResult })
	if f.Op != wire.OpPong {
		t.Fatalf("while the disk is stalled the sender got %s %d first, want the pong", f.Op, f.ID)
	}
	_ = bob.ws.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, msg, err := bob.ws.ReadMessage(); err == nil {
		t.Fatalf("the recipient got %q before the message was durable", msg)
	}
	_ = bob.ws.Close()
	bob = dialRaw(t, url) // the read above timed out the old socket
	bob.login("app", "bob")
	d.release()
	for i := range 5 {
		f := alice.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult })
		if f.ID != uint64(10+i) || f.Err != nil {
			t.Fatalf("answer %d: id %d err %v, want id %d ok", i, f.ID, f.Err, 10+i)
		}
	}
	if f := alice.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult }); f.ID != 20 {
		t.Fatalf("answer after the messages' is %d, want 20", f.ID)
	}
	var prev uint64
	for i := range 5 {
		var m wire.PeerMsg
		mustDecode(t, bob.push(wire.PushPeerMsg), &m)
		if m.Msg != string(rune('a'+i)) || m.Key <= prev {
			t.Fatalf("message %d: %q key %d after %d", i, m.Msg, m.Key, prev)
		}
		prev = m.Key
	}
}

// TestLoginCursor: a fresh login naming the last key its client delivered
// gets only what came after it; a cursor of another queue is ignored.
func TestLoginCursor(t *testing.T) {
	_, url := testNode(t, Config{})
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	for _, m := range []string{"one", "two", "three"} {
		if f := alice.call(wire.OpPeerSend, wire.PeerSendReq{To: "bob", Msg: m}); f.Err != nil {
			t.Fatal(f.Err)
		}
	}
	bob := dialRaw(t, url)
	res := bob.login("app", "bob")
	var first wire.PeerMsg
	mustDecode(t, bob.push(wire.PushPeerMsg), &first)
	if first.Msg != "one" || first.Key == 0 || res.Queue == "" {
		t.Fatalf("first message %+v, queue %q", first, res.Queue)
	}
	_ = bob.ws.Close() // no acknowledgement: the server still has all three
	for _, c := range []struct {
		cursor *wire.Cursor
		want   string
	}{
		{&wire.Cursor{Queue: "another", Key: first.Key}, "one"},
		{&wire.Cursor{Queue: res.Queue, Key: first.Key}, "two"},
	} {
		b := dialRaw(t, url)
		f := b.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "bob", Cursor: c.cursor})
		if f.Err != nil {
			t.Fatal(f.Err)
		}
		var m wire.PeerMsg
		mustDecode(t, b.push(wire.PushPeerMsg), &m)
		if m.Msg != c.want {
			t.Fatalf("cursor %+v: first message %q, want %q", c.cursor, m.Msg, c.want)
		}
		_ = b.ws.Close()
	}
}

// TestLoginDeliversAFullQueue: a full queue (1,000 messages of 8 KB, twice
// the connection's outbound bound) reaches a fresh login at the pace its
// client acknowledges; written at once it dropped the client as slow, at
// every login.
func TestLoginDeliversAFullQueue(t *testing.T) {
	n, url := testNode(t, Config{RequestRate: 1 << 20, UserRate: 1 << 20})
	a := dialRaw(t, url)
	a.login("app", "sender")
	body := strings.Repeat("x", 8000)
	const msgs = 1000
	for i := range msgs {
		if f := a.call(wire.OpPeerSend, wire.PeerSendReq{To: "offline", Msg: fmt.Sprint(i, body)}); f.Err != nil {
			t.Fatalf("send %d: %v", i, f.Err)
		}
	}
	r := dialRaw(t, url)
	r.login("app", "offline")
	for i := range msgs {
		var m wire.PeerMsg
		f := r.push(wire.PushPeerMsg)
		mustDecode(t, f, &m)
		if !strings.HasPrefix(m.Msg, fmt.Sprint(i, "x")) {
			t.Fatalf("push %d: %.12q…", i, m.Msg)
		}
		if f.Seq%50 == 0 {
			r.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: f.Seq}))
		}
	}
	if st := n.Stats(); st.SlowDrops != 0 {
		t.Fatalf("dropped as slow: %+v", st)
	}
}
