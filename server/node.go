// Package server is the xinling signaling server: sessions, channels,
// attributes, peer messages and RPC over the wire protocol of sdk/wire.
//
// A Node holds sharded maps of sessions and channels (the in-process engine
// for presence and delivery) and a store.Store for durable state.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// Node is one signaling server.
type Node struct {
	cfg   Config
	store store.Store
	log   *slog.Logger

	sessions  *shardedMap[*Session]
	channels  *shardedMap[*Channel]
	conns     sync.Map // *Conn → struct{}
	connCount atomic.Int64
	flushers  atomic.Int64   // running Conn.flush goroutines
	perAddr   map[string]int // open connections per source address; under stopMu
	logins    *rate.Limiter  // login attempts per second, node-wide
	metricsH  http.Handler
	fds       atomic.Int64
	mailSeed  maphash.Seed
	mailboxes [256]sync.Mutex
	metrics   metrics
	calls     *calls
	kicks     *kicks // sessions a login elsewhere ended

	queueLimits store.QueueLimits

	peers     Peers // the other nodes of a sharded cluster; nil: none (peers.go)
	rem       *remote
	subs      subs
	parties   parties
	present   present
	adoptions adoptions
	settling  settling // shards gained whose members are joining again (settle.go)

	upgrader websocket.Upgrader
	stop     chan struct{}
	stopOnce sync.Once
	stopMu   sync.Mutex
	stopping bool
	wg       sync.WaitGroup
}

// New makes a node; Close releases it (and its store).
func New(cfg Config) *Node {
	c := cfg.withDefaults()
	n := &Node{
		cfg:      c,
		store:    c.Store,
		log:      c.Logger,
		sessions: newShardedMap[*Session](),
		channels: newShardedMap[*Channel](),
		stop:     make(chan struct{}),
		mailSeed: maphash.MakeSeed(),
		calls:    newCalls(),
		kicks:    newKicks(kickMemory, maxKicks),
		perAddr:  make(map[string]int),
		logins:   rate.NewLimiter(rate.Limit(c.LoginRate), c.LoginRate),

		queueLimits: store.QueueLimits{Max: c.QueueMax, TTL: c.QueueTTL},
		peers:       c.Peers,
		rem:         newRemote(),
		subs:        subs{byChan: make(map[key]*chanSubs)},
		parties:     parties{m: make(map[[2]string]*remoteParty)},
		present:     present{where: make(map[key]string)},
	}
	n.upgrader = websocket.Upgrader{
		// Small read buffers and pooled write buffers: an idle connection
		// holds no write buffer at all.
		ReadBufferSize:  1024,
		WriteBufferSize: 8192,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     n.checkOrigin,
	}
	n.metricsH = n.metricsHandler()
	if n.peers == nil { // a cluster's shards recover as they come (ShardGained)
		n.recoverExpiries(n.store)
	}
	n.wg.Add(1)
	go n.janitor()
	return n
}

// recoverExpiries starts the TTL of every channel of st that has attributes
// but no expiry: after a crash, those that had members then. (A shutdown
// starts them all; nothing else leaves a memberless channel without one.)
func (n *Node) recoverExpiries(st store.Store) {
	chans, err := st.UnexpiringChannels()
	if err != nil {
		n.log.Error("list channels without expiry", "err", err)
		return
	}
	now := time.Now()
	for _, c := range chans {
		if wire.IsSpecialChannel(c[1]) {
			continue
		}
		if ch, ok := n.channels.get(key{c[0], c[1]}); ok && ch.memberCount() > 0 {
			continue // handed over with its members
		}
		attrs, err := st.ChannelAttrs(c[0], c[1])
		if err != nil {
			n.log.Error("recover channel expiry", "channel", c[1], "err", err)
			continue
		}
		if len(attrs) > 0 {
			if err := st.SetChannelExpiry(c[0], c[1], now.Add(channelTTL(attrs, n.cfg.ChannelTTL))); err != nil {
				n.log.Error("set channel expiry", "channel", c[1], "err", err)
			}
		}
	}
}

// checkOrigin admits clients without an Origin header (programs) and
// browsers from an allowed origin; with no list configured, every origin.
func (n *Node) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(n.cfg.AllowedOrigins) == 0 {
		return true
	}
	return slices.Contains(n.cfg.AllowedOrigins, origin)
}

