// Package loadtest is `xinling bench`: a load tool that speaks the wire
// protocol (docs/PROTOCOL.md) directly over gorilla/websocket, in a process
// separate from the server, and reports throughput, latency and the
// server's CPU and memory per delivery (scraped from its /metrics).
//
// Scenarios: fanout (one channel, P publishers, M members), p2p (pairs
// echoing peer messages), logins (a login storm), idle (sessions that only
// heartbeat) and raw-server, a minimal broadcast WebSocket server for
// `fanout --raw`, so each figure also reads as a ratio to what the wire and
// the runtime allow without signaling logic.
package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xinling/xinling/sdk"
)

const usageText = `Usage: xinling bench SCENARIO [flags]

Scenarios:
  fanout      M members (--conns) join one channel; P of them (--pubs) publish
              --size-byte messages with at most --window unanswered ch.send
              each, flat out or at --rate messages/s in total. Reports
              deliveries/s, messages/s, latency p50/p99/p99.9, lost, out of order.
              With --raw, the same load against "bench raw-server".
  p2p         --conns pairs; each sender keeps --window peer messages in
              flight to its partner, who echoes them back. Round trips/s, RTT.
  logins      a storm of --conns logins, --window at a time, each followed by
              a logout. Logins/s, failures, login latency.
  idle        --conns members of one channel heartbeat for --duration. Server
              memory per session and idle CPU.
  raw-server  a minimal broadcast WebSocket server (no signaling): every text
              message is sent to every connection. Serves /metrics.

Every scenario reports the server's CPU seconds and peak resident memory
(scraped from SERVER/metrics every 250 ms) and the tool's own CPU.

--server may list the nodes of a cluster, comma-separated: connection i goes
to URL i mod n (so a channel's members, and the two sides of a p2p pair, sit
on different nodes; fanout's publishers are connections 0…P-1), and the server
figures are the sums over every URL's /metrics, with each node's own below.

The server must allow the load, e.g.:
  xinling serve --user-rate 1000000000 --channel-rate 1000000000 \
    --login-rate 1000000 --max-conns-per-addr 100000 --max-members 100000

Flags:
`

// options are the command line.
type options struct {
	scenario string
	server   string   // as given: one URL, or several separated by commas
	servers  []string // the URLs; connection i goes to servers[i mod len]
	scrape   string   // more servers whose /metrics count, with no connection to them
	scrapes  []string
	conns    int
	pubs     int
	rate     float64
	window   int
	duration time.Duration
	drain    time.Duration
	size     int
	app      string
	cert     string
	channel  string
	perAddr  int
	setup    int
	ackEvery time.Duration
	raw      bool
	e2e      bool
	notify   bool
	strict   bool
	jsonOut  bool
	listen   string
	cpuProf  string
	readBuf  int
	quiet    bool // no progress lines (tests)

	progress io.Writer
}

func (o *options) logf(format string, args ...any) {
	if o.progress != nil && !o.quiet {
		fmt.Fprintf(o.progress, format+"\n", args...)
	}
}

// Main runs `xinling bench ARGS…`.
func Main(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprint(stderr, usageText)
		newFlags(&options{}, stderr).PrintDefaults()
		return errors.New("bench: name a scenario: fanout, p2p, logins, idle or raw-server")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usageText)
		newFlags(&options{}, stdout).PrintDefaults()
		return nil
	}
	o := &options{scenario: args[0], progress: stderr}
	fs := newFlags(o, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.defaults(set); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.scenario == "raw-server" {
		return rawServerCmd(ctx, o, stdout)
	}
	res, err := run(ctx, o)
	if res != nil {
		if o.jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(res)
		} else {
			res.print(stdout)
		}
	}
	if err != nil {
		return fmt.Errorf("bench %s: %w", o.scenario, err)
	}
	return res.check()
}

