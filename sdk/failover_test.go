package sdk

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// Failover between the URLs of WithServers. The backoff in these tests is
// 2 s (1.6–2.4 s with jitter), so that a backoff where none is due shows
// as a delay.

const slowBackoff = 2 * time.Second

// noBackoffYet bounds the time a failover may take when no backoff is due.
const noBackoffYet = time.Second

// down stops the server the way a crashed node goes: it stops accepting
// first (so that no reconnect slips in), then drops every connection.
func (fs *fakeServer) down() {
	fs.hs.Listener.Close()
	fs.Close()
}

// logsWith returns the OnLog lines that contain sub.
func logsWith(rec *recorder, sub string) []string {
	return slices.DeleteFunc(rec.all(), func(s string) bool {
		return !strings.HasPrefix(s, "OnLog(") || !strings.Contains(s, sub)
	})
}

// closedPort is a ws:// URL where nothing listens.
func closedPort(t *testing.T) string {
	tl := newTestListener(t, false)
	tl.ln.Close()
	return tl.URL()
}

// loginOn answers the login that reaches fs and waits for its success.
func loginOn(t *testing.T, fs *fakeServer, rec *recorder) {
	t.Helper()
	fc := fs.accept(t)
	f := fc.expect(t, wire.OpLogin, nil)
	fc.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 1})
	rec.waitFor(t, "OnLoginSuccess(0,1)")
}

func TestFailoverLoginFirstDead(t *testing.T) {
	dead := closedPort(t)
	fs := newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(dead, fs.URL), withBackoff(slowBackoff, slowBackoff))
	start := time.Now()
	c.Login("app", "alice", "tok", 0, "")
	loginOn(t, fs, rec)
	if el := time.Since(start); el > noBackoffYet {
		t.Fatalf("login took %v: the dead first URL cost a backoff", el)
	}
	failed := logsWith(rec, "cannot connect to")
	if len(failed) != 1 || !strings.Contains(failed[0], "cannot connect to "+dead+"/ws:") ||
		!strings.Contains(failed[0], "trying "+fs.URL+"/ws") {
		t.Fatalf("failed dials logged: %q, want one, for %s", failed, dead)
	}
	if n := len(logsWith(rec, "attempt")); n != 0 {
		t.Fatalf("a failed attempt was counted: %v", rec.all())
	}
	if evs := rec.events(); !slices.Equal(evs, []string{"OnLoginSuccess(0,1)"}) {
		t.Fatalf("events %v", evs)
	}
}

func TestFailoverLoginPastRefusingNode(t *testing.T) {
	dead := closedPort(t)
	full := newFakeServer(t)
	full.refuse.Store(true) // HTTP 503, as a full or stopping node answers
	fs := newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(dead, full.URL, fs.URL), withBackoff(slowBackoff, slowBackoff))
	start := time.Now()
	c.Login("app", "alice", "tok", 0, "")
	loginOn(t, fs, rec)
	if el := time.Since(start); el > noBackoffYet {
		t.Fatalf("login took %v", el)
	}
	failed := logsWith(rec, "cannot connect to")
	if len(failed) != 2 || !strings.Contains(failed[0], dead) ||
		!strings.Contains(failed[1], full.URL) || !strings.Contains(failed[1], "503") {
		t.Fatalf("failed dials logged: %q", failed)
	}
	if n := full.refused.Load(); n != 1 {
		t.Fatalf("refusing node dialled %d times", n)
	}
}

func TestFailoverLoginAllDownCountsAttempts(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	a.refuse.Store(true)
	b.refuse.Store(true)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL))
	c.Login2("app", "alice", "tok", 0, "", 30, 2)
	rec.waitFor(t, "OnLoginFailed(201)")
	// An attempt is one pass over the list, from the first URL.
	if na, nb := a.refused.Load(), b.refused.Load(); na != 2 || nb != 2 {
		t.Fatalf("dials %d to a and %d to b, want 2 and 2", na, nb)
	}
	failed := logsWith(rec, "cannot connect to")
	want := []string{a.URL, b.URL, a.URL, b.URL}
	for k, l := range failed {
		if k >= len(want) || !strings.Contains(l, "cannot connect to "+want[k]+"/ws:") {
			t.Fatalf("failed dials %q, want to %v in turn", failed, want)
		}
	}
	if len(failed) != len(want) || len(logsWith(rec, "login attempt 2 failed")) != 1 {
		t.Fatalf("logs %q", rec.all())
	}
}

