package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/xinling/xinling/sdk/wire"
)

// writeWait bounds one write to the socket.
const writeWait = 10 * time.Second

// readLimit bounds one received WebSocket message. The protocol bounds a
// message at wire.MaxFrameBytes; the SDK accepts more, so that a server that
// packs many queued frames into one message is never cut off.
const readLimit = 128 * wire.MaxFrameBytes // 16 MiB: a join answer with 256 attributes of 8 KB, escaped, fits

// conn is one WebSocket connection to the server, with a reader and a writer
// goroutine. It knows nothing of the protocol's state: the reader hands
// every frame to the engine, tagged with the connection, and the engine
// drops frames of connections it no longer uses.
type conn struct {
	gen uint64 // the engine's generation number for this connection
	ws  *websocket.Conn
	out *queue[[]byte] // frames to write; a nil entry means "close now"

	mu     sync.Mutex
	closed bool
	kill   *time.Timer // bounds a graceful close
	done   chan struct{}
}

// startConn wraps ws and starts its goroutines (counted in c.wg).
func (c *Client) startConn(gen uint64, ws *websocket.Conn) *conn {
	cn := &conn{gen: gen, ws: ws, out: newQueue[[]byte](), done: make(chan struct{})}
	ws.SetReadLimit(readLimit)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); cn.writeLoop() }()
	go func() { defer c.wg.Done(); c.readLoop(cn) }()
	return cn
}

// send queues one encoded frame; it never blocks.
func (cn *conn) send(b []byte) { cn.out.push(b) }

// abort closes the socket at once. Idempotent; safe from any goroutine.
func (cn *conn) abort() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closed {
		return
	}
	cn.closed = true
	if cn.kill != nil {
		cn.kill.Stop()
	}
	close(cn.done)
	cn.out.close()
	cn.ws.Close()
}

// closeGraceful writes what is queued, then a close message, then closes
// the socket; after d at most it aborts.
func (cn *conn) closeGraceful(d time.Duration) {
	if !cn.out.push(nil) {
		return
	}
	cn.out.close()
	cn.mu.Lock()
	if !cn.closed {
		cn.kill = time.AfterFunc(d, cn.abort)
	}
	cn.mu.Unlock()
}

// writeLoop writes what is queued; frames queued while it wrote go out
// together, '\n'-separated in one message of at most wire.MaxFrameBytes, as
// the server packs its own: a write is a system call (and, on loopback, the
// receiver's network stack too), far dearer than the bytes in it.
func (cn *conn) writeLoop() {
	for {
		select {
		case <-cn.out.sig:
		case <-cn.done:
			return
		}
		q := cn.out.take()
		for len(q) > 0 {
			if q[0] == nil {
				_ = cn.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
					time.Now().Add(time.Second))
				cn.abort()
				return
			}
			n, err := cn.writeBatch(q)
			if err != nil {
				cn.abort() // the reader sees the error and reports the loss
				return
			}
			q = q[n:]
		}
	}
}

// writeBatch writes the leading frames of q (up to a close marker or
// wire.MaxFrameBytes in all) as one message and returns how many.
func (cn *conn) writeBatch(q [][]byte) (int, error) {
	_ = cn.ws.SetWriteDeadline(time.Now().Add(writeWait))
	w, err := cn.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return 0, err
	}
	n, err := wire.WriteFrames(w, q, wire.MaxFrameBytes)
	if err != nil {
		return n, err
	}
	return n, w.Close()
}

func (c *Client) readLoop(cn *conn) {
	for {
		_, msg, err := cn.ws.ReadMessage()
		if err != nil {
			cn.abort()
			c.post(func() { c.eng.connLost(cn, describeReadErr(err)) })
			return
		}
		frames, err := wire.Split(msg)
		if len(frames) > 0 {
			c.post(func() { c.eng.frames(cn, frames) })
		}
		if err != nil && !errors.Is(err, wire.ErrEmptyMessage) {
			text := "ignored a malformed frame from the server: " + err.Error()
			c.post(func() { c.eng.logFor(cn, text) })
		}
	}
}

// describeDialErr adds what a server that refused the upgrade said (HTTP
// 503 "server full", "server shutting down", …) to the error.
func describeDialErr(err error, resp *http.Response) error {
	if resp == nil || !errors.Is(err, websocket.ErrBadHandshake) {
		return err
	}
	why := resp.Status
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		if t := strings.Join(strings.Fields(string(b)), " "); t != "" && utf8.ValidString(t) {
			why += ": " + t
		}
	}
	return fmt.Errorf("%w (%s)", err, why)
}

func describeReadErr(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Text != "" {
			return "server closed the connection: " + ce.Text
		}
		return "server closed the connection"
	}
	return err.Error()
}

// dial opens a WebSocket to the server at url in a new goroutine and posts
// the outcome to the engine as done(ws, err). Cancelling ctx aborts the dial
// at any stage, the HTTP upgrade included.
func (c *Client) dial(ctx context.Context, url string, done func(*websocket.Conn, error)) {
	var d websocket.Dialer
	if c.cfg.dialer != nil {
		d = *c.cfg.dialer
	} else {
		d.Proxy = websocket.DefaultDialer.Proxy
	}
	if c.cfg.tls != nil {
		d.TLSClientConfig = c.cfg.tls
	}
	// The dialer honours ctx while connecting but, for the upgrade, only its
	// deadline; close the socket on cancellation so that Logout and Destroy
	// never wait for a stuck handshake.
	var (
		mu    sync.Mutex
		stops []func() bool
	)
	watch := func(nc net.Conn, err error) (net.Conn, error) {
		if err == nil {
			mu.Lock()
			stops = append(stops, context.AfterFunc(ctx, func() { nc.Close() }))
			mu.Unlock()
		}
		return nc, err
	}
	base := d.NetDialContext
	if base == nil {
		if d.NetDial != nil {
			nd := d.NetDial
			base = func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) }
		} else {
			var nd net.Dialer
			base = nd.DialContext
		}
	}
	d.NetDial = nil
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return watch(base(ctx, network, addr))
	}
	if tlsDial := d.NetDialTLSContext; tlsDial != nil {
		d.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return watch(tlsDial(ctx, network, addr))
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ws, resp, err := d.DialContext(ctx, url, nil)
		if err != nil {
			err = describeDialErr(err, resp)
		}
		mu.Lock()
		for _, stop := range stops {
			stop()
		}
		mu.Unlock()
		if err == nil && ctx.Err() != nil {
			ws.Close()
			ws, err = nil, ctx.Err()
		}
		ok := c.cmds.push(item{
			fn: func() { done(ws, err) },
			cleanup: func() {
				if ws != nil {
					ws.Close()
				}
			},
		})
		if !ok && ws != nil {
			ws.Close()
		}
	}()
}
