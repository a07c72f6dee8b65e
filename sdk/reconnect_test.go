package sdk

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

func TestKickedDoesNotReconnect(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)
	c.GetAttr("n") // pending: gets its failure
	fc.expect(t, wire.OpUserGetAttr, nil)
	i := len(rec.all()) - 1
	fc.push(wire.PushKicked, 0, 0, wire.Kicked{Code: wire.LogoutKicked, Reason: "logged in elsewhere"})
	fc.drop()
	rec.waitFor(t, "OnLogout(103)")
	want := []string{"OnError(GetAttr,1001)", "OnChannelLeaved(room,601)", "OnLogout(103)"}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if c.GetStatus() != 0 {
		t.Fatalf("status %d", c.GetStatus())
	}
	fs.noConnection(t, 300*time.Millisecond) // backoff is 10–40 ms: a reconnect would show
	if rec.has("OnReconnecting(1)") {
		t.Fatal("reconnected after a kick")
	}
}

func TestReconnectResumes(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc1 := login(t, fs, c, rec, 1)
	join(t, fc1, c, rec, "room", 10)
	fc1.push(wire.PushPeerMsg, 5, 0, wire.PeerMsg{From: "bob", Msg: "p5"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,p5)")
	c.GetAttr("color")
	inflight := fc1.expect(t, wire.OpUserGetAttr, nil) // never answered on fc1

	fc1.drop()
	rec.waitFor(t, "OnReconnecting(1)")
	if c.GetStatus() != StatusReconnecting {
		t.Fatalf("status %d while reconnecting", c.GetStatus())
	}
	c.MessageInstantSend("bob", 0, "queued", "mid-1") // made while reconnecting

	fc2 := fs.accept(t)
	var req wire.LoginReq
	f := fc2.expect(t, wire.OpLogin, &req)
	want := wire.Resume{Session: "s1", Seq: 5, Channel: "room", Off: 10}
	if req.Resume == nil || *req.Resume != want || req.Account != "alice" || req.Token != "tok" {
		t.Fatalf("resume login %+v / %+v, want %+v", req, req.Resume, want)
	}
	fc2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 9, Resumed: true})

	// In-flight and queued requests go out again, in order, same ids.
	g := fc2.expect(t, wire.OpUserGetAttr, nil)
	if g.ID != inflight.ID || string(g.D) != string(inflight.D) {
		t.Fatalf("resent %s %s, want %s %s", g.Describe(), g.D, inflight.Describe(), inflight.D)
	}
	var ps wire.PeerSendReq
	p := fc2.expect(t, wire.OpPeerSend, &ps)
	if ps.MID != "mid-1" || p.ID <= g.ID {
		t.Fatalf("queued send %+v id %d", ps, p.ID)
	}
	rec.waitFor(t, "OnReconnected(9)")
	if c.GetStatus() != StatusLoggedIn {
		t.Fatalf("status %d after reconnect", c.GetStatus())
	}
	fc2.reply(g.ID, wire.UserAttrRes{Value: "red"})
	fc2.reply(p.ID, nil)
	// The server replays what may have been missed; duplicates are dropped.
	fc2.push(wire.PushPeerMsg, 5, 0, wire.PeerMsg{From: "bob", Msg: "p5"})
	fc2.push(wire.PushPeerMsg, 6, 0, wire.PeerMsg{From: "bob", Msg: "p6"})
	fc2.push(wire.PushChannelMsg, 0, 10, wire.ChannelMsg{Channel: "room", From: "bob", Msg: "c10"})
	fc2.push(wire.PushChannelMsg, 0, 11, wire.ChannelMsg{Channel: "room", From: "bob", Msg: "c11"})
	logSentinel(t, fc2, rec, "done")

	got := rec.since(rec.waitFor(t, "OnReconnecting(1)"))
	wantEvs := []string{
		"OnReconnected(9)",
		"OnUserAttrResult(alice,color,red)",
		"OnMessageSendSuccess(mid-1)",
		"OnMessageInstantReceive(bob,0,p6)",
		"OnMessageChannelReceive(room,bob,0,c11)",
	}
	if !slices.Equal(got, wantEvs) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEvs, "\n"))
	}
}