// ServeHTTP upgrades a request on any path to the signaling WebSocket;
// /healthz and /metrics answer plain HTTP (/metrics only through
// MetricsHandler with Config.PrivateMetrics).
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
		return
	case "/metrics":
		if n.operatorOnly(r) {
			http.NotFound(w, r)
			return
		}
		n.metricsH.ServeHTTP(w, r)
		return
	}
	if n.cfg.Pprof && strings.HasPrefix(r.URL.Path, "/debug/pprof/") && !n.operatorOnly(r) {
		servePprof(w, r)
		return
	}
	if private(r) || n.cfg.PrivateMetrics && strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
		http.NotFound(w, r) // the metrics listener upgrades nothing; nor are profiles guessed at here
		return
	}
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	// Admission happens under the lock Shutdown takes, so every connection
	// is either counted and later told to go away, or refused here.
	n.stopMu.Lock()
	why := ""
	switch {
	case n.stopping:
		why = "server shutting down"
	case n.connCount.Load() >= int64(n.cfg.MaxConns):
		why = fmt.Sprintf("server full (%d connections)", n.cfg.MaxConns)
	case n.perAddr[addr] >= n.cfg.MaxConnsPerAddr:
		why = fmt.Sprintf("too many connections from %s (%d)", addr, n.cfg.MaxConnsPerAddr)
	}
	if why != "" {
		n.stopMu.Unlock()
		n.metrics.refused.Add(1)
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	n.connCount.Add(1)
	n.perAddr[addr]++
	n.wg.Add(1)
	n.stopMu.Unlock()
	ws, err := n.upgrader.Upgrade(w, r, nil)
	if err != nil {
		n.release(addr) // the upgrader has answered the client
		n.wg.Add(-1)
		return
	}
	c := newConn(n, ws, int(n.fds.Add(1)), addr)
	n.conns.Store(c, struct{}{})
	go func() { defer n.wg.Done(); c.readLoop() }()
}

// release forgets a connection from addr.
func (n *Node) release(addr string) {
	n.stopMu.Lock()
	n.connCount.Add(-1)
	if n.perAddr[addr]--; n.perAddr[addr] <= 0 {
		delete(n.perAddr, addr)
	}
	n.stopMu.Unlock()
}

// Serve accepts connections on l until Shutdown.
func (n *Node) Serve(l net.Listener) error {
	srv := &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-n.stop
		_ = srv.Close()
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown tells every client to go away, closes every connection and stops
// the node's goroutines. Sessions end without being resumable here; durable
// state is already in the store, which the caller closes.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.stopMu.Lock()
		n.stopping = true
		n.stopMu.Unlock()
		close(n.stop)
		goaway := wire.MustEncode(0, wire.PushGoAway, wire.GoAway{Reason: "server shutting down"})
		n.conns.Range(func(k, _ any) bool {
			c := k.(*Conn)
			c.send(goaway)
			c.closeAfterFlush()
			return true
		})
		n.calls.shutdown()
		// Every channel empties now: start the TTL of those with attributes.
		n.channels.each(func(ch *Channel) {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			if st := n.storeOf(ch.app, ch.name); st != nil && len(ch.attrs) > 0 && !ch.special() {
				if err := st.SetChannelExpiry(ch.app, ch.name, time.Now().Add(ch.ttl())); err != nil {
					n.log.Error("set channel expiry", "channel", ch.name, "err", err)
				}
			}
		})
	})
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n.conns.Range(func(k, _ any) bool { k.(*Conn).close(); return true })
		<-done
		return ctx.Err()
	}
}

func (n *Node) janitor() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.JanitorEvery)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case now := <-t.C:
			n.sweepRemote(now)
			var gone [][2]string
			for _, st := range n.stores() {
				g, err := st.ExpireChannels(now)
				if err != nil {
					n.log.Error("expire channels", "err", err)
				}
				gone = append(gone, g...)
			}
			n.sweep(now)
			for _, g := range gone {
				n.log.Info("channel expired", "app", g[0], "channel", g[1])
				if ch, ok := n.channels.get(key{g[0], g[1]}); ok {
					// Reloaded, not cleared: an attribute set since the
					// expiry (by a non-member) is in the store.
					ch.mu.Lock()
					if !ch.dead {
						n.reloadAttrsLocked(ch)
					}
					ch.mu.Unlock()
				}
			}
		}
	}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// endReason says why a session ends, which decides what its channel hears.
type endReason int