func TestFailoverLoginBusyNodeNextAttemptElsewhere(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL))
	c.Login("app", "alice", "tok", 0, "")
	fa := a.accept(t)
	f := fa.expect(t, wire.OpLogin, nil)
	fa.replyErr(f.ID, wire.LoginNet, "busy") // the node's login rate: try again
	fb := b.accept(t)
	f = fb.expect(t, wire.OpLogin, nil)
	fb.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2})
	rec.waitFor(t, "OnLoginSuccess(0,2)")
	a.noConnection(t, 50*time.Millisecond)
}

func TestFailoverReconnectAfterNodeLoss(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL), withBackoff(slowBackoff, slowBackoff))
	fa := login(t, a, c, rec, 1)
	join(t, fa, c, rec, "room", 10)
	fa.push(wire.PushPeerMsg, 5, 0, wire.PeerMsg{From: "bob", Msg: "p5"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,p5)")

	start := time.Now()
	a.down() // the node in use goes away, without a goodbye
	i := rec.waitFor(t, "OnReconnecting(1)")
	fb := b.accept(t)
	var req wire.LoginReq
	f := fb.expect(t, wire.OpLogin, &req)
	want := wire.Resume{Session: "s1", Seq: 5, Channel: "room", Off: 10}
	if req.Resume == nil || *req.Resume != want || req.Account != "alice" || req.Token != "tok" {
		t.Fatalf("login on the other node %+v / %+v, want a resume of %+v", req, req.Resume, want)
	}
	// The nodes are independent here: b does not know the session, so it
	// starts a new one and the SDK rejoins its channel.
	fb.reply(f.ID, wire.LoginRes{Session: "s2", Fd: 2, Resumed: false})
	var jr wire.ChannelReq
	j := fb.expect(t, wire.OpChannelJoin, &jr)
	if jr.Channel != "room" {
		t.Fatalf("rejoin %+v", jr)
	}
	fb.reply(j.ID, wire.JoinRes{Channel: "room",
		Members: []wire.Member{{Account: "alice", UID: 3}, {Account: "bob", UID: 4}}, Off: 1})
	rec.waitFor(t, "OnChannelUserList([alice bob],[3 4])")
	if el := time.Since(start); el > noBackoffYet {
		t.Fatalf("reconnect took %v: the dead node cost a backoff", el)
	}
	wantEvs := []string{"OnReconnected(2)", "OnChannelJoined(room)", "OnChannelUserList([alice bob],[3 4])"}
	if got := rec.since(i); !slices.Equal(got, wantEvs) {
		t.Fatalf("events %v, want %v", got, wantEvs)
	}
	// The node in use was tried first, once; then b at once.
	if failed := logsWith(rec, "cannot connect to"); len(failed) != 1 ||
		!strings.Contains(failed[0], "cannot connect to "+a.URL+"/ws:") {
		t.Fatalf("failed dials logged: %q", failed)
	}
	if c.GetStatus() != StatusLoggedIn {
		t.Fatalf("status %d", c.GetStatus())
	}

	// The session now lives on b: a later loss retries b first.
	fb.drop()
	rec.waitFor(t, "OnReconnecting(1)")
	fb2 := b.accept(t)
	f = fb2.expect(t, wire.OpLogin, &req)
	if req.Resume == nil || req.Resume.Session != "s2" || req.Resume.Channel != "room" {
		t.Fatalf("resume %+v", req.Resume)
	}
	fb2.reply(f.ID, wire.LoginRes{Session: "s2", Fd: 5, Resumed: true})
	rec.waitFor(t, "OnReconnected(5)")
	if n := len(logsWith(rec, "cannot connect to")); n != 1 {
		t.Fatalf("%d failed dials, want still 1", n)
	}
}

