package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/xinling/xinling/server"
)

func TestJoinCallbacksAndOthersSeeIt(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	alice.ChannelSetAttr("room", "topic", "go")
	alice.ChannelSetAttr("room", "a", "1")
	alice.ChannelJoin("room")
	alice.expect(t, "OnChannelJoined(room)", "OnChannelUserList([alice],[1])",
		"OnChannelAttrUpdated(room,_member_num,1,update)",
		"OnChannelAttrUpdated(room,a,1,update)",
		"OnChannelAttrUpdated(room,topic,go,update)")
	bob := login(t, s, "bob")
	bob.ChannelJoin("room")
	bob.expect(t, "OnChannelJoined(room)", "OnChannelUserList([bob alice],[2 1])",
		"OnChannelAttrUpdated(room,_member_num,2,update)",
		"OnChannelAttrUpdated(room,a,1,update)",
		"OnChannelAttrUpdated(room,topic,go,update)")
	alice.expect(t, "OnChannelUserJoined(bob,2)")
}

func TestUserListIsCappedAt200MostRecent(t *testing.T) {
	s := startServer(t, server.Config{})
	for i := range 201 {
		u := login(t, s, fmt.Sprint("u", i))
		u.join(t, "big")
	}
	last := login(t, s, "last")
	last.ChannelJoin("big")
	last.wait(t, "OnChannelJoined(big)")
	e := string(last.wait(t, "OnChannelUserList("))
	accounts := strings.Fields(strings.TrimPrefix(strings.SplitN(e, "],[", 2)[0], "OnChannelUserList(["))
	if len(accounts) != 200 || accounts[0] != "last" || accounts[1] != "u200" || accounts[199] != "u2" {
		t.Fatalf("user list has %d accounts, first %v last %v", len(accounts), accounts[:2], accounts[len(accounts)-1])
	}
	last.ChannelQueryUserNum("big")
	last.wait(t, "OnChannelQueryUserNumResult(big,0,202)")
}

func TestOneChannelAtATime(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	bob := login(t, s, "bob")
	bob.join(t, "a")
	alice.join(t, "a")
	bob.expect(t, "OnChannelUserJoined(alice,2)")
	alice.ChannelJoin("b")
	alice.expect(t, "OnChannelLeaved(a,602)", "OnChannelJoined(b)", "OnChannelUserList([alice],[1])",
		"OnChannelAttrUpdated(b,_member_num,1,update)")
	bob.expect(t, "OnChannelUserLeaved(alice,2)")
	bob.ChannelQueryUserNum("a")
	bob.expect(t, "OnChannelQueryUserNumResult(a,0,1)")
}

func TestLeaveCodes(t *testing.T) {
	s := startServer(t, server.Config{})
	bob := login(t, s, "bob")
	bob.join(t, "room")
	alice := login(t, s, "alice")
	alice.join(t, "room")
	bob.expect(t, "OnChannelUserJoined(alice,2)")
	alice.ChannelLeave("room")
	alice.expect(t, "OnChannelLeaved(room,602)")
	bob.expect(t, "OnChannelUserLeaved(alice,2)")

	alice.join(t, "room")
	bob.expect(t, "OnChannelUserJoined(alice,3)")
	alice.Logout()
	alice.expect(t, "OnChannelLeaved(room,603)", "OnLogout(101)")
	bob.expect(t, "OnChannelUserLeaved(alice,3)")

	alice.ChannelLeave("room") // not logged in
	alice.expect(t, "OnError(ChannelLeave,1003)")
}

func TestChannelMessagesReachEveryMemberInOneOrder(t *testing.T) {
	s := startServer(t, server.Config{UserRate: 1000, ChannelRate: 1000})
	users := []*user{login(t, s, "a"), login(t, s, "b"), login(t, s, "c")}
	for _, u := range users {
		u.join(t, "room")
	}
	// Everyone sends at once; every member, senders included, must see all
	// 30 messages in the same order.
	for i := range 10 {
		for _, u := range users {
			u.MessageChannelSend("room", fmt.Sprintf("%s-%d", u.account, i), "")
		}
	}
	var orders [][]string
	for _, u := range users {
		var got []string
		for range 30 {
			e := string(u.wait(t, "OnMessageChannelReceive(room,"))
			got = append(got, e)
		}
		orders = append(orders, got)
	}
	for i := 1; i < len(orders); i++ {
		for k := range orders[0] {
			if orders[i][k] != orders[0][k] {
				t.Fatalf("member %d saw %s at %d, member 0 saw %s", i, orders[i][k], k, orders[0][k])
			}
		}
	}
	// Each sender's messages keep their own order, with the sender's channel uid.
	for _, u := range users {
		n := 0
		for _, e := range orders[0] {
			if strings.Contains(e, ","+u.account+"-") {
				want := fmt.Sprintf("OnMessageChannelReceive(room,%s,", u.account)
				if !strings.HasPrefix(e, want) || !strings.HasSuffix(e, fmt.Sprintf(",%s-%d)", u.account, n)) {
					t.Fatalf("%s: message %d is %s", u.account, n, e)
				}
				n++
			}
		}
	}
}