func newFlags(o *options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.server, "server", "", "server WebSocket URL (default ws://127.0.0.1:9470/ws; with --raw ws://127.0.0.1:9480/); several, comma-separated, "+
		"for the nodes of a cluster: connection i goes to URL i mod n, and the server figures are summed over every URL's /metrics")
	fs.StringVar(&o.scrape, "scrape", "", "more servers (comma-separated URLs) whose /metrics are scraped and added to the server figures, with no connection to them: "+
		"a cluster's other nodes when every client is on one")
	fs.IntVar(&o.conns, "conns", 0, "fanout/idle: members; p2p: pairs; logins: logins (default 1000; idle and logins 10000)")
	fs.IntVar(&o.pubs, "pubs", 1, "fanout: publishers (members 0…P-1)")
	fs.Float64Var(&o.rate, "rate", 0, "fanout/p2p: messages per second in total (0: as fast as the window allows)")
	fs.IntVar(&o.window, "window", 0, "fanout: unanswered ch.send per publisher (64); p2p: messages in flight per pair (8); logins: concurrency (64)")
	fs.DurationVar(&o.duration, "duration", 0, "how long to publish (fanout, p2p: 10s) or sit idle (idle: 15s)")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "after publishing, wait for the last deliveries until none arrives for this long (at most 3× in all); what is missing then is lost")
	fs.IntVar(&o.size, "size", 100, "message text size in bytes")
	fs.StringVar(&o.app, "app", "bench", "app id to log in to")
	fs.StringVar(&o.cert, "cert", "", "the app's certificate, when the server requires tokens for it")
	fs.StringVar(&o.channel, "channel", "", "fanout/idle: channel name (default a fresh random one)")
	fs.IntVar(&o.perAddr, "per-addr", 900, "connections per source address 127.0.0.x (the server allows 1000 by default)")
	fs.IntVar(&o.setup, "setup", 64, "connections set up (dial, login, join) concurrently")
	fs.DurationVar(&o.ackEvery, "ack", 200*time.Millisecond, "p2p: acknowledge the user stream this often (0: after every message, as the SDK does)")
	fs.BoolVar(&o.raw, "raw", false, "fanout: against \"bench raw-server\" (no login, no join)")
	fs.BoolVar(&o.e2e, "e2e", false, "fanout: the window also counts messages not yet delivered to every member (end-to-end flow control: the ch.send answer only means the server took it)")
	fs.BoolVar(&o.notify, "notify", false, "fanout/idle: keep ch.joined/ch.left pushes on (joining n members then costs O(n²) pushes)")
	fs.BoolVar(&o.strict, "strict", false, "decode every frame with wire.Split (slower) instead of recognising the server's hot frames in place")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9480", "raw-server: address to listen on")
	fs.IntVar(&o.readBuf, "read-buf", 4096, "fanout/p2p: socket read buffer per connection, bytes (32784 reads a packed 32 KiB message in one call; measured no faster)")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write this tool's CPU profile to the file (to see whether the tool bounds a figure)")
	return fs
}

func (o *options) defaults(set map[string]bool) error {
	switch o.scenario {
	case "fanout", "p2p", "logins", "idle", "raw-server":
	default:
		return fmt.Errorf("bench: unknown scenario %q (fanout, p2p, logins, idle, raw-server)", o.scenario)
	}
	if o.raw && o.scenario != "fanout" {
		return errors.New("bench: --raw goes with fanout")
	}
	if o.server == "" {
		o.server = "ws://127.0.0.1:9470/ws"
		if o.raw {
			o.server = "ws://127.0.0.1:9480/"
		}
	}
	o.servers, o.scrapes = sdk.SplitServers(o.server), sdk.SplitServers(o.scrape)
	if len(o.servers) == 0 {
		return fmt.Errorf("bench: --server %q: no URL", o.server)
	}
	o.server = strings.Join(o.servers, ",")
	if o.raw && len(o.servers) > 1 {
		return errors.New("bench: --raw takes one server (raw servers do not relay to each other)")
	}
	if o.conns <= 0 {
		o.conns = 1000
		if o.scenario == "idle" || o.scenario == "logins" {
			o.conns = 10000
		}
	}
	if o.window <= 0 {
		switch o.scenario {
		case "p2p":
			o.window = 8
		default:
			o.window = 64
		}
	}
	if o.duration <= 0 && o.scenario != "raw-server" {
		o.duration = 10 * time.Second
		if o.scenario == "idle" {
			o.duration = 15 * time.Second
		}
	}
	if o.pubs <= 0 {
		o.pubs = 1
	}
	if o.scenario == "fanout" && o.pubs > o.conns {
		return fmt.Errorf("bench: --pubs %d is more than --conns %d", o.pubs, o.conns)
	}
	if o.size < 0 || o.size > 8000 {
		return fmt.Errorf("bench: --size %d: want 0…8000 (the server refuses messages over 8192 bytes)", o.size)
	}
	if o.rate < 0 {
		return errors.New("bench: --rate must be ≥ 0")
	}
	if o.channel == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.channel = o.scenario + "-" + hex.EncodeToString(b[:])
	}
	if strings.ContainsAny(o.channel, "\"\\ \t\r\n") {
		return fmt.Errorf("bench: --channel %q: no quotes, backslashes or whitespace", o.channel)
	}
	return nil
}

