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

func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9470", "address to listen on (port 0 picks a free one)")
	data := fs.String("data", "", "directory of the durable store (attributes, offline messages); empty keeps state in memory")
	apps := appFlags{}
	fs.Var(apps, "app", "register an app with its certificate, APPID:CERT (repeatable); its logins need a token")
	closed := fs.Bool("closed", false, "refuse apps not registered with --app")
	grace := fs.Duration("grace", 30*time.Second, "how long a dropped session waits to be resumed")
	heartbeat := fs.Duration("heartbeat", 5*time.Second, "client ping interval; a connection silent for 3× is dead")
	channelTTL := fs.Duration("channel-ttl", 7200*time.Second, "default _channel_ttl: how long an empty channel keeps its attributes")
	userRate := fs.Int("user-rate", 60, "messages per second per user (peer and channel together)")
	channelRate := fs.Int("channel-rate", 200, "messages per second per channel (unless _sendmsg_limit)")
	maxMembers := fs.Int("max-members", 10000, "members per channel")
	queueMax := fs.Int("queue-max", 1000, "offline peer messages kept per account")
	queueTTL := fs.Duration("queue-ttl", 24*time.Hour, "how long offline peer messages are kept")
	inviteHold := fs.Duration("invite-hold", 20*time.Second, "how long an invite to an offline account waits for it to log in")
	inviteExpiry := fs.Duration("invite-expiry", 60*time.Second, "when an unanswered invite without _timeout expires")
	flushDelay := fs.Duration("flush-delay", 20*time.Millisecond, "when the server is behind on writes, let pushes to a connection gather as long as they already waited, up to this long (more frames per write under load; negative: never wait)")
	requestRate := fs.Int("request-rate", 1000, "requests per second one connection may make")
	maxConns := fs.Int("max-conns", 100000, "connections the server accepts")
	maxPerAddr := fs.Int("max-conns-per-addr", 1000, "connections from one source address")
	loginRate := fs.Int("login-rate", 20000, "login attempts per second the server accepts")
	origins := fs.String("allowed-origins", "", "comma-separated browser origins allowed to connect (empty: any)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM): serve wss://")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	sipProxy := fs.String("sip-proxy", "", "SIP proxy host:port (UDP) that phone invites are sent to; empty: phone invites fail with 700")
	sipListen := fs.String("sip-listen", "", "local UDP host:port for SIP (default 127.0.0.1:0; a remote proxy needs an address it can reach)")
	sipDomain := fs.String("sip-domain", "", "From domain of phone calls (default xinling.local)")
	natsURL := fs.String("nats", "", "join an existing NATS cluster (with JetStream) at this URL and run as one node of a xinling cluster")
	clusterName := fs.String("cluster-name", "", "run an embedded NATS server in this cluster, clustering with --cluster-routes")
	clusterListen := fs.String("cluster-listen", "127.0.0.1:6222", "host:port the embedded NATS server's routes listen on")
	clusterRoutes := fs.String("cluster-routes", "", "comma-separated route URLs (host:port) of the nodes' embedded NATS servers (this node's own may be listed too)")
	clusterSecret := fs.String("cluster-secret", os.Getenv("XINLING_CLUSTER_SECRET"), "shared secret every node's routes and NATS clients must present (default $XINLING_CLUSTER_SECRET; empty: none — then firewall the route port)")
	natsListen := fs.String("nats-listen", "", "host:port the embedded NATS server also serves NATS clients on (default: a free loopback port)")
	nodeID := fs.String("node-id", "", "this node's unique name in the cluster (default: random)")
	replicas := fs.Int("replicas", 0, "JetStream replicas of the durable state (default: 3 with three or more embedded nodes, else 1; say 3 for a clustered --nats)")
	nodeTimeout := fs.Duration("node-timeout", 3*time.Second, "a node silent this long is gone: its sessions' channel memberships and calls end")
	leaseTTL := fs.Duration("lease-ttl", 6*time.Second, "a silent node's shards move after this long (the first node to start sets it for the cluster)")
	shards := fs.Int("shards", 12, "shards that accounts and channels hash into: the same on every node, for the cluster's life")
	advertise := fs.String("advertise", "", "where clients reach this node, ws://host:port (default: --listen's address, or the host name when it listens on every address)")
	pprofOn := fs.Bool("pprof", false, "serve Go profiles under /debug/pprof/ (keep it off on an open network)")
	metricsListen := fs.String("metrics-listen", "", "serve /metrics (and --pprof's profiles) only on this address, e.g. 127.0.0.1:9471, not on --listen (empty: on --listen)")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	clustered := *natsURL != "" || *clusterName != ""
	if *natsURL != "" && *clusterName != "" {
		return errors.New("serve: --nats joins an existing NATS; --cluster-name runs an embedded one: choose one")
	}
	var nc *cluster.NATS
	var st store.Store = store.Memory()
	switch {
	case clustered:
		if *data == "" && *clusterName != "" {
			return errors.New("serve: an embedded NATS cluster keeps JetStream's files under --data: give --data DIR")
		}
		var routes []string
		if *clusterRoutes != "" {
			routes = strings.Split(*clusterRoutes, ",")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var err error
		nc, err = cluster.Connect(ctx, cluster.NATSConfig{URL: *natsURL, Name: *clusterName, Listen: *clusterListen,
			Routes: routes, ServerName: *nodeID, ClientAddr: *natsListen, Secret: *clusterSecret, StoreDir: filepath.Join(*data, "nats")})
		cancel()
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer nc.Close()
		if *replicas <= 0 {
			*replicas = 1
			if nc.ClusterSz >= 3 {
				*replicas = 3
			}
		}
	case *data != "":
		var err error
		if st, err = store.OpenWith(*data, store.Options{Logger: log}); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	default:
		log.Warn("no --data: attributes and offline messages are kept in memory and lost on exit")
	}
	defer st.Close()

	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	scheme := "ws"
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			l.Close()
			return fmt.Errorf("serve: load TLS key pair: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "wss"
	}
	var gw gateway.Gateway // stays a nil interface without a proxy: phone invites then fail with 700
	if *sipProxy != "" {
		g, err := sipgw.New(sipgw.Config{Proxy: *sipProxy, Listen: *sipListen, Domain: *sipDomain,
			Logger: log, RingTimeout: *inviteExpiry + 5*time.Second})
		if err != nil {
			l.Close()
			return fmt.Errorf("serve: %w", err)
		}
		defer g.Close() // after the node's shutdown: defers run in reverse
		gw = g
		log.Info("phone invites go to the SIP proxy", "proxy", *sipProxy, "sip", g.Addr())
	}
	var allowed []string
	if *origins != "" {
		allowed = strings.Split(*origins, ",")
	}
	cfg := server.Config{
		Apps: apps, Closed: *closed, Store: st, Logger: log,
		Grace: *grace, Heartbeat: *heartbeat, ChannelTTL: *channelTTL,
		UserRate: *userRate, ChannelRate: *channelRate, MaxMembers: *maxMembers,
		QueueMax: *queueMax, QueueTTL: *queueTTL,
		InviteHold: *inviteHold, InviteExpiry: *inviteExpiry,
		RequestRate: *requestRate, FlushDelay: *flushDelay, MaxConns: *maxConns, MaxConnsPerAddr: *maxPerAddr, LoginRate: *loginRate, AllowedOrigins: allowed, Pprof: *pprofOn, Gateway: gw,
		PrivateMetrics: *metricsListen != "",
	}
	var ml net.Listener
	if *metricsListen != "" {
		if ml, err = net.Listen("tcp", *metricsListen); err != nil {
			l.Close()
			return fmt.Errorf("serve: --metrics-listen: %w", err)
		}
		defer ml.Close()
	}
	var node node
	if clustered {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		reps := *replicas
		open := func(name string) (store.Store, error) { return openClusterStore(nc, reps, name, log) }
		url := *advertise
		if url == "" {
			url = advertiseURL(scheme, l.Addr())
		}
		m, err := cluster.Start(ctx, cluster.Config{NATS: nc, Server: cfg, OpenStore: open, StorePrefix: "XL", NodeID: *nodeID, Replicas: *replicas,
			URL: url, Shards: *shards, LeaseTTL: *leaseTTL, NodeTimeout: *nodeTimeout, Logger: log})
		cancel()
		if err != nil {
			l.Close()
			return fmt.Errorf("serve: %w", err)
		}
		log.Info("joined the cluster", "node", m.ID(), "replicas", *replicas, "shards", *shards, "clients_reach_it_at", url)
		node = m
	} else {
		node = server.New(cfg)
	}
	if ml != nil {
		go func() {
			_ = (&http.Server{Handler: server.MetricsHandler(node), ReadHeaderTimeout: 10 * time.Second}).Serve(ml)
		}()
		log.Info("metrics served here only", "addr", ml.Addr().String())
	}
	node = withWebApp(node) // the browser client at /app (webapp.go)
	fmt.Printf("listening on %s://%s\n", scheme, l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- node.Serve(l) }()
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