const (
	endLogout endReason = iota // the client logged out
	endGrace                   // the connection was lost and not resumed in time
	endKicked                  // the account logged in elsewhere
	endMoved                   // another node serves the account now
)

// endSession removes a session for good: it leaves its channel, its calls
// end and it is announced as logged out. Peer messages it never acknowledged
// are still in the durable queue for its next login.
func (n *Node) endSession(s *Session, why endReason) { n.endSessionIf(s, why, nil) }

// endSessionIf is endSession when cond, checked under the session's lock, holds.
func (n *Node) endSessionIf(s *Session, why endReason, cond func() bool) {
	s.mu.Lock()
	if s.ended || (cond != nil && !cond()) {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.grace != nil {
		s.grace.Stop()
	}
	conn := s.conn
	s.conn = nil
	s.mu.Unlock()

	mb := n.mailbox(s.app, s.account)
	mb.Lock()
	// Announced with the account's lock held, as a login is, so that the
	// special channel tells logins and logouts in the order they took
	// effect. A session a login replaced is no longer here: that login
	// announced its end.
	if n.sessions.deleteIf(key{s.app, s.account}, func(v *Session) bool { return v == s }) {
		n.announceSession(s.app, s.account, "logout")
	}
	mb.Unlock()
	n.leaveCurrent(s)
	n.sessionCallsEnded(s)
	if n.peers != nil {
		n.tellSessionEnded(s)
	}
	switch {
	case conn == nil:
	case why == endKicked:
		conn.send(wire.MustEncode(0, wire.PushKicked, wire.Kicked{Code: wire.LogoutKicked, Reason: "the account logged in elsewhere"}))
		conn.closeAfterFlush()
	case why == endMoved:
		s.mu.Lock()
		url := s.movedTo
		s.mu.Unlock()
		conn.send(wire.MustEncode(0, wire.PushGoAway, wire.GoAway{Reason: "another node of the cluster serves this account now", URL: url}))
		conn.closeAfterFlush()
	case why != endLogout:
		conn.close()
	}
	n.log.Debug("session ended", "app", s.app, "account", s.account, "why", why)
}

// mailbox is the lock that orders an account's incoming peer messages
// against its logins and session ends, so none is queued where no one looks.
func (n *Node) mailbox(app, account string) *sync.Mutex {
	var h maphash.Hash
	h.SetSeed(n.mailSeed)
	h.WriteString(app)
	h.WriteByte(0)
	h.WriteString(account)
	return &n.mailboxes[h.Sum64()%uint64(len(n.mailboxes))]
}

// channel returns the channel object, creating it (and loading its
// attributes) when absent. The caller locks it and must check dead.
func (n *Node) channel(app, name string) (*Channel, error) {
	k := key{app, name}
	if ch, ok := n.channels.get(k); ok {
		return ch, nil
	}
	return n.channels.getOrCreate(k, func() (*Channel, error) {
		st := n.storeOf(app, name)
		if st == nil {
			return nil, fmt.Errorf("channel %q: %w", name, errNotServed)
		}
		attrs, err := st.ChannelAttrs(app, name)
		if err != nil {
			return nil, fmt.Errorf("load channel %q: %w", name, err)
		}
		return &Channel{
			node:       n,
			app:        app,
			name:       name,
			members:    make(map[string]*member),
			recent:     newList(),
			attrs:      attrs,
			attrLimits: make(map[string]*rate.Limiter),
			// Offsets of a new incarnation start past any an older one gave
			// out, so a resuming client's offset is never mistaken for ours.
			base: uint64(time.Now().UnixMicro()),
			off:  uint64(time.Now().UnixMicro()),
		}, nil
	})
}

// withChannel runs fn with the channel locked, creating it if needed.
func (n *Node) withChannel(app, name string, fn func(ch *Channel)) error {
	for {
		ch, err := n.channel(app, name)
		if err != nil {
			return err
		}
		ch.mu.Lock()
		if ch.dead {
			ch.mu.Unlock()
			continue
		}
		fn(ch)
		n.releaseLocked(ch)
		ch.mu.Unlock()
		return nil
	}
}

// releaseLocked notes that a channel became empty: its TTL starts, and the
// janitor drops the object after ChannelIdle (keeping it that long keeps its
// rate limiters and offsets for clients that come straight back).
func (n *Node) releaseLocked(ch *Channel) {
	if len(ch.members) > 0 || ch.special() || !ch.changed {
		return
	}
	ch.changed = false
	ch.emptySince = time.Now()
	if st := n.storeOf(ch.app, ch.name); st != nil && len(ch.attrs) > 0 {
		if err := st.SetChannelExpiry(ch.app, ch.name, time.Now().Add(ch.ttl())); err != nil {
			n.log.Error("set channel expiry", "channel", ch.name, "err", err)
		}
	}
}

// reloadAttrsLocked reads the channel's attributes from the store; on a
// store error it keeps what it has.
func (n *Node) reloadAttrsLocked(ch *Channel) {
	st := n.storeOf(ch.app, ch.name)
	if st == nil {
		return
	}
	attrs, err := st.ChannelAttrs(ch.app, ch.name)
	if err != nil {
		n.log.Error("reload channel attrs", "channel", ch.name, "err", err)
		return
	}
	ch.attrs = attrs
}

// sweep drops channel objects that have been empty for ChannelIdle.
func (n *Node) sweep(now time.Time) {
	n.channels.each(func(ch *Channel) {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		if ch.dead || len(ch.members) > 0 || ch.special() || ch.changed || now.Sub(ch.emptySince) < n.cfg.ChannelIdle {
			return
		}
		ch.dead = true
		ch.stopTimersLocked()
		n.channels.deleteIf(key{ch.app, ch.name}, func(v *Channel) bool { return v == ch })
	})
}

// announce sends a server message on a special channel, from account "",
// where the special channel is served (messages of one node to it keep
// their order).
func (n *Node) announce(app, special string, v map[string]any) {
	b, _ := jsonMarshal(v)
	n.announceAt(app, announceReq{Channel: special, Msg: string(b)})
}

func (n *Node) announceAt(app string, p announceReq) {
	if _, node, local := n.place(app, p.Channel); !local {
		if node != "" {
			n.askNode(node, app, opAnnounce, p, func([]byte, *wire.Error) {})
		}
		return
	}
	n.announceHere(app, p.Channel, p.Msg)
}

func (n *Node) announceHere(app, special, msg string) {
	ch, ok := n.channels.get(key{app, special})
	if !ok {
		return // nobody listens
	}
	ch.mu.Lock()
	if !ch.dead {
		ch.pushLocked(wire.PushChannelMsg, wire.ChannelMsg{Channel: special, Msg: msg})
	}
	ch.mu.Unlock()
}

type announceReq struct {
	Channel string `json:"ch"`
	Msg     string `json:"msg"`
}

func init() {
	remoteOps[opAnnounce] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p announceReq
		if e := decodeJSON(b, &p); e == nil {
			n.announceHere(app, p.Channel, p.Msg)
		}
		answer(nil, nil)
	}
}

