package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/server"
)

// callServer has short hold and expiry so the timeouts can be seen quickly.
func callServer(t *testing.T) *srv {
	return startServer(t, server.Config{InviteHold: 400 * time.Millisecond, InviteExpiry: 600 * time.Millisecond})
}

// ring makes alice invite bob on ch and waits until both sides know.
func ring(t *testing.T, alice, bob *user, ch, extra string) {
	t.Helper()
	alice.ChannelInviteUser2(ch, bob.account, extra)
	bob.expect(t, ev(fmt.Sprintf("OnInviteReceived(%s,%s,0,%s)", ch, alice.account, extra)))
	alice.expect(t, ev(fmt.Sprintf("OnInviteReceivedByPeer(%s,%s,0)", ch, bob.account)))
}

func TestInviteAcceptThenCallerEnds(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", `{"destMediaUid":123,"srcNum":"+123"}`)
	bob.ChannelInviteAccept("call", "alice", 0, `{"ok":true}`)
	alice.expect(t, `OnInviteAcceptedByPeer(call,bob,0,{"ok":true})`)
	// Answered calls do not expire.
	waitTicks(t, alice, 800*time.Millisecond)
	alice.ChannelInviteEnd("call", "bob", 0)
	alice.expect(t, "OnInviteEndByMyself(call,bob,0)")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")
	// Nothing after the end: ending again is an error, not a callback.
	alice.ChannelInviteEnd("call", "bob", 0)
	alice.expect(t, "OnError(ChannelInviteEnd,1001)")
	bob.quiet(t, bob.Client)
}

func TestInviteWithoutExtra(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	alice.ChannelInviteUser("call", "bob", 0)
	bob.expect(t, "OnInviteReceived(call,alice,0,)")
	alice.expect(t, "OnInviteReceivedByPeer(call,bob,0)")
	bob.ChannelInviteAccept("call", "alice", 0, "")
	alice.expect(t, "OnInviteAcceptedByPeer(call,bob,0,)")
}

func TestInviteRefused(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", "")
	bob.ChannelInviteRefuse("call", "alice", 0, `{"reason":"busy"}`)
	alice.expect(t, `OnInviteRefusedByPeer(call,bob,0,{"reason":"busy"})`)
	// The refused call is over: no expiry later, and it cannot be accepted.
	bob.ChannelInviteAccept("call", "alice", 0, "")
	bob.expect(t, "OnError(ChannelInviteAccept,1001)")
	waitTicks(t, alice, 800*time.Millisecond)
	alice.quiet(t, alice.Client)
}

func TestInviteCallerEndsBeforeAnswer(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", "")
	alice.ChannelInviteEnd("call", "bob", 0)
	alice.expect(t, "OnInviteEndByMyself(call,bob,0)")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")
	bob.ChannelInviteAccept("call", "alice", 0, "")
	bob.expect(t, "OnError(ChannelInviteAccept,1001)")
}

func TestInviteCalleeEndsAfterAccept(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", "")
	bob.ChannelInviteAccept("call", "alice", 0, "")
	alice.expect(t, "OnInviteAcceptedByPeer(call,bob,0,)")
	bob.ChannelInviteEnd("call", "alice", 0)
	bob.expect(t, "OnInviteEndByMyself(call,alice,0)")
	alice.expect(t, "OnInviteEndByPeer(call,bob,0,)")
}

func TestInvitePeerOffline(t *testing.T) {
	s := callServer(t)
	alice := login(t, s, "alice")
	alice.ChannelInviteUser2("call", "bob", `{"_require_peer_online":1}`)
	alice.expect(t, "OnInviteFailed(call,bob,0,703,)")
	start := time.Now()
	alice.ChannelInviteUser2("call", "bob", `{"_require_peer_online":0}`)
	alice.expect(t, "OnInviteFailed(call,bob,0,703,)")
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("offline invite failed after %v, before the hold of 400ms", el)
	}
}

func TestInviteDeliveredWhenCalleeLogsInDuringHold(t *testing.T) {
	s := startServer(t, server.Config{InviteHold: 5 * time.Second})
	alice := login(t, s, "alice")
	alice.ChannelInviteUser2("call", "bob", `{"k":"v"}`)
	alice.quiet(t, alice.Client) // the invite is held, nothing yet
	bob := newUser(t, s, "bob")
	bob.Login(testApp, "bob", "", 0, "")
	bob.expect(t, "OnLoginSuccess(0)", `OnInviteReceived(call,alice,0,{"k":"v"})`)
	alice.expect(t, "OnInviteReceivedByPeer(call,bob,0)")
	bob.ChannelInviteAccept("call", "alice", 0, "")
	alice.expect(t, "OnInviteAcceptedByPeer(call,bob,0,)")
}

func TestInviteTimeoutSeenByBothSides(t *testing.T) {
	s := startServer(t, server.Config{InviteExpiry: time.Minute})
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	start := time.Now()
	ring(t, alice, bob, "call", `{"_timeout":1}`)
	alice.expect(t, "OnInviteFailed(call,bob,0,704,)")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")
	if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
		t.Fatalf("_timeout 1 expired after %v", el)
	}
	bob.ChannelInviteAccept("call", "alice", 0, "")
	bob.expect(t, "OnError(ChannelInviteAccept,1001)")
}