// scraped is every server whose /metrics make the server figures: those
// connected to, then those only scraped.
func (o *options) scraped() []string {
	return append(append([]string(nil), o.servers...), o.scrapes...)
}

// run runs one load scenario.
func run(ctx context.Context, o *options) (*Result, error) {
	switch o.scenario {
	case "fanout":
		return runFanout(ctx, o)
	case "p2p":
		return runP2P(ctx, o)
	case "logins":
		return runLogins(ctx, o)
	case "idle":
		return runIdle(ctx, o)
	}
	return nil, fmt.Errorf("bench: %q is not a load scenario", o.scenario)
}

// --- measuring -------------------------------------------------------------

// meter brackets a run with scrapes of the server and readings of this
// process's CPU: at the start (before any connection), at the start of the
// measured phase, and at its end; in between it samples the server every
// 250 ms for the peak resident memory. With several servers (the nodes of a
// cluster) it scrapes them all together and sums their figures.
type meter struct {
	nodes      []*scraper
	s0, s1, s2 []sample // per node
	u0, u1, u2 usage
	t0, t1, t2 time.Time
	b1, b2     time.Duration // machine busy time
	bOK        bool

	mu      sync.Mutex
	peakSum float64 // the highest sum of the nodes' RSS scraped together
	stop    chan struct{}
	done    chan struct{}
}

func startMeter(servers []string) (*meter, error) {
	m := &meter{}
	for _, server := range servers {
		sc, err := newScraper(server)
		if err != nil {
			return nil, err
		}
		m.nodes = append(m.nodes, sc)
	}
	m.s0, m.u0, m.t0 = m.scrape(), selfUsage(), time.Now()
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.scrape()
			}
		}
	}()
	return m, nil
}

// scrape reads every node's metrics, concurrently so that the samples are
// of about the same moment.
func (m *meter) scrape() []sample {
	out := make([]sample, len(m.nodes))
	if len(m.nodes) == 1 {
		out[0] = m.nodes[0].scrape()
	} else {
		var wg sync.WaitGroup
		for i, sc := range m.nodes {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = sc.scrape() }()
		}
		wg.Wait()
	}
	all, sum := true, 0.0
	for _, s := range out {
		all = all && s.ok
		sum += s.rss()
	}
	if all {
		m.mu.Lock()
		m.peakSum = max(m.peakSum, sum)
		m.mu.Unlock()
	}
	return out
}

// mark starts the measured phase.
func (m *meter) mark() {
	m.s1, m.u1, m.t1 = m.scrape(), selfUsage(), time.Now()
	m.b1, m.bOK = machineBusy()
}

// end ends the measured phase.
func (m *meter) end() {
	m.s2, m.u2, m.t2 = m.scrape(), selfUsage(), time.Now()
	var ok bool
	m.b2, ok = machineBusy()
	m.bOK = m.bOK && ok
	m.finish()
}

