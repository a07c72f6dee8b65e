package sdk

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

func TestValidationWhileLoggedIn(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	i := len(rec.all()) - 1

	long := strings.Repeat("x", wire.MaxMessageBytes+1)
	c.ChannelJoin("")
	c.MessageInstantSend("bob", 0, long, "m1")
	c.MessageChannelSend("a b", "hi", "m2")
	c.MessageChannelSendForce("ch", long, "m3")
	c.ChannelQueryUserNum("bad\nname")
	c.Invoke("io.agora.signal.user_query_user_status", "{bad", "c1")
	c.SetAttr("n", strings.Repeat("v", wire.MaxValueBytes+1))
	c.ChannelSetAttr("ch", "", "v")
	c.GetUserAttr("a b", "n")
	c.ChannelInviteUser2("ch", "bob", "not json")
	c.ChannelInviteUser("ch", "b ob", 0)
	c.ChannelInviteDTMF("ch", "bob", "12a")
	c.ChannelInviteAccept("ch", "bob", 0, "[1]")
	logSentinel(t, fc, rec, "done")

	want := []string{
		"OnError(ChannelJoin,1004)", "OnChannelJoinFailed(,300)",
		"OnError(MessageInstantSend,1005)", "OnMessageSendError(m1,400)",
		"OnError(MessageChannelSend,1004)", "OnMessageSendError(m2,400)",
		"OnError(MessageChannelSendForce,1005)", "OnMessageSendError(m3,400)",
		"OnError(ChannelQueryUserNum,1004)", "OnChannelQueryUserNumResult(bad\nname,500,0)",
		"OnError(Invoke,1004)", "OnInvokeRet(c1,bad_request,{})",
		"OnError(SetAttr,1005)",
		"OnError(ChannelSetAttr,1004)",
		"OnError(GetUserAttr,1004)",
		"OnError(ChannelInviteUser2,1004)", "OnInviteFailed(ch,bob,0,700,)",
		"OnError(ChannelInviteUser,1004)", "OnInviteFailed(ch,b ob,0,700,)",
		"OnError(ChannelInviteDTMF,1004)",
		"OnError(ChannelInviteAccept,1004)",
	}
	got := rec.since(i)
	if !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Nothing reached the server.
	select {
	case f := <-fc.in:
		t.Fatalf("sent %s", f.Describe())
	default:
	}
}

