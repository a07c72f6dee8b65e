package server

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// gate holds, once, the thread that queues a frame hold matches, until the
// test releases it: a thread descheduled at that point, as happens under
// load. The frame is queued first, so the client may already have it.
type gate struct {
	hold    func(c *Conn, frame []byte) bool
	entered chan struct{}
	release chan struct{}
	held    atomic.Bool
	opened  sync.Once
}

// setGate installs a gate on every connection's sends, for this test.
func setGate(t *testing.T, hold func(c *Conn, frame []byte) bool) *gate {
	g := &gate{hold: hold, entered: make(chan struct{}), release: make(chan struct{})}
	fn := func(c *Conn, frame []byte) {
		if !g.held.Load() && g.hold(c, frame) && g.held.CompareAndSwap(false, true) {
			close(g.entered)
			<-g.release
		}
	}
	sendHook.Store(&fn)
	// Registered after the node's: runs before its shutdown waits for the held thread.
	t.Cleanup(func() {
		sendHook.Store(nil)
		g.open()
	})
	return g
}

// open lets the held thread go on; later calls do nothing.
func (g *gate) open() { g.opened.Do(func() { close(g.release) }) }

// waitHeld waits until a thread is held.
func (g *gate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no thread reached the gate within 5 s")
	}
}

// accountOf is the account c is logged in as, "" before.
func accountOf(c *Conn) string {
	if s := c.session(); s != nil {
		return s.account
	}
	return ""
}

// TestLoginAfterASeenLoginKicksIt: once a client has its login's answer, it
// is the account's session; a later login elsewhere ends it with 103, never
// the other way round, however late the first login's thread runs on.
func TestLoginAfterASeenLoginKicksIt(t *testing.T) {
	_, url := testNode(t, Config{})
	// The first login's thread is held just after it queued the answer.
	var first atomic.Pointer[Conn]
	g := setGate(t, func(c *Conn, frame []byte) bool {
		return accountOf(c) == "alice" && first.CompareAndSwap(nil, c)
	})
	a1 := dialRaw(t, url)
	a1.login("app", "alice") // the client has its answer
	g.waitHeld(t)
	// It acts on it at once: another login of the account, elsewhere. That
	// one waits until the first has taken the account over.
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	frames := make(chan wire.Frame, 16)
	go func() {
		defer close(frames)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			fs, _ := wire.Split(msg)
			for _, f := range fs {
				frames <- f
			}
		}
	}()
	if err := ws.WriteMessage(websocket.TextMessage, wire.MustEncode(1, wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "alice", Token: "_no_need_token"})); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-frames:
		t.Fatalf("the later login was answered (%s %v) while the first had not taken the account over", f.Op, f.Err)
	case <-time.After(300 * time.Millisecond): // a quiet window: nothing may come in it
	}
	g.open()
	select {
	case f := <-frames:
		if f.Op != wire.OpResult || f.ID != 1 || f.Err != nil {
			t.Fatalf("the later login: %s %d %v", f.Op, f.ID, f.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the later login had no answer within 5 s")
	}
	f := a1.push(wire.PushKicked)
	var k wire.Kicked
	mustDecode(t, f, &k)
	if k.Code != wire.LogoutKicked {
		t.Fatalf("kicked with %d, want %d", k.Code, wire.LogoutKicked)
	}
	// The later session lives on: it answers, and nothing kicked it.
	if err := ws.WriteMessage(websocket.TextMessage, wire.MustEncode(2, wire.OpUserStatus, wire.UserAttrReq{Account: "alice"})); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case f := <-frames:
			if f.Op == wire.PushKicked {
				t.Fatal("the later login was kicked by the earlier one")
			}
			if f.Op == wire.OpResult && f.ID == 2 {
				if f.Err != nil {
					t.Fatalf("the later session: %v", f.Err)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the later session did not answer within 5 s")
		}
	}
}

// TestLogoutIsAnnouncedBeforeTheNextLogin: an account that logs out and
// logs in again is online for the watchers of __agora_user_online, however
// late the logout's thread gets to its announcement.
func TestLogoutIsAnnouncedBeforeTheNextLogin(t *testing.T) {
	_, url := testNode(t, Config{})
	w := dialRaw(t, url)
	w.login("app", "watcher")
	if f := w.call(wire.OpChannelJoin, wire.ChannelReq{Channel: wire.ChannelUserOnline}); f.Err != nil {
		t.Fatal(f.Err)
	}
	// The logout's thread is held as it tells bob alice left.
	g := setGate(t, func(c *Conn, frame []byte) bool {
		return accountOf(c) == "bob" && strings.Contains(string(frame), `"op":"`+wire.PushUserLeft+`"`)
	})
	bob := dialRaw(t, url)
	bob.login("app", "bob")
	if f := bob.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	if f := alice.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	alice.write(wire.MustEncode(99, wire.OpLogout, nil))
	g.waitHeld(t)
	dialRaw(t, url).login("app", "alice")
	g.open()

	var got []string
	for len(got) < 3 { // the first login, the logout, the second login
		f := w.waitFor(func(f wire.Frame) bool { return f.Op == wire.PushChannelMsg })
		var m wire.ChannelMsg
		mustDecode(t, f, &m)
		var ev struct{ Type, Account string }
		if err := json.Unmarshal([]byte(m.Msg), &ev); err != nil {
			t.Fatalf("announcement %q: %v", m.Msg, err)
		}
		if ev.Account == "alice" {
			got = append(got, ev.Type)
		}
	}
	if want := "login logout login"; strings.Join(got, " ") != want {
		t.Fatalf("__agora_user_online said %v for alice, want %s", got, want)
	}
}
