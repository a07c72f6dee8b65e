package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

func TestUserAttributes(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	alice.GetAttrAll()
	alice.expect(t, "OnUserAttrAllResult(alice,{})")
	alice.SetAttr("color", "red")
	alice.SetAttr("name", "Alice \"A\"")
	alice.GetAttr("color")
	alice.expect(t, "OnUserAttrResult(alice,color,red)")
	alice.GetAttrAll()
	alice.expect(t, `OnUserAttrAllResult(alice,{"color":"red","name":"Alice \"A\""})`)
	bob := login(t, s, "bob")
	bob.GetUserAttr("alice", "color")
	bob.expect(t, "OnUserAttrResult(alice,color,red)")
	bob.GetUserAttr("alice", "missing")
	bob.expect(t, "OnUserAttrResult(alice,missing,)")
	alice.SetAttr("color", "") // "" deletes
	alice.GetAttr("color")
	alice.expect(t, "OnUserAttrResult(alice,color,)")
	bob.GetUserAttrAll("alice")
	bob.expect(t, `OnUserAttrAllResult(alice,{"name":"Alice \"A\""})`)
	bob.GetUserAttrAll("nobody")
	bob.expect(t, "OnUserAttrAllResult(nobody,{})")
}

func TestChannelAttributesReachEveryMember(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	alice.join(t, "room")
	bob := login(t, s, "bob")
	bob.join(t, "room")
	alice.expect(t, "OnChannelUserJoined(bob,2)")
	outsider := login(t, s, "outsider") // membership is not required to change them
	for _, step := range []struct {
		do   func()
		want ev
	}{
		{func() { outsider.ChannelSetAttr("room", "k", "v1") }, "OnChannelAttrUpdated(room,k,v1,update)"},
		{func() { alice.ChannelSetAttr("room", "k", "v2") }, "OnChannelAttrUpdated(room,k,v2,update)"},
		{func() { bob.ChannelDelAttr("room", "k") }, "OnChannelAttrUpdated(room,k,,del)"},
		{func() { outsider.ChannelClearAttr("room") }, "OnChannelAttrUpdated(room,,,clear)"},
	} {
		step.do()
		alice.expect(t, step.want)
		bob.expect(t, step.want)
	}
	outsider.quiet(t, outsider.Client)
}

func TestBuiltinMemberNumIsReadOnly(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	a.ChannelSetAttr("room", "_member_num", "100")
	a.expect(t, "OnError(ChannelSetAttr,1004)")
	a.ChannelDelAttr("room", "_member_num")
	a.expect(t, "OnError(ChannelDelAttr,1004)")
	a.ChannelSetAttr("room", "_channel_ttl", "soon")
	a.expect(t, "OnError(ChannelSetAttr,1004)")
}

func TestAutoUpdateMemberNum(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	a.ChannelSetAttr("room", "_auto_update_num", "1")
	a.ChannelJoin("room")
	a.expect(t, "OnChannelJoined(room)", "OnChannelUserList([a],[1])",
		"OnChannelAttrUpdated(room,_auto_update_num,1,update)",
		"OnChannelAttrUpdated(room,_member_num,1,update)",
		"OnChannelAttrUpdated(room,_member_num,1,update)") // a's own join changed membership
	b := login(t, s, "b")
	c := login(t, s, "c")
	b.join(t, "room")
	c.join(t, "room") // two changes within one period: one update
	a.expect(t, "OnChannelUserJoined(b,2)", "OnChannelUserJoined(c,3)", "OnChannelAttrUpdated(room,_member_num,3,update)")
	// No change in the next period: no update. The one after a leave comes.
	start := time.Now()
	c.ChannelLeave("room")
	a.expect(t, "OnChannelUserLeaved(c,3)", "OnChannelAttrUpdated(room,_member_num,2,update)")
	if time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("update took %v, want within one period", time.Since(start))
	}
}

func TestUserNotificationOff(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	a.ChannelSetAttr("quiet", "_userNotification", "0")
	a.join(t, "quiet")
	b := login(t, s, "b")
	b.join(t, "quiet")
	b.wait(t, "OnChannelAttrUpdated(quiet,_userNotification,0,update)")
	b.ChannelLeave("quiet")
	b.expect(t, "OnChannelLeaved(quiet,602)")
	a.ChannelSetAttr("quiet", "marker", "1")
	a.wait(t, "OnChannelAttrUpdated(quiet,_userNotification,0,update)")
	a.expect(t, "OnChannelAttrUpdated(quiet,marker,1,update)") // no join/leave before it
}

