// Package cluster runs several xinling nodes as one system over NATS.
//
// Accounts and channels hash into a fixed number of shards; each shard is
// served by one node at a time, the holder of its lease in a JetStream
// key-value bucket (shards.go), which runs its part of the unchanged
// single-node logic with the shard's own durable store (store.NATS, one
// log per shard). A client logs in on the node serving its account; what
// concerns another shard travels to the node serving it as a record, over
// a NATS subject per node (transport.go). Member (member.go) is the node's
// server.Peers: who serves what, where to reach it, how to send to it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSConfig says which NATS to use: an existing one (URL), or one embedded
// in this process that clusters with the other nodes' (Name, Listen, Routes).
type NATSConfig struct {
	URL string // join this NATS (cluster); the embedded fields are then unused

	Name       string   // cluster name of the embedded server
	Listen     string   // host:port its routes listen on
	Routes     []string // the other nodes' route URLs (nats-route://host:port or host:port)
	ServerName string   // unique name of this node's server (default: from Listen)
	ClientAddr string   // host:port to serve NATS clients on (default: a free loopback port)
	// Secret, when set, is required of every route and NATS client: only
	// nodes given the same secret join the cluster.
	Secret   string
	StoreDir string // JetStream's directory
}

// NATS is a connection to NATS with JetStream, and the embedded server if any.
type NATS struct {
	Conn      *nats.Conn
	JS        jetstream.JetStream
	Server    *natsserver.Server // nil when joining an existing NATS
	ClusterSz int                // the nodes configured (embedded), for default replicas
}