func TestInviteDefaultExpiry(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", "")
	alice.expect(t, "OnInviteFailed(call,bob,0,704,)")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")
}

func TestReinvite701(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", "")
	alice.ChannelInviteUser("call", "bob", 0)
	alice.expect(t, "OnInviteFailed(call,bob,0,701,)")
	// Another channel, or after the first call ended, is fine.
	alice.ChannelInviteEnd("call", "bob", 0)
	alice.expect(t, "OnInviteEndByMyself(call,bob,0)")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")
	ring(t, alice, bob, "call", "")
}

func TestInviteDTMFBothWays(t *testing.T) {
	s := callServer(t)
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	ring(t, alice, bob, "call", `{"x":1}`)
	alice.ChannelInviteDTMF("call", "bob", "12#")
	alice.expect(t, "OnError(ChannelInviteDTMF,1001)") // not answered yet
	bob.ChannelInviteAccept("call", "alice", 0, "")
	alice.expect(t, "OnInviteAcceptedByPeer(call,bob,0,)")
	alice.ChannelInviteDTMF("call", "bob", "12#")
	bob.expect(t, `OnInviteMsg(call,alice,0,DTMF,12#,{"x":1})`)
	bob.ChannelInviteDTMF("call", "alice", "*0")
	alice.expect(t, `OnInviteMsg(call,bob,0,DTMF,*0,{"x":1})`)
	alice.ChannelInviteDTMF("call", "bob", "12a")
	alice.expect(t, "OnError(ChannelInviteDTMF,1004)")
	bob.MessageDTMFSend(0, "9", "d1") // deprecated: the one answered call
	bob.expect(t, "OnMessageSendSuccess(d1)")
	alice.expect(t, `OnInviteMsg(call,bob,0,DTMF,9,{"x":1})`)
}

func TestInviteBadExtra(t *testing.T) {
	s := callServer(t)
	alice := login(t, s, "alice")
	login(t, s, "bob")
	alice.ChannelInviteUser2("call", "bob", "not json")
	alice.expect(t, "OnError(ChannelInviteUser2,1004)", "OnInviteFailed(call,bob,0,700,)")
	big := `{"k":"` + strings.Repeat("x", 8192) + `"}`
	alice.ChannelInviteUser2("call", "bob", big)
	alice.expect(t, "OnError(ChannelInviteUser2,1005)", "OnInviteFailed(call,bob,0,700,)")
	alice.ChannelInviteUser2("call", "bob", `{"_timeout":31}`)
	alice.expect(t, "OnError(ChannelInviteUser2,1004)", "OnInviteFailed(call,bob,0,700,)")
	alice.ChannelInviteUser2("call", "alice", "")
	alice.expect(t, "OnError(ChannelInviteUser2,1004)", "OnInviteFailed(call,alice,0,700,)")
}

func TestInviteWhileLoggedOut1003(t *testing.T) {
	s := callServer(t)
	u := newUser(t, s, "alice")
	u.ChannelInviteUser("call", "bob", 0)
	u.expect(t, "OnError(ChannelInviteUser,1003)", "OnInviteFailed(call,bob,0,700,)")
	u.ChannelInviteAccept("call", "bob", 0, "")
	u.expect(t, "OnError(ChannelInviteAccept,1003)")
	u.ChannelInviteEnd("call", "bob", 0)
	u.expect(t, "OnError(ChannelInviteEnd,1003)")
	u.ChannelInvitePhone("call", "+123", 0)
	u.expect(t, "OnError(ChannelInvitePhone,1003)", "OnInviteFailed(call,+123,0,700,)")
}

func TestPartyDisconnectingMidCall(t *testing.T) {
	s := startServer(t, server.Config{Grace: 300 * time.Millisecond})
	p := startProxy(t, s.target("bob"))
	alice := login(t, s, "alice")
	bob := loginVia(t, p, "bob")
	ring(t, alice, bob, "call", "")
	bob.ChannelInviteAccept("call", "alice", 0, "")
	alice.expect(t, "OnInviteAcceptedByPeer(call,bob,0,)")
	p.cut(true) // bob is gone for longer than the grace
	alice.expect(t, "OnInviteEndByPeer(call,bob,0,)")
	// Bob's SDK, back with a new session, learns that the call is over.
	p.allow()
	bob.wait(t, "OnReconnected(")
	bob.expect(t, "OnInviteEndByPeer(call,alice,0,)")

	// A caller who logs out ends its calls; the callee is told.
	carol := login(t, s, "carol")
	ring(t, carol, alice, "call2", "")
	carol.Logout()
	carol.expect(t, "OnInviteEndByMyself(call2,alice,0)", "OnLogout(101)") // her own final outcome
	alice.expect(t, "OnInviteEndByPeer(call2,carol,0,)")
}

