package ui

import (
	"sort"
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

// Call is one invite, incoming or outgoing, and what became of it.
type Call struct {
	Channel  string
	Peer     string
	Incoming bool
	State    string // calling, ringing, accepted, refused, ended, failed
	Detail   string // failure reason, who ended
	Extra    string
	Started  time.Time
	Deadline time.Time // while unanswered: when it expires
	Answered time.Time // when accepted
	Ended    time.Time
	DTMF     string // digits sent and received
}

// Live reports whether the call is still ringing or accepted.
func (c *Call) Live() bool {
	switch c.State {
	case "calling", "ringing", "accepted":
		return true
	}
	return false
}

// Ringing reports whether the call waits for an answer.
func (c *Call) Ringing() bool { return c.State == "calling" || c.State == "ringing" }

// Attr is one channel attribute.
type Attr struct {
	Name    string
	Value   string
	Changed time.Time // for the flash
	By      string
}

// AttrChange is one line of the change log.
type AttrChange struct {
	At    time.Time
	Typ   string
	Name  string
	Value string
	By    string
	byOK  bool // the author arrived
}

// Attrs is the current channel's attribute table and change log.
type Attrs struct {
	Channel string
	Items   map[string]*Attr
	Log     []AttrChange
}

// Sorted returns user attributes then built-in ("_") ones, each by name.
func (a *Attrs) Sorted() (user, builtin []*Attr) {
	for _, it := range a.Items {
		if strings.HasPrefix(it.Name, "_") {
			builtin = append(builtin, it)
		} else {
			user = append(user, it)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	sort.Slice(builtin, func(i, j int) bool { return builtin[i].Name < builtin[j].Name })
	return
}

// logEvent is one line of the events inspector.
type logEvent struct {
	At   time.Time
	Text string
}

// ring is a bounded list of the newest events.
type ring struct {
	items []logEvent
	start int
	max   int
}

func (r *ring) add(e logEvent) {
	if len(r.items) < r.max {
		r.items = append(r.items, e)
		return
	}
	r.items[r.start] = e
	r.start = (r.start + 1) % r.max
}

func (r *ring) len() int { return len(r.items) }

func (r *ring) at(i int) logEvent { return r.items[(r.start+i)%len(r.items)] }
