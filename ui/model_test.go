package ui

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/themes"
)

func wantCalls(t *testing.T, f *fakeSDK, want ...string) {
	t.Helper()
	got := f.took()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SDK calls:\n got  %q\n want %q", got, want)
	}
}

func lastMsg(c *Conversation) *Message { return c.Msgs[len(c.Msgs)-1] }

func TestSendChannelMessageLifecycle(t *testing.T) {
	m, f, _ := newTestModel(t)
	typeText(m, "hello world")
	press(m, "enter")
	wantCalls(t, f, "MessageChannelSend(lobby,hello world)")
	msg := lastMsg(m.chats.active)
	if !msg.Own || msg.State != stateSending || msg.ID == "" {
		t.Fatalf("own message = %+v", msg)
	}
	mustSee(t, screenText(t, m, 120, 40), "alice hello world ⋯ sending")
	// the echo of our own channel message is not shown twice
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "alice", Value: "hello world"})
	send(m, Event{Name: "MessageSendSuccess", MsgID: msg.ID})
	if msg.State != stateSent || lastMsg(m.chats.active) != msg {
		t.Fatalf("after success: state %v, last %+v", msg.State, lastMsg(m.chats.active))
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "alice hello world ✓")
	if strings.Count(scr, "hello world") != 1 {
		t.Fatalf("echo shown twice:\n%s", scr)
	}
}

func TestSendErrorShownInline(t *testing.T) {
	m, f, _ := newTestModel(t)
	typeText(m, "too fast")
	press(m, "enter")
	f.took()
	msg := lastMsg(m.chats.active)
	send(m, Event{Name: "MessageSendError", MsgID: msg.ID, Code: 400})
	if msg.State != stateFailed {
		t.Fatalf("state %v", msg.State)
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "✗ not sent: SENDMESSAGE_E_OTHER (400)", "message not sent")
}

func TestComposerMultilineHistoryAndKeys(t *testing.T) {
	m, f, _ := newTestModel(t)
	typeText(m, "line one")
	press(m, "alt+enter")
	typeText(m, "line two")
	press(m, "ctrl+j")
	typeText(m, "three")
	press(m, "shift+enter")
	typeText(m, "four")
	if got := m.composer.Value(); got != "line one\nline two\nthree\nfour" {
		t.Fatalf("composer = %q", got)
	}
	press(m, "enter")
	wantCalls(t, f, "MessageChannelSend(lobby,line one\nline two\nthree\nfour)")
	typeText(m, "second")
	press(m, "enter")
	f.took()
	press(m, "up")
	if got := m.composer.Value(); got != "second" {
		t.Fatalf("history up = %q", got)
	}
	press(m, "up")
	if got := m.composer.Value(); !strings.HasPrefix(got, "line one") {
		t.Fatalf("history up twice = %q", got)
	}
	press(m, "down", "down")
	if got := m.composer.Value(); got != "" {
		t.Fatalf("history back down = %q", got)
	}
	typeText(m, "one two three")
	press(m, "ctrl+w")
	if got := m.composer.Value(); got != "one two " {
		t.Fatalf("ctrl+w = %q", got)
	}
	press(m, "ctrl+u")
	if !m.composer.Empty() {
		t.Fatalf("ctrl+u left %q", m.composer.Value())
	}
}

func TestTabCompletion(t *testing.T) {
	m, _, _ := newTestModel(t)
	typeText(m, "/jo")
	press(m, "tab")
	if got := m.composer.Value(); got != "/join " {
		t.Fatalf("command completion = %q", got)
	}
	m.composer.Reset()
	typeText(m, "/msg b")
	press(m, "tab")
	if got := m.composer.Value(); got != "/msg bob " {
		t.Fatalf("account completion = %q", got)
	}
	m.composer.Reset()
	m.channels["dev"] = true
	typeText(m, "/join ")
	press(m, "tab")
	first := m.composer.Value()
	press(m, "tab")
	second := m.composer.Value()
	if first != "/join dev " || second != "/join lobby " {
		t.Fatalf("channel completion cycles %q then %q", first, second)
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "dev lobby") // the candidates under the composer
	press(m, "esc")
	if got := m.composer.Value(); got != "/join " {
		t.Fatalf("esc did not undo the completion: %q", got)
	}
	m.composer.Reset()
	typeText(m, "/attr s")
	press(m, "tab")
	if got := m.composer.Value(); got != "/attr set " {
		t.Fatalf("subcommand completion = %q", got)
	}
}