func TestInviteSurvivesResume(t *testing.T) {
	s := callServer(t)
	p := startProxy(t, s.target("bob"))
	alice := login(t, s, "alice")
	bob := loginVia(t, p, "bob")
	p.cut(true)
	bob.wait(t, "OnReconnecting(1)")
	alice.ChannelInviteUser("call", "bob", 0) // to a session in its grace period
	p.allow()
	bob.wait(t, "OnReconnected(")
	bob.wait(t, "OnInviteReceived(call,alice,0,)")
	alice.expect(t, "OnInviteReceivedByPeer(call,bob,0)")
}

func TestPhoneInviteWithoutGateway(t *testing.T) {
	s := callServer(t)
	alice := login(t, s, "alice")
	alice.ChannelInvitePhone3("call", "+8613800000000", "+100", `{"a":1}`)
	alice.expect(t, "OnInviteFailed(call,+8613800000000,0,700,)")
	found := false
	for _, e := range alice.all() {
		if strings.HasPrefix(string(e), "OnLog(") && strings.Contains(string(e), "gateway") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no onLog line about the missing gateway: %v", alice.all())
	}
}

// TestCallOutcomesProperty runs random interleavings of accept, refuse, end
// (either side) and timeout between two parties, and checks that each call
// yields exactly one final outcome per side, and nothing after it.
func TestCallOutcomesProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	s := startServer(t, server.Config{InviteExpiry: time.Minute})
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	const calls = 40
	type action func(ch string)
	actions := []action{
		func(ch string) { bob.ChannelInviteAccept(ch, "alice", 0, "") },
		func(ch string) { bob.ChannelInviteRefuse(ch, "alice", 0, "") },
		func(ch string) { bob.ChannelInviteEnd(ch, "alice", 0) },
		func(ch string) { alice.ChannelInviteEnd(ch, "bob", 0) },
		func(ch string) {}, // let the _timeout run
	}
	for i := range calls {
		ch := fmt.Sprint("p", i)
		timeout := ""
		if rng.IntN(2) == 0 {
			timeout = `{"_timeout":0.2}`
		}
		alice.ChannelInviteUser2(ch, "bob", timeout)
		if rng.IntN(2) == 0 {
			bob.wait(t, "OnInviteReceived("+ch+",") // sometimes act only once it rang
		}
		for range 1 + rng.IntN(3) {
			actions[rng.IntN(len(actions))](ch)
		}
	}
	// End whatever is still up, then wait for every caller outcome.
	for i := range calls {
		alice.ChannelInviteEnd(fmt.Sprint("p", i), "bob", 0)
	}
	finalCaller := []string{"OnInviteRefusedByPeer(", "OnInviteFailed(", "OnInviteEndByPeer(", "OnInviteEndByMyself("}
	finalCallee := []string{"OnInviteEndByPeer(", "OnInviteEndByMyself("}
	for i := range calls {
		ch := fmt.Sprint("p", i)
		deadline := time.Now().Add(waitFor())
		for countFinal(alice.all(), ch, finalCaller) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no final outcome for the caller: %v", ch, forChannel(alice.all(), ch))
			}
			alice.sync(t, alice.Client)
		}
	}
	bob.sync(t, bob.Client)
	alice.sync(t, alice.Client)
	for i := range calls {
		ch := fmt.Sprint("p", i)
		a, b := forChannel(alice.all(), ch), forChannel(bob.all(), ch)
		if n := countFinal(a, ch, finalCaller); n != 1 {
			t.Errorf("%s: caller has %d final outcomes: %v", ch, n, a)
		}
		checkNothingAfterFinal(t, ch, "caller", a, finalCaller)
		received := countFinal(b, ch, []string{"OnInviteReceived("}) == 1
		refused := countFinal(a, ch, []string{"OnInviteRefusedByPeer("}) == 1
		want := 0
		if received && !refused {
			want = 1
		}
		if n := countFinal(b, ch, finalCallee); n != want {
			t.Errorf("%s: callee has %d final outcomes, want %d: caller %v callee %v", ch, n, want, a, b)
		}
		checkNothingAfterFinal(t, ch, "callee", b, finalCallee)
	}
}

// forChannel keeps the invite callbacks and errors of one call.
func forChannel(events []ev, ch string) []ev {
	var out []ev
	for _, e := range events {
		if strings.HasPrefix(string(e), "OnInvite") && strings.Contains(string(e), "("+ch+",") {
			out = append(out, e)
		}
	}
	return out
}

func countFinal(events []ev, ch string, finals []string) int {
	n := 0
	for _, e := range forChannel(events, ch) {
		for _, f := range finals {
			if strings.HasPrefix(string(e), f) {
				n++
			}
		}
	}
	return n
}

func checkNothingAfterFinal(t *testing.T, ch, who string, events []ev, finals []string) {
	t.Helper()
	for i, e := range events {
		for _, f := range finals {
			if strings.HasPrefix(string(e), f) && i != len(events)-1 {
				t.Errorf("%s: %s got %v after its final %s", ch, who, events[i+1:], e)
			}
		}
	}
}
