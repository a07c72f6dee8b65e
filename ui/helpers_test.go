package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/themes"
	"github.com/xinling/xinling/ui/uitest"
)

// fakeSDK records the SDK methods the model calls.
type fakeSDK struct {
	mu    sync.Mutex
	calls []string
}

var _ sdk.API = (*fakeSDK)(nil)

func (f *fakeSDK) rec(name string, args ...any) {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	f.mu.Lock()
	f.calls = append(f.calls, name+"("+strings.Join(parts, ",")+")")
	f.mu.Unlock()
}

// took returns and forgets the calls so far.
func (f *fakeSDK) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func (f *fakeSDK) Destroy()                  { f.rec("Destroy") }
func (f *fakeSDK) CallbackSet(sdk.Callback)  {}
func (f *fakeSDK) CallbackGet() sdk.Callback { return nil }
func (f *fakeSDK) Login(app, account, token string, uid uint32, dev string) {
	f.rec("Login", app, account, token)
}
func (f *fakeSDK) Login2(app, account, token string, uid uint32, dev string, rt, rc int) {
	f.rec("Login2", app, account, token)
}
func (f *fakeSDK) Logout()                     { f.rec("Logout") }
func (f *fakeSDK) Invoke(name, req, id string) { f.rec("Invoke", name, req, id) }
func (f *fakeSDK) QueryUserStatus(a string)    { f.rec("QueryUserStatus", a) }
func (f *fakeSDK) SetAttr(n, v string)         { f.rec("SetAttr", n, v) }
func (f *fakeSDK) GetAttr(n string)            { f.rec("GetAttr", n) }
func (f *fakeSDK) GetAttrAll()                 { f.rec("GetAttrAll") }
func (f *fakeSDK) GetUserAttr(a, n string)     { f.rec("GetUserAttr", a, n) }
func (f *fakeSDK) GetUserAttrAll(a string)     { f.rec("GetUserAttrAll", a) }
func (f *fakeSDK) MessageInstantSend(a string, u uint32, msg, id string) {
	f.rec("MessageInstantSend", a, msg)
}
func (f *fakeSDK) ChannelJoin(ch string)                 { f.rec("ChannelJoin", ch) }
func (f *fakeSDK) ChannelLeave(ch string)                { f.rec("ChannelLeave", ch) }
func (f *fakeSDK) ChannelQueryUserNum(ch string)         { f.rec("ChannelQueryUserNum", ch) }
func (f *fakeSDK) ChannelSetAttr(ch, n, v string)        { f.rec("ChannelSetAttr", ch, n, v) }
func (f *fakeSDK) ChannelDelAttr(ch, n string)           { f.rec("ChannelDelAttr", ch, n) }
func (f *fakeSDK) ChannelClearAttr(ch string)            { f.rec("ChannelClearAttr", ch) }
func (f *fakeSDK) MessageChannelSend(ch, msg, id string) { f.rec("MessageChannelSend", ch, msg) }
func (f *fakeSDK) MessageChannelSendForce(ch, msg, id string) {
	f.rec("MessageChannelSendForce", ch, msg)
}
func (f *fakeSDK) ChannelInviteUser(ch, a string, u uint32) { f.rec("ChannelInviteUser", ch, a) }
func (f *fakeSDK) ChannelInviteUser2(ch, a, extra string)   { f.rec("ChannelInviteUser2", ch, a, extra) }
func (f *fakeSDK) ChannelInviteDTMF(ch, p, d string)        { f.rec("ChannelInviteDTMF", ch, p, d) }
func (f *fakeSDK) ChannelInviteAccept(ch, a string, u uint32, extra string) {
	f.rec("ChannelInviteAccept", ch, a, extra)
}
func (f *fakeSDK) ChannelInviteRefuse(ch, a string, u uint32, extra string) {
	f.rec("ChannelInviteRefuse", ch, a, extra)
}
func (f *fakeSDK) ChannelInviteEnd(ch, a string, u uint32)   { f.rec("ChannelInviteEnd", ch, a) }
func (f *fakeSDK) GetStatus() int                            { return 2 }
func (f *fakeSDK) GetSdkVersion() int                        { return 1010400000 }
func (f *fakeSDK) MessageDTMFSend(u uint32, msg, id string)  {}
func (f *fakeSDK) ChannelInvitePhone(ch, p string, u uint32) {}
func (f *fakeSDK) ChannelInvitePhone2(ch, p, s string)       {}
func (f *fakeSDK) ChannelInvitePhone3(ch, p, s, e string)    { f.rec("ChannelInvitePhone3", ch, p, e) }
func (f *fakeSDK) IsOnline() bool                            { return true }