func TestSlashCommandsReachSDK(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{"/join dev", []string{"ChannelJoin(dev)"}},
		{"/leave", []string{"ChannelLeave(lobby)"}},
		{"/msg bob hi there", []string{"MessageInstantSend(bob,hi there)"}},
		{"/invite bob", []string{"ChannelInviteUser2(lobby,bob,)"}},
		{`/invite bob {"_timeout":10}`, []string{`ChannelInviteUser2(lobby,bob,{"_timeout":10})`}},
		{"/attr set topic hello there", []string{"ChannelSetAttr(lobby,topic,hello there)"}},
		{`/attr set cfg { "a" : 1 }`, []string{`ChannelSetAttr(lobby,cfg,{"a":1})`}},
		{"/attr del topic", []string{"ChannelDelAttr(lobby,topic)"}},
		{"/uattr set mood happy", []string{"SetAttr(mood,happy)", "GetAttrAll()"}},
		{"/uattr get mood", []string{"GetAttr(mood)"}},
		{"/uattr get bob mood", []string{"GetUserAttr(bob,mood)"}},
		{"/uattr all bob", []string{"GetUserAttrAll(bob)"}},
		{"/count", []string{"ChannelQueryUserNum(lobby)"}},
		{"/count dev", []string{"ChannelQueryUserNum(dev)"}},
		{"/status bob", []string{"QueryUserStatus(bob)"}},
		{`/invoke io.agora.signal.channel_query_num {"name":"lobby"}`, []string{`Invoke(io.agora.signal.channel_query_num,{"name":"lobby"},call1)`}},
		{"/force hi all", []string{"MessageChannelSendForce(lobby,hi all)"}},
		{"/phone 5551234", []string{"ChannelInvitePhone3(lobby,5551234,)"}},
		{"/logout", []string{"Logout()"}},
		{"//not a command", []string{"MessageChannelSend(lobby,/not a command)"}},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			m, f, _ := newTestModel(t)
			typeText(m, tc.line)
			press(m, "enter")
			wantCalls(t, f, tc.want...)
		})
	}
}

func TestCallCommandsAndDTMF(t *testing.T) {
	m, f, _ := newTestModel(t)
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob", Extra: `{"_timeout":30}`})
	press(m, "esc") // dismiss the dialog; answer by command
	typeText(m, "/accept")
	press(m, "enter")
	wantCalls(t, f, "ChannelInviteAccept(c1,bob,)")
	typeText(m, "/dtmf 12#")
	press(m, "enter")
	wantCalls(t, f, "ChannelInviteDTMF(c1,bob,12#)")
	typeText(m, "/end")
	press(m, "enter")
	wantCalls(t, f, "ChannelInviteEnd(c1,bob)")
	send(m, Event{Name: "InviteEndByMyself", Channel: "c1", Account: "bob"})
	if c := m.calls.list[0]; c.State != "ended" || c.DTMF != "12#" {
		t.Fatalf("call = %+v", c)
	}
	typeText(m, "/refuse")
	press(m, "enter")
	mustSee(t, screenText(t, m, 120, 40), "no incoming call is ringing")
}

func TestUnknownCommandAndSDKErrorShownWhereActed(t *testing.T) {
	m, _, _ := newTestModel(t)
	typeText(m, "/frobnicate")
	press(m, "enter")
	mustSee(t, screenText(t, m, 120, 40), "unknown command /frobnicate")
	send(m, Event{Name: "Error", Attr: "ChannelSetAttr", Code: 1004, Typ: "bad attribute name"})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "ChannelSetAttr failed: GENERAL_E_WRONG_PARAM (1004)", "bad attribute name")
	if !m.composer.noticeErr {
		t.Fatal("the error is not on the composer line")
	}
	send(m, Event{Name: "ChannelJoinFailed", Channel: "secret", Code: 300})
	if c := m.chats.byKey["#secret"]; c == nil || lastMsg(c).Kind != kindError {
		t.Fatalf("join failure not in its channel: %+v", m.chats.byKey["#secret"])
	}
}

