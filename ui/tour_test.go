package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// frameOK fails unless every row of the view is exactly the screen's width.
func frameOK(t *testing.T, m *Model, w, h int, what string) {
	t.Helper()
	screen(t, m, w, h)
	for i, l := range strings.Split(m.View().Content, "\n") {
		if got := ansi.StringWidth(l); got != w {
			t.Fatalf("%s at %dx%d: row %d is %d wide: %q", what, w, h, i, got, ansi.Strip(l))
		}
	}
}

// Every slash command, typed wrong as a new user would: each refusal is said
// on screen (in the conversation, in full) and nothing reaches the SDK.
func TestEveryRefusalSaysWhy(t *testing.T) {
	cases := []struct{ line, why string }{
		{"/join", "usage: /join CHANNEL"},
		{"/leave", "you are not in a channel"},
		{"/msg", "usage: /msg ACCOUNT TEXT"},
		{"/msg 张伟", "usage: /msg ACCOUNT TEXT"},
		{"/query", "usage: /query ACCOUNT"},
		{"/invite bob {oops", "invite extra must be JSON"},
		{"/accept", "no incoming call is ringing"},
		{"/refuse", "no incoming call is ringing"},
		{"/end", "no call to end"},
		{"/dtmf 12", "no live call for DTMF"},
		{"/phone", "usage: /phone NUMBER"},
		{"/attr set x", "/attr works on the current channel"},
		{"/uattr set", "usage: /uattr set NAME VALUE"},
		{"/uattr get a b c", "usage: /uattr get [ACCOUNT] NAME"},
		{"/uattr frob", "usage: /uattr set NAME VALUE"},
		{"/who", "you are not in a channel"},
		{"/count", "usage: /count CHANNEL"},
		{"/status", "usage: /status ACCOUNT"},
		{"/invoke", "usage: /invoke NAME JSON"},
		{"/force", "usage: /force TEXT"},
		{"/force hi", "/force sends to a channel"},
		{"/theme 紫色", `unknown theme "紫色"`},
		{"/help frob", `no command "frob"`},
		{"/frob", "unknown command /frob"},
		{"hello?", "this is the system log"},
	}
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		for _, tc := range cases {
			m, f, _ := newTestModel(t)
			send(m, Event{Name: "ChannelLeaved", Channel: "lobby", Code: 602})
			m.switchTo(m.chats.byKey["xinling"])
			f.took()
			typeText(m, tc.line)
			press(m, "enter")
			wantCalls(t, f)
			var said bool
			for _, msg := range m.chats.active.Msgs {
				said = said || (msg.Kind == kindError && strings.Contains(msg.Text, tc.why))
			}
			if !said {
				t.Fatalf("%s: no %q in the conversation", tc.line, tc.why)
			}
			mustSee(t, screenText(t, m, sz[0], sz[1]), "✗ ")
			frameOK(t, m, sz[0], sz[1], tc.line)
		}
	}
}

// Wide characters in names, messages and attributes line up at both sizes,
// with the dialogs open too, and the names show whole where there is room.
func TestWideCharactersEverywhere(t *testing.T) {
	m, _, ck := newTestModel(t)
	send(m,
		Event{Name: "ChannelUserJoined", Account: "张伟"},
		Event{Name: "ChannelUserJoined", Account: "🦊fox"},
		Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "张伟", Value: "大家好，这是一条很长的消息，用来检查换行是否正确 " + strings.Repeat("🎉", 30)},
		Event{Name: "MessageInstantReceive", Account: "🦊fox", Value: "emoji 👋🏽 and 한국어"},
		Event{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "主题", Value: "发布日 🚀", Typ: "update"},
		Event{Name: "UserAttrAllResult", Account: "alice", Value: `{"心情":"开心 😊"}`},
		Event{Name: "InviteReceived", Channel: "通话", Account: "张伟"})
	ck.add(inviteArming)
	for _, sz := range [][2]int{{80, 24}, {200, 50}, {100, 30}} {
		frameOK(t, m, sz[0], sz[1], "call dialog")
	}
	press(m, "esc")
	scr := screenText(t, m, 200, 50)
	mustSee(t, scr, "张伟 大家好", "🦊fox", "主题", "发布日 🚀", "心情 开心 😊", "← 张伟 ringing")
	for _, open := range []string{"ctrl+k", "f1"} {
		press(m, open)
		for _, sz := range [][2]int{{80, 24}, {200, 50}} {
			frameOK(t, m, sz[0], sz[1], open)
		}
		press(m, "esc")
	}
	m.pushDialog(newAttrDialog(m, "lobby", "主题", "发布日 🚀"))
	frameOK(t, m, 80, 24, "attribute editor")
	mustSee(t, screenText(t, m, 80, 24), "Edit 主题 of #lobby", "发布日 🚀")
}
