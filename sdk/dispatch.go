package sdk

import (
	"sync"
	"sync/atomic"
)

// event is one callback invocation, bound to its arguments.
type event func(Callback)

// dispatcher runs an instance's callbacks on one goroutine, in the order
// they were emitted. The engine emits through an unbounded queue, so a slow
// callback delays only later callbacks, never the engine.
type dispatcher struct {
	q        *queue[event]
	get      func() Callback
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	inCall   atomic.Bool // a callback is running
}

func newDispatcher(get func() Callback) *dispatcher {
	return &dispatcher{
		q:    newQueue[event](),
		get:  get,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// emit queues ev; it is dropped once the dispatcher is stopped.
func (d *dispatcher) emit(ev event) { d.q.push(ev) }

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		select {
		case <-d.q.sig:
		case <-d.stop:
			return
		}
		for _, ev := range d.q.take() {
			select {
			case <-d.stop:
				return
			default:
			}
			// No lock is held here: the callback may call any method.
			d.inCall.Store(true)
			ev(d.get())
			d.inCall.Store(false)
		}
	}
}

// stopAndWait drops undelivered events and waits for the goroutine to end,
// unless a callback is running (possibly the caller itself): then it ends
// when that callback returns.
func (d *dispatcher) stopAndWait() {
	d.stopOnce.Do(func() {
		d.q.close()
		close(d.stop)
	})
	if d.inCall.Load() {
		return
	}
	<-d.done
}