func TestIncomingInviteDialogAcceptAndNotify(t *testing.T) {
	m, f, ck := newTestModel(t)
	m.Update(tea.BlurMsg{})
	cmd := send(m, Event{Name: "InviteReceived", Channel: "call-bob-alice", Account: "bob", Extra: `{"_timeout":30}`})
	out := rawOut(cmd)
	if !strings.Contains(out, "\a") || !strings.Contains(out, "\x1b]9;xinling: bob is calling you") || !strings.Contains(out, "\x1b]777;notify;xinling;bob is calling you") {
		t.Fatalf("bell/notification = %q", out)
	}
	if _, ok := m.topDialog().(*inviteDialog); !ok {
		t.Fatalf("no invite dialog: %T", m.topDialog())
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "Incoming call", "bob is calling you", "rings for 0:30", "Accept (a)", "Refuse (r)")
	ck.add(inviteArming)
	press(m, "a")
	wantCalls(t, f, "ChannelInviteAccept(call-bob-alice,bob,)")
	if m.topDialog() != nil {
		t.Fatal("dialog still open after accept")
	}
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "← bob live 0:00", "calls · 1 active")

	// a focused terminal only rings the bell
	m.Update(tea.FocusMsg{})
	out = rawOut(send(m, Event{Name: "InviteReceived", Channel: "c2", Account: "carol"}))
	if out != "\a" {
		t.Fatalf("focused terminal got %q", out)
	}
}

func TestInviteDialogRefuseWithExtra(t *testing.T) {
	m, f, ck := newTestModel(t)
	send(m, Event{Name: "InviteReceived", Channel: "c9", Account: "dave"})
	ck.add(inviteArming)
	press(m, "tab", "tab") // to the extra field
	typeText(m, `{"why":"busy"}`)
	press(m, "shift+tab") // back to refuse
	press(m, "enter")
	wantCalls(t, f, `ChannelInviteRefuse(c9,dave,{"why":"busy"})`)
	if c := m.calls.list[0]; c.State != "refused" {
		t.Fatalf("state %s", c.State)
	}
}

// TestTypingWhenACallArrivesDoesNotAnswerIt: someone typing a message when
// the call dialog pops up keeps typing into the composer; the call still rings.
func TestTypingWhenACallArrivesDoesNotAnswerIt(t *testing.T) {
	m, f, ck := newTestModel(t)
	typeText(m, "hello ev")
	send(m, Event{Name: "InviteReceived", Channel: "c3", Account: "bob"})
	typeText(m, "eryone, ready?")
	press(m, "enter")
	if got := f.took(); len(got) != 0 {
		t.Fatalf("keys typed as the call arrived reached the SDK: %v", got)
	}
	if _, ok := m.topDialog().(*inviteDialog); !ok {
		t.Fatalf("the call dialog closed: %T", m.topDialog())
	}
	if got := m.composer.Value(); got != "hello everyone, ready?" {
		t.Fatalf("composer = %q", got)
	}
	ck.add(inviteArming)
	press(m, "r")
	wantCalls(t, f, "ChannelInviteRefuse(c3,bob,)")
}

