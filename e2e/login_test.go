package e2e

import (
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/token"
)

func TestLoginSuccessAndStatus(t *testing.T) {
	s := startServer(t, server.Config{})
	u := newUser(t, s, "alice")
	if st := u.GetStatus(); st != 0 {
		t.Fatalf("status before login = %d, want 0", st)
	}
	u.Login(testApp, "alice", "_no_need_token", 0, "")
	if st := u.GetStatus(); st != 1 {
		t.Fatalf("status right after Login = %d, want 1", st)
	}
	u.expect(t, "OnLoginSuccess(0)")
	if st := u.GetStatus(); st != 2 || !u.IsOnline() {
		t.Fatalf("status after success = %d online=%v, want 2 true", st, u.IsOnline())
	}
	if v := u.GetSdkVersion(); v < 1010400000 || v > 1010400999 {
		t.Fatalf("GetSdkVersion = %d, want 1010400000..1010400999", v)
	}
}

func TestLoginWhileLoggedInIsIgnored208(t *testing.T) {
	s := startServer(t, server.Config{})
	u := login(t, s, "alice")
	u.Login(testApp, "alice", "_no_need_token", 0, "")
	u.expect(t, "OnLoginFailed(208)")
	if u.GetStatus() != 2 {
		t.Fatalf("status = %d after ignored login, want 2", u.GetStatus())
	}
	// Also while logging in: the second is refused and the first goes on.
	// (On a loaded machine the first may finish before the second call is
	// made: it is then refused as a login while logged in, still 208.)
	v := newUser(t, s, "bob")
	v.Login(testApp, "bob", "_no_need_token", 0, "")
	v.Login(testApp, "bob", "_no_need_token", 0, "")
	v.wait(t, "OnLoginSuccess(0)")
	v.sync(t, v.Client) // the answer to a query made after both
	if a, b := v.count("OnLoginFailed(208)"), v.count("OnLoginSuccess(0)"); a != 1 || b != 1 {
		t.Fatalf("208 %d times, success %d times; events %v", a, b, v.all())
	}
}

func TestLogoutCodes(t *testing.T) {
	s := startServer(t, server.Config{})
	u := login(t, s, "alice")
	u.Logout()
	u.expect(t, "OnLogout(101)")
	if u.GetStatus() != 0 {
		t.Fatalf("status after logout = %d", u.GetStatus())
	}
	u.Logout()
	u.expect(t, "OnLogout(108)")
}

func TestLogoutThenLoginRightAway(t *testing.T) {
	s := startServer(t, server.Config{})
	u := login(t, s, "alice")
	u.join(t, "room")
	u.Logout()
	u.Login(testApp, "alice", "_no_need_token", 0, "")
	u.expect(t, "OnChannelLeaved(room,603)", "OnLogout(101)", "OnLoginSuccess(0)")
	u.quiet(t, u.Client)
	if u.GetStatus() != 2 {
		t.Fatalf("status = %d, want 2", u.GetStatus())
	}
}

func TestLogoutDuringLoginCancels203(t *testing.T) {
	// A listener that accepts TCP but never speaks HTTP keeps the login pending.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := sdk.NewInstance(testApp, sdk.WithServer("ws://"+l.Addr().String()))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	c.Login(testApp, "alice", "", 0, "")
	c.Logout()
	r.expect(t, "OnLoginFailed(203)")
	if c.GetStatus() != 0 {
		t.Fatalf("status = %d", c.GetStatus())
	}
}

func TestKickedByLoginElsewhere103(t *testing.T) {
	s := startServer(t, server.Config{})
	a1 := login(t, s, "alice")
	a1.join(t, "room")
	bob := login(t, s, "bob")
	bob.join(t, "room")
	a1.wait(t, "OnChannelUserJoined(bob,2)")
	a2 := login(t, s, "alice")
	a1.expect(t, "OnChannelLeaved(room,601)", "OnLogout(103)")
	if a1.GetStatus() != 0 {
		t.Fatalf("kicked status = %d", a1.GetStatus())
	}
	bob.expect(t, "OnChannelUserLeaved(alice,1)")
	// The older instance does not reconnect: the new session stays.
	a2.quiet(t, a2.Client)
	bob.quiet(t, bob.Client)
	for _, e := range a1.all() {
		if strings.HasPrefix(string(e), "OnReconnecting") {
			t.Fatalf("kicked instance reconnected: %v", a1.all())
		}
	}
}

