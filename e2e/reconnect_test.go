package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/token"
)

// loginVia logs an account in through a proxy.
func loginVia(t *testing.T, p *proxy, account string, opts ...sdk.Option) *user {
	t.Helper()
	return loginWith(t, account, append([]sdk.Option{sdk.WithServer(p.url())}, opts...)...)
}

// loginWith logs an account in with an instance made with opts (which name
// the server).
func loginWith(t *testing.T, account string, opts ...sdk.Option) *user {
	t.Helper()
	c := sdk.NewInstance(testApp, opts...)
	r := newRec()
	c.CallbackSet(r)
	t.Cleanup(c.Destroy)
	c.Login(testApp, account, "", 0, "")
	r.wait(t, "OnLoginSuccess(0")
	return &user{Client: c, rec: r, account: account}
}

// roomViaProxy logs alice in through p and bob straight to s, both in
// "room", alice having seen bob join.
func roomViaProxy(t *testing.T, s *srv, p *proxy, aliceOpts ...sdk.Option) (alice, bob *user) {
	t.Helper()
	alice = loginVia(t, p, "alice", aliceOpts...)
	alice.join(t, "room")
	bob = login(t, s, "bob")
	bob.join(t, "room")
	alice.wait(t, "OnChannelUserJoined(bob,2)")
	return alice, bob
}

// count returns how many recorded events start with prefix.
func (r *rec) count(prefix string) int {
	n := 0
	for _, e := range r.all() {
		if strings.HasPrefix(string(e), prefix) {
			n++
		}
	}
	return n
}

func TestReconnectResumesSession(t *testing.T) {
	s := startServer(t, server.Config{})
	p := startProxy(t, s.target("alice"))
	alice, bob := roomViaProxy(t, s, p)

	p.cut(true)
	alice.wait(t, "OnReconnecting(1)")
	if st := alice.GetStatus(); st != 3 {
		t.Fatalf("status while reconnecting = %d, want 3", st)
	}
	alice.wait(t, "OnReconnecting(2)") // the refused attempt is retried
	bob.MessageInstantSend("alice", 0, "while you were out", "p1")
	bob.wait(t, "OnMessageSendSuccess(p1)")
	bob.MessageChannelSend("room", "channel news", "c1")
	bob.wait(t, "OnMessageSendSuccess(c1)")
	p.allow()
	alice.wait(t, "OnReconnected(")
	alice.wait(t, "OnMessageInstantReceive(bob,0,while you were out)")
	alice.wait(t, "OnMessageChannelReceive(room,bob,2,channel news)")
	if alice.GetStatus() != 2 {
		t.Fatalf("status after resume = %d", alice.GetStatus())
	}
	// Still a member, without having left: bob saw no leave, and new
	// channel traffic reaches alice once.
	bob.MessageChannelSend("room", "after", "c2")
	alice.wait(t, "OnMessageChannelReceive(room,bob,2,after)")
	alice.quiet(t, alice.Client)
	for prefix, want := range map[string]int{
		"OnMessageInstantReceive(bob,0,while you were out)": 1,
		"OnMessageChannelReceive(room,bob,2,channel news)":  1,
		"OnChannelJoined(": 1,
		"OnChannelLeaved(": 0,
		"OnReconnected(":   1,
	} {
		if n := alice.count(prefix); n != want {
			t.Errorf("%s seen %d times, want %d: %v", prefix, n, want, alice.all())
		}
	}
	if n := bob.count("OnChannelUserLeaved("); n != 0 {
		t.Fatalf("bob saw alice leave during a resumable drop")
	}
}

func TestReconnectAfterGraceLogsInAfreshAndRejoins(t *testing.T) {
	s := startServer(t, server.Config{Grace: 300 * time.Millisecond})
	p := startProxy(t, s.target("alice"))
	alice := loginVia(t, p, "alice")
	alice.ChannelSetAttr("room", "topic", "t")
	alice.join(t, "room")
	bob := login(t, s, "bob")
	bob.join(t, "room")
	alice.wait(t, "OnChannelUserJoined(bob,2)")

	p.cut(true)
	alice.wait(t, "OnReconnecting(1)")
	bob.MessageInstantSend("alice", 0, "during grace", "p1")
	bob.wait(t, "OnMessageSendSuccess(p1)")
	bob.wait(t, "OnChannelUserLeaved(alice,1)") // the grace ran out
	bob.MessageInstantSend("alice", 0, "after grace", "p2")
	bob.wait(t, "OnMessageSendSuccess(p2)")
	p.allow()
	alice.wait(t, "OnReconnected(")
	alice.wait(t, "OnMessageInstantReceive(bob,0,during grace)")
	alice.wait(t, "OnMessageInstantReceive(bob,0,after grace)")
	alice.wait(t, "OnChannelJoined(room)")
	alice.wait(t, "OnChannelUserList([alice bob],[3 2])")
	alice.wait(t, "OnChannelAttrUpdated(room,topic,t,update)")
	bob.wait(t, "OnChannelUserJoined(alice,3)")
	if n := alice.count("OnChannelLeaved("); n != 0 {
		t.Fatalf("the application saw a leave: %v", alice.all())
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	s := startDurable(t, server.Config{})
	alice := login(t, s, "alice")
	alice.ChannelSetAttr("room", "topic", "durable")
	alice.join(t, "room")
	s.restart()
	alice.wait(t, "OnReconnecting(1)")
	alice.wait(t, "OnReconnected(")
	alice.wait(t, "OnChannelJoined(room)")
	alice.wait(t, "OnChannelUserList([alice],[1])")
	alice.wait(t, "OnChannelAttrUpdated(room,topic,durable,update)")
	if alice.GetStatus() != 2 {
		t.Fatalf("status %d", alice.GetStatus())
	}
}

func TestReconnectGivesUpWith102(t *testing.T) {
	s := startServer(t, server.Config{})
	p := startProxy(t, s.target("alice"))
	alice := loginVia(t, p, "alice", sdk.WithReconnectWindow(time.Second))
	alice.join(t, "room")
	p.cut(true)
	alice.wait(t, "OnReconnecting(1)")
	alice.wait(t, "OnChannelLeaved(room,604)")
	alice.expect(t, "OnLogout(102)")
	if alice.GetStatus() != 0 {
		t.Fatalf("status %d", alice.GetStatus())
	}
}

// TestReloginWithExpiredTokenEnds105: a session outlives its token, but when
// it cannot be resumed (the server restarted) the fresh login the SDK tries
// is refused, and the application hears onLogout(105).
func TestReloginWithExpiredTokenEnds105(t *testing.T) {
	const app, cert = "secureapp", "cert"
	s := startServer(t, server.Config{Apps: map[string]string{app: cert}})
	c := sdk.NewInstance(app, sdk.WithServer(s.url()))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	exp := time.Now().Add(1500 * time.Millisecond).Unix()
	c.Login(app, "alice", token.Make(app, cert, "alice", exp), 0, "")
	r.expect(t, "OnLoginSuccess(0)")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ; time.Now().Unix() <= exp; <-tick.C {
		r.sync(t, c)
	}
	s.restart()
	r.wait(t, "OnReconnecting(1)")
	r.wait(t, "OnLogout(105)")
	if c.GetStatus() != 0 {
		t.Fatalf("status %d", c.GetStatus())
	}
}
