package sdk

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/xinling/xinling/sdk/wire"
	"go.uber.org/goleak"
)

func TestCodesAndVersion(t *testing.T) {
	for code, name := range map[Code]string{
		LogoutKicked:        "LOGOUT_E_KICKED",
		LogoutAlready:       "LOGOUT_E_ALREADY_LOGOUT",
		LoginAlready:        "LOGIN_E_ALREADY_LOGIN",
		LoginInvalidUser:    "LOGIN_E_INVALID_USER",
		JoinChannelOther:    "JOINCHANNEL_E_OTHER",
		SendMessageTimeout:  "SENDMESSAGE_E_TIMEOUT",
		QueryUserNumTimeout: "QUERYUSERNUM_E_TIMEOUT",
		LeaveChannelDisconn: "LEAVECHANNEL_E_DISCONN",
		InviteCantRecv:      "INVITE_E_CANTRECV",
		GeneralLargeParam:   "GENERAL_E_LARGE_PARAM",
	} {
		if code.String() != name {
			t.Errorf("%d.String() = %q, want %q", int(code), code.String(), name)
		}
	}
	if wire.LogoutKicked.String() != "LOGOUT_E_KICKED" || int(LogoutKicked) != 103 {
		t.Error("LogoutKicked")
	}
	c := NewInstance("app", WithServer("ws://127.0.0.1:1"))
	defer c.Destroy()
	if v := c.GetSdkVersion(); v != 1010400000+BuildNumber || v/1000 != 1010400 {
		t.Fatalf("version %d", v)
	}
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h:1":        "ws://h:1/ws",
		"ws://h:1/":       "ws://h:1/",
		"ws://h:1/x/ws":   "ws://h:1/x/ws",
		"wss://h:443":     "wss://h:443/ws",
		"h:2":             "ws://h:2/ws",
		"http://h:3":      "ws://h:3/ws",
		"https://h:4/sig": "wss://h:4/sig",
	} {
		if got := serverURL(in); got != want {
			t.Errorf("serverURL(%q) = %q, want %q", in, got, want)
		}
	}
	t.Setenv("XINLING_SERVER", "ws://envhost:5")
	c := NewInstance("app")
	defer c.Destroy()
	if c.url != "ws://envhost:5/ws" {
		t.Fatalf("url from the environment %q", c.url)
	}
	t.Setenv("XINLING_SERVER", "")
	d := NewInstance("app")
	defer d.Destroy()
	if d.url != "ws://127.0.0.1:9470/ws" {
		t.Fatalf("default url %q", d.url)
	}
}

func TestGetInstance(t *testing.T) {
	a := GetInstance("app", WithServer("ws://127.0.0.1:1"))
	b := GetInstance("other")
	if a != b {
		t.Fatal("GetInstance returned two instances")
	}
	n := NewInstance("app")
	if n == a {
		t.Fatal("NewInstance returned the shared instance")
	}
	n.Destroy()
	if GetInstance("x") != a {
		t.Fatal("destroying another instance cleared the slot")
	}
	a.Destroy()
	c := GetInstance("app")
	if c == a {
		t.Fatal("GetInstance after Destroy returned the destroyed instance")
	}
	c.Destroy()
}

func TestCallbackSetGet(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	if c.CallbackGet() != rec {
		t.Fatal("CallbackGet")
	}
	c.CallbackSet(nil)
	if c.CallbackGet() != nil {
		t.Fatal("CallbackGet after nil")
	}
	c.Logout() // delivered to BaseCallback: nothing happens
	c.ChannelJoin("")
	delivered := make(chan struct{})
	c.post(func() { c.eng.emit(func(Callback) { close(delivered) }) })
	<-delivered
	c.CallbackSet(rec)
	sentinel(t, c, rec)
	if evs := rec.events(); len(evs) != 1 || evs[0] != "OnLogout(108)" {
		t.Fatalf("events %v", evs)
	}
}

// reentrant calls SDK methods from its callbacks.
type reentrant struct {
	*recorder
	c *Client
}

func (r reentrant) OnLoginSuccess(uid uint32, fd int) {
	r.recorder.OnLoginSuccess(uid, fd)
	r.c.ChannelJoin("lobby")
	r.c.GetAttr("n")
	_ = r.c.GetStatus()
	r.c.CallbackSet(r.c.CallbackGet())
}

func (r reentrant) OnChannelJoined(ch string) {
	r.recorder.OnChannelJoined(ch)
	r.c.Logout()
}

