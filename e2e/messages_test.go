package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xinling/xinling/server"
)

func TestPeerMessage(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	bob := login(t, s, "bob")
	alice.MessageInstantSend("bob", 0, "hello 你好", "id-1")
	alice.expect(t, "OnMessageSendSuccess(id-1)")
	bob.expect(t, "OnMessageInstantReceive(alice,0,hello 你好)")
}

func TestPeerMessageEmptyIDGetsUniqueOne(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	bob := login(t, s, "bob")
	alice.MessageInstantSend("bob", 0, "one", "")
	alice.MessageInstantSend("bob", 0, "two", "")
	e1 := alice.wait(t, "OnMessageSendSuccess(")
	e2 := alice.wait(t, "OnMessageSendSuccess(")
	if e1 == e2 || e1 == "OnMessageSendSuccess()" {
		t.Fatalf("ids not unique: %s %s", e1, e2)
	}
	bob.expect(t, "OnMessageInstantReceive(alice,0,one)", "OnMessageInstantReceive(alice,0,two)")
}

func TestOfflineMessagesDeliveredInOrderAtLogin(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	for i := range 5 {
		alice.MessageInstantSend("bob", 0, fmt.Sprint("m", i), fmt.Sprint("id", i))
	}
	for i := range 5 {
		alice.expect(t, ev(fmt.Sprintf("OnMessageSendSuccess(id%d)", i)))
	}
	bob := newUser(t, s, "bob")
	bob.Login(testApp, "bob", "", 0, "")
	bob.expect(t, "OnLoginSuccess(0)",
		"OnMessageInstantReceive(alice,0,m0)", "OnMessageInstantReceive(alice,0,m1)",
		"OnMessageInstantReceive(alice,0,m2)", "OnMessageInstantReceive(alice,0,m3)",
		"OnMessageInstantReceive(alice,0,m4)")
	// Acknowledged messages are not delivered again at the next login.
	bob.Logout()
	bob.expect(t, "OnLogout(101)")
	bob.Login(testApp, "bob", "", 0, "")
	bob.expect(t, "OnLoginSuccess(0)")
	bob.quiet(t, bob.Client)
}

func TestOfflineQueueCapIsReported(t *testing.T) {
	s := startServer(t, server.Config{QueueMax: 2})
	alice := login(t, s, "alice")
	alice.MessageInstantSend("bob", 0, "1", "a")
	alice.MessageInstantSend("bob", 0, "2", "b")
	alice.MessageInstantSend("bob", 0, "3", "c")
	alice.expect(t, "OnMessageSendSuccess(a)", "OnMessageSendSuccess(b)", "OnMessageSendError(c,400)")
}

func TestPerUserMessageRateLimit(t *testing.T) {
	s := startServer(t, server.Config{UserRate: 5})
	alice := login(t, s, "alice")
	login(t, s, "bob")
	for i := range 6 {
		alice.MessageInstantSend("bob", 0, "x", fmt.Sprint(i))
	}
	ok, failed := 0, 0
	for range 6 {
		e := alice.wait(t, "OnMessageSend")
		switch {
		case strings.HasPrefix(string(e), "OnMessageSendSuccess"):
			ok++
		case strings.HasSuffix(string(e), ",400)"):
			failed++
		default:
			t.Fatalf("unexpected %s", e)
		}
	}
	if ok != 5 || failed != 1 {
		t.Fatalf("%d sent, %d refused; want 5 and 1", ok, failed)
	}
	// The refusal is explained in onLog, never silent.
	found := false
	for _, e := range alice.all() {
		if strings.HasPrefix(string(e), "OnLog(") && strings.Contains(string(e), "rate limit") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no onLog line about the rate limit: %v", alice.all())
	}
}

