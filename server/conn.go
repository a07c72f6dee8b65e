package server

import (
	"bytes"
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
)

// maxBatchBytes bounds one outgoing WebSocket message: frames queued while a
// client is behind are packed into one message up to this size.
const maxBatchBytes = 32 << 10

// Conn is one client WebSocket. Its reader goroutine handles requests one at
// a time; its writer goroutine drains a queue bounded in bytes, so a client
// that stops reading is dropped instead of slowing anyone who sends to it.
type Conn struct {
	node *Node
	ws   *websocket.Conn
	fd   int
	addr string

	mu       sync.Mutex
	queue    [][]byte
	queued   int
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	sess     *Session // set once logged in; guarded by mu
	requests *rate.Limiter
}

func newConn(n *Node, ws *websocket.Conn, fd int, addr string) *Conn {
	return &Conn{
		node:     n,
		ws:       ws,
		fd:       fd,
		addr:     addr,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
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
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
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
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	close(c.done)
	_ = c.ws.Close()
}

// closeAfterFlush sends what is queued, then closes: for the last words to a
// client (kicked, goaway).
func (c *Conn) closeAfterFlush() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, nil) // nil marks "close after this"
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn) writeLoop() {
	var buf bytes.Buffer
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			q := c.queue
			c.queue = nil
			c.queued = 0
			c.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for len(q) > 0 {
				buf.Reset()
				n := 0
				for n < len(q) && q[n] != nil && (buf.Len() == 0 || buf.Len()+len(q[n]) < maxBatchBytes) {
					if buf.Len() > 0 {
						buf.WriteByte('\n')
					}
					buf.Write(q[n])
					n++
				}
				if buf.Len() > 0 {
					_ = c.ws.SetWriteDeadline(time.Now().Add(c.node.cfg.WriteTimeout))
					if err := c.ws.WriteMessage(websocket.TextMessage, buf.Bytes()); err != nil {
						c.close()
						return
					}
					c.node.metrics.framesOut.Add(uint64(n))
				}
				q = q[n:]
				if len(q) > 0 && q[0] == nil {
					_ = c.ws.SetWriteDeadline(time.Now().Add(time.Second))
					_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
					c.close()
					return
				}
			}
		}
	}
}

var errLoginFirst = wire.Errf(wire.GeneralNotLogin, "log in first")

// readLoop handles the connection's frames until it fails; then the session,
// if any, is detached (kept for resume during the grace period).
func (c *Conn) readLoop() {
	defer c.closeAndDetach()
	c.ws.SetReadLimit(wire.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.node.cfg.LoginTimeout))
	for {
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
		c.mu.Lock()
		sess := c.sess
		c.mu.Unlock()
		if sess != nil {
			_ = c.ws.SetReadDeadline(time.Now().Add(3 * c.node.cfg.Heartbeat))
		}
		frames, err := wire.Split(msg)
		for i := range frames {
			c.node.metrics.framesIn.Add(1)
			if !c.handleSafely(&frames[i]) {
				return
			}
		}
		if err != nil {
			c.node.metrics.badFrames.Add(1)
			c.send(wire.EncodeError(0, wire.Errf(wire.LogoutPacket, "%v", err)))
		}
	}
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