func TestCallbacksMayCallMethods(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	c.CallbackSet(reentrant{rec, c})
	c.Login("app", "alice", "tok", 0, "")
	fc := fs.accept(t)
	f := fc.expect(t, wire.OpLogin, nil)
	fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 1})
	j := fc.expect(t, wire.OpChannelJoin, nil)
	fc.expect(t, wire.OpUserGetAttr, nil)
	fc.reply(j.ID, wire.JoinRes{Channel: "lobby"})
	rec.waitFor(t, "OnLogout(101)")
	fc.expect(t, wire.OpLogout, nil)
	want := []string{"OnLoginSuccess(0,1)", "OnChannelJoined(lobby)", "OnChannelUserList([],[])",
		"OnError(GetAttr,1001)", "OnChannelLeaved(lobby,603)", "OnLogout(101)"}
	if got := rec.events(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

type destroyer struct {
	*recorder
	c *Client
}

func (d destroyer) OnLoginSuccess(uid uint32, fd int) {
	d.recorder.OnLoginSuccess(uid, fd)
	d.c.Destroy()
	d.recorder.OnLog("destroyed")
}

func TestDestroyFromCallback(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	c.CallbackSet(destroyer{rec, c})
	c.Login("app", "alice", "tok", 0, "")
	fc := fs.accept(t)
	f := fc.expect(t, wire.OpLogin, nil)
	fc.reply(f.ID, wire.LoginRes{Session: "s", Fd: 1})
	fc.expect(t, wire.OpLogout, nil) // Destroy says goodbye
	rec.waitFor(t, "OnLog(destroyed)")
	if c.GetStatus() != 0 {
		t.Fatalf("status %d after Destroy", c.GetStatus())
	}
}

func TestDestroy(t *testing.T) {
	fs := newFakeServer(t)
	before := goleak.IgnoreCurrent()
	c := NewInstance("app", WithServer(fs.URL), fast())
	rec := newRecorder()
	c.CallbackSet(rec)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)
	c.GetAttr("n") // pending, never answered
	fc.expect(t, wire.OpUserGetAttr, nil)
	n := len(rec.all())

	c.Destroy()
	fc.expect(t, wire.OpLogout, nil)
	if c.GetStatus() != 0 || c.IsOnline() {
		t.Fatalf("status %d after Destroy", c.GetStatus())
	}
	goleak.VerifyNone(t, before)

	// Idempotent, and every method is now a no-op.
	c.Destroy()
	c.Login("app", "alice", "tok", 0, "")
	c.Logout()
	callEveryMethod(c)
	c.Destroy()
	if got := rec.all(); len(got) != n {
		t.Fatalf("events after Destroy: %v", got[n:])
	}
	fs.noConnection(t, 20*time.Millisecond)
	goleak.VerifyNone(t, before)
}

func TestDestroyWhileReconnectingAndDialling(t *testing.T) {
	tl := newTestListener(t, true) // never answers
	before := goleak.IgnoreCurrent()
	c := NewInstance("app", WithServer(tl.URL()), fast())
	c.Login("app", "alice", "tok", 0, "")
	for tl.accepted.Load() == 0 {
		time.Sleep(time.Millisecond) // polling a counter
	}
	c.Destroy()
	goleak.VerifyNone(t, before)
}

func TestConcurrentUse(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	const workers, each = 8, 50

	// The server acknowledges every send.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; k < workers*each; k++ {
			f := fc.next(t)
			if f.Op != wire.OpPeerSend {
				t.Errorf("unexpected %s", f.Describe())
				return
			}
			fc.reply(f.ID, nil)
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				c.MessageInstantSend("bob", 0, fmt.Sprintf("%d/%d", w, k), "")
				_ = c.GetStatus()
			}
		}()
	}
	wg.Wait()
	<-done
	// Every send succeeds, each under its own generated id.
	rec.waitUntil(t, "all sends acknowledged", func(evs []string) bool {
		ids := map[string]bool{}
		for _, ev := range evs {
			if id, ok := strings.CutPrefix(ev, "OnMessageSendSuccess("); ok {
				ids[id] = true
			}
		}
		return len(ids) == workers*each
	})
}

func TestLoginRacingDestroy(t *testing.T) {
	for range 50 {
		c := NewInstance("app", WithServer("ws://127.0.0.1:1"), fast())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.Login("app", "alice", "tok", 0, "") }()
		go func() { defer wg.Done(); c.Destroy() }()
		wg.Wait()
		c.Destroy()
		if s := c.GetStatus(); s != 0 {
			t.Fatalf("status %d after Destroy", s)
		}
	}
}

func TestTLSWithDialer(t *testing.T) {
	fs := newFakeTLSServer(t)
	tr := fs.hs.Client().Transport.(*http.Transport)
	d := &websocket.Dialer{TLSClientConfig: tr.TLSClientConfig, HandshakeTimeout: 5 * time.Second}

	// Without the server's certificate the login fails…
	c1, rec1 := newClient(t, fs)
	c1.Login2("app", "alice", "tok", 0, "", 5, 1)
	rec1.waitFor(t, "OnLoginFailed(201)")

	// …with it, it works.
	c, rec := newClient(t, fs, WithDialer(d))
	if !strings.HasPrefix(c.url, "wss://") {
		t.Fatalf("url %q", c.url)
	}
	login(t, fs, c, rec, 4)
}
