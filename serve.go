package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/cluster"
	"github.com/xinling/xinling/server/gateway"
	"github.com/xinling/xinling/server/sipgw"
	"github.com/xinling/xinling/server/store"
)

// appFlags collects repeated --app APPID:CERT.
type appFlags map[string]string

func (a appFlags) String() string { return fmt.Sprint(map[string]string(a)) }

func (a appFlags) Set(v string) error {
	id, cert, ok := strings.Cut(v, ":")
	if !ok || id == "" || cert == "" {
		return fmt.Errorf("want APPID:CERTIFICATE, got %q", v)
	}
	a[id] = cert
	return nil
}

// serveFlags is what the serve command is told.
type serveFlags struct {
	listen, data                   string
	apps                           appFlags
	closed                         bool
	grace, heartbeat, channelTTL   time.Duration
	userRate, channelRate          int
	maxMembers, queueMax           int
	queueTTL                       time.Duration
	inviteHold, inviteExpiry       time.Duration
	flushDelay                     time.Duration
	requestRate, maxConns          int
	maxPerAddr, loginRate          int
	origins, tlsCert, tlsKey       string
	sipProxy, sipListen, sipDomain string
	natsURL, clusterName           string
	clusterListen, clusterRoutes   string
	clusterSecret, natsListen      string
	nodeID                         string
	replicas                       int // <= 0: openStore picks it from the cluster's size
	nodeTimeout, leaseTTL          time.Duration
	shards                         int
	advertise                      string
	pprof                          bool
	metricsListen                  string
	verbose                        bool
}

// serveCmd is `xinling serve`: parse the flags, build the node, run it.
func serveCmd(args []string) error {
	f, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	s, err := f.build()
	defer s.close()
	if err != nil {
		return err
	}
	return s.run()
}