// TestKickedWhileDetachedDoesNotComeBack: a session kicked while its
// connection was down learns of it when the SDK tries to resume, and ends
// with 103 instead of logging in afresh and kicking the newer session.
func TestKickedWhileDetachedDoesNotComeBack(t *testing.T) {
	s := startServer(t, server.Config{})
	p := startProxy(t, s.target("alice"))
	a1, bob := roomViaProxy(t, s, p)
	p.cut(true)
	a1.wait(t, "OnReconnecting(1)")
	a2 := login(t, s, "alice")
	bob.wait(t, "OnChannelUserLeaved(alice,1)")
	p.allow()
	a1.wait(t, "OnChannelLeaved(room,601)")
	a1.expect(t, "OnLogout(103)")
	if a1.GetStatus() != 0 {
		t.Fatalf("kicked status = %d", a1.GetStatus())
	}
	a2.quiet(t, a2.Client)
	if n := a2.count("OnLogout("); n != 0 {
		t.Fatalf("the newer session was logged out: %v", a2.all())
	}
	bob.QueryUserStatus("alice")
	bob.wait(t, "OnQueryUserStatusResult(alice,1)")
}

func TestUnreachableServerFails201AfterRetryCount(t *testing.T) {
	for _, retryTime := range []int{60, math.MaxInt} { // the largest must not overflow into "no time left"
		t.Run(fmt.Sprint(retryTime), func(t *testing.T) { unreachableAfterRetryCount(t, retryTime) })
	}
}

func unreachableAfterRetryCount(t *testing.T, retryTimeInS int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	accepted := make(chan struct{}, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{} // first: the client sees the refusal only after it is counted
			c.Close()              // refuse the handshake
		}
	}()
	defer l.Close()
	c := sdk.NewInstance(testApp, sdk.WithServer("ws://"+addr))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	c.Login2(testApp, "alice", "", 0, "", retryTimeInS, 3)
	r.expect(t, "OnLoginFailed(201)")
	if n := len(accepted); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestUnreachableServerFails201AfterRetryTime(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every dial is refused
	c := sdk.NewInstance(testApp, sdk.WithServer("ws://"+addr))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	start := time.Now()
	c.Login2(testApp, "alice", "", 0, "", 1, 1000)
	r.expect(t, "OnLoginFailed(201)")
	if el := time.Since(start); el < time.Second || el > 4*time.Second {
		t.Fatalf("gave up after %v, want about 1 s", el)
	}
}

func TestServerRefusalsAreFinal(t *testing.T) {
	const app, cert = "secureapp", "5cfd2fd1755d40ecb72977518be15d3b"
	s := startServer(t, server.Config{Apps: map[string]string{app: cert}, Closed: true})
	cases := []struct {
		name, app, account, token string
		want                      ev
	}{
		{"wrong token", app, "alice", "1:" + app + ":9999999999:00000000000000000000000000000000", "OnLoginFailed(206)"},
		{"no token", app, "alice", "_no_need_token", "OnLoginFailed(206)"},
		{"token of another account", app, "alice", token.Make(app, cert, "bob", time.Now().Add(time.Hour).Unix()), "OnLoginFailed(206)"},
		{"expired", app, "alice", token.Make(app, cert, "alice", time.Now().Add(-time.Hour).Unix()), "OnLoginFailed(204)"},
		{"closed server, unknown app", "otherapp", "alice", "", "OnLoginFailed(202)"},
		{"invalid account", app, "has space", "", "OnLoginFailed(209)"},
		{"empty account", app, "", "", "OnLoginFailed(209)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := sdk.NewInstance(tc.app, sdk.WithServer(s.url()))
			defer c.Destroy()
			r := newRec()
			c.CallbackSet(r)
			c.Login(tc.app, tc.account, tc.token, 0, "")
			r.expect(t, tc.want)
			if c.GetStatus() != 0 {
				t.Fatalf("status = %d", c.GetStatus())
			}
		})
	}
	// The right token works.
	c := sdk.NewInstance(app, sdk.WithServer(s.url()))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	c.Login(app, "alice", token.Make(app, cert, "alice", time.Now().Add(time.Hour).Unix()), 0, "")
	r.expect(t, "OnLoginSuccess(0)")
}