func TestNotLoggedIn(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	c.MessageInstantSend("bob", 0, "hi", "")
	c.ChannelJoin("ch")
	c.ChannelQueryUserNum("ch")
	c.Invoke("io.agora.signal.user_query_user_status", "", "c1")
	c.GetAttr("n")
	c.ChannelInviteUser("ch", "bob", 0)
	sentinel(t, c, rec)
	got := rec.events()
	want := []string{
		"OnError(MessageInstantSend,1003)", "OnMessageSendError(*",
		"OnError(ChannelJoin,1003)", "OnChannelJoinFailed(ch,300)",
		"OnError(ChannelQueryUserNum,1003)", "OnChannelQueryUserNumResult(ch,500,0)",
		"OnError(Invoke,1003)", "OnInvokeRet(c1,not_logged_in,{})",
		"OnError(GetAttr,1003)",
		"OnError(ChannelInviteUser,1003)", "OnInviteFailed(ch,bob,0,700,)",
		"OnLogout(108)",
	}
	if !matchAll(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got[1] == "OnMessageSendError(,400)" || !strings.HasSuffix(got[1], ",400)") {
		t.Fatalf("send error %s: want a generated id and 400", got[1])
	}
	fs.noConnection(t, 20*time.Millisecond)
}

// matchAll compares events with patterns, where a pattern ending in "*"
// matches any event with that prefix.
func matchAll(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if p, ok := strings.CutSuffix(want[i], "*"); ok {
			if !strings.HasPrefix(got[i], p) {
				return false
			}
		} else if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestJoinLeavesPreviousChannelFirst(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "a", 5)
	i := len(rec.all()) - 1

	c.ChannelJoin("b")
	var req wire.ChannelReq
	f := fc.expect(t, wire.OpChannelJoin, &req)
	if req.Channel != "b" {
		t.Fatalf("join %+v", req)
	}
	fc.reply(f.ID, wire.JoinRes{
		Channel: "b", Left: "a", UID: 9,
		Members: []wire.Member{{Account: "carol", UID: 7}, {Account: "alice", UID: 9}},
		Attrs:   []wire.Attr{{Name: "k1", Value: "v1"}, {Name: "k2", Value: "v2"}},
		Off:     10,
	})
	logSentinel(t, fc, rec, "done")
	want := []string{
		"OnChannelLeaved(a,602)",
		"OnChannelJoined(b)",
		"OnChannelUserList([carol alice],[7 9])",
		"OnChannelAttrUpdated(b,k1,v1,update)",
		"OnChannelAttrUpdated(b,k2,v2,update)",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestPushDedupe(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 10)
	i := len(rec.all()) - 1

	msg := func(off uint64, ch, text string) {
		fc.push(wire.PushChannelMsg, 0, off, wire.ChannelMsg{Channel: ch, From: "bob", UID: 2, Msg: text})
	}
	msg(9, "room", "old")   // before the join offset
	msg(10, "room", "old2") // at it
	msg(11, "room", "m11")
	msg(11, "room", "dup")
	msg(12, "other", "wrong channel")
	fc.push(wire.PushUserJoined, 0, 12, wire.ChannelUser{Channel: "room", Account: "carol", UID: 3})
	fc.push(wire.PushUserLeft, 0, 13, wire.ChannelUser{Channel: "room", Account: "carol", UID: 3})
	fc.push(wire.PushAttrUpdated, 0, 14, wire.AttrUpdate{Channel: "room", Name: "n", Value: "v", Type: "update"})
	fc.push(wire.PushAttrUpdated, 0, 13, wire.AttrUpdate{Channel: "room", Name: "n", Value: "x", Type: "update"})
	for _, seq := range []uint64{1, 2, 2, 1, 3} {
		fc.push(wire.PushPeerMsg, seq, 0, wire.PeerMsg{From: "bob", Msg: "p" + string(rune('0'+seq))})
	}
	fc.push(wire.PushLog, 0, 0, wire.LogLine{Text: "server says hi"})
	logSentinel(t, fc, rec, "done")
	want := []string{
		"OnMessageChannelReceive(room,bob,2,m11)",
		"OnChannelUserJoined(carol,3)",
		"OnChannelUserLeaved(carol,3)",
		"OnChannelAttrUpdated(room,n,v,update)",
		"OnMessageInstantReceive(bob,0,p1)",
		"OnMessageInstantReceive(bob,0,p2)",
		"OnMessageInstantReceive(bob,0,p3)",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !rec.has("OnLog(server says hi)") {
		t.Fatal("log push not delivered")
	}
}

func TestLeaveGoneAndSnapshot(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	join(t, fc, c, rec, "room", 1)

	c.ChannelLeave("room")
	f := fc.expect(t, wire.OpChannelLeave, nil)
	fc.reply(f.ID, nil)
	rec.waitFor(t, "OnChannelLeaved(room,602)")
	fc.push(wire.PushChannelMsg, 0, 2, wire.ChannelMsg{Channel: "room", From: "bob", Msg: "after leave"})

	join(t, fc, c, rec, "hall", 1)
	i := len(rec.all()) - 1
	// A snapshot for another channel is ignored; one for ours is reported.
	fc.push(wire.PushChannelSnap, 0, 0, wire.JoinRes{Channel: "room", Off: 5})
	fc.push(wire.PushChannelSnap, 0, 0, wire.JoinRes{Channel: "hall",
		Members: []wire.Member{{Account: "bob", UID: 4}}, Attrs: []wire.Attr{{Name: "t", Value: "1"}}, Off: 20})
	fc.push(wire.PushChannelMsg, 0, 20, wire.ChannelMsg{Channel: "hall", From: "bob", Msg: "old"})
	fc.push(wire.PushChannelMsg, 0, 21, wire.ChannelMsg{Channel: "hall", From: "bob", Msg: "new"})
	fc.push(wire.PushChannelGone, 0, 0, wire.ChannelGone{Channel: "elsewhere", Code: wire.LeaveChannelKicked})
	fc.push(wire.PushChannelGone, 0, 0, wire.ChannelGone{Channel: "hall", Code: wire.LeaveChannelKicked})
	fc.push(wire.PushChannelMsg, 0, 22, wire.ChannelMsg{Channel: "hall", From: "bob", Msg: "gone"})
	logSentinel(t, fc, rec, "done")
	want := []string{
		"OnChannelJoined(hall)",
		"OnChannelUserList([bob],[4])",
		"OnChannelAttrUpdated(hall,t,1,update)",
		"OnMessageChannelReceive(hall,bob,0,new)",
		"OnChannelLeaved(hall,601)",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rec.has("OnMessageChannelReceive(room,bob,0,after leave)") {
		t.Fatal("message for a left channel delivered")
	}
}

func TestServerAnswers(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	i := len(rec.all()) - 1

	step := func(call func(), op string, answer func(f wire.Frame)) {
		t.Helper()
		call()
		answer(fc.expect(t, op, nil))
	}
	step(func() { c.MessageInstantSend("bob", 0, "hi", "ok1") }, wire.OpPeerSend,
		func(f wire.Frame) {
			var d wire.PeerSendReq
			_ = f.Decode(&d)
			if d != (wire.PeerSendReq{To: "bob", Msg: "hi", MID: "ok1"}) {
				t.Errorf("peer.send %+v", d)
			}
			fc.reply(f.ID, nil)
		})
	step(func() { c.MessageInstantSend("bob", 0, "hi", "m1") }, wire.OpPeerSend,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.SendMessageOther, "rate limited") })
	step(func() { c.MessageChannelSend("ch", "hi", "m2") }, wire.OpChannelSend,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.GeneralWrongParam, "bad") })
	step(func() { c.MessageChannelSendForce("ch", "hi", "m3") }, wire.OpChannelSend,
		func(f wire.Frame) {
			var d wire.ChannelSendReq
			_ = f.Decode(&d)
			if !d.Force || d.MID != "m3" {
				t.Errorf("ch.send %+v", d)
			}
			fc.reply(f.ID, nil)
		})
	step(func() { c.ChannelQueryUserNum("ch") }, wire.OpChannelCount,
		func(f wire.Frame) { fc.reply(f.ID, wire.CountRes{Num: 3}) })
	step(func() { c.ChannelQueryUserNum("ch") }, wire.OpChannelCount,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.GeneralFailed, "boom") })
	step(func() { c.ChannelJoin("ch") }, wire.OpChannelJoin,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.JoinChannelOther, "full") })
	step(func() { c.ChannelLeave("ch") }, wire.OpChannelLeave,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.GeneralFailed, "not in it") })
	step(func() { c.ChannelSetAttr("ch", "_member_num", "1") }, wire.OpChannelSetAttr,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.GeneralWrongParam, "read-only") })
	step(func() { c.ChannelDelAttr("ch", "n") }, wire.OpChannelDelAttr,
		func(f wire.Frame) { fc.reply(f.ID, nil) })
	step(func() { c.ChannelClearAttr("ch") }, wire.OpChannelClear,
		func(f wire.Frame) { fc.reply(f.ID, nil) })
	step(func() { c.SetAttr("color", "red") }, wire.OpUserSetAttr,
		func(f wire.Frame) { fc.reply(f.ID, nil) })
	step(func() { c.GetAttr("color") }, wire.OpUserGetAttr,
		func(f wire.Frame) {
			var d wire.UserAttrReq
			_ = f.Decode(&d)
			if d.Account != "alice" || d.Name != "color" {
				t.Errorf("getattr %+v", d)
			}
			fc.reply(f.ID, wire.UserAttrRes{Value: "red"})
		})
	step(func() { c.GetUserAttr("bob", "color") }, wire.OpUserGetAttr,
		func(f wire.Frame) { fc.reply(f.ID, wire.UserAttrRes{}) })
	step(func() { c.GetAttrAll() }, wire.OpUserGetAttrAll,
		func(f wire.Frame) { fc.reply(f.ID, wire.UserAttrAllRes{Attrs: map[string]string{"b": "2", "a": "1"}}) })
	step(func() { c.GetUserAttrAll("bob") }, wire.OpUserGetAttrAll,
		func(f wire.Frame) { fc.reply(f.ID, wire.UserAttrAllRes{}) })
	step(func() { c.GetUserAttrAll("carol") }, wire.OpUserGetAttrAll,
		func(f wire.Frame) { fc.replyErr(f.ID, wire.GeneralFailed, "nope") })
	step(func() { c.QueryUserStatus("bob") }, wire.OpUserStatus,
		func(f wire.Frame) { fc.reply(f.ID, wire.StatusRes{Online: true}) })
	step(func() { c.QueryUserStatus("carol") }, wire.OpUserStatus,
		func(f wire.Frame) { fc.reply(f.ID, wire.StatusRes{}) })
	step(func() { c.Invoke("io.agora.signal.user_query_user_status", `{"account":"bob"}`, "c1") }, wire.OpInvoke,
		func(f wire.Frame) {
			var d wire.InvokeReq
			_ = f.Decode(&d)
			if d.Name != "io.agora.signal.user_query_user_status" || string(d.Req) != `{"account":"bob"}` {
				t.Errorf("invoke %s %s", d.Name, d.Req)
			}
			fc.reply(f.ID, wire.InvokeRes{Resp: json.RawMessage(`{"status":1}`)})
		})
	step(func() { c.Invoke("nope", "", "c2") }, wire.OpInvoke,
		func(f wire.Frame) {
			var d wire.InvokeReq
			_ = f.Decode(&d)
			if string(d.Req) != "{}" {
				t.Errorf("empty req sent as %s", d.Req)
			}
			fc.replyErr(f.ID, wire.GeneralFailed, "unknown_method")
		})
	logSentinel(t, fc, rec, "done")

	want := []string{
		"OnMessageSendSuccess(ok1)",
		"OnMessageSendError(m1,400)",
		"OnError(MessageChannelSend,1004)", "OnMessageSendError(m2,400)",
		"OnMessageSendSuccess(m3)",
		"OnChannelQueryUserNumResult(ch,0,3)",
		"OnError(ChannelQueryUserNum,1001)", "OnChannelQueryUserNumResult(ch,500,0)",
		"OnChannelJoinFailed(ch,300)",
		"OnError(ChannelLeave,1001)",
		"OnError(ChannelSetAttr,1004)",
		"OnUserAttrResult(alice,color,red)",
		"OnUserAttrResult(bob,color,)",
		`OnUserAttrAllResult(alice,{"a":"1","b":"2"})`,
		"OnUserAttrAllResult(bob,{})",
		"OnError(GetUserAttrAll,1001)",
		"OnQueryUserStatusResult(bob,1)",
		"OnQueryUserStatusResult(carol,0)",
		`OnInvokeRet(c1,,{"status":1})`,
		"OnInvokeRet(c2,unknown_method,{})",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !rec.has("OnLog(MessageInstantSend m1 failed: rate limited (400 SENDMESSAGE_E_OTHER))") {
		t.Fatalf("no log line for the failed send: %v", rec.all())
	}
}