// stores are the stores of the shards this node serves.
func (n *Node) stores() []store.Store {
	if n.peers == nil {
		return []store.Store{n.store}
	}
	var out []store.Store
	for k := 0; k < n.peers.Shards(); k++ {
		if st := n.peers.Store(k); st != nil {
			out = append(out, st)
		}
	}
	return out
}

// errNotServed: this node does not serve the account's or channel's shard.
var errNotServed = errors.New("not served by this node")

// announceSession tells __agora_user_online of a login or logout; under the
// account's mailbox lock.
func (n *Node) announceSession(app, account, what string) {
	b, _ := jsonMarshal(presenceMsg(account, what))
	n.announceAt(app, announceReq{Channel: wire.ChannelUserOnline, Msg: string(b)})
	if n.peers != nil {
		n.tellPresence(app, account, what == "login")
	}
}

func presenceMsg(account, what string) map[string]any {
	return map[string]any{"type": what, "account": account, "ts": time.Now().UnixMilli()}
}

// leave takes a session out of a channel, for a leave, a logout or a lost session.
func (n *Node) leave(s *Session, ch *Channel) bool {
	ch.mu.Lock()
	removed := false
	if !ch.dead {
		removed = ch.removeLocked(s)
		n.releaseLocked(ch)
	}
	s.mu.Lock()
	if s.channel == ch {
		s.channel = nil
	}
	s.mu.Unlock()
	ch.mu.Unlock()
	if removed {
		n.announce(s.app, wire.ChannelEvents, map[string]any{"type": "leave", "channel": ch.name, "account": s.account, "ts": time.Now().UnixMilli()})
	}
	return removed
}
