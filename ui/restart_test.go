package ui

import (
	"testing"
	"time"
)

// The server restarts under a ringing call: the SDK reconnects to a new
// session and reports the old session's calls ended (the callee) or failed
// with 702 (the caller). Neither screen blames the other person.
func TestServerRestartUnderACallSaysWhatHappened(t *testing.T) {
	callee, _, _ := newTestModel(t)
	send(callee, Event{Name: "InviteReceived", Channel: "lobby", Account: "bob"})
	caller, _, _ := newTestModel(t)
	typeText(caller, "/invite bob")
	press(caller, "enter")
	for _, m := range []*Model{callee, caller} {
		send(m, Event{Name: "Reconnecting", Num: 1})
		mustSee(t, screenText(t, m, 120, 40), "⟳ reconnecting (attempt 1)", "the connection to the server dropped")
		send(m, Event{Name: "Log", Value: "reconnected to ws://x: the server started a new session (fd 3)"}, ev("Reconnected"))
	}
	send(callee, Event{Name: "InviteEndByPeer", Channel: "lobby", Account: "bob"})
	send(caller, Event{Name: "InviteFailed", Channel: "lobby", Account: "bob", Code: 702})
	for _, m := range []*Model{callee, caller} {
		scr := screenText(t, m, 120, 40)
		mustSee(t, scr, "● online", "server had not kept the session", "call with bob ended: the", "nobody hung up", "bob lost")
		mustNotSee(t, scr, "bob ended the call", "INVITE_E_NET", "Incoming call", "ended by bob")
	}
}

// Without the SDK's word that the session is new (its log line lost under
// load), an end that follows a dropped connection still says so.
func TestCallEndedAfterTheConnectionDroppedMayNotBeThePeers(t *testing.T) {
	m, _, ck := newTestModel(t)
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
	ck.add(inviteArming)
	press(m, "a")
	send(m, Event{Name: "Reconnecting", Num: 1}, ev("Reconnected"))
	mustSee(t, screenText(t, m, 120, 40), "session was resumed")
	send(m, Event{Name: "InviteEndByPeer", Channel: "c1", Account: "bob"})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "call with bob ended while the", "bob lost")
	mustNotSee(t, scr, "bob ended the call")
	// a caller's own 702 says what it means
	typeText(m, "/invite carol")
	press(m, "enter")
	send(m, Event{Name: "InviteFailed", Channel: "lobby", Account: "carol", Code: 702})
	mustSee(t, screenText(t, m, 200, 50), "call to carol failed: the connection to the server was lost (INVITE_E_NET)")
}

// A call that stops ringing unanswered leaves a trace: "missed call" in the
// caller's chat, counted unread, and in the calls pane.
func TestMissedCallLeavesATrace(t *testing.T) {
	m, _, ck := newTestModel(t)
	press(m, "f1") // reading the help when the call comes
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob", Extra: `{"_timeout":30}`})
	ck.add(30 * time.Second)
	send(m, Event{Name: "InviteEndByPeer", Channel: "c1", Account: "bob"})
	if _, ok := m.topDialog().(*helpDialog); !ok {
		t.Fatalf("top dialog %T", m.topDialog())
	}
	press(m, "esc")
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "missed call from bob (rang 0:30)", "← bob missed", "@ bob", "1 unread")
	mustNotSee(t, scr, "bob ended the call")
	if c := m.chats.byKey["@bob"]; c == nil || c.Unread != 1 {
		t.Fatalf("@bob %+v", c)
	}
}
