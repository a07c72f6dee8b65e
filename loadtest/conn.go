package loadtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/token"
)

// client is one WebSocket speaking the wire protocol directly. After setup
// exactly one goroutine reads it (readLoop); writes from the scenario's
// goroutines and the pinger are serialised by wmu.
type client struct {
	ws     *websocket.Conn
	idx    int
	dialer *websocket.Dialer // its source address, to follow a redirect from it

	wmu sync.Mutex

	buf    []byte // the reader's line buffer, reused for every message
	now    int64  // reader: Unix ns when the current message arrived
	msgs   uint64 // reader: WebSocket messages received
	nextID uint64 // request ids; owned by whoever sends requests in the current phase

	// user stream: the reader stores the last seq it processed, the pinger
	// acknowledges it.
	seq      atomic.Uint64
	acked    uint64    // pinger only
	lastPing time.Time // pinger only
}

// write sends one WebSocket text message.
func (c *client) write(b []byte) error {
	c.wmu.Lock()
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	return err
}

// writeBy sends with a write deadline, for the last words of a run.
func (c *client) writeBy(b []byte, d time.Duration) error {
	c.wmu.Lock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(d))
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	return err
}

func (c *client) close() { _ = c.ws.Close() }

// lineHandler consumes the frames of a connection, one '\n'-separated line
// at a time; end is called after each WebSocket message.
type lineHandler interface {
	line(b []byte) error
	end() error
}

const (
	initialBuf = 2 << 10
	maxBuf     = 64 << 10
)

// readLoop reads messages until the connection fails and hands every line
// to h without allocating: lines are cut in place in c.buf. The buffer
// starts small (an idle connection only gets pongs) and doubles, up to
// 64 KiB, when a read fills it, so that a busy connection reads the
// server's packed messages (up to 32 KiB) in few system calls; it also
// grows for a line longer than it. Every frame of a message gets the time
// the message arrived (c.now): they came together.
func (c *client) readLoop(h lineHandler) error {
	if c.buf == nil {
		c.buf = make([]byte, initialBuf)
	}
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return err
		}
		c.now = time.Now().UnixNano()
		c.msgs++
		n := 0 // bytes held in c.buf
		for {
			if n == len(c.buf) { // a line longer than the buffer
				c.grow(n)
			}
			free := len(c.buf) - n
			m, rerr := r.Read(c.buf[n:])
			scan := n
			n += m
			start := 0
			for {
				i := bytes.IndexByte(c.buf[scan:n], '\n')
				if i < 0 {
					break
				}
				end := scan + i
				if end > start {
					if err := h.line(c.buf[start:end]); err != nil {
						return err
					}
				}
				start = end + 1
				scan = start
			}
			if start > 0 {
				n = copy(c.buf, c.buf[start:n])
			}
			if rerr == io.EOF {
				if n > 0 {
					if err := h.line(c.buf[:n]); err != nil {
						return err
					}
				}
				break
			}
			if rerr != nil {
				return rerr
			}
			if m == free && len(c.buf) < maxBuf && n < len(c.buf) {
				c.grow(n) // messages bigger than the buffer: read them in fewer calls
			}
		}
		if err := h.end(); err != nil {
			return err
		}
	}
}

// grow doubles the line buffer, keeping its first n bytes.
func (c *client) grow(n int) {
	nb := make([]byte, 2*len(c.buf))
	copy(nb, c.buf[:n])
	c.buf = nb
}

// call sends a request and reads until its answer, skipping pushes. Only
// for setup, while no reader goroutine runs.
func (c *client) call(op string, d any, timeout time.Duration) (*wire.Frame, error) {
	c.nextID++
	id := c.nextID
	b, err := wire.Encode(id, op, d)
	if err != nil {
		return nil, err
	}
	if err := c.write(b); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		frames, err := wire.Split(msg)
		if err != nil && !errors.Is(err, wire.ErrEmptyMessage) {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		for i := range frames {
			f := &frames[i]
			switch {
			case f.Op == wire.OpResult && f.ID == id:
				if f.Err != nil {
					return f, f.Err
				}
				return f, nil
			case f.Op == wire.OpResult && f.ID == 0 && f.Err != nil:
				return nil, fmt.Errorf("%s: %w", op, f.Err)
			case f.Op == wire.PushGoAway:
				var g wire.GoAway
				if f.Decode(&g) == nil && g.URL != "" {
					return nil, &redirect{url: g.URL}
				}
				return nil, fmt.Errorf("%s: server sent %s: %s", op, f.Op, f.D)
			case f.Op == wire.PushKicked:
				return nil, fmt.Errorf("%s: server sent %s: %s", op, f.Op, f.D)
			}
		}
	}
}

// waitLine reads until a line equal to want arrives (the raw server's hello).
func (c *client) waitLine(want []byte, timeout time.Duration) error {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(msg, []byte{'\n'}) {
			if bytes.Equal(bytes.TrimSpace(line), want) {
				return nil
			}
		}
	}
}