func TestOutgoingCallStates(t *testing.T) {
	m, f, ck := newTestModel(t)
	typeText(m, `/invite bob {"_timeout":20}`)
	press(m, "enter")
	f.took()
	mustSee(t, screenText(t, m, 120, 40), "→ bob calling 0:20")
	send(m, Event{Name: "InviteReceivedByPeer", Channel: "lobby", Account: "bob"})
	ck.add(5 * time.Second)
	mustSee(t, screenText(t, m, 120, 40), "→ bob ringing 0:15")
	send(m, Event{Name: "InviteAcceptedByPeer", Channel: "lobby", Account: "bob"})
	ck.add(65 * time.Second)
	mustSee(t, screenText(t, m, 120, 40), "→ bob live 1:05", "bob accepted your call")
	// end it from the calls pane
	m.focusPane(focusCalls)
	press(m, "x")
	wantCalls(t, f, "ChannelInviteEnd(lobby,bob)")
	send(m, Event{Name: "InviteEndByMyself", Channel: "lobby", Account: "bob"})
	mustSee(t, screenText(t, m, 120, 40), "→ bob ended by you")
	// a failed call says why
	m.focus = focusComposer
	typeText(m, "/invite carol")
	press(m, "enter")
	send(m, Event{Name: "InviteFailed", Channel: "lobby", Account: "carol", Code: 703})
	mustSee(t, screenText(t, m, 120, 40), "call to carol failed: peer offline", "→ carol failed: peer offline")
}

func TestKeypadDialogSendsDigits(t *testing.T) {
	m, f, ck := newTestModel(t)
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
	ck.add(inviteArming)
	press(m, "a")
	f.took()
	m.focusPane(focusCalls)
	press(m, "p")
	if _, ok := m.topDialog().(*keypadDialog); !ok {
		t.Fatalf("no keypad: %T", m.topDialog())
	}
	press(m, "5", "#", "down", "enter") // 5, #, then the key below "1": "4"
	wantCalls(t, f, "ChannelInviteDTMF(c1,bob,5)", "ChannelInviteDTMF(c1,bob,#)", "ChannelInviteDTMF(c1,bob,4)")
	mustSee(t, screenText(t, m, 120, 40), "sent: 5#4")
	send(m, Event{Name: "InviteEndByPeer", Channel: "c1", Account: "bob"})
	if m.topDialog() != nil {
		t.Fatal("keypad stays open after the call ended")
	}
}

func TestUnreadRulerAndNextUnread(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "psst"},
		Event{Name: "MessageInstantReceive", Account: "carol", Value: "are you there?"})
	c := m.chats.byKey["@carol"]
	if c.Unread != 2 {
		t.Fatalf("unread = %d", c.Unread)
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "@ carol", "2 unread")
	press(m, "ctrl+n")
	if m.chats.active != c || c.Unread != 0 {
		t.Fatalf("ctrl+n: active %s, unread %d", m.chats.active.Key(), c.Unread)
	}
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "── new ──", "carol psst", "carol are you there?")
	// the ruler sits above the first unread line
	rows := screen(t, m, 120, 40)
	ruler, first := -1, -1
	for i, r := range rows {
		if strings.Contains(r, " new ") && ruler < 0 {
			ruler = i
		}
		if strings.Contains(r, "carol psst") {
			first = i
		}
	}
	if ruler < 0 || first != ruler+1 {
		t.Fatalf("ruler row %d, first unread row %d", ruler, first)
	}
	press(m, "ctrl+n")
	mustSee(t, screenText(t, m, 120, 40), "no unread messages")
}

func TestFollowModeAndScrolling(t *testing.T) {
	m, _, _ := newTestModel(t)
	for i := 0; i < 200; i++ {
		send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: fmt.Sprintf("message %03d", i)})
	}
	mustSee(t, screenText(t, m, 120, 40), "message 199")
	press(m, "pgup")
	scr := screenText(t, m, 120, 40)
	mustNotSee(t, scr, "message 199")
	if m.chats.active.Follow {
		t.Fatal("still following after pgup")
	}
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "brand new"})
	scr = screenText(t, m, 120, 40)
	mustNotSee(t, scr, "brand new")
	mustSee(t, scr, "↓ 1 new")
	// mouse wheel scrolls too
	top := m.chats.active.Top
	m.Update(tea.MouseWheelMsg{X: 40, Y: 10, Button: tea.MouseWheelUp}) // over the messages
	if m.chats.active.Top >= top {
		t.Fatalf("wheel up: top %d → %d", top, m.chats.active.Top)
	}
	m.focus = focusMessages
	press(m, "g")
	mustSee(t, screenText(t, m, 120, 40), "message 000")
	press(m, "G")
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "brand new")
	if !m.chats.active.Follow {
		t.Fatal("end did not resume following")
	}
	// scrolling down to the bottom resumes following as well
	press(m, "k", "k", "j", "j")
	if !m.chats.active.Follow {
		t.Fatal("scrolling back down did not resume following")
	}
}