func TestFailoverReconnectTriesServerInUseFirst(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	a.refuse.Store(true)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL))
	c.Login("app", "alice", "tok", 0, "")
	fb := b.accept(t) // a refused
	f := fb.expect(t, wire.OpLogin, nil)
	fb.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 1})
	rec.waitFor(t, "OnLoginSuccess(0,1)")
	a.refuse.Store(false)

	fb.drop() // b is still up: the reconnect goes back to it, not to the first URL
	rec.waitFor(t, "OnReconnecting(1)")
	fb2 := b.accept(t)
	f = fb2.expect(t, wire.OpLogin, nil)
	fb2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")
	a.noConnection(t, 50*time.Millisecond)
	if n := a.refused.Load(); n != 1 {
		t.Fatalf("a dialled %d times, want once (the login)", n)
	}
}

func TestFailoverReconnectAllDownBacksOffBetweenPasses(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL))
	fa := login(t, a, c, rec, 1)
	a.refuse.Store(true)
	b.refuse.Store(true)
	fa.drop()
	i := rec.waitFor(t, "OnReconnecting(1)")
	j := rec.waitFor(t, "OnReconnecting(3)")
	b.refuse.Store(false)
	fb := b.accept(t)
	f := fb.expect(t, wire.OpLogin, nil)
	fb.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")

	// Attempts 1 and 2 each dialled a (the server in use), then b at once.
	var dials []string
	for _, ev := range rec.all()[i:j] {
		if strings.HasPrefix(ev, "OnLog(") && strings.Contains(ev, "cannot connect to") {
			dials = append(dials, ev)
		}
	}
	want := []string{a.URL + "/ws: ", b.URL + "/ws: ", a.URL + "/ws: ", b.URL + "/ws: "}
	ok := len(dials) == len(want)
	for k := 0; ok && k < len(want); k++ {
		ok = strings.Contains(dials[k], "cannot connect to "+want[k])
	}
	if !ok || !strings.Contains(dials[1], "reconnect attempt 1 failed") || !strings.Contains(dials[3], "reconnect attempt 2 failed") {
		t.Fatalf("dials of attempts 1 and 2:\n%s", strings.Join(dials, "\n"))
	}
}

func TestFailoverGoAwayPrefersAnotherServer(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(a.URL, b.URL))
	fa := login(t, a, c, rec, 1)
	join(t, fa, c, rec, "room", 3)
	// a says goodbye but still accepts: the client goes to b all the same.
	fa.push(wire.PushGoAway, 0, 0, wire.GoAway{Reason: "server shutting down"})
	i := rec.waitFor(t, "OnReconnecting(1)")
	fb := b.accept(t)
	var req wire.LoginReq
	f := fb.expect(t, wire.OpLogin, &req)
	if req.Resume == nil || req.Resume.Session != "s1" {
		t.Fatalf("login after goaway %+v", req)
	}
	fb.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true}) // resumable on any node
	rec.waitFor(t, "OnReconnected(2)")
	logSentinel(t, fb, rec, "done")
	if got := rec.since(i); !slices.Equal(got, []string{"OnReconnected(2)"}) {
		t.Fatalf("events %v", got)
	}
	a.noConnection(t, 50*time.Millisecond)
}

func TestFailoverGoAwayOtherServersDead(t *testing.T) {
	dead := closedPort(t)
	a := newFakeServer(t)
	c, rec := newClient(t, nil, WithServers(a.URL, dead), withBackoff(slowBackoff, slowBackoff))
	fa := login(t, a, c, rec, 1)
	start := time.Now()
	fa.push(wire.PushGoAway, 0, 0, wire.GoAway{Reason: "restart"})
	// Another server first; when none answers, the one that said goodbye,
	// in the same attempt.
	fa2 := a.accept(t)
	f := fa2.expect(t, wire.OpLogin, nil)
	fa2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")
	if el := time.Since(start); el > noBackoffYet {
		t.Fatalf("reconnect took %v", el)
	}
	if failed := logsWith(rec, "cannot connect to"); len(failed) != 1 || !strings.Contains(failed[0], dead) {
		t.Fatalf("failed dials logged: %q", failed)
	}
	if rec.has("OnReconnecting(2)") {
		t.Fatal("a second attempt")
	}
}

