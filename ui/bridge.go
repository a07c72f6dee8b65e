package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
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

// sdkBatchMsg carries the events that arrived since the last batch, with
// how many droppable events were dropped meanwhile.
type sdkBatchMsg struct {
	Events  []Event
	Dropped int
}

// Queue is a bounded queue from the SDK's callback goroutine to the UI. Push
// never blocks: when the queue is full it drops the oldest droppable event
// (and counts it) or, when nothing in it may be dropped, grows past its
// bound rather than lose an invite, a login state or an error.
type Queue struct {
	mu      sync.Mutex
	events  []Event
	max     int
	dropped int // since the last Take
	total   int // ever
	notify  chan struct{}
	closed  chan struct{}
	once    sync.Once
	now     func() time.Time
}

// NewQueue makes a queue holding up to max events before it drops.
func NewQueue(max int) *Queue {
	if max < 1 {
		max = 1
	}
	return &Queue{max: max, notify: make(chan struct{}, 1), closed: make(chan struct{}), now: time.Now}
}

// Push adds an event; it never blocks.
func (q *Queue) Push(e Event) {
	if e.At.IsZero() {
		e.At = q.now()
	}
	q.mu.Lock()
	if len(q.events) >= q.max {
		if !q.dropOldestLocked() && e.droppable() {
			// nothing older may go: drop the newcomer instead
			q.dropped++
			q.total++
			q.mu.Unlock()
			return
		}
	}
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// dropOldestLocked frees room by dropping the oldest droppable events, a
// quarter of the bound at a time so a sustained burst costs O(1) per push.
func (q *Queue) dropOldestLocked() bool {
	want := q.max / 4
	if want < 1 {
		want = 1
	}
	n := 0
	kept := q.events[:0]
	for _, old := range q.events {
		if n < want && old.droppable() {
			n++
			continue
		}
		kept = append(kept, old)
	}
	for i := len(kept); i < len(q.events); i++ {
		q.events[i] = Event{}
	}
	q.events = kept
	q.dropped += n
	q.total += n
	return n > 0
}

// Take removes up to n events without waiting.
func (q *Queue) Take(n int) sdkBatchMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n > len(q.events) {
		n = len(q.events)
	}
	out := sdkBatchMsg{Events: append([]Event(nil), q.events[:n]...), Dropped: q.dropped}
	q.events = append(q.events[:0], q.events[n:]...)
	q.dropped = 0
	if len(q.events) > 0 { // more to come: make sure the next wait wakes
		select {
		case q.notify <- struct{}{}:
		default:
		}
	}
	return out
}

// Len is the number of queued events.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

// Dropped is how many events were dropped since the queue was made.
func (q *Queue) Dropped() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// Wait blocks until events are queued (or dropped), the queue is closed, or
// ctx ends, and returns up to n of them. ok is false once closed.
func (q *Queue) Wait(ctx context.Context, n int) (sdkBatchMsg, bool) {
	for {
		q.mu.Lock()
		ready := len(q.events) > 0 || q.dropped > 0
		q.mu.Unlock()
		if ready {
			return q.Take(n), true
		}
		select {
		case <-q.notify:
		case <-q.closed:
			return sdkBatchMsg{}, false
		case <-ctx.Done():
			return sdkBatchMsg{}, false
		}
	}
}

// Close wakes every waiter for good.
func (q *Queue) Close() { q.once.Do(func() { close(q.closed) }) }

// batchMax is how many events one sdkBatchMsg carries at most.
const batchMax = 512

// waitCmd is the tea.Cmd that delivers the next batch of SDK events.
func (q *Queue) waitCmd() tea.Cmd {
	return func() tea.Msg {
		b, ok := q.Wait(context.Background(), batchMax)
		if !ok {
			return nil
		}
		return b
	}
}

// Bridge is the SDK Callback (and AttrAuthorCallback) of the client: each
// callback becomes an Event in the queue, so the SDK's callback goroutine
// never waits for the UI.
type Bridge struct {
	sdk.BaseCallback
	Q *Queue
}

var (
	_ sdk.Callback           = (*Bridge)(nil)
	_ sdk.AttrAuthorCallback = (*Bridge)(nil)
)

func (b *Bridge) push(e Event) { b.Q.Push(e) }