func TestAttributesPaneFlashLogAndAuthor(t *testing.T) {
	m, f, ck := newTestModel(t)
	send(m, Event{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "topic", Value: "hello", Typ: "update"},
		Event{Name: "ChannelAttrChangedBy", Channel: "lobby", Attr: "topic", Typ: "update", Account: "bob"})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "attributes · #lobby", "topic", "hello", "built-in", "_member_num", "update topic by bob")
	if !strings.Contains(strings.Join(m.attrs.render(m, 32, 20), "\n"), "\x1b[") {
		t.Fatal("no styling at all in the attributes pane")
	}
	a := m.attrs.ch.Items["topic"]
	if a.Changed != ck.now() {
		t.Fatal("the change is not timed for the flash")
	}
	// edit it in the dialog: focus the pane, select topic, e
	m.focusPane(focusAttrs)
	m.attrs.sel = 0
	press(m, "e")
	d, ok := m.topDialog().(*attrDialog)
	if !ok {
		t.Fatalf("no attribute editor: %T", m.topDialog())
	}
	press(m, "ctrl+u")
	typeText(m, `{"a":`)
	press(m, "alt+enter")
	typeText(m, `1}`)
	if got := d.fields[1].ed.Value(); got != "{\"a\":\n1}" {
		t.Fatalf("value field = %q", got)
	}
	press(m, "enter")
	wantCalls(t, f, `ChannelSetAttr(lobby,topic,{"a":1})`)
	// clear needs confirmation
	press(m, "C")
	mustSee(t, screenText(t, m, 120, 40), "Clear every attribute of #lobby?")
	press(m, "enter") // default is No
	wantCalls(t, f)
	press(m, "C", "y")
	wantCalls(t, f, "ChannelClearAttr(lobby)")
	send(m, Event{Name: "ChannelAttrUpdated", Channel: "lobby", Typ: "clear"})
	if _, ok := m.attrs.ch.Items["topic"]; ok {
		t.Fatal("clear left topic")
	}
	if _, ok := m.attrs.ch.Items["_member_num"]; !ok {
		t.Fatal("clear removed a built-in attribute")
	}
	mustSee(t, screenText(t, m, 120, 40), "clear")
}

func TestUserAttributesShown(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "UserAttrAllResult", Account: "alice", Value: `{"mood":"happy"}`},
		Event{Name: "UserAttrAllResult", Account: "bob", Value: `{"city":"Paris","n":3}`})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "you (alice)", "mood happy", "user bob", "city Paris", "n 3")
}

func TestLoginFormWhenAccountMissing(t *testing.T) {
	f := &fakeSDK{}
	var saved []string
	m := New(Options{Client: f, Server: "ws://x", App: "app", Token: "_no_need_token", Keys: keymap.Default(), Palette: themes.Dark,
		OnLogin: func(s, a, acc, tok string) { saved = append(saved, acc) }})
	defer m.Close()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Init()
	if _, ok := m.topDialog().(*loginDialog); !ok {
		t.Fatalf("no login form: %T", m.topDialog())
	}
	scr := screenText(t, m, 80, 24)
	mustSee(t, scr, "Log in to xinling", "Account", "Server", "ws://x")
	press(m, "enter") // empty account
	mustSee(t, screenText(t, m, 80, 24), "without spaces")
	typeText(m, "zoe")
	press(m, "enter")
	wantCalls(t, f, "Login(app,zoe,_no_need_token)")
	if m.topDialog() != nil || len(saved) != 1 || saved[0] != "zoe" {
		t.Fatalf("dialog %T, saved %v", m.topDialog(), saved)
	}
	// a refused login reopens the form with the reason
	send(m, Event{Name: "LoginFailed", Code: 209})
	mustSee(t, screenText(t, m, 80, 24), "invalid account name")
}

