package server

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xinling/xinling/server/gateway"
	"github.com/xinling/xinling/server/store"
)

// Config is everything a Node needs; zero fields take the defaults of SPEC.md.
type Config struct {
	// Apps maps an appID to its certificate: those apps require a SignalingToken.
	Apps map[string]string
	// Closed refuses appIDs not in Apps (login fails with 202).
	Closed bool

	Store  store.Store  // durable state; default store.Memory()
	Logger *slog.Logger // default slog.Default()

	Grace           time.Duration   // a dropped session waits this long to be resumed (30 s)
	Heartbeat       time.Duration   // the ping interval clients are told; dead after 3× (5 s)
	ChannelTTL      time.Duration   // default _channel_ttl (7200 s)
	JanitorEvery    time.Duration   // how often expired channels are destroyed (5 s)
	ChannelIdle     time.Duration   // an empty channel's object (limiters, offsets) is kept this long (60 s)
	QueueTTL        time.Duration   // offline messages expire after (24 h)
	QueueMax        int             // offline messages per account (1,000)
	UserRate        int             // messages per second per user, peer and channel together (60)
	ChannelRate     int             // messages per second per channel, unless _sendmsg_limit (200)
	MaxMembers      int             // members per channel (10,000)
	OutboundBytes   int             // bytes queued to one connection before it is dropped as too slow (4 MiB)
	WriteTimeout    time.Duration   // one write to a client (10 s)
	LoginTimeout    time.Duration   // a new connection must log in within (10 s)
	ChannelHistory  int             // channel pushes kept for resume (1,024)
	UserBacklog     int             // unacknowledged user-stream pushes kept per session (10,000)
	RequestRate     int             // requests per second per connection before they are refused (1,000)
	InviteHold      time.Duration   // an invite to an offline account waits this long for it (20 s)
	InviteExpiry    time.Duration   // an unanswered invite without _timeout expires after (60 s)
	Gateway         gateway.Gateway // where phone invites go; nil: they fail with 700
	MaxConns        int             // connections the node accepts (100,000)
	MaxConnsPerAddr int             // connections from one source address (1,000)
	LoginRate       int             // login attempts per second, node-wide (20,000)
	AllowedOrigins  []string        // browser origins allowed to connect; empty: any
	FlushDelay      time.Duration   // the longest a behind node lets pushes gather before a write (20 ms; negative: never)
	Pprof           bool            // serve net/http/pprof under /debug/pprof/ (for profiling, not for an open network)
	PrivateMetrics  bool            // /metrics and /debug/pprof/ only through MetricsHandler (its own listener), not here

	// Peers makes the node one of a sharded cluster's (server/cluster):
	// it serves the shards Peers says it does and asks the others the rest.
	Peers Peers
	// Collectors are added to the node's /metrics (the cluster's figures).
	Collectors []prometheus.Collector
}

func (c *Config) withDefaults() Config {
	out := *c
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&out.Grace, 30*time.Second)
	def(&out.Heartbeat, 5*time.Second)
	def(&out.ChannelTTL, 7200*time.Second)
	def(&out.JanitorEvery, 5*time.Second)
	def(&out.ChannelIdle, time.Minute)
	def(&out.InviteHold, 20*time.Second)
	def(&out.InviteExpiry, 60*time.Second)
	def(&out.QueueTTL, 24*time.Hour)
	def(&out.WriteTimeout, 10*time.Second)
	def(&out.LoginTimeout, 10*time.Second)
	defInt(&out.QueueMax, 1000)
	defInt(&out.UserRate, 60)
	defInt(&out.ChannelRate, 200)
	defInt(&out.MaxMembers, 10000)
	defInt(&out.OutboundBytes, 4<<20)
	defInt(&out.ChannelHistory, 1024)
	defInt(&out.UserBacklog, 10000)
	defInt(&out.RequestRate, 1000)
	if out.FlushDelay == 0 {
		out.FlushDelay = 20 * time.Millisecond // negative turns the wait off
	}
	defInt(&out.MaxConns, 100000)
	defInt(&out.MaxConnsPerAddr, 1000)
	defInt(&out.LoginRate, 20000)
	if out.Store == nil {
		out.Store = store.Memory()
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}