// redirect is a login sent to another node of a cluster (the one serving
// the account).
type redirect struct{ url string }

func (r *redirect) Error() string { return "the account is served at " + r.url }

// login opens a session, following a cluster's redirects to the node that
// serves the account; it returns the heartbeat interval the server wants.
func (c *client) login(o *options, account string) (time.Duration, error) {
	tok := "_no_need_token"
	if o.cert != "" {
		tok = token.Make(o.app, o.cert, account, time.Now().Add(24*time.Hour).Unix())
	}
	var f *wire.Frame
	var err error
	for tries := 0; ; tries++ {
		f, err = c.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: o.app, Account: account, Token: tok, Device: "loadtest"}, 30*time.Second)
		var r *redirect
		if !errors.As(err, &r) || tries == 5 || c.dialer == nil {
			break
		}
		c.close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ws, _, derr := c.dialer.DialContext(ctx, strings.TrimSuffix(r.url, "/")+"/ws", nil)
		cancel()
		if derr != nil {
			return 0, fmt.Errorf("login %s: redirected to %s: %w", account, r.url, derr)
		}
		c.ws = ws
	}
	if err != nil {
		return 0, fmt.Errorf("login %s: %w", account, err)
	}
	var res wire.LoginRes
	if err := f.Decode(&res); err != nil {
		return 0, fmt.Errorf("login %s: %w", account, err)
	}
	hb := time.Duration(res.Heartbeat) * time.Millisecond
	if hb <= 0 {
		hb = 5 * time.Second
	}
	return hb, nil
}

// --- dialing ---------------------------------------------------------------

// dialers spreads connections over source addresses 127.0.0.1, .2, … so
// that no address carries more than perAddr of them (the server caps
// connections per source address, 1,000 by default), and over the servers:
// connection i goes to urls[i mod len(urls)].
type dialers struct {
	urls []string
	list []*websocket.Dialer
	per  int
}

var writePool sync.Pool // write buffers, held by a connection only while it writes

func newDialer(local net.Addr, readBuf int) *websocket.Dialer {
	nd := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
	return &websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   readBuf,
		WriteBufferSize:  2048,
		WriteBufferPool:  &writePool,
	}
}

// newDialers prepares dialers for n connections to servers. readBuf is the
// size of each connection's socket read buffer: a busy connection reads a
// packed message (up to 32 KiB) in one system call when it is that large;
// an idle one needs little.
func newDialers(servers []string, n, perAddr, readBuf int) (*dialers, error) {
	if len(servers) == 0 {
		return nil, errors.New("--server: no URL")
	}
	if perAddr <= 0 {
		perAddr = 900
	}
	d := &dialers{urls: servers, per: perAddr}
	addrs := (n + perAddr - 1) / perAddr
	for _, server := range servers {
		u, err := url.Parse(server)
		if err != nil {
			return nil, fmt.Errorf("--server: %w", err)
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			return nil, fmt.Errorf("--server %q: want ws:// or wss://", server)
		}
		if addrs <= 1 {
			continue
		}
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host == "localhost" {
			ip = net.IPv4(127, 0, 0, 1)
		}
		if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%d connections need %d source addresses of %d connections each (--per-addr), "+
				"which only works for a server on 127.0.0.x; raise --per-addr and the server's --max-conns-per-addr", n, addrs, perAddr)
		}
	}
	if addrs <= 1 {
		d.list = []*websocket.Dialer{newDialer(nil, readBuf)}
		return d, nil
	}
	if addrs > 250*256 {
		return nil, fmt.Errorf("%d connections are too many for 127.0.0.0/8 at %d per address", n, perAddr)
	}
	base := binary.BigEndian.Uint32(net.IPv4(127, 0, 0, 1).To4())
	for i := 0; i < addrs; i++ {
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, base+uint32(i))
		d.list = append(d.list, newDialer(&net.TCPAddr{IP: net.IP(b)}, readBuf))
	}
	return d, nil
}

// server is the URL connection i goes to.
func (d *dialers) server(i int) string { return d.urls[i%len(d.urls)] }

