package server

import (
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
)

// maxBatchBytes bounds one outgoing WebSocket message: frames queued while a
// client is behind are packed into one message up to this size.
const maxBatchBytes = 32 << 10

// Conn is one client WebSocket. Its reader goroutine handles requests one at
// a time. What is sent to it is queued, bounded in bytes, and written by a
// flusher goroutine that exists only while there is something to write, so
// an idle connection costs one goroutine; a client that stops reading is
// dropped instead of slowing anyone who sends to it.
type Conn struct {
	node *Node
	ws   *websocket.Conn
	fd   int
	addr string

	mu       sync.Mutex
	queue    [][]byte // nil entry: close after what precedes it
	queued   int
	flushing bool         // a flusher goroutine is writing the queue
	queuedAt atomic.Int64 // unix ns when the queue last went from empty to not (written under mu)
	closed   bool
	// lingering: closed for sending, the close frame written, the reader
	// still reading until the client closes (linger).
	lingering bool
	sess      *Session // set once logged in; guarded by mu
	requests  *rate.Limiter
	amu       sync.Mutex  // guards answers; taken before mu and Session.mu, never under them
	answers   answerQueue // answers still to come, in request order (answers.go)
}

func newConn(n *Node, ws *websocket.Conn, fd int, addr string) *Conn {
	return &Conn{
		node:     n,
		ws:       ws,
		fd:       fd,
		addr:     addr,
		requests: rate.NewLimiter(rate.Limit(n.cfg.RequestRate), n.cfg.RequestRate),
	}
}

// send queues an encoded frame. It never blocks; a connection whose queue
// passes the byte limit is closed (its session can resume elsewhere).
func (c *Conn) send(b []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.queued > 0 && c.queued+len(b) > c.node.cfg.OutboundBytes {
		c.mu.Unlock()
		c.node.metrics.slowDrops.Add(1)
		c.node.log.Warn("dropping slow client", "fd", c.fd, "addr", c.addr)
		c.close()
		return
	}
	c.enqueueLocked(b)
	c.mu.Unlock()
	if h := sendHook.Load(); h != nil {
		(*h)(c, b)
	}
}

// sendHook, set by a test, sees every frame queued to a connection, on the
// sending thread, which it may hold to force an interleaving.
var sendHook atomic.Pointer[func(c *Conn, frame []byte)]

// enqueueLocked queues b (nil: close after what precedes it) for the
// flusher, noting when the queue stopped being empty: flush reads from that
// how far behind the node is.
func (c *Conn) enqueueLocked(b []byte) {
	if len(c.queue) == 0 {
		c.queuedAt.Store(time.Now().UnixNano())
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.startFlushLocked()
}

// startFlushLocked starts the flusher unless it runs. The reader holds the
// node's WaitGroup until it closes the connection, so the Add cannot race
// Shutdown's Wait. (Writing a client's answers from its reader instead was
// tried: 25% fewer p2p round trips per second, for 15% more fan-out.)
func (c *Conn) startFlushLocked() {
	if !c.flushing {
		c.flushing = true
		c.node.wg.Add(1)
		go c.flush()
	}
}

func (c *Conn) reply(id uint64, v any) {
	if v == nil {
		v = struct{}{}
	}
	c.answer(id, wire.MustEncode(id, wire.OpResult, v))
}

func (c *Conn) replyErr(id uint64, e *wire.Error) { c.answer(id, wire.EncodeError(id, e)) }

// answer sends the answer to request id and, once logged in, remembers it.
func (c *Conn) answer(id uint64, b []byte) {
	if s := c.session(); s != nil && id != 0 {
		s.remember(id, b)
	}
	c.send(b)
}

// close shuts the socket; the reader notices and detaches the session.
func (c *Conn) close() {
	c.mu.Lock()
	if c.closed && !c.lingering {
		c.mu.Unlock()
		return
	}
	c.closed, c.lingering = true, false
	c.queue = nil
	c.mu.Unlock()
	_ = c.ws.Close()
}

// closeAfterFlush sends what is queued, then closes: for the last words to a
// client (kicked, goaway).
func (c *Conn) closeAfterFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.enqueueLocked(nil)
}

// behindAfter is how long a frame may wait for its connection's flusher to
// start before the node counts as behind on writes; a goroutine not held up
// by a queue of others starts within microseconds.
const behindAfter = time.Millisecond

// flush is the flusher goroutine. How long the first queued frame already
// waited for it to start says how far behind on writes the node is; that far
// behind it waits as long again (up to FlushDelay), so that one write then
// carries what comes meanwhile. A write is a system call that costs far more
// than the frames in it: under load, fewer and fuller writes are what lets
// the node catch up (measured: 5,000 members, ~7 frames per write and
// 0.4–0.7 M deliveries/s without the wait, 20–43 and 1.0–2.0 M/s with 20 ms).
// A node that is not behind writes at once: a lone conversation never waits.
func (c *Conn) flush() {
	defer c.node.wg.Done()
	busy := c.node.flushers.Add(1) > busyFlushers
	defer c.node.flushers.Add(-1)
	if limit := c.node.cfg.FlushDelay; limit > 0 {
		behind := time.Duration(time.Now().UnixNano() - c.queuedAt.Load())
		if busy {
			behind = max(behind, behindAfter)
		}
		if behind >= behindAfter {
			time.Sleep(min(behind, limit))
		}
	}
	c.drain()
}