func TestRequestTimeouts(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs, WithRequestTimeout(150*time.Millisecond))
	fc := login(t, fs, c, rec, 1)
	i := len(rec.all()) - 1
	c.MessageInstantSend("bob", 0, "hi", "m1")
	c.ChannelQueryUserNum("ch")
	c.GetAttr("n")
	c.ChannelJoin("ch")
	c.Invoke("x", "{}", "c1")
	for _, op := range []string{wire.OpPeerSend, wire.OpChannelCount, wire.OpUserGetAttr, wire.OpChannelJoin} {
		f := fc.expect(t, op, nil)
		if op == wire.OpChannelJoin {
			defer fc.reply(f.ID, wire.JoinRes{Channel: "ch"}) // too late: ignored
		}
	}
	fc.expect(t, wire.OpInvoke, nil)
	rec.waitFor(t, "OnInvokeRet(c1,timeout,{})")
	want := []string{
		"OnMessageSendError(m1,401)",
		"OnChannelQueryUserNumResult(ch,501,0)",
		"OnError(GetAttr,1001)",
		"OnError(ChannelJoin,1001)", "OnChannelJoinFailed(ch,300)",
		"OnError(Invoke,1001)", "OnInvokeRet(c1,timeout,{})",
	}
	if got := rec.since(i); !slices.Equal(got, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMethodsReturnAtOnce(t *testing.T) {
	fs := newFakeServer(t)
	c, rec := newClient(t, fs)
	fc := login(t, fs, c, rec, 1)
	fc.mute.Store(true)
	// Block the callback goroutine too: nothing may wait for it.
	release := make(chan struct{})
	rec.setHook(func(ev string) {
		if ev == "OnMessageInstantReceive(bob,0,block)" {
			<-release
		}
	})
	defer close(release)
	fc.push(wire.PushPeerMsg, 1, 0, wire.PeerMsg{From: "bob", Msg: "block"})

	start := time.Now()
	for range 200 {
		callEveryMethod(c)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("200 rounds of every method took %v", el)
	}
	// And they reached the server, the callback goroutine notwithstanding.
	fc.expect(t, wire.OpInvoke, nil)
}

// callEveryMethod calls every API method but Destroy, Login and Logout.
func callEveryMethod(c API) {
	c.Invoke("io.agora.signal.user_query_user_status", `{"account":"bob"}`, "c")
	c.QueryUserStatus("bob")
	c.SetAttr("n", "v")
	c.GetAttr("n")
	c.GetAttrAll()
	c.GetUserAttr("bob", "n")
	c.GetUserAttrAll("bob")
	c.MessageInstantSend("bob", 0, "hi", "")
	c.ChannelJoin("ch")
	c.ChannelLeave("ch")
	c.ChannelQueryUserNum("ch")
	c.ChannelSetAttr("ch", "n", "v")
	c.ChannelDelAttr("ch", "n")
	c.ChannelClearAttr("ch")
	c.MessageChannelSend("ch", "hi", "")
	c.MessageChannelSendForce("ch", "hi", "")
	c.ChannelInviteUser("ch", "bob", 0)
	c.ChannelInviteUser2("ch", "bob", "")
	c.ChannelInviteDTMF("ch", "bob", "1")
	c.ChannelInviteAccept("ch", "bob", 0, "")
	c.ChannelInviteRefuse("ch", "bob", 0, "")
	c.ChannelInviteEnd("ch", "bob", 0)
	c.MessageDTMFSend(0, "1", "")
	c.ChannelInvitePhone("ch", "123", 0)
	c.ChannelInvitePhone2("ch", "123", "456")
	c.ChannelInvitePhone3("ch", "123", "456", "")
	_ = c.GetStatus()
	_ = c.GetSdkVersion()
	_ = c.IsOnline()
	c.CallbackSet(c.CallbackGet())
}
