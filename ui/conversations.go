package ui

import (
	"strings"
	"time"
)

// msgKind tells how a message line is drawn.
type msgKind int

const (
	kindChat   msgKind = iota // someone's message
	kindSystem                // a notice from the client (joins, results)
	kindError                 // a failure, shown where the user acted
)

// sendState is the life of one of your own messages.
type sendState int

const (
	stateNone    sendState = iota // not yours, or not tracked
	stateSending                  // handed to the SDK
	stateSent                     // onMessageSendSuccess: the server stored it
	stateFailed                   // onMessageSendError
)

func (s sendState) String() string {
	switch s {
	case stateSending:
		return "sending"
	case stateSent:
		return "sent"
	case stateFailed:
		return "failed"
	}
	return ""
}

// Message is one line of a conversation.
type Message struct {
	At     time.Time
	From   string
	Text   string
	Kind   msgKind
	Own    bool
	State  sendState
	Reason string // why it failed
	ID     string // the SDK message id of an own message
	echoed bool   // own channel message already seen coming back
	// Notable: a notice that counts as unread like a message (a missed call)
	Notable bool
	conv    string // an own message's conversation, for the history once sent

	// wrap cache: the rendered lines for one width and style generation
	cacheW   int
	cacheGen int
	cacheSt  sendState
	lines    []string
}

// convKind tells a channel from a peer conversation.
type convKind int

const (
	convChannel convKind = iota
	convPeer
	convSystem
)

// Conversation is a channel's or a peer's message history.
type Conversation struct {
	Kind     convKind
	Name     string // channel name or peer account
	Msgs     []*Message
	Unread   int
	Mentions int // unread messages that name you (@account)
	Ruler    int // index of the first message under the "new" ruler; -1 none

	// view position: follow the newest, or show from (top, topLine) down
	Follow  bool
	Top     int // index of the first message shown
	TopLine int // its first line shown

	LastActivity time.Time
	histLoaded   bool // its history is in Msgs
}

// Key is how a conversation is named on screen: "#channel" or "@account".
func (c *Conversation) Key() string { return convKey(c.Kind, c.Name) }

func convKey(k convKind, name string) string {
	switch k {
	case convChannel:
		return "#" + name
	case convPeer:
		return "@" + name
	}
	return name
}

// conv returns the conversation, creating it.
func (m *Model) conv(k convKind, name string) *Conversation {
	p := &m.chats
	key := convKey(k, name)
	if c, ok := p.byKey[key]; ok {
		return c
	}
	c := &Conversation{Kind: k, Name: name, Ruler: -1, Follow: true, LastActivity: m.now()}
	p.byKey[key] = c
	p.convs = append(p.convs, c)
	if k == convChannel {
		m.channels[name] = true
	} else if k == convPeer {
		m.accounts[name] = true
	}
	m.loadHistory(c)
	return c
}

func (m *Model) switchTo(c *Conversation) {
	if c == nil {
		return
	}
	p := &m.chats
	if p.active != nil && p.active != c {
		p.active.Ruler = -1 // read: the ruler is gone next time
	}
	p.active = c
	if c.Unread > 0 {
		c.Ruler = len(c.Msgs) - c.Unread
		if c.Ruler < 0 {
			c.Ruler = 0
		}
		c.Unread, c.Mentions = 0, 0
	}
	c.Follow = true
	for i, o := range p.ordered() {
		if o == c {
			p.sel = i
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
	if msg.Own || (msg.Kind != kindChat && !msg.Notable) {
		return
	}
	active := m.chats.active
	if c == active && c.Follow {
		return
	}
	if c.Unread == 0 && c == active {
		c.Ruler = len(c.Msgs) - 1
	}
	c.Unread++
	if c.Kind == convPeer || m.mentions(msg.Text) {
		c.Mentions++ // a direct message, or your name in a channel
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

func (m *Model) closeConv(c *Conversation) {
	p := &m.chats
	for i, o := range p.convs {
		if o == c {
			p.convs = append(p.convs[:i], p.convs[i+1:]...)
			break
		}
	}
	delete(p.byKey, c.Key())
	if p.active == c {
		m.switchTo(p.byKey["xinling"])
	}
}

// nextUnread switches to the next conversation with unread messages.
func (m *Model) nextUnread() bool {
	list := m.chats.ordered()
	start := 0
	for i, c := range list {
		if c == m.chats.active {
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