// finish stops the sampler and releases the HTTP connections.
func (m *meter) finish() {
	if m.stop != nil {
		close(m.stop)
		<-m.done
		m.stop = nil
	}
	for _, sc := range m.nodes {
		sc.close()
	}
}

// ServerFigures are the server's process figures over a run (with several
// servers, their sums).
type ServerFigures struct {
	Scraped    bool    `json:"scraped"`
	ScrapeErr  string  `json:"scrape_error,omitempty"`
	SetupCPU   float64 `json:"setup_cpu_s"`             // CPU seconds while connecting, logging in, joining
	CPU        float64 `json:"cpu_s"`                   // CPU seconds in the measured phase
	Cores      float64 `json:"cores"`                   // CPU / wall time of the measured phase
	RSSBefore  float64 `json:"rss_before_bytes"`        // before the first connection
	RSSSetup   float64 `json:"rss_setup_bytes"`         // when the measured phase starts
	RSSPeak    float64 `json:"rss_peak_bytes"`          // highest sample (every 250 ms)
	RSSAfter   float64 `json:"rss_after_bytes"`         // when the measured phase ends
	HeapAfter  float64 `json:"heap_inuse_after_bytes"`  // go_memstats_heap_inuse_bytes, when exported
	StackAfter float64 `json:"stack_inuse_after_bytes"` // go_memstats_stack_inuse_bytes
	Goroutines float64 `json:"goroutines_after"`
	// The whole machine's busy cores in the measured phase, and what of it
	// was neither the server nor this tool: other processes and kernel
	// (softirq) network work charged to no process. -1: unknown.
	MachineCores float64 `json:"machine_cores"`
	OtherCores   float64 `json:"other_cores"`
	// Counter increments in the measured phase (xinling_* or raw_*).
	Counters map[string]float64 `json:"counters,omitempty"`
}

// NodeFigures are one server's share when the run had several.
type NodeFigures struct {
	Server      string  `json:"server"`
	Shards      int     `json:"shards,omitempty"` // a cluster node's shards at the end, from xinling_cluster_shards
	Conns       int     `json:"conns"`            // the tool's connections dialed to it
	Sessions    int     `json:"sessions"`         // sessions it served at the end (logins redirected to it count here)
	Scraped     bool    `json:"scraped"`
	ScrapeErr   string  `json:"scrape_error,omitempty"`
	SetupCPU    float64 `json:"setup_cpu_s"`
	CPU         float64 `json:"cpu_s"`
	Cores       float64 `json:"cores"`
	RSSBefore   float64 `json:"rss_before_bytes"`
	RSSPeak     float64 `json:"rss_peak_bytes"`
	RSSAfter    float64 `json:"rss_after_bytes"`
	Goroutines  float64 `json:"goroutines_after"`
	ServerUSPer float64 `json:"us_per_delivery,omitempty"` // its CPU per delivery of the whole run
	// Counter increments in the measured phase.
	Counters map[string]float64 `json:"counters,omitempty"`
}

// ToolFigures are this process's own costs.
type ToolFigures struct {
	SetupCPU float64 `json:"setup_cpu_s"`
	CPU      float64 `json:"cpu_s"`
	Cores    float64 `json:"cores"`
	MaxRSS   int64   `json:"max_rss_bytes"`
}

// serverFigures are the figures of one node's samples, or of their sums.
func serverFigures(s0, s1, s2 sample, peak, wall float64) ServerFigures {
	var s ServerFigures
	s.Scraped = s0.ok && s1.ok && s2.ok
	if s1.ok && s2.ok {
		s.CPU = s2.cpu() - s1.cpu()
		if wall > 0 {
			s.Cores = s.CPU / wall
		}
		s.Counters = map[string]float64{}
		for name := range scraped {
			if strings.HasSuffix(name, "_total") && !strings.HasPrefix(name, "process_") {
				if v2, ok := s2.m[name]; ok {
					s.Counters[name] = v2 - s1.m[name]
				}
			}
		}
	}
	if s0.ok && s1.ok {
		s.SetupCPU = s1.cpu() - s0.cpu()
	}
	s.RSSBefore, s.RSSSetup, s.RSSAfter = s0.rss(), s1.rss(), s2.rss()
	s.RSSPeak = peak
	s.HeapAfter = s2.get("go_memstats_heap_inuse_bytes")
	s.StackAfter = s2.get("go_memstats_stack_inuse_bytes")
	s.Goroutines = s2.get("go_goroutines")
	return s
}