func TestInputLimits(t *testing.T) {
	s := startServer(t, server.Config{})
	u := login(t, s, "alice")
	big := strings.Repeat("x", 8193)
	u.MessageInstantSend("bob", 0, big, "m1")
	u.expect(t, "OnError(MessageInstantSend,1005)", "OnMessageSendError(m1,400)")
	u.MessageInstantSend("bad account", 0, "x", "m2")
	u.expect(t, "OnError(MessageInstantSend,1004)", "OnMessageSendError(m2,400)")
	u.MessageInstantSend(strings.Repeat("a", 129), 0, "x", "m3")
	u.expect(t, "OnError(MessageInstantSend,1004)", "OnMessageSendError(m3,400)")
	u.MessageChannelSend("room", big, "m4")
	u.expect(t, "OnError(MessageChannelSend,1005)", "OnMessageSendError(m4,400)")
	u.ChannelJoin("bad\tname")
	u.expect(t, "OnError(ChannelJoin,1004)", "OnChannelJoinFailed(bad\tname,300)")
	u.ChannelJoin("")
	u.expect(t, "OnError(ChannelJoin,1004)", "OnChannelJoinFailed(,300)")
	u.ChannelSetAttr("room", "ok", strings.Repeat("v", 8097))
	u.expect(t, "OnError(ChannelSetAttr,1005)")
	u.ChannelSetAttr("room", "has space", "v")
	u.expect(t, "OnError(ChannelSetAttr,1004)")
	u.SetAttr("k", strings.Repeat("v", 8097))
	u.expect(t, "OnError(SetAttr,1005)")
	u.ChannelQueryUserNum("a\x00b")
	u.expect(t, "OnError(ChannelQueryUserNum,1004)", "OnChannelQueryUserNumResult(a\x00b,500,0)")
	u.GetUserAttr("", "x")
	u.expect(t, "OnError(GetUserAttr,1004)")
	u.Invoke("io.agora.signal.channel_query_num", "{not json", "c1")
	u.expect(t, "OnError(Invoke,1004)", "OnInvokeRet(c1,bad_request,{})")
	// Exactly at the limits is fine.
	u.MessageInstantSend("bob", 0, strings.Repeat("x", 8192), "m5")
	u.expect(t, "OnMessageSendSuccess(m5)")
	u.SetAttr(strings.Repeat("n", 128), strings.Repeat("v", 8096))
	u.GetAttr(strings.Repeat("n", 128))
	e := u.wait(t, "OnUserAttrResult(")
	if !strings.HasSuffix(string(e), strings.Repeat("v", 8096)+")") {
		t.Fatalf("value at the limit not stored: %.80s…", e)
	}
}

func TestMethodsNeedLogin1003(t *testing.T) {
	s := startServer(t, server.Config{})
	u := newUser(t, s, "alice")
	u.MessageInstantSend("bob", 0, "x", "m1")
	u.expect(t, "OnError(MessageInstantSend,1003)", "OnMessageSendError(m1,400)")
	u.MessageChannelSend("room", "x", "m2")
	u.expect(t, "OnError(MessageChannelSend,1003)", "OnMessageSendError(m2,400)")
	u.MessageChannelSendForce("room", "x", "m3")
	u.expect(t, "OnError(MessageChannelSendForce,1003)", "OnMessageSendError(m3,400)")
	u.ChannelJoin("room")
	u.expect(t, "OnError(ChannelJoin,1003)", "OnChannelJoinFailed(room,300)")
	u.ChannelQueryUserNum("room")
	u.expect(t, "OnError(ChannelQueryUserNum,1003)", "OnChannelQueryUserNumResult(room,500,0)")
	u.Invoke("io.agora.signal.channel_query_num", `{"name":"room"}`, "c1")
	u.expect(t, "OnError(Invoke,1003)")
	e := u.wait(t, "OnInvokeRet(c1,")
	if strings.HasSuffix(string(e), ",)") || !strings.HasSuffix(string(e), ",{})") {
		t.Fatalf("invoke outcome %s: want an err and {}", e)
	}
	for _, call := range []struct {
		name string
		fn   func()
	}{
		{"ChannelLeave", func() { u.ChannelLeave("room") }},
		{"ChannelSetAttr", func() { u.ChannelSetAttr("room", "a", "b") }},
		{"ChannelDelAttr", func() { u.ChannelDelAttr("room", "a") }},
		{"ChannelClearAttr", func() { u.ChannelClearAttr("room") }},
		{"SetAttr", func() { u.SetAttr("a", "b") }},
		{"GetAttr", func() { u.GetAttr("a") }},
		{"GetAttrAll", func() { u.GetAttrAll() }},
		{"GetUserAttr", func() { u.GetUserAttr("bob", "a") }},
		{"GetUserAttrAll", func() { u.GetUserAttrAll("bob") }},
		{"QueryUserStatus", func() { u.QueryUserStatus("bob") }},
	} {
		call.fn()
		u.expect(t, ev("OnError("+call.name+",1003)"))
	}
}