// Connect starts the embedded server or connects to the given URL and waits
// until JetStream answers (a cluster first elects its meta leader).
func Connect(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	out := &NATS{ClusterSz: 1}
	var opts []nats.Option
	opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.Name("xinling"))
	url := cfg.URL
	if url == "" {
		ns, err := embedded(cfg)
		if err != nil {
			return nil, err
		}
		out.Server = ns
		out.ClusterSz = clusterSize(cfg)
		opts = append(opts, nats.InProcessServer(ns))
		if cfg.Secret != "" {
			opts = append(opts, nats.UserInfo(secretUser, cfg.Secret))
		}
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	out.Conn = nc
	if out.JS, err = jetstream.New(nc); err != nil {
		out.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	for {
		err := jsReady(ctx, out.JS)
		if err == nil && out.Server != nil && out.Server.JetStreamIsClustered() && !out.Server.JetStreamIsCurrent() {
			// Requests made before the meta leader is known go unanswered
			// until they time out; wait for it instead.
			err = errors.New("no JetStream meta leader yet")
		}
		if err == nil {
			return out, nil
		}
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			out.Close()
			return nil, fmt.Errorf("NATS has no JetStream (run nats-server with -js): %w", err)
		}
		select {
		case <-ctx.Done():
			out.Close()
			return nil, fmt.Errorf("waiting for JetStream: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// secretUser is the user name that goes with --cluster-secret.
const secretUser = "xinling"

func embedded(cfg NATSConfig) (*natsserver.Server, error) {
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--cluster-listen: %w", err)
	}
	if port == 0 {
		port = -1 // nats-server's "any free port"; 0 would turn routing off
	}
	name := cfg.ServerName
	if name == "" {
		// The host's name, not the listen address: every machine may
		// listen on 0.0.0.0:6222, and JetStream needs distinct names.
		hn, _ := os.Hostname()
		name = strings.NewReplacer(":", "-", ".", "-", "[", "", "]", "").Replace(hn + "-" + strconv.Itoa(port))
	}
	opts := &natsserver.Options{
		ServerName: name,
		// Routing starts only once a client port listens, so it listens on
		// loopback even when every client connects in-process.
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  cfg.StoreDir,
		NoSigs:    true,
		NoLog:     true,
		Cluster: natsserver.ClusterOpts{
			Name: cfg.Name,
			Host: host,
			Port: port,
		},
	}
	if cfg.ClientAddr != "" {
		ch, cp, err := splitHostPort(cfg.ClientAddr)
		if err != nil {
			return nil, fmt.Errorf("--nats-listen: %w", err)
		}
		if cp == 0 {
			cp = -1 // any free port
		}
		opts.Host, opts.Port = ch, cp
	}
	if len(cfg.Routes) == 0 {
		return nil, errors.New("--cluster-routes is required with --cluster-name: the route URLs of the other nodes (JetStream needs its peers known from the start)")
	}
	for _, r := range cfg.Routes {
		if isSelf(routeAddr(r), cfg.Listen) {
			// This node's own address, in a list shared by every node:
			// left out, or JetStream would count a peer that never comes.
			continue
		}
		if !strings.Contains(r, "://") {
			r = "nats-route://" + r
		}
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("--cluster-routes: %q: %w", r, err)
		}
		if cfg.Secret != "" && u.User == nil {
			u.User = url.UserPassword(secretUser, cfg.Secret)
		}
		opts.Routes = append(opts.Routes, u)
	}
	if cfg.Secret != "" {
		opts.Cluster.Username, opts.Cluster.Password = secretUser, cfg.Secret
		opts.Username, opts.Password = secretUser, cfg.Secret
	}
	if os.Getenv("XINLING_NATS_LOG") != "" {
		opts.NoLog = false // the embedded server's own log on stderr, for debugging a cluster
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	if !opts.NoLog {
		ns.ConfigureLogger()
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS did not start within 10 s")
	}
	return ns, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// Close closes the connection and shuts the embedded server down.
func (n *NATS) Close() {
	if n.Conn != nil {
		n.Conn.Close()
	}
	if n.Server != nil {
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	}
}

// LocalCluster starts n embedded NATS servers clustered on loopback, each
// with JetStream under dir, for tests and benchmarks on one machine. It
// returns once JetStream answers on every one.
func LocalCluster(ctx context.Context, n int, dir string) ([]*NATS, error) {
	// JetStream in a cluster wants its routes configured from the start, so
	// the ports are chosen first; every server is given all of them.
	var routes []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		routes = append(routes, l.Addr().String())
		l.Close()
	}
	var out []*NATS
	for i := 0; i < n; i++ {
		cfg := NATSConfig{
			Name:       "local",
			Listen:     routes[i],
			Routes:     routes,
			ServerName: fmt.Sprintf("n%d", i+1),
			StoreDir:   fmt.Sprintf("%s/n%d", dir, i+1),
		}
		ns, err := embedded(cfg)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, &NATS{Server: ns, ClusterSz: n})
	}
	for _, x := range out {
		nc, err := nats.Connect("", nats.InProcessServer(x.Server), nats.MaxReconnects(-1))
		if err == nil {
			x.Conn = nc
			x.JS, err = jetstream.New(nc)
		}
		if err != nil {
			closeAll(out)
			return nil, err
		}
	}
	for _, x := range out {
		for {
			if err := jsReady(ctx, x.JS); err == nil {
				break
			} else if ctx.Err() != nil {
				closeAll(out)
				return nil, fmt.Errorf("waiting for JetStream: %w", err)
			}
			time.Sleep(100 * time.Millisecond) // polling the meta leader's election; no event to wait for
		}
	}
	return out, nil
}

// StreamLeader is the NATS server leading a JetStream stream ("" unknown).
func StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) string {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	si, err := st.Info(ctx)
	if err != nil || si.Cluster == nil {
		return ""
	}
	return si.Cluster.Leader
}

func closeAll(ns []*NATS) {
	for _, n := range ns {
		n.Close()
	}
}

// jsReady asks JetStream for the account's figures, waiting at most a second:
// before the meta leader is elected a request may go unanswered.
func jsReady(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := js.AccountInfo(ctx)
	return err
}

// clusterSize counts this node and the routes to others (a route list may
// name this node too, so one list serves every node).
func clusterSize(cfg NATSConfig) int {
	n := 1
	for _, r := range cfg.Routes {
		if !isSelf(routeAddr(r), cfg.Listen) {
			n++
		}
	}
	return n
}

// routeAddr is the host:port of a route URL.
func routeAddr(r string) string {
	if i := strings.Index(r, "://"); i >= 0 {
		r = r[i+3:]
	}
	if i := strings.LastIndex(r, "@"); i >= 0 {
		r = r[i+1:]
	}
	return r
}

// isSelf reports whether route (host:port) names this node, which listens
// on listen: the same address, or the same port on one of this machine's
// addresses or names when it listens on all of them (0.0.0.0, ::).
func isSelf(route, listen string) bool {
	if route == listen {
		return true
	}
	rh, rp, err1 := net.SplitHostPort(route)
	lh, lp, err2 := net.SplitHostPort(listen)
	if err1 != nil || err2 != nil || rp != lp {
		return false
	}
	if rh == lh {
		return true
	}
	if lh != "" && lh != "0.0.0.0" && lh != "::" {
		return false
	}
	if hn, err := os.Hostname(); err == nil && strings.EqualFold(rh, hn) || rh == "localhost" {
		return true
	}
	ip := net.ParseIP(rh)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
