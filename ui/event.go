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

// fields are the event's arguments that are set, as name and value.
func (e Event) fields() [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
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
		add("code", fmt.Sprint(e.Code))
	}
	if e.Name == "ChannelQueryUserNumResult" || e.Name == "Reconnecting" {
		add("n", fmt.Sprint(e.Num))
	}
	if e.UID != 0 {
		add("uid", fmt.Sprint(e.UID))
	}
	if e.Accounts != nil {
		out = append(out, [2]string{"accounts", strings.Join(e.Accounts, ",")})
	}
	return out
}

// String renders an event for the events inspector.
func (e Event) String() string {
	parts := make([]string, 0, 4)
	for _, f := range e.fields() {
		parts = append(parts, f[0]+"="+f[1])
	}
	return "on" + e.Name + "(" + strings.Join(parts, " ") + ")"
}
