package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// gateLink is a Link whose first ReadTimeout, which a login calls between
// handling the request and taking over the account, waits for the test:
// a thread of the login descheduled there, as happens under load.
type gateLink struct {
	frames  chan []byte
	entered chan struct{}
	release chan struct{}
	once    bool
}

func (l *gateLink) Write(frame []byte) { l.frames <- frame }
func (l *gateLink) Close(bool)         {}
func (l *gateLink) ReadTimeout(time.Duration) {
	if !l.once {
		l.once = true
		close(l.entered)
		<-l.release
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
	l := &gateLink{frames: make(chan []byte, 16), entered: make(chan struct{}), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(l.release)
		}
	}
	t.Cleanup(release)
	id := LinkID{Edge: "e", Conn: 1}
	if err := n.OpenLink(id, "127.0.0.1", l); err != nil {
		t.Fatal(err)
	}
	n.LinkMessage(id, wire.MustEncode(1, wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "alice", Token: "_no_need_token"}))
	select {
	case <-l.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the login did not reach the gate")
	}
	// The client acts on the answer as soon as it has it: if the answer is
	// out while the login's thread is held, the next login comes now.
	select {
	case b := <-l.frames:
		l.frames <- b
	default:
		release()
	}
	if f := l.next(t); f.Op != wire.OpResult || f.ID != 1 || f.Err != nil {
		t.Fatalf("first login answered %s %d %v", f.Op, f.ID, f.Err)
	}
	other := dialRaw(t, url)
	other.login("app", "alice")
	release()
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