func TestSetattrLimit(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	a.ChannelSetAttr("room", "_setattr_limit", "2")
	a.ChannelSetAttr("room", "k", "1")
	a.ChannelSetAttr("room", "k", "2")
	a.ChannelSetAttr("room", "k", "3")
	a.ChannelSetAttr("room", "other", "1") // per attribute
	a.expect(t, "OnError(ChannelSetAttr,1001)")
	a.ChannelJoin("room")
	a.wait(t, "OnChannelAttrUpdated(room,k,2,update)")
	a.wait(t, "OnChannelAttrUpdated(room,other,1,update)")
}

func TestChannelTTL(t *testing.T) {
	s := startServer(t, server.Config{JanitorEvery: 50 * time.Millisecond})
	a := login(t, s, "a")
	a.ChannelSetAttr("short", "_channel_ttl", "1")
	a.ChannelSetAttr("short", "k", "v")
	a.ChannelSetAttr("long", "k", "v") // default TTL: two hours
	a.GetAttr("sync")                  // both sets are done
	a.expect(t, "OnUserAttrResult(a,sync,)")
	// Expired after a second by the server's janitor, whose sweeps take
	// their time on a busy machine (a cluster's in JetStream): the store
	// says when.
	s.waitStore(t, "short expired", "short", func(st store.Store) (bool, error) {
		attrs, err := st.ChannelAttrs(testApp, "short")
		return len(attrs) == 0, err
	})
	a.ChannelJoin("short")
	a.expect(t, "OnChannelJoined(short)", "OnChannelUserList([a],[1])", "OnChannelAttrUpdated(short,_member_num,1,update)")
	a.quiet(t, a.Client)
	a.join(t, "long")
	a.wait(t, "OnChannelAttrUpdated(long,k,v,update)")
}

// waitTicks lets server-side time pass (a TTL, an expiry) while checking
// every 50 ms that the session stays healthy.
func waitTicks(t *testing.T, u *user, d time.Duration) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		u.quiet(t, u.Client)
	}
}

func TestAttributesAndQueuedMessageSurviveRestart(t *testing.T) {
	s := startDurable(t, server.Config{})
	alice := login(t, s, "alice")
	alice.SetAttr("color", "blue")
	alice.ChannelSetAttr("room", "topic", "restart")
	alice.MessageInstantSend("bob", 0, "while you were away", "q1")
	alice.expect(t, "OnMessageSendSuccess(q1)")
	alice.GetAttr("color") // a round trip after the writes
	alice.expect(t, "OnUserAttrResult(alice,color,blue)")
	alice.Destroy()

	s.restart()

	bob := newUser(t, s, "bob")
	bob.Login(testApp, "bob", "", 0, "")
	bob.expect(t, "OnLoginSuccess(0)", "OnMessageInstantReceive(alice,0,while you were away)")
	bob.GetUserAttr("alice", "color")
	bob.expect(t, "OnUserAttrResult(alice,color,blue)")
	bob.ChannelJoin("room")
	bob.expect(t, "OnChannelJoined(room)", "OnChannelUserList([bob],[1])",
		"OnChannelAttrUpdated(room,_member_num,1,update)",
		"OnChannelAttrUpdated(room,topic,restart,update)")
}

// authorRec also implements sdk.AttrAuthorCallback.
type authorRec struct{ *rec }

func (a authorRec) OnChannelAttrChangedBy(ch, name, typ, by string) {
	a.add("ChangedBy", ch, name, typ, by)
}

func TestAttrAuthorExtension(t *testing.T) {
	s := startServer(t, server.Config{})
	watcher := login(t, s, "watcher")
	watcher.CallbackSet(authorRec{watcher.rec})
	watcher.join(t, "room")
	editor := login(t, s, "editor")
	editor.ChannelSetAttr("room", "k", "v")
	watcher.expect(t, "OnChannelAttrUpdated(room,k,v,update)", "ChangedBy(room,k,update,editor)")
	editor.ChannelClearAttr("room")
	watcher.expect(t, "OnChannelAttrUpdated(room,,,clear)", "ChangedBy(room,,clear,editor)")
}

// TestAttributeCountIsBounded: 256 attributes per channel and per account,
// so a join answer stays within what a client reads; updating an existing
// one at the cap still works.
func TestAttributeCountIsBounded(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	for i := range 256 {
		a.ChannelSetAttr("full", fmt.Sprint("k", i), "v")
		a.SetAttr(fmt.Sprint("u", i), "v")
	}
	a.ChannelSetAttr("full", "one-more", "v")
	a.expect(t, "OnError(ChannelSetAttr,1001)")
	a.SetAttr("one-more", "v")
	a.expect(t, "OnError(SetAttr,1001)")
	a.ChannelSetAttr("full", "k0", "changed")
	a.SetAttr("u0", "changed")
	a.GetAttr("u0")
	a.expect(t, "OnUserAttrResult(a,u0,changed)")
	a.ChannelJoin("full")
	a.wait(t, "OnChannelAttrUpdated(full,k0,changed,update)")
}
