package server

import (
	"bytes"
	"container/list"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xinling/xinling/server/store"
)

// metrics are the node's counters; Stats and /metrics expose them.
type metrics struct {
	framesIn, framesOut, deliveries atomic.Uint64
	badFrames, slowDrops, limited   atomic.Uint64
	logins, loginFailures, refused  atomic.Uint64
	redirects                       atomic.Uint64 // logins sent to the node serving the account
	settled, settleTimeouts         atomic.Uint64 // gained shards released by every node's word, by settleWait
}

// Stats is a snapshot of the node's state and counters.
type Stats struct {
	Connections, Sessions, Channels int
	FramesIn, FramesOut, Deliveries uint64
	BadFrames, SlowDrops, Limited   uint64
	Logins, LoginFailures, Refused  uint64
	// Settles: shards gained here whose channel messages waited for the
	// nodes' rejoins; SettleTimeouts: those that waited the whole 2 s.
	Settles, SettleTimeouts uint64
}

// Stats returns the node's current figures.
func (n *Node) Stats() Stats {
	return Stats{
		Connections:    int(n.connCount.Load()),
		Sessions:       n.sessions.len(),
		Channels:       n.channels.len(),
		FramesIn:       n.metrics.framesIn.Load(),
		FramesOut:      n.metrics.framesOut.Load(),
		Deliveries:     n.metrics.deliveries.Load(),
		BadFrames:      n.metrics.badFrames.Load(),
		SlowDrops:      n.metrics.slowDrops.Load(),
		Limited:        n.metrics.limited.Load(),
		Logins:         n.metrics.logins.Load(),
		LoginFailures:  n.metrics.loginFailures.Load(),
		Refused:        n.metrics.refused.Load(),
		Settles:        n.metrics.settled.Load(),
		SettleTimeouts: n.metrics.settleTimeouts.Load(),
	}
}

// metricsHandler serves the node's figures in Prometheus' text format, with
// the process (CPU, resident memory) and Go runtime collectors.
func (n *Node) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	reg.MustRegister(n.cfg.Collectors...)
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "xinling", Name: name, Help: help}, f))
	}
	counter := func(name, help string, v *atomic.Uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "xinling", Name: name, Help: help},
			func() float64 { return float64(v.Load()) }))
	}
	gauge("connections", "Open WebSocket connections.", func() float64 { return float64(n.connCount.Load()) })
	gauge("sessions", "Logged-in sessions, including those waiting to be resumed.", func() float64 { return float64(n.sessions.len()) })
	gauge("channels", "Channels held in memory.", func() float64 { return float64(n.channels.len()) })
	counter("frames_in_total", "Frames received from clients.", &n.metrics.framesIn)
	counter("frames_out_total", "Frames written to clients.", &n.metrics.framesOut)
	counter("channel_deliveries_total", "Channel pushes handed to members.", &n.metrics.deliveries)
	counter("bad_frames_total", "Messages with a malformed frame.", &n.metrics.badFrames)
	counter("slow_client_drops_total", "Connections dropped because their outbound queue was full.", &n.metrics.slowDrops)
	counter("rate_limited_total", "Requests refused by a rate limit.", &n.metrics.limited)
	counter("logins_total", "Successful logins and resumes.", &n.metrics.logins)
	counter("login_failures_total", "Refused logins.", &n.metrics.loginFailures)
	counter("login_redirects_total", "Logins sent to the cluster node that serves the account.", &n.metrics.redirects)
	counter("shard_settles_total", "Shards gained whose channel messages waited for every node to rejoin its members.", &n.metrics.settled)
	counter("shard_settle_timeouts_total", "Of those, shards whose wait ended at 2 s with some node not heard from (its members may miss messages).", &n.metrics.settleTimeouts)
	counter("connections_refused_total", "Connections refused by --max-conns, the per-address cap or shutdown.", &n.metrics.refused)
	storeCounter := func(name, help string, f func(store.CommitStats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "xinling", Subsystem: "store", Name: name, Help: help},
			func() float64 { return f(store.Stats(n.store)) }))
	}
	storeCounter("commits_total", "Batches the durable store committed (one sync each); 0 in memory.", func(c store.CommitStats) float64 { return float64(c.Commits) })
	storeCounter("changes_total", "Changes in those batches: their ratio to commits is the group commit's gain.", func(c store.CommitStats) float64 { return float64(c.Changes) })
	storeCounter("commit_seconds_total", "Time spent committing (syncing the disk, or waiting for JetStream's replicas).", func(c store.CommitStats) float64 { return c.Time.Seconds() })
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// jsonMarshal encodes without HTML escaping: messages are for programs, not browsers.
func jsonMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func newList() *list.List { return list.New() }
