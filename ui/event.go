package ui

import (
	"fmt"
	"strings"
	"time"
)

// Event is one SDK callback, as data. Name is the callback's name without
// "On" (e.g. "MessageChannelReceive"); the other fields carry its arguments.
type Event struct {
	At       time.Time
	Name     string
	Channel  string
	Account  string
	Attr     string // attribute name, RPC name
	Value    string // attribute value, message text, response
	Typ      string // attribute change type, invite message type, error text
	Extra    string
	MsgID    string
	Code     int
	Num      int
	UID      uint32
	Accounts []string
}

// droppable events may be dropped (oldest first) when the queue is full:
// high-volume traffic whose loss the UI can tell the user about. Login
// state, invites, errors and everything else are never dropped.
func (e Event) droppable() bool {
	return e.Name == "MessageChannelReceive" || e.Name == "Log"
}

// String renders an event for the events inspector.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString("on" + e.Name + "(")
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("ch", e.Channel)
	add("account", e.Account)
	add("name", e.Attr)
	add("value", e.Value)
	add("type", e.Typ)
	add("extra", e.Extra)
	add("id", e.MsgID)
	if e.Code != 0 {
		parts = append(parts, fmt.Sprintf("code=%d", e.Code))
	}
	if e.Name == "ChannelQueryUserNumResult" || e.Name == "Reconnecting" {
		parts = append(parts, fmt.Sprintf("n=%d", e.Num))
	}
	if e.UID != 0 {
		parts = append(parts, fmt.Sprintf("uid=%d", e.UID))
	}
	if e.Accounts != nil {
		parts = append(parts, "accounts="+strings.Join(e.Accounts, ","))
	}
	b.WriteString(strings.Join(parts, " "))
	b.WriteString(")")
	return b.String()
}
