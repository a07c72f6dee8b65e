package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/themes"
)

// The call dialog is up and the person answers by typing the command the
// help taught them, /accept or /refuse and enter: at once (while the dialog
// still lets typing through to the composer) or after a while.
func TestAnswerByTypingTheCommandWhileTheDialogIsOpen(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		after      time.Duration
	}{
		{"/accept", "ChannelInviteAccept(c1,bob,)", 0},
		{"/accept", "ChannelInviteAccept(c1,bob,)", 6 * time.Second},
		{"/refuse", "ChannelInviteRefuse(c1,bob,)", 0},
		{"/refuse", "ChannelInviteRefuse(c1,bob,)", 6 * time.Second},
	} {
		t.Run(tc.line+" after "+tc.after.String(), func(t *testing.T) {
			m, f, ck := newTestModel(t)
			send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
			mustSee(t, screenText(t, m, 120, 36), "Incoming call")
			ck.add(tc.after)
			typeText(m, tc.line)
			press(m, "enter")
			wantCalls(t, f, tc.want) // and nothing else: no stray message sent
			scr := screenText(t, m, 120, 36)
			mustNotSee(t, scr, "Incoming call")
			if !m.composer.Empty() {
				t.Fatalf("the command stayed in the composer: %q", m.composer.Value())
			}
			if strings.HasSuffix(tc.want, "Accept(c1,bob,)") {
				mustSee(t, scr, "← bob live")
			} else {
				mustSee(t, scr, "← bob refused by you")
			}
		})
	}
}

// ctrl+y and ctrl+r answer whatever dialog is on top: the help opened while
// the call rings does not hide it from the keys.
func TestCallKeysWorkOverAnyDialog(t *testing.T) {
	m, f, _ := newTestModel(t)
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
	press(m, "esc") // later
	press(m, "f1")
	if _, ok := m.topDialog().(*helpDialog); !ok {
		t.Fatalf("no help: %T", m.topDialog())
	}
	press(m, "ctrl+y")
	wantCalls(t, f, "ChannelInviteAccept(c1,bob,)")
	if _, ok := m.topDialog().(*helpDialog); !ok {
		t.Fatalf("the help closed: %T", m.topDialog())
	}
	send(m, Event{Name: "InviteReceived", Channel: "c2", Account: "carol"})
	m.pushDialog(newHelpDialog(m, ""))
	press(m, "ctrl+r")
	wantCalls(t, f, "ChannelInviteRefuse(c2,carol,)")
}

// The focused button is the one drawn as focused, without colour too, and
// enter does what it says: Accept is the default.
func TestCallDialogShowsItsFocusAndEnterAccepts(t *testing.T) {
	m, f, ck := newTestModel(t)
	m.setPalette(themes.Plain)
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
	ck.add(inviteArming)
	scr := screenText(t, m, 80, 24)
	mustSee(t, scr, "▸ Accept (a) ◂", "enter accepts")
	mustNotSee(t, scr, "[Refuse (r)]", "▸ Refuse")
	press(m, "right")
	scr = screenText(t, m, 80, 24)
	mustSee(t, scr, "▸ Refuse (r) ◂", "enter refuses")
	press(m, "left", "enter")
	wantCalls(t, f, "ChannelInviteAccept(c1,bob,)")
}

// Someone typing an attribute's value when a call pops up keeps typing into
// the value; the call still rings and is answered afterwards.
func TestTypingInADialogWhenACallArrives(t *testing.T) {
	m, f, ck := newTestModel(t)
	m.pushDialog(newAttrDialog(m, "lobby", "topic", ""))
	typeText(m, "rel")
	send(m, Event{Name: "InviteReceived", Channel: "c1", Account: "bob"})
	typeText(m, "ease")
	d := m.dialogs[0].(*attrDialog)
	if got := d.fields[1].ed.Value(); got != "release" {
		t.Fatalf("the value = %q", got)
	}
	if _, ok := m.topDialog().(*inviteDialog); !ok {
		t.Fatalf("top %T", m.topDialog())
	}
	wantCalls(t, f)
	ck.add(inviteArming)
	press(m, "enter")
	wantCalls(t, f, "ChannelInviteAccept(c1,bob,)")
	if m.topDialog() != d {
		t.Fatalf("top %T", m.topDialog())
	}
}