func TestChannelSendNeedsMembershipUnlessForced(t *testing.T) {
	s := startServer(t, server.Config{})
	member := login(t, s, "member")
	member.join(t, "room")
	outsider := login(t, s, "outsider")
	outsider.MessageChannelSend("room", "let me in", "m1")
	outsider.expect(t, "OnMessageSendError(m1,400)")
	outsider.MessageChannelSendForce("room", "forced", "m2")
	outsider.expect(t, "OnMessageSendSuccess(m2)")
	member.expect(t, "OnMessageChannelReceive(room,outsider,0,forced)")
}

func TestChannelRateLimitAndSendmsgLimit(t *testing.T) {
	s := startServer(t, server.Config{UserRate: 1000, ChannelRate: 4})
	a := login(t, s, "a")
	a.join(t, "room")
	for i := range 5 {
		a.MessageChannelSend("room", "x", fmt.Sprint("d", i))
	}
	refused := 0
	for range 5 {
		if strings.HasSuffix(string(a.wait(t, "OnMessageSend")), ",400)") {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("default channel limit 4/s: %d of 5 refused, want 1", refused)
	}
	a.ChannelSetAttr("other", "_sendmsg_limit", "2")
	a.join(t, "other")
	for i := range 3 {
		a.MessageChannelSend("other", "x", fmt.Sprint("o", i))
	}
	refused = 0
	for range 3 {
		if strings.HasSuffix(string(a.wait(t, "OnMessageSend")), ",400)") {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("_sendmsg_limit 2: %d of 3 refused, want 1", refused)
	}
}

func TestChannelMemberLimit(t *testing.T) {
	s := startServer(t, server.Config{MaxMembers: 2})
	login(t, s, "a").join(t, "room")
	login(t, s, "b").join(t, "room")
	c := login(t, s, "c")
	c.ChannelJoin("room")
	c.expect(t, "OnChannelJoinFailed(room,300)")
}

func TestQueryUserNum(t *testing.T) {
	s := startServer(t, server.Config{})
	a := login(t, s, "a")
	a.ChannelQueryUserNum("nobody-here")
	a.expect(t, "OnChannelQueryUserNumResult(nobody-here,0,0)")
	a.join(t, "room")
	login(t, s, "b").join(t, "room")
	a.ChannelQueryUserNum("room")
	a.wait(t, "OnChannelQueryUserNumResult(room,0,2)")
}

func TestSpecialChannels(t *testing.T) {
	s := startServer(t, server.Config{})
	watcher := login(t, s, "watcher")
	watcher.join(t, "__agora_user_online")
	ev := login(t, s, "events")
	ev.join(t, "__agora_channel_event")

	bob := login(t, s, "bob")
	waitSpecial(t, watcher, "__agora_user_online", "login", "", "bob")
	bob.join(t, "room")
	waitSpecial(t, ev, "__agora_channel_event", "join", "room", "bob")
	bob.ChannelLeave("room")
	waitSpecial(t, ev, "__agora_channel_event", "leave", "room", "bob")
	bob.Logout()
	waitSpecial(t, watcher, "__agora_user_online", "logout", "", "bob")
	// Clients cannot write to them.
	watcher.MessageChannelSend("__agora_user_online", "fake", "f1")
	watcher.expect(t, "OnMessageSendError(f1,400)")
}

// waitSpecial waits for the server's event about account on a special channel.
func waitSpecial(t *testing.T, u *user, ch, typ, channel, account string) {
	t.Helper()
	for {
		s := string(u.wait(t, "OnMessageChannelReceive("+ch+",,0,"))
		i := strings.Index(s, "{")
		var m map[string]any
		if i < 0 || json.Unmarshal([]byte(s[i:len(s)-1]), &m) != nil {
			t.Fatalf("not a JSON event: %s", s)
		}
		if m["account"] != account {
			continue
		}
		if m["type"] != typ || (channel != "" && m["channel"] != channel) {
			t.Fatalf("event %v, want type %s channel %q", m, typ, channel)
		}
		if _, ok := m["ts"].(float64); !ok {
			t.Fatalf("event without ts: %v", m)
		}
		return
	}
}