// sum adds up the nodes' samples: ok when every node answered.
func sum(ss []sample) sample {
	out := sample{ok: len(ss) > 0, m: make(map[string]float64, len(scraped))}
	for _, s := range ss {
		out.ok = out.ok && s.ok
		if out.t.IsZero() {
			out.t = s.t
		}
		for k, v := range s.m {
			out.m[k] += v
		}
	}
	return out
}

func (m *meter) figures() (ServerFigures, ToolFigures) {
	wall := m.t2.Sub(m.t1).Seconds()
	var s ServerFigures
	if len(m.nodes) == 1 {
		s = serverFigures(m.s0[0], m.s1[0], m.s2[0], m.nodes[0].peak(), wall)
		if err := m.nodes[0].err(); err != nil {
			s.ScrapeErr = err.Error()
		}
	} else {
		m.mu.Lock()
		peak := m.peakSum
		m.mu.Unlock()
		s = serverFigures(sum(m.s0), sum(m.s1), sum(m.s2), peak, wall)
		var errs []string
		for _, sc := range m.nodes {
			if err := sc.err(); err != nil {
				errs = append(errs, sc.url+": "+err.Error())
			}
		}
		s.ScrapeErr = strings.Join(errs, "; ")
	}
	t := ToolFigures{
		SetupCPU: (m.u1.cpu - m.u0.cpu).Seconds(),
		CPU:      (m.u2.cpu - m.u1.cpu).Seconds(),
		MaxRSS:   m.u2.maxRSS,
	}
	if wall > 0 {
		t.Cores = t.CPU / wall
	}
	s.MachineCores, s.OtherCores = -1, -1
	if m.bOK && wall > 0 {
		s.MachineCores = (m.b2 - m.b1).Seconds() / wall
		if s.Scraped {
			s.OtherCores = s.MachineCores - s.Cores - t.Cores
		}
	}
	return s, t
}

// nodeFigures are each server's figures when there are several; conns
// connections were spread round robin over the first connected of them.
func (m *meter) nodeFigures(servers []string, connected, conns int) []NodeFigures {
	if len(m.nodes) < 2 {
		return nil
	}
	wall := m.t2.Sub(m.t1).Seconds()
	out := make([]NodeFigures, len(m.nodes))
	for i, sc := range m.nodes {
		f := serverFigures(m.s0[i], m.s1[i], m.s2[i], sc.peak(), wall)
		n := NodeFigures{
			Server: servers[i], Scraped: f.Scraped,
			SetupCPU: f.SetupCPU, CPU: f.CPU, Cores: f.Cores,
			RSSBefore: f.RSSBefore, RSSPeak: f.RSSPeak, RSSAfter: f.RSSAfter,
			Goroutines: f.Goroutines, Counters: f.Counters,
		}
		if i < connected {
			n.Conns = conns / connected
			if i < conns%connected {
				n.Conns++
			}
		}
		if err := sc.err(); err != nil {
			n.ScrapeErr = err.Error()
		}
		n.Shards = int(m.s2[i].m["xinling_cluster_shards"])
		n.Sessions = int(m.s2[i].m["xinling_sessions"])
		out[i] = n
	}
	return out
}

// --- errors ----------------------------------------------------------------

// errLog keeps the first few errors of a run and counts all of them.
type errLog struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *errLog) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 10 {
		e.first = append(e.first, fmt.Sprintf(format, args...))
	}
}

func (e *errLog) get() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, append([]string(nil), e.first...)
}