// dial opens connection i from source address i/perAddr to server(i).
func (d *dialers) dial(ctx context.Context, i int) (*client, error) {
	k := (i / d.per) % len(d.list)
	ws, resp, err := d.list[k].DialContext(ctx, d.server(i), nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			resp.Body.Close()
			return nil, fmt.Errorf("dial: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	return &client{ws: ws, idx: i, dialer: d.list[k]}, nil
}

// addrs is how many source addresses are in use.
func (d *dialers) addrs() int { return len(d.list) }

// --- heartbeat and acknowledgements --------------------------------------

// pinger sends each connection a ping every heartbeat, as the protocol asks
// (the server closes a logged-in connection silent for 3 × heartbeat), and
// acknowledges the user stream every ackEvery when its reader has processed
// new pushes. Connections are added as they log in, so a long setup does
// not let the first ones time out.
type pinger struct {
	hb       time.Duration
	ackEvery time.Duration
	mu       sync.Mutex
	conns    []*client
	stop     chan struct{}
	done     chan struct{}
	pings    atomic.Uint64
	errs     atomic.Uint64
}

func startPinger(hb, ackEvery time.Duration) *pinger {
	if hb <= 0 {
		hb = 5 * time.Second
	}
	p := &pinger{hb: hb, ackEvery: ackEvery, stop: make(chan struct{}), done: make(chan struct{})}
	tick := 250 * time.Millisecond
	if ackEvery > 0 && ackEvery < tick {
		tick = ackEvery
	}
	go p.run(tick)
	return p
}

// add starts heartbeating c; its first ping is spread over the interval so
// that connections made together do not ping together.
func (p *pinger) add(c *client) {
	c.lastPing = time.Now().Add(-p.hb * time.Duration(c.idx%64) / 64)
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *pinger) run(tick time.Duration) {
	defer close(p.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	buf := make([]byte, 0, 64)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		conns := p.conns // append-only: the first len(conns) never change
		p.mu.Unlock()
		now := time.Now()
		for i, c := range conns {
			seq := c.seq.Load()
			ack := p.ackEvery > 0 && seq > c.acked && now.Sub(c.lastPing) >= p.ackEvery
			if !ack && now.Sub(c.lastPing) < p.hb {
				continue
			}
			buf = appendPing(buf[:0], seq)
			if err := c.write(buf); err != nil {
				p.errs.Add(1)
			}
			c.acked, c.lastPing = seq, now
			p.pings.Add(1)
			if i%256 == 255 {
				select {
				case <-p.stop:
					return
				default:
				}
			}
		}
	}
}

func (p *pinger) finish() {
	close(p.stop)
	<-p.done
}

// appendPing appends {"op":"ping","d":{"ack":N}}.
func appendPing(b []byte, ack uint64) []byte {
	b = append(b, `{"op":"ping","d":{"ack":`...)
	b = strconv.AppendUint(b, ack, 10)
	return append(b, "}}"...)
}

// --- connecting many -------------------------------------------------------

// connectAll dials connections from…to-1 with conc workers and runs setup
// on each, into conns[i]. On failure it returns the first error; the caller
// closes what was opened (the non-nil entries).
func connectAll(ctx context.Context, d *dialers, conns []*client, from, to, conc int, setup func(c *client) error) error {
	if conc <= 0 {
		conc = 64
	}
	conc = max(1, min(conc, to-from))
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next.Store(int64(from))
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				c, err := d.dial(ctx, i)
				if err == nil {
					mu.Lock()
					conns[i] = c
					mu.Unlock()
					err = setup(c)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("connection %d of %d: %w", i, to, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// closeAll closes every opened connection.
func closeAll(conns []*client) {
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
}

// shutdownAll ends a run: it sends each connection its last words (a
// logout, when there is a session), gives the readers up to wait to see the
// server close, then closes every socket and waits for the readers.
func shutdownAll(conns []*client, lastWords func(c *client) []byte, readers *sync.WaitGroup, wait time.Duration) {
	if lastWords != nil {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for w := 0; w < min(16, len(conns)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(conns) {
						return
					}
					if b := lastWords(conns[i]); b != nil {
						_ = conns[i].writeBy(b, time.Second)
					}
				}
			}()
		}
		wg.Wait()
		done := make(chan struct{})
		go func() { readers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(wait):
		}
	}
	closeAll(conns)
	readers.Wait()
}

// drain waits, after the senders stopped, until complete, or until nothing
// has arrived for stall (then what is missing is lost, not late), or 3 ×
// stall in all, so that a backlog of several seconds is still counted.
func drain(ctx context.Context, stall time.Duration, complete func() bool, progress func() uint64) {
	end := time.Now().Add(3 * stall)
	last, lastAt := progress(), time.Now()
	for !complete() && ctx.Err() == nil && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
		if p := progress(); p != last {
			last, lastAt = p, time.Now()
		} else if time.Since(lastAt) > stall {
			return
		}
	}
}

// pacer spaces one sender's messages so that n senders together send rate
// messages per second, sender idx offset within the interval; rate 0 means
// flat out.
type pacer struct {
	start            time.Time
	interval, offset time.Duration
	timer            *time.Timer
}

func newPacer(start time.Time, rate float64, n, idx int) *pacer {
	p := &pacer{start: start, timer: time.NewTimer(time.Hour)}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) * float64(n) / rate)
		p.offset = p.interval * time.Duration(idx) / time.Duration(n)
	}
	return p
}

// wait blocks until message seq (from 1) is due; false when stop came first.
func (p *pacer) wait(seq uint64, stop <-chan struct{}) bool {
	if p.interval <= 0 {
		return true
	}
	d := time.Until(p.start.Add(p.offset + p.interval*time.Duration(seq-1)))
	if d <= 0 {
		return true
	}
	p.timer.Reset(d)
	select {
	case <-p.timer.C:
		return true
	case <-stop:
		return false
	}
}

func (p *pacer) stop() { p.timer.Stop() }
