// Package sipgw is the SIP phone gateway: it places the server's phone
// invites as SIP calls (RFC 3261, over UDP) through one proxy or peer, using
// github.com/emiago/sipgo. It carries signaling only: the SDP offer names
// PCMU on a dummy port and no media flows.
//
// One Dial is one INVITE dialog:
//
//	INVITE →  100 (nothing) · 180/183 (Ringing, once) · 200 (ACK, Answered)
//	          · 3xx (Failed) · 4xx/5xx/6xx (Rejected) · no answer (Failed)
//	after the answer: BYE from the far end → 200, Hangup
//	Leg.Hangup: CANCEL before the answer, BYE after it; no event follows
//	Leg.SendDTMF: one INFO (application/dtmf-relay) per digit
//
// Events are delivered in order on one goroutine per call, never on the
// goroutine that called Dial, so a Dial made under the caller's own lock
// cannot deadlock with its events.
package sipgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/xinling/xinling/server/gateway"
)

// Config of the SIP gateway.
type Config struct {
	// Proxy is host:port of the SIP proxy / peer that receives our INVITEs
	// (UDP). A missing port means 5060.
	Proxy string
	// Listen is the local host:port to bind for SIP and what goes in Via and
	// Contact (default "127.0.0.1:0": a free port on loopback). With an
	// unspecified host ("0.0.0.0:5060", ":5060") the gateway advertises the
	// local address that routes to the proxy.
	Listen string
	// Domain is the host of the From URI (default "xinling.local").
	Domain string
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// RingTimeout gives up an unanswered INVITE after this long (default
	// 60 s): the call fails and is cancelled.
	RingTimeout time.Duration
}

const (
	defaultListen      = "127.0.0.1:0"
	defaultDomain      = "xinling.local"
	defaultRingTimeout = 60 * time.Second

	// closeGrace is how long Close lets live calls end politely (CANCEL,
	// BYE) before it tears the transport down under them.
	closeGrace = 3 * time.Second
	// closeDrain bounds the wait, after the transport is down, for the
	// call goroutines (and event callbacks in flight) to finish.
	closeDrain = 5 * time.Second

	// dummyRTPPort is the port the SDP offer names. Nothing listens there:
	// the gateway carries signaling only. 9 is "discard".
	dummyRTPPort = 9

	userAgent = "xinling-sipgw"
)

// Gateway is the SIP gateway. It implements gateway.Gateway.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	proxyHost string
	proxyPort int
	advHost   string // host we put in Via, Contact and SDP
	advPort   int
	laddr     sip.Addr // the bound socket: every request leaves from it

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	conn   *net.UDPConn

	serveDone chan struct{}
	wg        sync.WaitGroup // call and event goroutines

	mu      sync.Mutex
	closed  bool
	calls   map[*call]struct{}
	dialogs map[string]*call // answered calls by sipgo dialog ID
}

var _ gateway.Gateway = (*Gateway)(nil)

// New binds the SIP socket and starts the transport.
func New(cfg Config) (*Gateway, error) {
	if cfg.Listen == "" {
		cfg.Listen = defaultListen
	}
	if cfg.Domain == "" {
		cfg.Domain = defaultDomain
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = defaultRingTimeout
	}
	if !validHost(cfg.Domain) {
		return nil, fmt.Errorf("sipgw: invalid domain %q", cfg.Domain)
	}
	proxyHost, proxyPort, err := splitHostPort(cfg.Proxy, 5060)
	if err != nil {
		return nil, fmt.Errorf("sipgw: proxy: %w", err)
	}
	if proxyPort == 0 {
		return nil, fmt.Errorf("sipgw: proxy %q: port 0", cfg.Proxy)
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sipgw: listen address: %w", err)
	}
	network := "udp"
	if laddr.IP != nil {
		if laddr.IP.To4() != nil {
			network = "udp4"
		} else {
			network = "udp6"
		}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("sipgw: listen: %w", err)
	}
	bound := conn.LocalAddr().(*net.UDPAddr)
	advHost := bound.IP.String()
	if bound.IP.IsUnspecified() {
		// Advertise the address the proxy can reach us on. Dialing UDP sends nothing.
		probe, err := net.Dial("udp", net.JoinHostPort(proxyHost, strconv.Itoa(proxyPort)))
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("sipgw: find the local address towards the proxy: %w", err)
		}
		advHost = probe.LocalAddr().(*net.UDPAddr).IP.String()
		probe.Close()
	}

	g := &Gateway{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "sipgw"),
		proxyHost: proxyHost,
		proxyPort: proxyPort,
		advHost:   advHost,
		advPort:   bound.Port,
		laddr:     sip.Addr{IP: bound.IP, Port: bound.Port, Hostname: bound.IP.String()},
		conn:      conn,
		serveDone: make(chan struct{}),
		calls:     make(map[*call]struct{}),
		dialogs:   make(map[string]*call),
	}
	if err := g.start(); err != nil {
		conn.Close()
		return nil, err
	}
	g.log.Info("SIP gateway up", "listen", bound.String(), "advertise", net.JoinHostPort(advHost, strconv.Itoa(bound.Port)), "proxy", net.JoinHostPort(proxyHost, strconv.Itoa(proxyPort)))
	return g, nil
}

