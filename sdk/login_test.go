package sdk

import (
	"slices"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

func TestLoginSuccess(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	if got := c.GetStatus(); got != 0 {
		t.Fatalf("status before login = %d", got)
	}
	c.Login("app1", "alice", "tok", 0, "dev")
	if got := c.GetStatus(); got != StatusLoggingIn {
		t.Fatalf("status right after Login = %d, want 1", got)
	}
	fc := fs.accept(t)
	if fc.path != "/ws" {
		t.Errorf("dialled path %q, want /ws", fc.path)
	}
	var req wire.LoginReq
	f := fc.expect(t, wire.OpLogin, &req)
	want := wire.LoginReq{Proto: wire.Version, App: "app1", Account: "alice", Token: "tok", Device: "dev", SDK: Version}
	if req != want || f.ID == 0 {
		t.Fatalf("login request %+v (id %d), want %+v", req, f.ID, want)
	}
	if got := c.GetStatus(); got != StatusLoggingIn {
		t.Fatalf("status while waiting for the answer = %d, want 1", got)
	}
	fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 7})
	rec.waitFor(t, "OnLoginSuccess(0,7)")
	if c.GetStatus() != StatusLoggedIn || !c.IsOnline() {
		t.Fatalf("status after login = %d", c.GetStatus())
	}
	if evs := rec.events(); len(evs) != 1 {
		t.Fatalf("events %v, want only OnLoginSuccess", evs)
	}
}

func TestLoginDefaultAppIDAndPath(t *testing.T) {
	fs := newFakeServer(t)
	c := NewInstance("inst-app", WithServer(fs.URL+"/"), fast())
	t.Cleanup(c.Destroy)
	c.Login("", "alice", "tok", 0, "")
	fc := fs.accept(t)
	if fc.path != "/" {
		t.Errorf("dialled path %q, want / as given", fc.path)
	}
	var req wire.LoginReq
	fc.expect(t, wire.OpLogin, &req)
	if req.App != "inst-app" {
		t.Fatalf("app %q, want the instance's", req.App)
	}
}

func TestLoginRefused(t *testing.T) {
	for _, tc := range []struct {
		code wire.Code
		want string
	}{
		{wire.LoginTokenWrong, "OnLoginFailed(206)"},
		{wire.LoginTokenExpired, "OnLoginFailed(204)"},
		{wire.LoginFailed, "OnLoginFailed(202)"},
		{wire.GeneralWrongParam, "OnLoginFailed(200)"}, // not a login code
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			fs := newFakeServer(t)
			c, rec := newClient(t, fs)
			c.Login("app", "alice", "bad", 0, "")
			fc := fs.accept(t)
			f := fc.expect(t, wire.OpLogin, nil)
			fc.replyErr(f.ID, tc.code, "no")
			rec.waitFor(t, tc.want)
			if c.GetStatus() != 0 {
				t.Fatalf("status %d after refusal", c.GetStatus())
			}
			// Final at once: no retry.
			fs.noConnection(t, 100*time.Millisecond)
		})
	}
}

func TestLoginUnreachableHonoursRetryCount(t *testing.T) {
	tl := newTestListener(t, false) // accepts and closes
	c, rec := newClient(t, nil, WithServer(tl.URL()))
	c.Login2("app", "alice", "tok", 0, "", 30, 3)
	rec.waitFor(t, "OnLoginFailed(201)")
	if n := tl.accepted.Load(); n != 3 {
		t.Fatalf("%d connection attempts, want 3", n)
	}
	if c.GetStatus() != 0 {
		t.Fatalf("status %d", c.GetStatus())
	}

	// retryCount <= 0 means one attempt.
	c.Login2("app", "alice", "tok", 0, "", 30, 0)
	if i := rec.count("OnLoginFailed(201)"); i != 1 {
		t.Fatalf("%d failures already", i)
	}
	waitCount(t, rec, "OnLoginFailed(201)", 2)
	if n := tl.accepted.Load(); n != 4 {
		t.Fatalf("%d connection attempts in all, want 4", n)
	}
}

func TestLoginUnreachableHonoursRetryTime(t *testing.T) {
	tl := newTestListener(t, false)
	c, rec := newClient(t, nil, WithServer(tl.URL()), withBackoff(50*time.Millisecond, 100*time.Millisecond))
	start := time.Now()
	c.Login2("app", "alice", "tok", 0, "", 1, 1000)
	rec.waitFor(t, "OnLoginFailed(201)")
	if el := time.Since(start); el < 800*time.Millisecond || el > 3*time.Second {
		t.Fatalf("gave up after %v, want about 1 s", el)
	}
	if n := tl.accepted.Load(); n < 4 || n >= 1000 {
		t.Fatalf("%d attempts", n)
	}
}

func TestLoginClosedPort(t *testing.T) {
	tl := newTestListener(t, false)
	url := tl.URL()
	tl.ln.Close() // nothing listens there any more
	c, rec := newClient(t, nil, WithServer(url))
	c.Login2("app", "alice", "tok", 0, "", 30, 2)
	rec.waitFor(t, "OnLoginFailed(201)")
}