// clock is a settable time for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)} }

// newTestModel is a model on a fake SDK, logged in as alice in #lobby.
func newTestModel(t testing.TB) (*Model, *fakeSDK, *clock) {
	t.Helper()
	f := &fakeSDK{}
	ck := newClock()
	m := New(Options{Client: f, Queue: NewQueue(4096), Server: "ws://test", App: "app", Account: "alice",
		Token: "_no_need_token", Channel: "lobby", Palette: themes.Dark, Keys: keymap.Default(), Notify: true, Now: ck.now})
	t.Cleanup(m.Close)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.login()
	send(m, ev("LoginSuccess"))
	send(m, Event{Name: "ChannelJoined", Channel: "lobby"}, Event{Name: "ChannelUserList", Accounts: []string{"alice", "bob"}},
		Event{Name: "ChannelAttrUpdated", Channel: "lobby", Attr: "_member_num", Value: "2", Typ: "update"})
	f.took()
	return m, f, ck
}

func ev(name string) Event { return Event{Name: name} }

// send delivers synthetic SDK events as one batch (as Update does, without
// re-arming the queue's wait command) and returns the commands it made.
func send(m *Model, evs ...Event) tea.Cmd {
	return m.applyBatch(sdkBatchMsg{Events: evs})
}

// rawOut runs a command (not one that waits: no ticks) and returns what it
// would write to the terminal with tea.Raw.
func rawOut(cmd tea.Cmd) string {
	if cmd == nil {
		return ""
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		var b strings.Builder
		for _, c := range msg {
			b.WriteString(rawOut(c))
		}
		return b.String()
	case tea.RawMsg:
		return fmt.Sprint(msg.Msg)
	}
	return ""
}

// press sends keys by name: "enter", "ctrl+k", "alt+enter", "a", "esc"…
func press(m *Model, keys ...string) tea.Cmd { return uitest.Press(m, keys...) }

// typeText types text one key at a time.
func typeText(m *Model, s string) { uitest.Type(m, s) }

func keyMsg(s string) tea.KeyPressMsg { return uitest.Key(s) }

// screen renders the model at w×h into a virtual terminal and returns
// what a user would see, one line per row.
func screen(t testing.TB, m *Model, w, h int) []string {
	t.Helper()
	return uitest.Screen(t, m, w, h)
}

func screenText(t testing.TB, m *Model, w, h int) string {
	t.Helper()
	return uitest.ScreenText(t, m, w, h)
}

// mustSee fails unless every want appears on screen.
func mustSee(t testing.TB, scr string, want ...string) {
	t.Helper()
	uitest.MustSee(t, scr, want...)
}

func mustNotSee(t testing.TB, scr string, bad ...string) {
	t.Helper()
	uitest.MustNotSee(t, scr, bad...)
}

// pump delivers the SDK events a real client has queued, waiting up to d
// for the first.
func pump(m *Model, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if b, ok := m.q.Wait(ctx, batchMax); ok {
		m.Update(b)
	}
}

// eventually pumps the models' SDK events until cond holds or the deadline
// passes.
func eventually(t testing.TB, what string, cond func() bool, ms ...*Model) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var scr []string
			for _, m := range ms {
				scr = append(scr, screenText(t, m, 120, 40))
			}
			t.Fatalf("timed out waiting for %s; screens:\n%s", what, strings.Join(scr, "\n\n"))
		}
		for _, m := range ms {
			pump(m, 20*time.Millisecond)
		}
	}
}