func TestFailoverBadURL(t *testing.T) {
	fs := newFakeServer(t)
	for _, tc := range []struct {
		name string
		urls []string
		want string // in an OnLog line
	}{
		{"scheme", []string{fs.URL, "ftp://h:1"}, `bad server URL "ftp://h:1": scheme "ftp"`},
		{"no host", []string{"ws://", fs.URL}, `bad server URL "ws://": no host`},
		{"port range", []string{fs.URL, "ws://h:99999"}, `bad server URL "ws://h:99999": port "99999"`},
		{"port syntax", []string{fs.URL, "ws://h:abc"}, `bad server URL "ws://h:abc": invalid port`},
		{"unparsable", []string{fs.URL, "http://[::1"}, `bad server URL "http://[::1": missing ']'`},
		{"empty", []string{fs.URL, " "}, `bad server URL " ": empty`},
		{"none", nil, "no server URL given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := newClient(t, nil, WithServers(tc.urls...))
			c.Login("app", "alice", "tok", 0, "")
			rec.waitFor(t, "OnLoginFailed(201)")
			if logs := logsWith(rec, tc.want); len(logs) != 1 {
				t.Fatalf("no log line with %q: %v", tc.want, rec.all())
			}
			if evs := rec.events(); !slices.Equal(evs, []string{"OnLoginFailed(201)"}) {
				t.Fatalf("events %v", evs)
			}
			if c.GetStatus() != 0 {
				t.Fatalf("status %d", c.GetStatus())
			}
			_ = c.String()
		})
	}
	fs.noConnection(t, 50*time.Millisecond) // the good URLs were not dialled either

	c, rec := newClient(t, nil, WithServer("gopher://h:1"))
	c.Login("app", "alice", "tok", 0, "")
	rec.waitFor(t, "OnLoginFailed(201)")
	if len(logsWith(rec, `bad server URL "gopher://h:1"`)) != 1 {
		t.Fatalf("logs %v", rec.all())
	}
}

func TestServerList(t *testing.T) {
	t.Setenv("XINLING_SERVER", " ws://a:1 , b:2,,https://c:3/sig ")
	c := NewInstance("app")
	defer c.Destroy()
	want := []string{"ws://a:1/ws", "ws://b:2/ws", "wss://c:3/sig"}
	if !slices.Equal(c.urls, want) || c.urlErr != nil || c.url != want[0] {
		t.Fatalf("urls from the environment %v (%v), want %v", c.urls, c.urlErr, want)
	}
	d := NewInstance("app", WithServers("ws://x:1", "ws://y:2"), WithServer("ws://z:3"))
	defer d.Destroy()
	if !slices.Equal(d.urls, []string{"ws://z:3/ws"}) {
		t.Fatalf("WithServer after WithServers: %v", d.urls)
	}
	e := NewInstance("app", WithServers("ws://x:1", "y:2"))
	defer e.Destroy()
	if !slices.Equal(e.urls, []string{"ws://x:1/ws", "ws://y:2/ws"}) {
		t.Fatalf("WithServers: %v", e.urls)
	}
	t.Setenv("XINLING_SERVER", "ws://a:1,ftp://b")
	f := NewInstance("app")
	defer f.Destroy()
	if f.urlErr == nil || !strings.Contains(f.urlErr.Error(), `"ftp://b"`) {
		t.Fatalf("bad URL in the environment: %v", f.urlErr)
	}
}

func TestSplitServers(t *testing.T) {
	got := SplitServers(" ws://a:1 ,,ws://b:2,  ")
	if len(got) != 2 || got[0] != "ws://a:1" || got[1] != "ws://b:2" {
		t.Fatalf("SplitServers = %q", got)
	}
	if got := SplitServers(""); len(got) != 0 {
		t.Fatalf("SplitServers(\"\") = %q", got)
	}
}