func TestStatusBarStates(t *testing.T) {
	m, _, _ := newTestModel(t)
	mustSee(t, screenText(t, m, 120, 40), "● online", "alice@app", "ws://test", "#lobby")
	send(m, Event{Name: "Reconnecting", Num: 3})
	mustSee(t, screenText(t, m, 120, 40), "⟳ reconnecting (attempt 3)")
	send(m, ev("Reconnected"))
	mustSee(t, screenText(t, m, 120, 40), "● online")
	send(m, Event{Name: "Logout", Code: 103})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "○ offline — kicked", "logged in somewhere else")
}

func TestQuickSwitcher(t *testing.T) {
	m, f, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "carol", Value: "hi"})
	m.channels["dev"] = true
	press(m, "ctrl+k")
	mustSee(t, screenText(t, m, 80, 24), "Switch to", "@carol (1)", "#dev (join)")
	typeText(m, "car")
	press(m, "enter")
	if m.chats.active.Key() != "@carol" {
		t.Fatalf("active %s", m.chats.active.Key())
	}
	press(m, "ctrl+k")
	typeText(m, "#dev")
	press(m, "enter")
	wantCalls(t, f, "ChannelJoin(dev)")
	press(m, "ctrl+k")
	typeText(m, "@newperson")
	press(m, "enter")
	if m.chats.active.Key() != "@newperson" {
		t.Fatalf("active %s", m.chats.active.Key())
	}
}

func TestHelpFromKeymap(t *testing.T) {
	m, _, _ := newTestModel(t)
	press(m, "?")
	if _, ok := m.topDialog().(*helpDialog); !ok {
		t.Fatalf("? did not open help: %T", m.topDialog())
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "Help — keys and commands", "ctrl+k", "quick switcher", "alt+enter")
	press(m, "esc")
	// with text in the composer, ? is just a character
	typeText(m, "why?")
	if m.topDialog() != nil || m.composer.Value() != "why?" {
		t.Fatalf("dialog %T, composer %q", m.topDialog(), m.composer.Value())
	}
	// user overrides rebind and show in the help
	km := keymap.Default()
	if err := km.Apply(map[string][]string{"global.switcher": {"ctrl+o"}}); err != nil {
		t.Fatal(err)
	}
	m.keys = km
	m.composer.Reset()
	press(m, "ctrl+o")
	if _, ok := m.topDialog().(*switcherDialog); !ok {
		t.Fatalf("rebound key did not open the switcher: %T", m.topDialog())
	}
}

func TestSanitizeEscapes(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "mallory", Value: "evil\x1b[2J\x1b]0;pwned\x07 done"})
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "evil^[[2J^[]0;pwned^G done")
}

func TestEventsInspectorFilterAndDrops(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.applyBatch(sdkBatchMsg{Events: []Event{{Name: "Log", Value: "socket opened"}}, Dropped: 7})
	press(m, "ctrl+e")
	if !m.events.show || m.focus != focusEvents {
		t.Fatalf("events pane: show %v focus %v", m.events.show, m.focus)
	}
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "events ·", "7 dropped", "onLog(value=socket opened)", "onChannelJoined(ch=lobby)")
	press(m, "/")
	typeText(m, "joined")
	press(m, "enter")
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "filter joined", "onChannelJoined")
	mustNotSee(t, scr, "socket opened")
}

func TestNarrowLayoutTabs(t *testing.T) {
	m, _, _ := newTestModel(t)
	scr := screenText(t, m, 80, 24)
	mustSee(t, scr, "chats", "peers", "attrs", "calls", "events", "to #lobby")
	press(m, "tab", "tab") // composer → messages → tab panel
	if m.focus != focusChats {
		t.Fatalf("focus %v", m.focus)
	}
	press(m, "right")
	if m.focus != focusPeers {
		t.Fatalf("after → focus %v", m.focus)
	}
	mustSee(t, screenText(t, m, 80, 24), "alice (you)", "bob")
	press(m, "right")
	mustSee(t, screenText(t, m, 80, 24), "_member_num")
}

