// Package ui is xinling's terminal client: one root Bubble Tea model that
// routes every message, panes drawn by plain functions, a stack of modal
// dialogs, and a bounded queue that turns the SDK's callbacks into batched
// messages so the SDK never waits for the screen.
package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/themes"
)

// focusArea is the part of the screen that gets the keys.
type focusArea int

const (
	focusComposer focusArea = iota
	focusMessages
	focusChats
	focusPeers
	focusAttrs
	focusCalls
	focusEvents
)

var focusNames = map[focusArea]string{
	focusComposer: "composer", focusMessages: "messages", focusChats: "chats", focusPeers: "peers",
	focusAttrs: "attributes", focusCalls: "calls", focusEvents: "events",
}

func (f focusArea) String() string { return focusNames[f] }

// narrowTabs are the side panes folded into tabs on a narrow screen.
var narrowTabs = []focusArea{focusChats, focusPeers, focusAttrs, focusCalls, focusEvents}

// wideMin is the width from which side panes stand beside the messages.
const wideMin = 100

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

	Notes []string // problems found at start-up, shown in the system log

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
	showEvents    bool
	termFocused   bool

	convs  []*Conversation
	byKey  map[string]*Conversation
	active *Conversation

	// session
	account    string
	status     int // sdk.Status*
	reconnectN int
	statusNote string

	// channel
	joined  string
	joining string
	members map[string]uint32
	attrs   Attrs

	userAttrs     map[string]map[string]string
	userAttrOrder []string

	calls []*Call

	events     ring
	dropped    int
	filter     editor
	filtering  bool
	eventsBack int // lines scrolled up from the newest

	sel map[focusArea]int

	composer   editor
	history    []string
	histIdx    int
	histDraft  string
	comp       completion
	notice     string
	noticeErr  bool
	noticeAt   time.Time
	actionConv string // where the user last acted: errors go there

	pending  map[string]*Message // own messages by SDK message id
	msgSeq   int
	invokes  map[string]string // RPC call id → conversation key
	invokeN  int
	accounts map[string]bool // every account seen, for completion
	channels map[string]bool // every channel seen

	dialogs  []dialog
	quit     bool
	welcomed bool
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
	m := &Model{
		opt: opt, c: opt.Client, q: opt.Queue, keys: opt.Keys, now: opt.Now,
		width: 80, height: 24, termFocused: true,
		byKey: map[string]*Conversation{}, members: map[string]uint32{},
		userAttrs: map[string]map[string]string{}, sel: map[focusArea]int{},
		pending: map[string]*Message{}, invokes: map[string]string{},
		accounts: map[string]bool{}, channels: map[string]bool{},
		events: ring{max: 5000},
	}
	if len(m.keys.Global.Quit.Keys()) == 0 && !m.keys.Global.Quit.Enabled() {
		m.keys = keymap.Default()
	}
	m.composer.multiline = true
	m.setPalette(opt.Palette)
	m.attrs.Items = map[string]*Attr{}
	m.account = opt.Account
	sys := m.conv(convSystem, "xinling")
	m.active = sys
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

func (m *Model) login() {
	if m.c == nil {
		return
	}
	m.status = sdk.StatusLoggingIn
	m.c.Login(m.opt.App, m.account, m.opt.Token, 0, "")
}