func TestReconnectNewSessionRejoins(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc1 := login(t, fs, c, rec, 1)
	join(t, fc1, c, rec, "room", 10)
	fc1.push(wire.PushPeerMsg, 5, 0, wire.PeerMsg{From: "bob", Msg: "p5"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,p5)")

	fc1.drop()
	i := rec.waitFor(t, "OnReconnecting(1)")
	c.MessageChannelSend("room", "hello", "m1") // queued: must follow the rejoin
	fc2 := fs.accept(t)
	f := fc2.expect(t, wire.OpLogin, nil)
	fc2.reply(f.ID, wire.LoginRes{Session: "s2", Fd: 3, Resumed: false})
	var jr wire.ChannelReq
	j := fc2.expect(t, wire.OpChannelJoin, &jr)
	if jr.Channel != "room" {
		t.Fatalf("rejoin %+v", jr)
	}
	fc2.expect(t, wire.OpChannelSend, nil)
	// Channel pushes before the rejoin's answer belong to no known state.
	fc2.push(wire.PushChannelMsg, 0, 1, wire.ChannelMsg{Channel: "room", From: "bob", Msg: "early"})
	fc2.reply(j.ID, wire.JoinRes{Channel: "room",
		Members: []wire.Member{{Account: "alice", UID: 5}, {Account: "bob", UID: 2}},
		Attrs:   []wire.Attr{{Name: "topic", Value: "go"}}, Off: 2})
	fc2.push(wire.PushChannelMsg, 0, 3, wire.ChannelMsg{Channel: "room", From: "bob", Msg: "c3"})
	fc2.push(wire.PushPeerMsg, 1, 0, wire.PeerMsg{From: "bob", Msg: "new session p1"})
	logSentinel(t, fc2, rec, "done")

	want := []string{
		"OnReconnected(3)",
		"OnChannelJoined(room)",
		"OnChannelUserList([alice bob],[5 2])",
		"OnChannelAttrUpdated(room,topic,go,update)",
		"OnMessageChannelReceive(room,bob,0,c3)",
		"OnMessageInstantReceive(bob,0,new session p1)",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReconnectGivesUp(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs, WithReconnectWindow(400*time.Millisecond))
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)
	c.ChannelQueryUserNum("room")
	fc.expect(t, wire.OpChannelCount, nil)
	fs.refuse.Store(true)
	start := time.Now()
	fc.drop()
	i := rec.waitFor(t, "OnReconnecting(1)")
	rec.waitFor(t, "OnReconnecting(3)")
	c.MessageInstantSend("bob", 0, "late", "m9") // queued, then failed with the session
	rec.waitFor(t, "OnLogout(102)")
	if el := time.Since(start); el < 350*time.Millisecond || el > 3*time.Second {
		t.Fatalf("gave up after %v, want about 400 ms", el)
	}
	got := slices.DeleteFunc(rec.since(i), func(s string) bool { return strings.HasPrefix(s, "OnReconnecting(") })
	want := []string{
		"OnChannelQueryUserNumResult(room,500,0)",
		"OnMessageSendError(m9,400)",
		"OnChannelLeaved(room,604)",
		"OnLogout(102)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if c.GetStatus() != 0 {
		t.Fatalf("status %d", c.GetStatus())
	}
}

func TestReconnectRefused(t *testing.T) {
	for _, tc := range []struct {
		code wire.Code
		want string
	}{
		{wire.LoginTokenExpired, "OnLogout(105)"},
		{wire.LoginTokenWrong, "OnLogout(107)"},
		{wire.LogoutKicked, "OnLogout(103)"},
		{wire.LoginFailed, "OnLogout(102)"},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			fs := newFakeServer(t)
			c, rec := newClient(t, fs)
			fc := login(t, fs, c, rec, 1)
			fc.drop()
			fc2 := fs.accept(t)
			f := fc2.expect(t, wire.OpLogin, nil)
			fc2.replyErr(f.ID, tc.code, "no")
			rec.waitFor(t, tc.want)
			if c.GetStatus() != 0 {
				t.Fatalf("status %d", c.GetStatus())
			}
			fs.noConnection(t, 100*time.Millisecond)
		})
	}
}

func TestGoAwayReconnects(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	fc.push(wire.PushGoAway, 0, 0, wire.GoAway{Reason: "restart"})
	rec.waitFor(t, "OnReconnecting(1)")
	fc2 := fs.accept(t)
	var req wire.LoginReq
	f := fc2.expect(t, wire.OpLogin, &req)
	if req.Resume == nil || req.Resume.Session != "s1" {
		t.Fatalf("login after goaway %+v", req)
	}
	fc2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")
}

func TestReconnectAttemptsBackOff(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	fs.refuse.Store(true)
	fc.drop()
	rec.waitFor(t, "OnReconnecting(4)")
	fs.refuse.Store(false)
	fc2 := fs.accept(t)
	f := fc2.expect(t, wire.OpLogin, nil)
	fc2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")
	// onReconnecting counts up from 1 without gaps.
	var ns []string
	for _, ev := range rec.events() {
		if strings.HasPrefix(ev, "OnReconnecting(") {
			ns = append(ns, ev)
		}
	}
	for k, ev := range ns {
		if want := "OnReconnecting(" + strconv.Itoa(k+1) + ")"; ev != want {
			t.Fatalf("attempt events %v", ns)
		}
	}
}

