package sdk

import "sync"

// queue is an unbounded FIFO with a wake-up signal. push never blocks, so a
// producer (an API method, a socket reader, a timer) can never be stalled by
// a slow consumer. Exactly one goroutine consumes: it waits on sig, then
// takes everything queued so far.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	sig    chan struct{} // capacity 1: "something was pushed since the last take"
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{sig: make(chan struct{}, 1)}
}

// push appends v and wakes the consumer. It reports false, dropping v, once
// the queue is closed.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.sig <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns everything queued, oldest first.
func (q *queue[T]) take() []T {
	q.mu.Lock()
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}

// close makes later pushes fail; what is queued stays for take.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