func (b *Bridge) OnReconnecting(n uint32) { b.push(Event{Name: "Reconnecting", Num: int(n)}) }
func (b *Bridge) OnReconnected(fd int)    { b.push(Event{Name: "Reconnected"}) }
func (b *Bridge) OnLoginSuccess(uid uint32, fd int) {
	b.push(Event{Name: "LoginSuccess", UID: uid})
}
func (b *Bridge) OnLogout(code int)      { b.push(Event{Name: "Logout", Code: code}) }
func (b *Bridge) OnLoginFailed(code int) { b.push(Event{Name: "LoginFailed", Code: code}) }
func (b *Bridge) OnError(name string, code int, desc string) {
	b.push(Event{Name: "Error", Attr: name, Code: code, Typ: desc})
}
func (b *Bridge) OnLog(txt string) { b.push(Event{Name: "Log", Value: txt}) }
func (b *Bridge) OnInvokeRet(callID, err, resp string) {
	b.push(Event{Name: "InvokeRet", MsgID: callID, Typ: err, Value: resp})
}
func (b *Bridge) OnQueryUserStatusResult(name, status string) {
	b.push(Event{Name: "QueryUserStatusResult", Account: name, Value: status})
}
func (b *Bridge) OnUserAttrResult(account, name, value string) {
	b.push(Event{Name: "UserAttrResult", Account: account, Attr: name, Value: value})
}
func (b *Bridge) OnUserAttrAllResult(account, value string) {
	b.push(Event{Name: "UserAttrAllResult", Account: account, Value: value})
}
func (b *Bridge) OnMessageSendError(id string, code int) {
	b.push(Event{Name: "MessageSendError", MsgID: id, Code: code})
}
func (b *Bridge) OnMessageSendSuccess(id string) {
	b.push(Event{Name: "MessageSendSuccess", MsgID: id})
}
func (b *Bridge) OnMessageInstantReceive(account string, uid uint32, msg string) {
	b.push(Event{Name: "MessageInstantReceive", Account: account, UID: uid, Value: msg})
}
func (b *Bridge) OnMessageChannelReceive(ch, account string, uid uint32, msg string) {
	b.push(Event{Name: "MessageChannelReceive", Channel: ch, Account: account, UID: uid, Value: msg})
}
func (b *Bridge) OnChannelJoined(ch string) { b.push(Event{Name: "ChannelJoined", Channel: ch}) }
func (b *Bridge) OnChannelJoinFailed(ch string, code int) {
	b.push(Event{Name: "ChannelJoinFailed", Channel: ch, Code: code})
}
func (b *Bridge) OnChannelLeaved(ch string, code int) {
	b.push(Event{Name: "ChannelLeaved", Channel: ch, Code: code})
}
func (b *Bridge) OnChannelUserJoined(account string, uid uint32) {
	b.push(Event{Name: "ChannelUserJoined", Account: account, UID: uid})
}
func (b *Bridge) OnChannelUserLeaved(account string, uid uint32) {
	b.push(Event{Name: "ChannelUserLeaved", Account: account, UID: uid})
}
func (b *Bridge) OnChannelUserList(accounts []string, uids []uint32) {
	b.push(Event{Name: "ChannelUserList", Accounts: append([]string{}, accounts...)})
}
func (b *Bridge) OnChannelQueryUserNumResult(ch string, code, num int) {
	b.push(Event{Name: "ChannelQueryUserNumResult", Channel: ch, Code: code, Num: num})
}
func (b *Bridge) OnChannelAttrUpdated(ch, name, value, typ string) {
	b.push(Event{Name: "ChannelAttrUpdated", Channel: ch, Attr: name, Value: value, Typ: typ})
}
func (b *Bridge) OnChannelAttrChangedBy(ch, name, typ, by string) {
	b.push(Event{Name: "ChannelAttrChangedBy", Channel: ch, Attr: name, Typ: typ, Account: by})
}
func (b *Bridge) OnInviteReceived(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteReceived", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteReceivedByPeer(ch, account string, uid uint32) {
	b.push(Event{Name: "InviteReceivedByPeer", Channel: ch, Account: account, UID: uid})
}
func (b *Bridge) OnInviteAcceptedByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteAcceptedByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteRefusedByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteRefusedByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteFailed(ch, account string, uid uint32, code int, extra string) {
	b.push(Event{Name: "InviteFailed", Channel: ch, Account: account, UID: uid, Code: code, Extra: extra})
}
func (b *Bridge) OnInviteEndByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteEndByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteEndByMyself(ch, account string, uid uint32) {
	b.push(Event{Name: "InviteEndByMyself", Channel: ch, Account: account, UID: uid})
}
func (b *Bridge) OnInviteMsg(ch, account string, uid uint32, typ, data, extra string) {
	b.push(Event{Name: "InviteMsg", Channel: ch, Account: account, UID: uid, Typ: typ, Value: data, Extra: extra})
}
