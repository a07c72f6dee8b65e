package ui

import (
	"context"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
)

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
