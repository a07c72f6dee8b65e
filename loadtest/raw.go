package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xinling/xinling/sdk/wire"
)

// rawServer is the baseline for fanout: a WebSocket server with no
// signaling logic. Every text message a client sends is broadcast as is
// (the same bytes, "encoded" once) to every connection, the sender
// included. Each connection has a writer goroutine draining a queue bounded
// in bytes, packing what queued up into one message with '\n' up to 32 KiB
// — the same output path as the xinling server, without parsing, sessions,
// channels, locks per member or JSON encoding.
type rawServer struct {
	up      websocket.Upgrader
	srv     *http.Server
	metrics http.Handler

	mu     sync.Mutex
	conns  atomic.Pointer[[]*rawConn] // copy on write: a broadcast reads it without a lock
	closed bool
	wg     sync.WaitGroup

	msgsIn, drops atomic.Uint64
}

const (
	rawMaxBatch = 32 << 10 // as the xinling server
	rawOutBytes = 4 << 20  // as the xinling server's Config.OutboundBytes
)

type rawConn struct {
	s  *rawServer
	ws *websocket.Conn

	mu     sync.Mutex
	queue  [][]byte
	queued int
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newRawServer() *rawServer {
	s := &rawServer{up: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}}
	empty := []*rawConn{}
	s.conns.Store(&empty)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "raw_connections", Help: "Open WebSocket connections."},
		func() float64 { return float64(len(*s.conns.Load())) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "raw_messages_in_total", Help: "Messages received and broadcast."},
		func() float64 { return float64(s.msgsIn.Load()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "raw_slow_client_drops_total", Help: "Connections dropped because their queue passed 4 MiB."},
		func() float64 { return float64(s.drops.Load()) }))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// serve accepts on l until close.
func (s *rawServer) serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// close stops accepting, closes every connection and waits for their goroutines.
func (s *rawServer) close() {
	_ = s.srv.Close()
	s.mu.Lock()
	s.closed = true
	conns := *s.conns.Load()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
}

func (s *rawServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics":
		s.metrics.ServeHTTP(w, r)
		return
	case "/healthz":
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(2)
	s.mu.Unlock()
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.wg.Add(-2)
		return
	}
	c := &rawConn{s: s, ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		s.wg.Add(-2)
		return
	}
	old := *s.conns.Load()
	list := make([]*rawConn, len(old), len(old)+1)
	copy(list, old)
	list = append(list, c)
	s.conns.Store(&list)
	s.mu.Unlock()
	c.send(rawHello) // registered: broadcasts from now on reach it
	go func() { defer s.wg.Done(); c.writeLoop() }()
	go func() { defer s.wg.Done(); c.readLoop() }()
}

func (s *rawServer) remove(c *rawConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.conns.Load()
	list := make([]*rawConn, 0, len(old))
	for _, x := range old {
		if x != c {
			list = append(list, x)
		}
	}
	s.conns.Store(&list)
}

func (c *rawConn) readLoop() {
	defer func() {
		c.s.remove(c)
		c.close()
	}()
	c.ws.SetReadLimit(wire.MaxFrameBytes)
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		c.s.msgsIn.Add(1)
		for _, to := range *c.s.conns.Load() {
			to.send(msg)
		}
	}
}

// send queues b; a connection whose queue passes 4 MiB is dropped.
func (c *rawConn) send(b []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.queued > 0 && c.queued+len(b) > rawOutBytes {
		c.mu.Unlock()
		c.s.drops.Add(1)
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

func (c *rawConn) close() {
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

func (c *rawConn) writeLoop() {
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
			c.queue, c.queued = nil, 0
			c.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for len(q) > 0 {
				buf.Reset()
				n := 0
				for n < len(q) && (buf.Len() == 0 || buf.Len()+1+len(q[n]) <= rawMaxBatch) {
					if buf.Len() > 0 {
						buf.WriteByte('\n')
					}
					buf.Write(q[n])
					n++
				}
				_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := c.ws.WriteMessage(websocket.TextMessage, buf.Bytes()); err != nil {
					c.close()
					return
				}
				q = q[n:]
			}
		}
	}
}

// rawServerCmd is `bench raw-server`: serve until interrupted (or --duration).
func rawServerCmd(ctx context.Context, o *options, stdout io.Writer) error {
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("bench raw-server: %w", err)
	}
	s := newRawServer()
	fmt.Fprintf(stdout, "raw server listening on ws://%s/ (metrics at http://%s/metrics)\n", l.Addr(), l.Addr())
	served := make(chan error, 1)
	go func() { served <- s.serve(l) }()
	var timeout <-chan time.Time
	if o.duration > 0 {
		timeout = time.After(o.duration)
	}
	select {
	case err = <-served:
	case <-ctx.Done():
	case <-timeout:
	}
	s.close()
	if err == nil {
		err = <-served
	}
	return err
}
