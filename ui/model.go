// Package ui is xinling's terminal client: one root Bubble Tea model that
// routes every message, panes as plain structs that own their state, keys
// and drawing, reducers that apply each area's SDK events to its pane, a
// stack of modal dialogs, and a bounded queue that turns the SDK's
// callbacks into batched messages so the SDK never waits for the screen.
package ui

import (
	"fmt"
	"sort"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/themes"
)

// Options configure a Model.
type Options struct {
	Client  sdk.API // the SDK instance; its callback must be a Bridge on Queue
	Queue   *Queue
	Server  string // shown in the status bar
	App     string
	Account string // "" → the login form opens first
	Token   string
	Channel string // joined after login ("" none)

	Embedded string // when the client started its own server: a note for the status bar
	Demo     bool

	Palette   themes.Palette
	AutoTheme bool // follow the terminal's background (dark/light)
	NoColor   bool
	Keys      keymap.KeyMap
	Notify    bool // bell and desktop notifications for invites
	Tmux      bool // inside tmux: notifications go through its passthrough

	Notes []string // problems found at start-up, shown in the system log

	// HistoryDir, when set, keeps each chat's scrollback across runs under
	// HistoryDir/APP/ACCOUNT, HistoryMax messages a chat (default 1000).
	HistoryDir string
	HistoryMax int

	Now func() time.Time // default time.Now

	// OnLogin, when set, is called with the credentials the login form
	// submits, before the SDK's Login (run.go records them in the config).
	OnLogin func(server, app, account, token string)
}

// Model is the root model: all the client's state and the only Update.
type Model struct {
	opt  Options
	c    sdk.API
	q    *Queue
	keys keymap.KeyMap
	st   *themes.Styles
	gen  int // style generation: bumps invalidate cached lines
	now  func() time.Time

	width, height int
	focus         focusArea
	tab           int // narrow layout: which side pane the tab panel shows
	termFocused   bool

	account string
	session session

	// the panes
	chats    chatsPane
	channel  channelPane
	attrs    attrsPane
	calls    callsPane
	events   eventsPane
	composer composerPane

	actionConv string // where the user last acted: errors go there
	fails      int    // failures said so far (send keeps a refused line)

	pending  map[string]*Message // own messages by SDK message id
	msgSeq   int
	invokes  map[string]invocation // by RPC call id
	invokeN  int
	accounts map[string]bool // every account seen, for completion
	channels map[string]bool // every channel seen

	hist        *History // nil until logged in, or when off
	histAccount string   // whose history hist is

	dialogs  []dialog
	quit     bool
	welcomed bool
}

// invocation is an RPC call waiting for its result.
type invocation struct {
	name string
	conv string // where it was called: the result is said there
}

// New makes the root model.
func New(opt Options) *Model {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Palette.Name == "" {
		opt.Palette = themes.Dark
		if opt.NoColor {
			opt.Palette = themes.Plain
		}
	}
	if opt.Queue == nil {
		opt.Queue = NewQueue(4096)
	}
	if opt.HistoryMax <= 0 {
		opt.HistoryMax = 1000
	}
	m := &Model{
		opt: opt, c: opt.Client, q: opt.Queue, keys: opt.Keys, now: opt.Now,
		width: 80, height: 24, termFocused: true,
		chats:   chatsPane{byKey: map[string]*Conversation{}},
		channel: channelPane{members: map[string]uint32{}},
		attrs:   attrsPane{ch: Attrs{Items: map[string]*Attr{}}, user: map[string]map[string]string{}},
		events:  eventsPane{log: ring{max: 5000}},
		pending: map[string]*Message{}, invokes: map[string]invocation{},
		accounts: map[string]bool{}, channels: map[string]bool{},
	}
	if len(m.keys.Global.Quit.Keys()) == 0 && !m.keys.Global.Quit.Enabled() {
		m.keys = keymap.Default()
	}
	m.composer.multiline = true
	m.setPalette(opt.Palette)
	m.account = opt.Account
	sys := m.conv(convSystem, "xinling")
	m.chats.active = sys
	m.sysMsg(sys, welcome(opt))
	for _, n := range opt.Notes {
		m.errMsg(sys, n)
	}
	if opt.Channel != "" {
		m.channels[opt.Channel] = true
	}
	return m
}

func welcome(opt Options) string {
	s := "welcome to xinling (信令). Type a message and press enter; /help lists the commands, ? or f1 the keys, ctrl+k switches conversations."
	if opt.Embedded != "" {
		s += " " + opt.Embedded + "."
	}
	if opt.Demo {
		s += " Demo: alice, bob, carol and dave are simulated; they chat in #lobby and #dev, message you, and call you."
	}
	return s
}

func (m *Model) setPalette(p themes.Palette) {
	m.st = themes.NewStyles(p)
	m.gen++
}

// Init starts the SDK event pump, asks the terminal for its background and
// logs in (or opens the login form).
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.q.waitCmd(), tick()}
	if m.opt.AutoTheme {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.account == "" {
		m.pushDialog(newLoginDialog(m, ""))
	} else {
		m.login()
	}
	return tea.Batch(cmds...)
}

type tickMsg time.Time

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Close stops the event pump (the SDK instance is the caller's to destroy).
func (m *Model) Close() { m.q.Close() }

// actionTarget is the conversation where the user last acted.
func (m *Model) actionTarget() *Conversation {
	if c, ok := m.chats.byKey[m.actionConv]; ok {
		return c
	}
	return m.chats.active
}

// fail reports a failure where the user acted: in that conversation and
// on the composer's line.
func (m *Model) fail(text string) {
	m.fails++
	m.errMsg(m.actionTarget(), text)
	m.setNotice(text, true)
}

func (m *Model) info(text string) {
	m.sysMsg(m.actionTarget(), text)
}

func (m *Model) nextMsgID() string {
	m.msgSeq++
	return fmt.Sprintf("ui%d-%d", m.now().UnixNano()%1e9, m.msgSeq)
}

// sendText sends text to the active conversation (channel or peer).
func (m *Model) sendText(text string) {
	c := m.chats.active
	m.actionConv = c.Key()
	switch c.Kind {
	case convChannel:
		if m.channel.joined != c.Name {
			m.fail(fmt.Sprintf("not in #%s — /join %s first (you can be in one channel at a time)", c.Name, c.Name))
			return
		}
		m.sendTo(c, text, false)
	case convPeer:
		m.sendTo(c, text, false)
	default:
		m.fail("this is the system log: open a channel (/join NAME) or a peer (/query ACCOUNT) to send messages")
	}
}

func (m *Model) sendTo(c *Conversation, text string, force bool) {
	if m.c == nil {
		return
	}
	id := m.nextMsgID()
	msg := &Message{Kind: kindChat, From: m.account, Text: text, Own: true, State: stateSending, ID: id}
	msg.conv = c.Key()
	m.appendMsg(c, msg)
	m.pending[id] = msg
	c.Ruler = -1
	c.Follow = true
	switch {
	case c.Kind == convPeer:
		m.c.MessageInstantSend(c.Name, 0, text, id)
	case force:
		m.c.MessageChannelSendForce(c.Name, text, id)
	default:
		m.c.MessageChannelSend(c.Name, text, id)
	}
}

// knownAccounts returns every account seen, sorted.
func (m *Model) knownAccounts() []string {
	out := make([]string, 0, len(m.accounts))
	for a := range m.accounts {
		if a != "" {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

func (m *Model) knownChannels() []string {
	out := make([]string, 0, len(m.channels))
	for c := range m.channels {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
