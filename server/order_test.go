package server

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// gateLink is a Link that holds the thread that calls it, once, until the
// test releases it: a thread descheduled at that point, as happens under
// load. It holds the first Write whose frame hold matches or, with hold
// nil, the first ReadTimeout, which a login calls between handling the
// request and taking over the account.
type gateLink struct {
	frames  chan []byte
	hold    func(frame []byte) bool
	entered chan struct{}
	release chan struct{}
	held    atomic.Bool
	opened  sync.Once
}

func newGateLink(t *testing.T, hold func([]byte) bool) *gateLink {
	l := &gateLink{frames: make(chan []byte, 64), hold: hold, entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(l.open) // before the node's shutdown waits for the held thread
	return l
}

func (l *gateLink) gate() {
	if l.held.CompareAndSwap(false, true) {
		close(l.entered)
		<-l.release
	}
}

// open lets the held thread go on; later calls do nothing.
func (l *gateLink) open() { l.opened.Do(func() { close(l.release) }) }

// waitHeld waits until a thread is held.
func (l *gateLink) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-l.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no thread reached the gate within 5 s")
	}
}

func (l *gateLink) Write(frame []byte) {
	if l.hold != nil && l.hold(frame) {
		l.gate()
	}
	l.frames <- frame
}
func (l *gateLink) Close(bool) {}
func (l *gateLink) ReadTimeout(time.Duration) {
	if l.hold == nil {
		l.gate()
	}
}

// next returns the next frame written to the link, within 5 s.
func (l *gateLink) next(t *testing.T) wire.Frame {
	t.Helper()
	select {
	case b := <-l.frames:
		var f wire.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written to the link within 5 s")
		return wire.Frame{}
	}
}

// TestLoginAfterASeenLoginKicksIt: once a client has its login's answer, it
// is the account's session; a later login elsewhere ends it with 103, never
// the other way round, however late the first login's thread runs on.
func TestLoginAfterASeenLoginKicksIt(t *testing.T) {
	n, url := testNode(t, Config{})
	l := newGateLink(t, nil)
	id := LinkID{Edge: "e", Conn: 1}
	if err := n.OpenLink(id, "127.0.0.1", l); err != nil {
		t.Fatal(err)
	}
	n.LinkMessage(id, wire.MustEncode(1, wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "alice", Token: "_no_need_token"}))
	l.waitHeld(t)
	// The client acts on the answer as soon as it has it: if the answer is
	// out while the login's thread is held, the next login comes now.
	select {
	case b := <-l.frames:
		l.frames <- b
	default:
		l.open()
	}
	if f := l.next(t); f.Op != wire.OpResult || f.ID != 1 || f.Err != nil {
		t.Fatalf("first login answered %s %d %v", f.Op, f.ID, f.Err)
	}
	other := dialRaw(t, url)
	other.login("app", "alice")
	l.open()
	for {
		f := l.next(t)
		if f.Op == wire.PushKicked {
			var k wire.Kicked
			mustDecode(t, f, &k)
			if k.Code != wire.LogoutKicked {
				t.Fatalf("kicked with %d, want %d", k.Code, wire.LogoutKicked)
			}
			break
		}
	}
	// The later session lives on: it answers, and nothing kicked it.
	if f := other.call(wire.OpUserStatus, wire.UserAttrReq{Account: "alice"}); f.Err != nil {
		t.Fatalf("the later session: %v", f.Err)
	}
	for _, f := range other.queue {
		if f.Op == wire.PushKicked {
			t.Fatal("the later login was kicked by the earlier one")
		}
	}
}

// TestLogoutIsAnnouncedBeforeTheNextLogin: an account that logs out and
// logs in again is online for the watchers of __agora_user_online, however
// late the logout's thread gets to its announcement.
func TestLogoutIsAnnouncedBeforeTheNextLogin(t *testing.T) {
	n, url := testNode(t, Config{})
	w := dialRaw(t, url)
	w.login("app", "watcher")
	if f := w.call(wire.OpChannelJoin, wire.ChannelReq{Channel: wire.ChannelUserOnline}); f.Err != nil {
		t.Fatal(f.Err)
	}
	// bob's link holds the logout's thread as it tells bob alice left.
	bob := newGateLink(t, func(b []byte) bool { return strings.Contains(string(b), `"op":"`+wire.PushUserLeft+`"`) })
	id := LinkID{Edge: "e", Conn: 1}
	if err := n.OpenLink(id, "127.0.0.1", bob); err != nil {
		t.Fatal(err)
	}
	n.LinkMessage(id, wire.MustEncode(1, wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "bob", Token: "_no_need_token"}))
	n.LinkMessage(id, wire.MustEncode(2, wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}))
	for f := bob.next(t); f.ID != 2; f = bob.next(t) {
	}
	alice := dialRaw(t, url)
	alice.login("app", "alice")
	if f := alice.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	alice.write(wire.MustEncode(99, wire.OpLogout, nil))
	bob.waitHeld(t)
	dialRaw(t, url).login("app", "alice")
	bob.open()

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