type tickMsg time.Time

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Close stops the event pump (the SDK instance is the caller's to destroy).
func (m *Model) Close() { m.q.Close() }

// Update routes one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case sdkBatchMsg:
		cmd := m.applyBatch(msg)
		return m, tea.Batch(cmd, m.q.waitCmd())
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		m.fixFocus()
		return m, nil
	case tickMsg:
		return m, tick()
	case tea.BackgroundColorMsg:
		if m.opt.AutoTheme {
			m.setPalette(themes.Auto(msg.IsDark(), m.opt.NoColor))
		}
		return m, nil
	case tea.FocusMsg:
		m.termFocused = true
		return m, nil
	case tea.BlurMsg:
		m.termFocused = false
		return m, nil
	case tea.PasteMsg:
		if d := m.topDialog(); d != nil {
			d.paste(m, msg.Content)
			return m, nil
		}
		if m.filtering {
			m.filter.Insert(msg.Content)
			return m, nil
		}
		m.focus = focusComposer
		m.composer.Insert(msg.Content)
		m.comp = completion{}
		return m, nil
	case tea.MouseWheelMsg:
		if len(m.dialogs) > 0 {
			return m, nil
		}
		switch msg.Button {
		case tea.MouseWheelUp:
			m.scrollMessages(-3)
		case tea.MouseWheelDown:
			m.scrollMessages(3)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	return m, nil
}

// --- conversations -------------------------------------------------------

// conv returns the conversation, creating it.
func (m *Model) conv(k convKind, name string) *Conversation {
	key := convKey(k, name)
	if c, ok := m.byKey[key]; ok {
		return c
	}
	c := &Conversation{Kind: k, Name: name, Ruler: -1, Follow: true, LastActivity: m.now()}
	m.byKey[key] = c
	m.convs = append(m.convs, c)
	if k == convChannel {
		m.channels[name] = true
	} else if k == convPeer {
		m.accounts[name] = true
	}
	return c
}

// orderedConvs is the chats list: the system log, channels, then peers.
func (m *Model) orderedConvs() []*Conversation {
	out := make([]*Conversation, 0, len(m.convs))
	for _, k := range []convKind{convSystem, convChannel, convPeer} {
		for _, c := range m.convs {
			if c.Kind == k {
				out = append(out, c)
			}
		}
	}
	return out
}

func (m *Model) switchTo(c *Conversation) {
	if c == nil {
		return
	}
	if m.active != nil && m.active != c {
		m.active.Ruler = -1 // read: the ruler is gone next time
	}
	m.active = c
	if c.Unread > 0 {
		c.Ruler = len(c.Msgs) - c.Unread
		if c.Ruler < 0 {
			c.Ruler = 0
		}
		c.Unread, c.Mentions = 0, 0
	}
	c.Follow = true
	for i, o := range m.orderedConvs() {
		if o == c {
			m.sel[focusChats] = i
		}
	}
}

// appendMsg adds a message to a conversation, counting it unread when the
// user is not looking at it.
func (m *Model) appendMsg(c *Conversation, msg *Message) {
	if msg.At.IsZero() {
		msg.At = m.now()
	}
	c.Msgs = append(c.Msgs, msg)
	c.LastActivity = msg.At
	if msg.Own {
		return
	}
	if c != m.active || !c.Follow {
		if msg.Kind == kindChat {
			if c.Unread == 0 && c == m.active {
				c.Ruler = len(c.Msgs) - 1
			}
			c.Unread++
			if c.Kind == convPeer || m.mentions(msg.Text) {
				c.Mentions++ // a direct message, or your name in a channel
			}
		}
	}
}

// mentions reports whether text names the user: "@account", or the account
// as a word of its own.
func (m *Model) mentions(text string) bool {
	if m.account == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], m.account)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(m.account)
		before := j == 0 || !isWordByte(text[j-1]) || text[j-1] == '@'
		after := end == len(text) || !isWordByte(text[end])
		if before && after {
			return true
		}
		i = end
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b == '.' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func (m *Model) sysMsg(c *Conversation, text string) {
	m.appendMsg(c, &Message{Kind: kindSystem, Text: text})
}

func (m *Model) errMsg(c *Conversation, text string) {
	m.appendMsg(c, &Message{Kind: kindError, Text: text})
}

// actionTarget is the conversation where the user last acted.
func (m *Model) actionTarget() *Conversation {
	if c, ok := m.byKey[m.actionConv]; ok {
		return c
	}
	return m.active
}

func (m *Model) setNotice(text string, isErr bool) {
	m.notice, m.noticeErr, m.noticeAt = text, isErr, m.now()
}