func TestQueueNeverDropsInvitesAndCountsDrops(t *testing.T) {
	q := NewQueue(8)
	defer q.Close()
	for i := 0; i < 8; i++ {
		q.Push(Event{Name: "MessageChannelReceive", Value: fmt.Sprint(i)})
	}
	q.Push(Event{Name: "InviteReceived", Account: "bob"})
	q.Push(Event{Name: "Logout", Code: 102})
	for i := 0; i < 20; i++ {
		q.Push(Event{Name: "Error", Code: 1000 + i})
	}
	b := q.Take(100)
	var names []string
	errs := 0
	for _, e := range b.Events {
		if e.Name == "Error" {
			errs++
			continue
		}
		names = append(names, e.Name)
	}
	if errs != 20 || !contains(names, "InviteReceived") || !contains(names, "Logout") {
		t.Fatalf("kept %v and %d errors", names, errs)
	}
	if b.Dropped != 8 || q.Dropped() != 8 {
		t.Fatalf("dropped %d (total %d), want the 8 channel messages", b.Dropped, q.Dropped())
	}
	// batches: a burst arrives as a few messages of at most batchMax events
	for i := 0; i < 1000; i++ {
		q.Push(Event{Name: "InviteMsg"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b1, ok := q.Wait(ctx, batchMax)
	if !ok || len(b1.Events) != batchMax {
		t.Fatalf("first batch %d events", len(b1.Events))
	}
	b2, _ := q.Wait(ctx, batchMax)
	if len(b2.Events) != 1000-batchMax {
		t.Fatalf("second batch %d events", len(b2.Events))
	}
	q.Close()
	if _, ok := q.Wait(context.Background(), 1); ok {
		t.Fatal("Wait on a closed, empty queue returned a batch")
	}
}

func TestQueuePushNeverBlocks(t *testing.T) {
	q := NewQueue(64)
	defer q.Close()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100000; i++ {
			q.Push(Event{Name: "MessageChannelReceive"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked with nobody reading")
	}
	if q.Len() > 64 || q.Dropped() < 100000-64 {
		t.Fatalf("len %d dropped %d", q.Len(), q.Dropped())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestThemeCommandAndBackground(t *testing.T) {
	m, _, _ := newTestModel(t)
	m.opt.AutoTheme = true
	m.Update(tea.BackgroundColorMsg{Color: lightGray{}})
	if m.st.Palette.Name != "light" {
		t.Fatalf("light background → %s", m.st.Palette.Name)
	}
	typeText(m, "/theme high-contrast")
	press(m, "enter")
	if m.st.Palette.Name != "high-contrast" || m.opt.AutoTheme {
		t.Fatalf("theme %s auto %v", m.st.Palette.Name, m.opt.AutoTheme)
	}
	m.Update(tea.BackgroundColorMsg{Color: lightGray{}})
	if m.st.Palette.Name != "high-contrast" {
		t.Fatal("an explicit theme was overridden by the background")
	}
	typeText(m, "/theme nope")
	press(m, "enter")
	mustSee(t, screenText(t, m, 120, 40), `unknown theme "nope"`)
}

type lightGray struct{}

func (lightGray) RGBA() (r, g, b, a uint32) { return 0xeeee, 0xeeee, 0xeeee, 0xffff }

// TestMentionBadge: a message naming you in a channel you are not looking
// at earns that channel a mention badge; other messages only count unread.
func TestMentionBadge(t *testing.T) {
	m, _, _ := newTestModel(t)
	send(m, Event{Name: "MessageInstantReceive", Account: "erin", Value: "hey"})
	m.switchTo(m.chats.byKey["@erin"]) // looking at a conversation with erin, not #lobby
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "carol", Value: "lunch anyone?"},
		Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "carol", Value: "@" + m.account + " you in?"},
		Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "dave", Value: "ask " + m.account + "x"})
	c := m.chats.byKey["#lobby"]
	if c == nil || c.Unread != 3 || c.Mentions != 1 {
		t.Fatalf("#lobby: %+v", c)
	}
	mustSee(t, screenText(t, m, 120, 40), "@1 3")
	m.switchTo(c)
	if c.Mentions != 0 {
		t.Fatalf("mentions not cleared when read: %d", c.Mentions)
	}
}