// busyFlushers is how many flushers may run at once before the node counts
// as behind on writes even where each starts at once: a fan-out on two
// cores starts hundreds together, and without a wait every one of them
// writes a single frame, which keeps the node too busy to fall behind (a
// cluster node fanning out a channel's messages stayed there: one write
// per delivery, 0.1 M deliveries/s where it could do 1.5 M).
const busyFlushers = 64

// drain writes the queue until it is empty, packing the frames queued while
// it wrote into one WebSocket message each (up to maxBatchBytes), then
// clears flushing.
func (c *Conn) drain() {
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.queued = 0
		if len(q) == 0 || c.closed {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for len(q) > 0 {
			if q[0] == nil {
				c.linger()
				return
			}
			n, err := c.writeBatch(q)
			if err != nil {
				c.close()
				c.mu.Lock()
				c.flushing = false
				c.mu.Unlock()
				return
			}
			c.node.metrics.framesOut.Add(uint64(n))
			q = q[n:]
		}
	}
}

// closeLinger is how long a connection told to close still reads what its
// client sent before it heard: the acknowledgements among it are applied
// (a shutdown loses no receipt), whatever else is handled as usual.
const closeLinger = time.Second

// linger, on the flusher, writes the close frame and leaves the socket
// to the reader, which ends it when the client answers the close or
// closeLinger has passed. Nothing more is sent.
func (c *Conn) linger() {
	c.mu.Lock()
	c.closed, c.lingering = true, true
	c.queue = nil
	c.flushing = false
	c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	_ = c.ws.SetReadDeadline(time.Now().Add(closeLinger))
}

// writeBatch writes the leading frames of q (up to a close marker or
// maxBatchBytes) as one '\n'-separated message and returns how many.
func (c *Conn) writeBatch(q [][]byte) (int, error) {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.node.cfg.WriteTimeout))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return 0, err
	}
	n, err := wire.WriteFrames(w, q, maxBatchBytes)
	if err != nil {
		return n, err
	}
	return n, w.Close()
}

var errLoginFirst = wire.Errf(wire.GeneralNotLogin, "log in first")

// readLoop handles the connection's frames until it fails; then the session,
// if any, is detached (kept for resume during the grace period).
func (c *Conn) readLoop() {
	c.ws.SetReadLimit(wire.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.node.cfg.LoginTimeout))
	c.readFrames()
}

// readFrames reads until the connection ends, then closes it. After a login
// or a join, the deepest requests, it goes on in a fresh goroutine instead:
// the stack this one grew for them would otherwise stay with the idle
// connection (8 KiB, half its memory), since a GC shrinks a stack only to
// four times what is in use.
func (c *Conn) readFrames() {
	handedOver := false
	defer func() {
		if !handedOver {
			c.closeAndDetach()
		}
	}()
	for {
		// Silence is counted from here: a client is not dead because its
		// last requests took long to handle (a slow disk).
		c.mu.Lock()
		sess, lingering := c.sess, c.lingering
		c.mu.Unlock()
		if sess != nil && !lingering {
			_ = c.ws.SetReadDeadline(time.Now().Add(3 * c.node.cfg.Heartbeat))
		}
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) && !errors.Is(err, websocket.ErrReadLimit) {
				c.node.log.Debug("read ended", "fd", c.fd, "err", err)
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				c.node.log.Warn("frame over the size limit", "fd", c.fd, "addr", c.addr)
			}
			return
		}
		if typ != websocket.TextMessage {
			c.send(wire.EncodeError(0, wire.Errf(wire.GeneralWrongParam, "binary messages are not part of the protocol")))
			continue
		}
		deep, ok := c.process(msg)
		if !ok {
			return
		}
		if deep {
			// This goroutine holds the node's WaitGroup: the Add cannot
			// race Shutdown's Wait.
			handedOver = true
			c.node.wg.Add(1)
			go func() { defer c.node.wg.Done(); c.readFrames() }()
			return
		}
	}
}

// process handles the frames of one client message; false ends the
// connection. deep reports a login or a join among them.
func (c *Conn) process(msg []byte) (deep, ok bool) {
	frames, err := wire.Split(msg)
	for i := range frames {
		c.node.metrics.framesIn.Add(1)
		deep = deep || frames[i].Op == wire.OpLogin || frames[i].Op == wire.OpChannelJoin
		if !c.handleSafely(&frames[i]) {
			return deep, false
		}
	}
	if err != nil {
		c.node.metrics.badFrames.Add(1)
		c.send(wire.EncodeError(0, wire.Errf(wire.LogoutPacket, "%v", err)))
	}
	return deep, true
}

// loggedIn gives a logged-in client the heartbeat's read deadline instead of the login's.
func (c *Conn) loggedIn() {
	_ = c.ws.SetReadDeadline(time.Now().Add(3 * c.node.cfg.Heartbeat))
}

// handleSafely handles a frame; a panic is a bug of ours, logged with its
// stack, and costs this client its connection, not the server its life.
func (c *Conn) handleSafely(f *wire.Frame) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.node.log.Error("panic handling a frame", "op", f.Op, "fd", c.fd, "panic", r, "stack", string(debug.Stack()))
			c.replyErr(f.ID, wire.Errf(wire.GeneralUnknown, "internal error"))
			ok = false
		}
	}()
	c.handle(f)
	return true
}

func (c *Conn) closeAndDetach() {
	c.close()
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess != nil {
		sess.detach(c)
	}
	if _, ok := c.node.conns.LoadAndDelete(c); ok {
		c.node.release(c.addr)
	}
}

func (c *Conn) session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}
