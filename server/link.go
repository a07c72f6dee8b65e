package server

import (
	"errors"
	"sync"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// In a cluster one node, the core, runs every session and channel; the
// others are edges that hold their clients' WebSockets and relay frames to
// and from it. The core sees an edge's client as a linked Conn: the same
// logic, with frames coming from and going to a Link instead of a socket.

// Link is the core's way back to a client whose WebSocket is on an edge.
// Its methods queue and return at once.
type Link interface {
	// Write queues one encoded frame to the client.
	Write(frame []byte)
	// Close closes the client's connection, after what is queued when flush.
	Close(flush bool)
	// ReadTimeout tells the edge the client, now logged in, must send
	// something every d.
	ReadTimeout(d time.Duration)
}

// LinkID names a client connection on an edge.
type LinkID struct {
	Edge string
	Conn uint64
}

// Upstream is where an edge relays its clients' messages (the core). Open
// may wait for the core's answer; the others queue and return at once.
type Upstream interface {
	Open(conn uint64, addr string) error
	Message(conn uint64, msg []byte)
	Gone(conn uint64)
}

// maxInbox bounds what a linked client may have queued at the core before
// the core drops it, as a slow reader is dropped.
const maxInbox = 4 << 20

// inbox is a linked connection's queue of client messages, read by its
// reader goroutine in order.
type inbox struct {
	mu     sync.Mutex
	msgs   [][]byte
	bytes  int
	closed bool
	ending bool // no more messages come; pop returns those queued, then false
	wake   chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

// push queues a message; false when the inbox is closed or over its bound.
func (b *inbox) push(msg []byte) bool {
	b.mu.Lock()
	if b.closed || b.ending || b.bytes+len(msg) > maxInbox {
		b.mu.Unlock()
		return false
	}
	b.msgs = append(b.msgs, msg)
	b.bytes += len(msg)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// pop waits for the next message; false once closed.
func (b *inbox) pop() ([]byte, bool) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, false
		}
		if len(b.msgs) > 0 {
			m := b.msgs[0]
			b.msgs[0] = nil
			b.msgs = b.msgs[1:]
			b.bytes -= len(m)
			b.mu.Unlock()
			return m, true
		}
		if b.ending {
			b.mu.Unlock()
			return nil, false
		}
		b.mu.Unlock()
		<-b.wake
	}
}

// end lets the reader handle what is queued, then stop: a client's last
// message (a logout) arrives just before the news that it left.
func (b *inbox) end() {
	b.mu.Lock()
	b.ending = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.msgs = nil
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

var errStopping = errors.New("server shutting down")

// OpenLink makes a Conn for a client on an edge. Its reader goroutine
// handles the messages LinkMessage queues, as a socket's reader would.
func (n *Node) OpenLink(id LinkID, addr string, l Link) error {
	n.stopMu.Lock()
	if n.stopping {
		n.stopMu.Unlock()
		return errStopping
	}
	n.wg.Add(1)
	n.stopMu.Unlock()
	c := newConn(n, nil, int(n.fds.Add(1)), addr)
	c.link, c.lid, c.in = l, id, newInbox()
	if old, ok := n.links.Swap(id, c); ok {
		// An id reused: the old client is gone. Its end must not reach the
		// edge, where the id now names the new one.
		o := old.(*Conn)
		o.mu.Lock()
		o.closed = true
		o.mu.Unlock()
		o.in.close()
	}
	n.conns.Store(c, struct{}{})
	go func() {
		defer n.wg.Done()
		defer c.closeAndDetach()
		for {
			msg, ok := c.in.pop()
			if !ok {
				return
			}
			if _, ok := c.process(msg); !ok {
				return
			}
		}
	}()
	return nil
}

// LinkMessage queues a client message for its linked Conn. False means the
// core does not know the connection (the edge should close it); a client
// that has queued too much is dropped.
func (n *Node) LinkMessage(id LinkID, msg []byte) bool {
	v, ok := n.links.Load(id)
	if !ok {
		return false
	}
	c := v.(*Conn)
	if !c.in.push(msg) {
		n.metrics.slowDrops.Add(1)
		n.log.Warn("dropping linked client: too much unhandled input", "edge", id.Edge, "conn", id.Conn)
		c.close()
	}
	return true
}

// LinkGone ends a linked Conn whose client went away, once the messages it
// sent before are handled; its session then waits for a resume like any other.
func (n *Node) LinkGone(id LinkID) {
	if v, ok := n.links.Load(id); ok {
		v.(*Conn).in.end()
	}
}

// DropEdge ends every linked Conn of an edge that went silent.
func (n *Node) DropEdge(edge string) int {
	dropped := 0
	n.links.Range(func(k, v any) bool {
		if k.(LinkID).Edge == edge {
			n.LinkGone(k.(LinkID))
			dropped++
		}
		return true
	})
	return dropped
}

// The edge side: a Node whose Config has an Upstream relays instead of handling.

func (n *Node) edgeConn(conn uint64) (*Conn, bool) {
	v, ok := n.edgeConns.Load(conn)
	if !ok {
		return nil, false
	}
	return v.(*Conn), true
}

// Deliver queues frames from the core to a client of this edge.
func (n *Node) Deliver(conn uint64, frames ...[]byte) bool {
	c, ok := n.edgeConn(conn)
	if ok {
		for _, f := range frames {
			c.send(f)
		}
	}
	return ok
}

// CloseConn closes a client of this edge for the core, after what is
// queued when flush.
func (n *Node) CloseConn(conn uint64, flush bool) {
	if c, ok := n.edgeConn(conn); ok {
		if flush {
			c.closeAfterFlush()
		} else {
			c.close()
		}
	}
}

// SetReadTimeout gives a client of this edge the core's read deadline.
func (n *Node) SetReadTimeout(conn uint64, d time.Duration) {
	if c, ok := n.edgeConn(conn); ok {
		c.readTimeout.Store(int64(d))
		_ = c.ws.SetReadDeadline(time.Now().Add(d))
	}
}

// CloseAll tells every client of this edge to go away and closes it: the
// core it was relayed to is gone, and its SDK reconnects to the new one.
func (n *Node) CloseAll(reason string) int {
	goaway := wire.MustEncode(0, wire.PushGoAway, wire.GoAway{Reason: reason})
	closed := 0
	n.edgeConns.Range(func(_, v any) bool {
		c := v.(*Conn)
		c.send(goaway)
		c.closeAfterFlush()
		closed++
		return true
	})
	return closed
}