// fail reports a failure where the user acted: in that conversation and
// on the composer's line.
func (m *Model) fail(text string) {
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
	c := m.active
	m.actionConv = c.Key()
	switch c.Kind {
	case convChannel:
		if m.joined != c.Name {
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

// members returns the channel's members, sorted.
func (m *Model) memberList() []string {
	out := make([]string, 0, len(m.members))
	for a := range m.members {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
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

// call finds the newest call with that channel and peer.
func (m *Model) call(ch, peer string) *Call {
	for i := len(m.calls) - 1; i >= 0; i-- {
		if m.calls[i].Channel == ch && m.calls[i].Peer == peer {
			return m.calls[i]
		}
	}
	return nil
}

// ringingIncoming is the newest incoming call waiting for an answer.
func (m *Model) ringingIncoming() *Call {
	for i := len(m.calls) - 1; i >= 0; i-- {
		if c := m.calls[i]; c.Incoming && c.Ringing() {
			return c
		}
	}
	return nil
}

// liveCall is the newest call still ringing or accepted.
func (m *Model) liveCall() *Call {
	for i := len(m.calls) - 1; i >= 0; i-- {
		if c := m.calls[i]; c.Live() {
			return c
		}
	}
	return nil
}

// acceptCall answers an incoming call.
func (m *Model) acceptCall(c *Call, extra string) {
	if c == nil || !c.Incoming || !c.Ringing() {
		m.fail("no incoming call is ringing")
		return
	}
	m.c.ChannelInviteAccept(c.Channel, c.Peer, 0, extra)
	c.State, c.Answered = "accepted", m.now()
	m.info(fmt.Sprintf("call with %s accepted (channel %s) — /dtmf DIGITS or p for the keypad, /end to hang up", c.Peer, c.Channel))
	m.closeInviteDialogs(c)
}

func (m *Model) refuseCall(c *Call, extra string) {
	if c == nil || !c.Incoming || !c.Ringing() {
		m.fail("no incoming call is ringing")
		return
	}
	m.c.ChannelInviteRefuse(c.Channel, c.Peer, 0, extra)
	c.State, c.Ended, c.Detail = "refused", m.now(), "by you"
	m.info(fmt.Sprintf("call from %s refused", c.Peer))
	m.closeInviteDialogs(c)
}

func (m *Model) endCall(c *Call) {
	if c == nil || !c.Live() {
		m.fail("no call to end")
		return
	}
	m.c.ChannelInviteEnd(c.Channel, c.Peer, 0)
}

func (m *Model) closeInviteDialogs(c *Call) {
	kept := m.dialogs[:0]
	for _, d := range m.dialogs {
		if id, ok := d.(*inviteDialog); ok && id.call == c {
			continue
		}
		kept = append(kept, d)
	}
	m.dialogs = kept
}

// userAttrsOf returns (creating) the user attribute map of an account.
func (m *Model) userAttrsOf(account string) map[string]string {
	a, ok := m.userAttrs[account]
	if !ok {
		a = map[string]string{}
		m.userAttrs[account] = a
		m.userAttrOrder = append(m.userAttrOrder, account)
	}
	return a
}

// fixFocus moves focus off a pane the current layout does not show.
func (m *Model) fixFocus() {
	if m.wide() {
		if m.focus == focusEvents && !m.showEvents {
			m.focus = focusComposer
		}
		return
	}
	for i, t := range narrowTabs {
		if t == m.focus {
			m.tab = i
		}
	}
}

func (m *Model) wide() bool { return m.width >= wideMin }

// focusOrder lists the panes the focus cycles through.
func (m *Model) focusOrder() []focusArea {
	if m.wide() {
		out := []focusArea{focusComposer, focusMessages, focusChats, focusPeers, focusAttrs, focusCalls}
		if m.showEvents {
			out = append(out, focusEvents)
		}
		return out
	}
	return []focusArea{focusComposer, focusMessages, narrowTabs[m.tab]}
}

func (m *Model) cycleFocus(d int) {
	order := m.focusOrder()
	i := 0
	for k, f := range order {
		if f == m.focus {
			i = k
		}
	}
	m.focus = order[(i+d+len(order))%len(order)]
}

// focusPane gives focus to a pane, bringing its tab forward when narrow.
func (m *Model) focusPane(f focusArea) {
	m.focus = f
	for i, t := range narrowTabs {
		if t == f {
			m.tab = i
		}
	}
	if f == focusEvents {
		m.showEvents = true
	}
}

// totalUnread counts unread messages everywhere.
func (m *Model) totalUnread() int {
	n := 0
	for _, c := range m.convs {
		n += c.Unread
	}
	return n
}

// nextUnread switches to the next conversation with unread messages.
func (m *Model) nextUnread() bool {
	list := m.orderedConvs()
	start := 0
	for i, c := range list {
		if c == m.active {
			start = i
		}
	}
	for k := 1; k <= len(list); k++ {
		c := list[(start+k)%len(list)]
		if c.Unread > 0 {
			m.switchTo(c)
			return true
		}
	}
	return false
}

// sanitize makes received text safe to draw: control characters (escape
// sequences a peer might send) become visible caret notation.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isCtl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20:
			b.WriteByte('^')
			b.WriteRune(r + 64)
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r < 0xa0:
			b.WriteRune('\ufffd')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isCtl(r rune) bool {
	return (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0)
}