func TestDeadConnectionDetected(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs, withHeartbeat(40*time.Millisecond))
	fc := login(t, fs, c, rec, 1)
	fc.push(wire.PushPeerMsg, 3, 0, wire.PeerMsg{From: "bob", Msg: "x"})
	rec.waitFor(t, "OnMessageInstantReceive(bob,0,x)")
	fc.waitPings(t, 2)
	if fc.ack.Load() != 3 {
		t.Fatalf("ping ack %d, want 3", fc.ack.Load())
	}
	start := time.Now()
	fc.mute.Store(true) // the server stops answering; the TCP connection stays up
	rec.waitFor(t, "OnReconnecting(1)")
	if el := time.Since(start); el > time.Second {
		t.Fatalf("dead connection noticed after %v, want about 120–160 ms", el)
	}
	fc2 := fs.accept(t)
	var req wire.LoginReq
	f := fc2.expect(t, wire.OpLogin, &req)
	if req.Resume == nil || req.Resume.Seq != 3 {
		t.Fatalf("resume %+v", req.Resume)
	}
	fc2.reply(f.ID, wire.LoginRes{Session: "s1", Fd: 2, Resumed: true})
	rec.waitFor(t, "OnReconnected(2)")
}

func TestSlowCallbackDoesNotStallIO(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs, withHeartbeat(30*time.Millisecond))
	fc := login(t, fs, c, rec, 1)

	entered := make(chan struct{})
	release := make(chan struct{})
	rec.setHook(func(ev string) {
		if ev == "OnMessageInstantReceive(bob,0,block)" {
			close(entered)
			<-release
		}
	})
	fc.push(wire.PushPeerMsg, 1, 0, wire.PeerMsg{From: "bob", Msg: "block"})
	<-entered
	// While the callback is stuck: pings keep going (the server's pongs keep
	// the connection alive), pushes are read, requests are written.
	n := fc.pings.Load()
	fc.waitPings(t, n+5)
	fc.push(wire.PushPeerMsg, 2, 0, wire.PeerMsg{From: "bob", Msg: "after"})
	c.ChannelQueryUserNum("ch")
	f := fc.expect(t, wire.OpChannelCount, nil)
	fc.reply(f.ID, wire.CountRes{Num: 2})
	fc.waitPings(t, fc.pings.Load()+3)
	if c.GetStatus() != StatusLoggedIn {
		t.Fatalf("status %d while a callback is slow", c.GetStatus())
	}
	close(release)
	rec.waitFor(t, "OnChannelQueryUserNumResult(ch,0,2)")
	got := rec.since(rec.waitFor(t, "OnLoginSuccess(0,1)"))
	want := []string{
		"OnMessageInstantReceive(bob,0,block)",
		"OnMessageInstantReceive(bob,0,after)",
		"OnChannelQueryUserNumResult(ch,0,2)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestLogoutWhileReconnecting(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)
	fs.refuse.Store(true)
	fc.drop()
	i := rec.waitFor(t, "OnReconnecting(1)")
	c.Logout()
	rec.waitFor(t, "OnLogout(101)")
	got := slices.DeleteFunc(rec.since(i), func(s string) bool { return strings.HasPrefix(s, "OnReconnecting(") })
	if want := []string{"OnChannelLeaved(room,603)", "OnLogout(101)"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	fs.refuse.Store(false)
	// An attempt already under way at the logout may still reach the
	// server (the kernel had its request): the SDK lets go of it at once
	// and sends nothing on it. No attempt starts after.
	select {
	case fc := <-fs.conns:
		select {
		case <-fc.done:
		case <-time.After(waitLimit):
			t.Fatal("the SDK kept a connection that opened after its logout")
		}
		select {
		case f := <-fc.in:
			t.Fatalf("the SDK sent %s on a connection that opened after its logout", f.Op)
		default:
		}
	case <-time.After(100 * time.Millisecond):
	}
	fs.noConnection(t, 100*time.Millisecond)
}

func TestDropDuringRejoin(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc1 := login(t, fs, c, rec, 1)
	join(t, fc1, c, rec, "room", 10)
	fc1.drop()

	fc2 := fs.accept(t)
	f := fc2.expect(t, wire.OpLogin, nil)
	fc2.reply(f.ID, wire.LoginRes{Session: "s2", Fd: 2})
	j := fc2.expect(t, wire.OpChannelJoin, nil)
	fc2.drop() // before the rejoin is answered

	fc3 := fs.accept(t)
	var req wire.LoginReq
	f = fc3.expect(t, wire.OpLogin, &req)
	if req.Resume == nil || req.Resume.Session != "s2" || req.Resume.Channel != "room" {
		t.Fatalf("resume %+v", req.Resume)
	}
	fc3.reply(f.ID, wire.LoginRes{Session: "s3", Fd: 3})
	j3 := fc3.expect(t, wire.OpChannelJoin, nil) // the same request again, not a second one
	if j3.ID != j.ID {
		t.Fatalf("rejoin id %d, want %d", j3.ID, j.ID)
	}
	fc3.reply(j3.ID, wire.JoinRes{Channel: "room", Off: 1})
	i := rec.waitFor(t, "OnReconnected(3)")
	logSentinel(t, fc3, rec, "done")
	if got, want := rec.since(i), []string{"OnChannelJoined(room)", "OnChannelUserList([],[])"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