func parseServeFlags(args []string) (*serveFlags, error) {
	f := &serveFlags{apps: appFlags{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9470", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&f.data, "data", "", "directory of the durable store (attributes, offline messages); empty keeps state in memory")
	fs.Var(f.apps, "app", "register an app with its certificate, APPID:CERT (repeatable); its logins need a token")
	fs.BoolVar(&f.closed, "closed", false, "refuse apps not registered with --app")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "how long a dropped session waits to be resumed")
	fs.DurationVar(&f.heartbeat, "heartbeat", 5*time.Second, "client ping interval; a connection silent for 3× is dead")
	fs.DurationVar(&f.channelTTL, "channel-ttl", 7200*time.Second, "default _channel_ttl: how long an empty channel keeps its attributes")
	fs.IntVar(&f.userRate, "user-rate", 60, "messages per second per user (peer and channel together)")
	fs.IntVar(&f.channelRate, "channel-rate", 200, "messages per second per channel (unless _sendmsg_limit)")
	fs.IntVar(&f.maxMembers, "max-members", 10000, "members per channel")
	fs.IntVar(&f.queueMax, "queue-max", 1000, "offline peer messages kept per account")
	fs.DurationVar(&f.queueTTL, "queue-ttl", 24*time.Hour, "how long offline peer messages are kept")
	fs.DurationVar(&f.inviteHold, "invite-hold", 20*time.Second, "how long an invite to an offline account waits for it to log in")
	fs.DurationVar(&f.inviteExpiry, "invite-expiry", 60*time.Second, "when an unanswered invite without _timeout expires")
	fs.DurationVar(&f.flushDelay, "flush-delay", 20*time.Millisecond, "when the server is behind on writes, let pushes to a connection gather as long as they already waited, up to this long (more frames per write under load; negative: never wait)")
	fs.IntVar(&f.requestRate, "request-rate", 1000, "requests per second one connection may make")
	fs.IntVar(&f.maxConns, "max-conns", 100000, "connections the server accepts")
	fs.IntVar(&f.maxPerAddr, "max-conns-per-addr", 1000, "connections from one source address")
	fs.IntVar(&f.loginRate, "login-rate", 20000, "login attempts per second the server accepts")
	fs.StringVar(&f.origins, "allowed-origins", "", "comma-separated browser origins allowed to connect (empty: any)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM): serve wss://")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&f.sipProxy, "sip-proxy", "", "SIP proxy host:port (UDP) that phone invites are sent to; empty: phone invites fail with 700")
	fs.StringVar(&f.sipListen, "sip-listen", "", "local UDP host:port for SIP (default 127.0.0.1:0; a remote proxy needs an address it can reach)")
	fs.StringVar(&f.sipDomain, "sip-domain", "", "From domain of phone calls (default xinling.local)")
	fs.StringVar(&f.natsURL, "nats", "", "join an existing NATS cluster (with JetStream) at this URL and run as one node of a xinling cluster")
	fs.StringVar(&f.clusterName, "cluster-name", "", "run an embedded NATS server in this cluster, clustering with --cluster-routes")
	fs.StringVar(&f.clusterListen, "cluster-listen", "127.0.0.1:6222", "host:port the embedded NATS server's routes listen on")
	fs.StringVar(&f.clusterRoutes, "cluster-routes", "", "comma-separated route URLs (host:port) of the nodes' embedded NATS servers (this node's own may be listed too)")
	fs.StringVar(&f.clusterSecret, "cluster-secret", os.Getenv("XINLING_CLUSTER_SECRET"), "shared secret every node's routes and NATS clients must present (default $XINLING_CLUSTER_SECRET; empty: none — then firewall the route port)")
	fs.StringVar(&f.natsListen, "nats-listen", "", "host:port the embedded NATS server also serves NATS clients on (default: a free loopback port)")
	fs.StringVar(&f.nodeID, "node-id", "", "this node's unique name in the cluster (default: random)")
	fs.IntVar(&f.replicas, "replicas", 0, "JetStream replicas of the durable state (default: 3 with three or more embedded nodes, else 1; say 3 for a clustered --nats)")
	fs.DurationVar(&f.nodeTimeout, "node-timeout", 3*time.Second, "a node silent this long is gone: its sessions' channel memberships and calls end")
	fs.DurationVar(&f.leaseTTL, "lease-ttl", 6*time.Second, "a silent node's shards move after this long (the first node to start sets it for the cluster)")
	fs.IntVar(&f.shards, "shards", 12, "shards that accounts and channels hash into: the same on every node, for the cluster's life")
	fs.StringVar(&f.advertise, "advertise", "", "where clients reach this node, ws://host:port (default: --listen's address, or the host name when it listens on every address)")
	fs.BoolVar(&f.pprof, "pprof", false, "serve Go profiles under /debug/pprof/ (keep it off on an open network)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve /metrics (and --pprof's profiles) only on this address, e.g. 127.0.0.1:9471, not on --listen (empty: on --listen)")
	fs.BoolVar(&f.verbose, "v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return f, nil
}

// serving is what build made: the node, its listener, and what to close
// once the node has shut down.
type serving struct {
	f       *serveFlags
	log     *slog.Logger
	nc      *cluster.NATS // clustered only
	st      store.Store
	l       net.Listener
	scheme  string
	gw      gateway.Gateway // stays a nil interface without a proxy: phone invites then fail with 700
	ml      net.Listener    // --metrics-listen's
	node    node
	closers []func() // closed in reverse order
}

func (s *serving) onClose(fn func()) { s.closers = append(s.closers, fn) }

func (s *serving) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// build opens the store (or joins the cluster), listens and makes the
// node; on an error, close undoes what it did.
func (f *serveFlags) build() (*serving, error) {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	s := &serving{f: f, log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
	if f.natsURL != "" && f.clusterName != "" {
		return s, errors.New("serve: --nats joins an existing NATS; --cluster-name runs an embedded one: choose one")
	}
	for _, step := range []func() error{s.openStore, s.listen, s.startGateway, s.listenMetrics, s.startNode} {
		if err := step(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (f *serveFlags) clustered() bool { return f.natsURL != "" || f.clusterName != "" }

// openStore connects to NATS when clustered (the node's stores are then
// opened per shard), else opens --data's store or keeps state in memory.
func (s *serving) openStore() error {
	f := s.f
	s.st = store.Memory()
	switch {
	case f.clustered():
		if f.data == "" && f.clusterName != "" {
			return errors.New("serve: an embedded NATS cluster keeps JetStream's files under --data: give --data DIR")
		}
		var routes []string
		if f.clusterRoutes != "" {
			routes = strings.Split(f.clusterRoutes, ",")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		nc, err := cluster.Connect(ctx, cluster.NATSConfig{URL: f.natsURL, Name: f.clusterName, Listen: f.clusterListen,
			Routes: routes, ServerName: f.nodeID, ClientAddr: f.natsListen, Secret: f.clusterSecret, StoreDir: filepath.Join(f.data, "nats")})
		cancel()
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		s.nc = nc
		s.onClose(nc.Close)
		if f.replicas <= 0 {
			f.replicas = 1
			if nc.ClusterSz >= 3 {
				f.replicas = 3
			}
		}
	case f.data != "":
		st, err := store.OpenWith(f.data, store.Options{Logger: s.log})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		s.st = st
	default:
		s.log.Warn("no --data: attributes and offline messages are kept in memory and lost on exit")
	}
	st := s.st
	s.onClose(func() { st.Close() })
	return nil
}

// listen listens on --listen, with TLS when given a key pair.
func (s *serving) listen() error {
	f := s.f
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	s.scheme = "ws"
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			l.Close()
			return fmt.Errorf("serve: load TLS key pair: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		s.scheme = "wss"
	}
	s.l = l
	return nil
}

// startGateway starts the SIP gateway of phone invites with --sip-proxy.
func (s *serving) startGateway() error {
	f := s.f
	if f.sipProxy == "" {
		return nil
	}
	g, err := sipgw.New(sipgw.Config{Proxy: f.sipProxy, Listen: f.sipListen, Domain: f.sipDomain,
		Logger: s.log, RingTimeout: f.inviteExpiry + 5*time.Second})
	if err != nil {
		s.l.Close()
		return fmt.Errorf("serve: %w", err)
	}
	s.onClose(func() { g.Close() }) // after the node's shutdown
	s.gw = g
	s.log.Info("phone invites go to the SIP proxy", "proxy", f.sipProxy, "sip", g.Addr())
	return nil
}

func (s *serving) listenMetrics() error {
	if s.f.metricsListen == "" {
		return nil
	}
	ml, err := net.Listen("tcp", s.f.metricsListen)
	if err != nil {
		s.l.Close()
		return fmt.Errorf("serve: --metrics-listen: %w", err)
	}
	s.ml = ml
	s.onClose(func() { ml.Close() })
	return nil
}

// startNode makes the single server, or starts this cluster member.
func (s *serving) startNode() error {
	f := s.f
	var allowed []string
	if f.origins != "" {
		allowed = strings.Split(f.origins, ",")
	}
	cfg := server.Config{
		Apps: f.apps, Closed: f.closed, Store: s.st, Logger: s.log,
		Grace: f.grace, Heartbeat: f.heartbeat, ChannelTTL: f.channelTTL,
		UserRate: f.userRate, ChannelRate: f.channelRate, MaxMembers: f.maxMembers,
		QueueMax: f.queueMax, QueueTTL: f.queueTTL,
		InviteHold: f.inviteHold, InviteExpiry: f.inviteExpiry,
		RequestRate: f.requestRate, FlushDelay: f.flushDelay, MaxConns: f.maxConns, MaxConnsPerAddr: f.maxPerAddr, LoginRate: f.loginRate, AllowedOrigins: allowed, Pprof: f.pprof, Gateway: s.gw,
		PrivateMetrics: f.metricsListen != "",
	}
	if !f.clustered() {
		s.node = server.New(cfg)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nc, reps, log := s.nc, f.replicas, s.log
	open := func(name string) (store.Store, error) { return openClusterStore(nc, reps, name, log) }
	url := f.advertise
	if url == "" {
		url = advertiseURL(s.scheme, s.l.Addr())
	}
	m, err := cluster.Start(ctx, cluster.Config{NATS: nc, Server: cfg, OpenStore: open, StorePrefix: "XL", NodeID: f.nodeID, Replicas: f.replicas,
		URL: url, Shards: f.shards, LeaseTTL: f.leaseTTL, NodeTimeout: f.nodeTimeout, Logger: log})
	if err != nil {
		s.l.Close()
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("joined the cluster", "node", m.ID(), "replicas", f.replicas, "shards", f.shards, "clients_reach_it_at", url)
	s.node = m
	return nil
}

// run serves until the node fails or a signal asks it to stop, then shuts
// it down.
func (s *serving) run() error {
	log, node := s.log, s.node
	if s.ml != nil {
		go func() {
			_ = (&http.Server{Handler: server.MetricsHandler(node), ReadHeaderTimeout: 10 * time.Second}).Serve(s.ml)
		}()
		log.Info("metrics served here only", "addr", s.ml.Addr().String())
	}
	node = withWebApp(node) // the browser client at /app (webapp.go)
	fmt.Printf("listening on %s://%s\n", s.scheme, s.l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- node.Serve(s.l) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := node.Shutdown(sctx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		log.Error("shutdown", "err", serr)
	}
	if err == nil {
		err = <-served
	}
	return err
}

// node is what serve runs: a single server.Node or a cluster member.
type node interface {
	http.Handler
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// openClusterStore opens the JetStream store of one shard's log when this
// node wins the shard (the member tries again while it fails: a cluster
// whose other nodes are still starting has no R3 streams yet).
func openClusterStore(nc *cluster.NATS, replicas int, name string, log *slog.Logger) (store.Store, error) {
	st, err := store.NATS(nc.JS, store.NATSOptions{Replicas: replicas, Prefix: "XL", Log: name, Store: store.Options{Logger: log}})
	if err != nil {
		return nil, fmt.Errorf("open the JetStream store of %s (%d replicas): %w", name, replicas, err)
	}
	return st, nil
}

// advertiseURL is where clients reach a node listening on addr: its
// address, or the host name for an unspecified one (0.0.0.0, ::).
func advertiseURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