func TestLogoutDuringLogin(t *testing.T) {
	t.Run("upgrade never answered", func(t *testing.T) {
		tl := newTestListener(t, true) // accepts, never answers the HTTP upgrade
		c, rec := newClient(t, nil, WithServer(tl.URL()))
		c.Login("app", "alice", "tok", 0, "")
		for tl.accepted.Load() == 0 {
			time.Sleep(time.Millisecond) // polling a counter
		}
		c.Logout()
		if c.GetStatus() != 0 {
			t.Fatalf("status %d right after Logout", c.GetStatus())
		}
		rec.waitFor(t, "OnLoginFailed(203)")
		start := time.Now()
		c.Destroy() // the stuck handshake must not hold it up
		if el := time.Since(start); el > time.Second {
			t.Fatalf("Destroy took %v", el)
		}
	})
	t.Run("login never answered", func(t *testing.T) {
		fs := newFakeServer(t)
		c, rec := newClient(t, fs)
		c.Login("app", "alice", "tok", 0, "")
		fc := fs.accept(t)
		f := fc.expect(t, wire.OpLogin, nil)
		c.Logout()
		rec.waitFor(t, "OnLoginFailed(203)")
		fc.expect(t, wire.OpLogout, nil) // best effort
		// A late answer changes nothing.
		fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 1})
		sentinel(t, c, rec)
		if rec.has("OnLoginSuccess(0,1)") || c.GetStatus() != 0 {
			t.Fatalf("late answer leaked: %v, status %d", rec.events(), c.GetStatus())
		}
	})
}

func TestLogout(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)
	c.MessageInstantSend("bob", 0, "hi", "m1")
	fc.expect(t, wire.OpPeerSend, nil) // never answered
	i := rec.waitFor(t, "OnChannelUserList([alice],[1])")
	c.Logout()
	if c.GetStatus() != 0 {
		t.Fatalf("status %d right after Logout", c.GetStatus())
	}
	rec.waitFor(t, "OnLogout(101)")
	fc.expect(t, wire.OpLogout, nil)
	want := []string{"OnMessageSendError(m1,400)", "OnChannelLeaved(room,603)", "OnLogout(101)"}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	c.Logout()
	rec.waitFor(t, "OnLogout(108)")
}

func TestLogoutWhileLoggedOut(t *testing.T) {
	c, rec := newClient(t, nil, WithServer("ws://127.0.0.1:1"))
	c.Logout()
	rec.waitFor(t, "OnLogout(108)")
}

func TestLoginWhileLoggedIn(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	c.Login("app", "alice", "tok", 0, "")
	c.Login("app", "alice", "tok", 0, "") // while logging in
	rec.waitFor(t, "OnLoginFailed(208)")
	fc := fs.accept(t)
	f := fc.expect(t, wire.OpLogin, nil)
	fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 1})
	rec.waitFor(t, "OnLoginSuccess(0,1)")
	c.Login2("app", "bob", "tok", 0, "", 5, 1) // while logged in
	waitCount(t, rec, "OnLoginFailed(208)", 2)
	if c.GetStatus() != StatusLoggedIn {
		t.Fatalf("status %d", c.GetStatus())
	}
	fs.noConnection(t, 50*time.Millisecond)
}

func TestLoginInvalidAccount(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	for _, acc := range []string{"", "a b", "tab\tx", string(make([]byte, 129))} {
		c.Login("app", acc, "tok", 0, "")
	}
	waitCount(t, rec, "OnLoginFailed(209)", 4)
	if c.GetStatus() != 0 {
		t.Fatalf("status %d", c.GetStatus())
	}
	fs.noConnection(t, 50*time.Millisecond)
}

func TestLogoutThenLoginAtOnce(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc1 := login(t, fs, c, rec, 1)
	c.Logout()
	c.Login("app", "alice", "tok", 0, "")
	if c.GetStatus() != StatusLoggingIn {
		t.Fatalf("status %d after Logout+Login", c.GetStatus())
	}
	// The old connection says goodbye; whatever it still sends is stale.
	fc1.expect(t, wire.OpLogout, nil)
	fc1.push(wire.PushPeerMsg, 1, 0, wire.PeerMsg{From: "bob", Msg: "stale"})
	fc2 := fs.accept(t)
	var req wire.LoginReq
	f := fc2.expect(t, wire.OpLogin, &req)
	if req.Resume != nil {
		t.Fatalf("fresh login carries %+v", req.Resume)
	}
	fc2.reply(f.ID, wire.LoginRes{Session: "s2", Fd: 2})
	fc2.push(wire.PushPeerMsg, 1, 0, wire.PeerMsg{From: "bob", Msg: "fresh"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,fresh)")
	want := []string{"OnLoginSuccess(0,1)", "OnLogout(101)", "OnLoginSuccess(0,2)", "OnMessageInstantReceive(bob,0,fresh)"}
	if got := rec.events(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestHeartbeatFromServer(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs, withHeartbeat(0))
	c.Login("app", "alice", "tok", 0, "")
	fc := fs.accept(t)
	f := fc.expect(t, wire.OpLogin, nil)
	fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 1, Heartbeat: 20})
	rec.waitFor(t, "OnLoginSuccess(0,1)")
	fc.push(wire.PushPeerMsg, 4, 0, wire.PeerMsg{From: "bob", Msg: "x"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,x)")
	n := fc.pings.Load()
	fc.waitPings(t, n+3)
	if ack := fc.ack.Load(); ack != 4 {
		t.Fatalf("ping ack %d, want 4", ack)
	}
}