func (g *Gateway) start() error {
	lg := g.log
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(userAgent),
		sipgo.WithUserAgentHostname(g.cfg.Domain),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(lg)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(lg),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				lg.Debug("stray SIP response", "msg", r.Short())
			}),
		),
	)
	if err != nil {
		return fmt.Errorf("sipgw: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(lg))
	if err != nil {
		ua.Close()
		return fmt.Errorf("sipgw: %w", err)
	}
	client, err := sipgo.NewClient(ua,
		sipgo.WithClientLogger(lg),
		sipgo.WithClientHostname(uriHost(g.advHost)),
		sipgo.WithClientPort(g.advPort),
		// Every request leaves from the bound socket, so the far end's
		// responses and in-dialog requests come back to it.
		sipgo.WithClientConnectionAddr(g.laddr.String()),
	)
	if err != nil {
		ua.Close()
		return fmt.Errorf("sipgw: %w", err)
	}
	g.ua, g.srv, g.client = ua, srv, client
	g.dua = &sipgo.DialogUA{
		Client: client,
		ContactHDR: sip.ContactHeader{
			Address: sip.Uri{Scheme: "sip", User: "xinling", Host: uriHost(g.advHost), Port: g.advPort},
		},
	}

	srv.OnBye(g.onBye)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {}) // never answer an ACK
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS"))
		_ = tx.Respond(res)
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusGlobalDecline, "Decline", nil))
	})

	go func() {
		defer close(g.serveDone)
		if err := srv.ServeUDP(g.conn); err != nil {
			g.log.Error("SIP transport stopped", "err", err)
		}
	}()
	// sipgo registers the socket for outgoing requests inside ServeUDP, on
	// its goroutine, and offers no signal for it: a request sent before
	// would try to bind the same address again. Wait until it is there.
	pool := ua.TransportLayer().Pool("udp")
	deadline := time.Now().Add(5 * time.Second)
	for pool.Size() == 0 {
		select {
		case <-g.serveDone:
			ua.Close()
			return errors.New("sipgw: SIP transport did not start")
		default:
		}
		if time.Now().After(deadline) {
			ua.Close()
			return errors.New("sipgw: SIP transport did not start in time")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Addr is the host:port the gateway advertises in Via and Contact.
func (g *Gateway) Addr() string {
	return net.JoinHostPort(g.advHost, strconv.Itoa(g.advPort))
}

// Dial sends the INVITE and returns at once; progress arrives on ev. The
// call lives until it ends or is hung up: ctx only guards the hand-over (a
// done ctx fails the Dial), it does not bound the call.
func (g *Gateway) Dial(ctx context.Context, c gateway.Call, ev gateway.Events) (gateway.Leg, error) {
	if ev == nil {
		return nil, errors.New("sipgw: nil Events")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req, err := g.newInvite(c)
	if err != nil {
		return nil, err
	}
	cl := newCall(g, c, req, ev)

	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, errors.New("sipgw: gateway closed")
	}
	g.calls[cl] = struct{}{}
	g.wg.Add(2)
	g.mu.Unlock()

	go cl.dispatch()
	go cl.run()
	return cl, nil
}

// Close hangs up every live call (CANCEL or BYE; no events follow for
// them), stops the transport and waits for the gateway's goroutines. Calls
// that have not ended within a few seconds are abandoned. An event already
// due for a call that ended by itself (Rejected, Failed, Hangup) is still
// delivered. Close is idempotent. Do not call it from an event callback: it
// waits for callbacks in flight.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	live := make([]*call, 0, len(g.calls))
	for c := range g.calls {
		live = append(live, c)
	}
	g.mu.Unlock()

	for _, c := range live {
		c.end(errClosing)
	}
	if !waitRuns(live, closeGrace) {
		g.log.Warn("closing with calls still ending; abandoning them")
	}
	// Terminates every transaction (unblocking whatever still waits on one)
	// and closes the socket, which ends ServeUDP.
	err := g.ua.Close()
	_ = g.conn.Close()
	<-g.serveDone

	drained := make(chan struct{})
	go func() { g.wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(closeDrain):
		return errors.New("sipgw: closed, but call goroutines are still running (an event callback blocks?)")
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// waitRuns waits up to d for the calls' run goroutines to end.
func waitRuns(calls []*call, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, c := range calls {
		select {
		case <-c.runDone:
		case <-t.C:
			return false
		}
	}
	return true
}

func (g *Gateway) forget(c *call) {
	g.mu.Lock()
	delete(g.calls, c)
	if c.dialogID != "" && g.dialogs[c.dialogID] == c {
		delete(g.dialogs, c.dialogID)
	}
	g.mu.Unlock()
}

// onBye answers a BYE from the far end of an answered call.
func (g *Gateway) onBye(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAC(req)
	var c *call
	if err == nil {
		g.mu.Lock()
		c = g.dialogs[id]
		g.mu.Unlock()
	}
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.remoteBye(req, tx)
}

// splitHostPort splits host:port, allowing a missing port (def).
func splitHostPort(hp string, def int) (string, int, error) {
	if hp == "" {
		return "", 0, errors.New("empty address")
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "missing port in address" {
			host, port = hp, strconv.Itoa(def)
		} else {
			return "", 0, err
		}
	}
	if !validHost(host) {
		return "", 0, fmt.Errorf("invalid host %q", host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", port)
	}
	return host, p, nil
}

// uriHost is h as sipgo wants it in a URI or Via: an IPv6 address in
// brackets (sipgo formats host:port without adding them).
func uriHost(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}

// validHost accepts a DNS name or an IP address (no brackets).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}