func TestAppWithoutCertificateAcceptsAnyToken(t *testing.T) {
	s := startServer(t, server.Config{Apps: map[string]string{"registered": ""}})
	for _, tok := range []string{"", "_no_need_token", "garbage:token"} {
		c := sdk.NewInstance("open", sdk.WithServer(s.url()))
		r := newRec()
		c.CallbackSet(r)
		c.Login("open", "alice"+tok[:min(len(tok), 1)], tok, 0, "")
		r.expect(t, "OnLoginSuccess(0)")
		c.Destroy()
	}
}

func TestTokenExpiringDuringSessionDoesNotEndIt(t *testing.T) {
	const app, cert = "secureapp", "cert"
	s := startServer(t, server.Config{Apps: map[string]string{app: cert}})
	c := sdk.NewInstance(app, sdk.WithServer(s.url()))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	exp := time.Now().Add(1500 * time.Millisecond).Unix() // at most 1.5 s ahead
	c.Login(app, "alice", token.Make(app, cert, "alice", exp), 0, "")
	r.expect(t, "OnLoginSuccess(0)")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ; time.Now().Unix() <= exp; <-tick.C {
		r.quiet(t, c) // the session works while the token runs out
	}
	r.quiet(t, c)
	if c.GetStatus() != 2 {
		t.Fatalf("status %d after token expiry", c.GetStatus())
	}
}

func TestAppsAreIsolated(t *testing.T) {
	s := startServer(t, server.Config{})
	a := sdk.NewInstance("app1", sdk.WithServer(s.url()))
	defer a.Destroy()
	ra := newRec()
	a.CallbackSet(ra)
	b := sdk.NewInstance("app2", sdk.WithServer(s.url()))
	defer b.Destroy()
	rb := newRec()
	b.CallbackSet(rb)
	a.Login("app1", "alice", "", 0, "")
	b.Login("app2", "alice", "", 0, "") // same account, other app: no kick
	ra.expect(t, "OnLoginSuccess(0)")
	rb.expect(t, "OnLoginSuccess(0)")
	a.SetAttr("color", "red")
	a.ChannelJoin("room")
	ra.expect(t, "OnChannelJoined(room)", "OnChannelUserList([alice],[1])", "OnChannelAttrUpdated(room,_member_num,1,update)")
	b.GetAttr("color")
	rb.expect(t, "OnUserAttrResult(alice,color,)")
	b.ChannelQueryUserNum("room")
	rb.expect(t, "OnChannelQueryUserNumResult(room,0,0)")
	b.QueryUserStatus("bob")
	rb.expect(t, "OnQueryUserStatusResult(bob,0)")
	c := sdk.NewInstance("app2", sdk.WithServer(s.url()))
	defer c.Destroy()
	rc := newRec()
	c.CallbackSet(rc)
	c.Login("app2", "bob", "", 0, "")
	rc.expect(t, "OnLoginSuccess(0)")
	c.MessageInstantSend("alice", 0, "hi from app2", "m1")
	rc.expect(t, "OnMessageSendSuccess(m1)")
	rb.expect(t, "OnMessageInstantReceive(bob,0,hi from app2)")
	ra.quiet(t, a) // nothing crossed over to app1's alice
}

// TestLoginRetriedWhenServerIsBusy: a login refused by the server's login
// rate (201, "try again") is retried within the login window, not given up.
func TestLoginRetriedWhenServerIsBusy(t *testing.T) {
	s := startServer(t, server.Config{LoginRate: 1})
	login(t, s, "first") // uses the one login of this second
	u := newUser(t, s, "second")
	u.Login2(testApp, "second", "", 0, "", 30, 10) // the token comes back after 1 s
	u.expect(t, "OnLoginSuccess(0)")
	found := false
	for _, e := range u.all() {
		if strings.Contains(string(e), "try again") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the login was not refused first, so this test proves nothing: %v", u.all())
	}
}
