package loadtest

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Result is one scenario's figures.
type Result struct {
	Scenario string        `json:"scenario"`
	Server   string        `json:"server"`
	Raw      bool          `json:"raw,omitempty"`
	Conns    int           `json:"conns"` // fanout/idle: members; p2p: pairs; logins: logins
	Pubs     int           `json:"pubs,omitempty"`
	Window   int           `json:"window,omitempty"`
	E2E      bool          `json:"e2e,omitempty"` // fanout: the window was end to end
	Rate     float64       `json:"rate,omitempty"`
	Size     int           `json:"size,omitempty"`
	Addrs    int           `json:"source_addrs"`
	Setup    time.Duration `json:"setup_ns"`   // connecting, logging in, joining
	Elapsed  time.Duration `json:"elapsed_ns"` // the measured phase: first send to last delivery

	// fanout, p2p
	Sent       uint64  `json:"sent,omitempty"`       // requests (ch.send, peer.send) or raw messages sent
	Accepted   uint64  `json:"accepted,omitempty"`   // answered with success
	Refused    uint64  `json:"refused,omitempty"`    // answered with an error
	Unanswered uint64  `json:"unanswered,omitempty"` // no answer by the end of the drain
	Expected   uint64  `json:"expected,omitempty"`   // deliveries due
	Delivered  uint64  `json:"delivered,omitempty"`  // deliveries received
	Lost       uint64  `json:"lost"`                 // Expected − Delivered after the drain
	OutOfOrder uint64  `json:"out_of_order"`         // per-publisher sequence or channel offset not increasing
	Foreign    uint64  `json:"foreign,omitempty"`    // ch.msg / peer.msg that were not this run's
	MsgsPerSec float64 `json:"msgs_per_s,omitempty"`
	DelivPerS  float64 `json:"deliveries_per_s,omitempty"`
	Latency    summary `json:"latency"` // fanout: delivery latency; p2p: round-trip time; logins: connect + login
	Pings      uint64  `json:"pings,omitempty"`
	WSMessages uint64  `json:"ws_messages,omitempty"` // WebSocket messages the readers received in the run

	// logins
	Logins      uint64            `json:"logins,omitempty"`
	Failures    uint64            `json:"failures,omitempty"`
	LoginsPerS  float64           `json:"logins_per_s,omitempty"`
	FailureKind map[string]uint64 `json:"failure_kinds,omitempty"`

	// idle
	MemPerSession float64 `json:"mem_per_session_bytes,omitempty"`
	HeapPerSess   float64 `json:"heap_per_session_bytes,omitempty"`
	StackPerSess  float64 `json:"stack_per_session_bytes,omitempty"`

	ServerFig ServerFigures `json:"server_figures"`  // with several servers, their sums
	Nodes     []NodeFigures `json:"nodes,omitempty"` // each server's own, when there are several
	Tool      ToolFigures   `json:"tool"`
	// fanout with several servers (connected or scraped): the server each
	// publisher is connected to
	PubServers []string `json:"publisher_servers,omitempty"`
	// Server and tool CPU per delivery (fanout, p2p: one message to one
	// member; logins: one login), in microseconds.
	ServerUSPer float64 `json:"server_us_per_delivery,omitempty"`
	ToolUSPer   float64 `json:"tool_us_per_delivery,omitempty"`

	Errors      int      `json:"errors"`
	FirstErrors []string `json:"first_errors,omitempty"`
}

// check turns what must not happen into an error.
func (r *Result) check() error {
	var bad []string
	if r.Lost > 0 {
		bad = append(bad, fmt.Sprintf("%d deliveries lost", r.Lost))
	}
	if r.OutOfOrder > 0 {
		bad = append(bad, fmt.Sprintf("%d out of order", r.OutOfOrder))
	}
	if r.Failures > 0 {
		bad = append(bad, fmt.Sprintf("%d logins failed", r.Failures))
	}
	if r.Errors > 0 {
		bad = append(bad, fmt.Sprintf("%d errors", r.Errors))
	}
	if len(bad) > 0 {
		return fmt.Errorf("bench %s: %s", r.Scenario, strings.Join(bad, ", "))
	}
	return nil
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	}
}

func (r *Result) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	r.printHead(p)
	r.printPublishers(p)
	if r.Setup > 0 {
		p("  setup        %s (server CPU %.2fs, tool CPU %.2fs)", dur(r.Setup), r.ServerFig.SetupCPU, r.Tool.SetupCPU)
	}
	switch r.Scenario {
	case "fanout", "p2p":
		r.printMessages(p)
	case "logins":
		r.printLogins(p)
	case "idle":
		r.printIdle(p)
	}
	r.printServer(p)
	r.printNodes(p)
	r.printTool(p)
	if r.Errors > 0 || len(r.FirstErrors) > 0 {
		first := r.FirstErrors
		if len(first) > 3 {
			first = first[:3]
		}
		p("  errors       %d, first: %s", r.Errors, strings.Join(first, "; "))
	}
}

// printHead prints the line that says what ran.
func (r *Result) printHead(p func(format string, args ...any)) {
	head := r.Scenario
	if r.Raw {
		head += " --raw"
	}
	rate := "max rate"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g msg/s", r.Rate)
	}
	switch r.Scenario {
	case "fanout":
		win := fmt.Sprintf("window %d unanswered", r.Window)
		if r.E2E {
			win = fmt.Sprintf("window %d end to end", r.Window)
		}
		p("%s: %d members, %d publisher(s), %s, %s, %d-byte messages, %s; server %s (%d source address(es))",
			head, r.Conns, r.Pubs, win, rate, r.Size, dur(r.Elapsed), r.Server, r.Addrs)
	case "p2p":
		p("%s: %d pairs, window %d, %s, %d-byte messages, %s; server %s (%d source address(es))",
			head, r.Conns, r.Window, rate, r.Size, dur(r.Elapsed), r.Server, r.Addrs)
	case "logins":
		p("%s: %d logins, concurrency %d; server %s (%d source address(es))", head, r.Conns, r.Window, r.Server, r.Addrs)
	case "idle":
		p("%s: %d sessions in one channel, idle %s; server %s (%d source address(es))", head, r.Conns, dur(r.Elapsed), r.Server, r.Addrs)
	}
}

// printPublishers prints the node each publisher is on, with several.
func (r *Result) printPublishers(p func(format string, args ...any)) {
	if len(r.PubServers) == 0 {
		return
	}
	parts := make([]string, len(r.PubServers))
	for i, u := range r.PubServers {
		node := 0
		for k, n := range r.Nodes {
			if n.Server == u {
				node = k + 1
				break
			}
		}
		parts[i] = fmt.Sprintf("%d on node %d (%s)", i, node, u)
	}
	p("  publishers   %s", strings.Join(parts, ", "))
}

// printMessages prints fanout's and p2p's traffic and latency.
func (r *Result) printMessages(p func(format string, args ...any)) {
	what, lat := "messages", "latency"
	if r.Scenario == "p2p" {
		what, lat = "round trips", "RTT"
	}
	p("  sent         %d (accepted %d, refused %d, unanswered %d)", r.Sent, r.Accepted, r.Refused, r.Unanswered)
	p("  throughput   %.0f %s/s, %.0f deliveries/s", r.MsgsPerSec, what, r.DelivPerS)
	foreign := ""
	if r.Foreign > 0 {
		foreign = fmt.Sprintf(", %d not of this run", r.Foreign)
	}
	p("  delivered    %d of %d: lost %d, out of order %d%s", r.Delivered, r.Expected, r.Lost, r.OutOfOrder, foreign)
	if r.WSMessages > 0 {
		p("  packing      %d WebSocket messages received: %.1f deliveries per message", r.WSMessages, float64(r.Delivered)/float64(r.WSMessages))
	}
	p("  %-12s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, n=%d)", lat,
		dur(r.Latency.P50), dur(r.Latency.P90), dur(r.Latency.P99), dur(r.Latency.P999), dur(r.Latency.Max), dur(r.Latency.Mean), r.Latency.Count)
}

func (r *Result) printLogins(p func(format string, args ...any)) {
	p("  logins       %d ok, %d failed in %s: %.0f logins/s", r.Logins, r.Failures, dur(r.Elapsed), r.LoginsPerS)
	p("  latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (dial + upgrade + login answer)",
		dur(r.Latency.P50), dur(r.Latency.P90), dur(r.Latency.P99), dur(r.Latency.P999), dur(r.Latency.Max))
	kinds := make([]string, 0, len(r.FailureKind))
	for k := range r.FailureKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		p("  failure      %d × %s", r.FailureKind[k], k)
	}
}

func (r *Result) printIdle(p func(format string, args ...any)) {
	p("  memory       %s per session (RSS %s before, %s after %d sessions); Go heap in use %s, goroutine stacks %s per session",
		fmtBytes(r.MemPerSession), mib(r.ServerFig.RSSBefore), mib(r.ServerFig.RSSAfter), r.Conns, fmtBytes(r.HeapPerSess), fmtBytes(r.StackPerSess))
	if r.ServerFig.Goroutines > 0 {
		p("  goroutines   %.0f on the server (%.2f per session)", r.ServerFig.Goroutines, r.ServerFig.Goroutines/float64(r.Conns))
	}
	p("  pings        %d sent while idle", r.Pings)
}

// printServer prints the server's figures (with several, their sums).
func (r *Result) printServer(p func(format string, args ...any)) {
	s := r.ServerFig
	if !s.Scraped {
		p("  server       figures unavailable: %s", s.ScrapeErr)
		return
	}
	per := r.perUnit(r.ServerUSPer)
	if per == "" && r.Scenario == "idle" && r.Conns > 0 && r.Elapsed > 0 {
		per = fmt.Sprintf(", %.2f µs per session per second", s.CPU*1e6/float64(r.Conns)/r.Elapsed.Seconds())
	}
	label := "server      "
	if len(r.Nodes) > 0 {
		label = fmt.Sprintf("%-12s", fmt.Sprintf("%d servers", len(r.Nodes)))
	}
	p("  %s CPU %.2fs (%.2f cores)%s; RSS %s before, %s at start, %s peak, %s after",
		label, s.CPU, s.Cores, per, mib(s.RSSBefore), mib(s.RSSSetup), mib(s.RSSPeak), mib(s.RSSAfter))
	names := make([]string, 0, len(s.Counters))
	for k, v := range s.Counters {
		if v != 0 {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s +%.0f", strings.TrimPrefix(strings.TrimPrefix(k, "xinling_"), "raw_"), s.Counters[k]))
	}
	p("  counters     %s", strings.Join(parts, ", "))
}

// perUnit is a figures line's CPU per login or per delivery (none when
// us is 0).
func (r *Result) perUnit(us float64) string {
	switch {
	case us <= 0:
		return ""
	case r.Scenario == "logins":
		return fmt.Sprintf(", %.1f µs per login", us)
	default:
		return fmt.Sprintf(", %.2f µs per delivery", us)
	}
}

// printTool prints the tool's own figures and the machine's.
func (r *Result) printTool(p func(format string, args ...any)) {
	per := r.perUnit(r.ToolUSPer)
	p("  tool         CPU %.2fs (%.2f cores)%s; max RSS %s", r.Tool.CPU, r.Tool.Cores, per, mib(float64(r.Tool.MaxRSS)))
	s := r.ServerFig
	if s.MachineCores >= 0 {
		other := ""
		if s.OtherCores >= 0 || s.Scraped {
			other = fmt.Sprintf(", of which %.2f neither server nor tool (other processes, kernel network work)", max(0, s.OtherCores))
		}
		p("  machine      %.2f of %d cores busy%s", s.MachineCores, runtime.NumCPU(), other)
	}
}

// printNodes prints each server's share of a run on several.
func (r *Result) printNodes(p func(format string, args ...any)) {
	for i, n := range r.Nodes {
		role := ""
		if n.Shards > 0 {
			role = fmt.Sprintf("%d shards, ", n.Shards)
		}
		if !n.Scraped {
			p("  node %-7d %s (%s%d connections): figures unavailable: %s", i+1, n.Server, role, n.Conns, n.ScrapeErr)
			continue
		}
		per := ""
		if n.ServerUSPer > 0 {
			unit := "delivery"
			if r.Scenario == "logins" {
				unit = "login"
			}
			per = fmt.Sprintf(", %.2f µs per %s", n.ServerUSPer, unit)
		}
		extra := ""
		if d := n.Counters["xinling_channel_deliveries_total"]; d > 0 {
			extra = fmt.Sprintf("; channel deliveries +%.0f", d)
		}
		p("  node %-7d %s (%s%d connections, %d sessions): CPU %.2fs (%.2f cores)%s, setup %.2fs; RSS %s before, %s peak%s",
			i+1, n.Server, role, n.Conns, n.Sessions, n.CPU, n.Cores, per, n.SetupCPU, mib(n.RSSBefore), mib(n.RSSPeak), extra)
	}
}

// countMessages sums the WebSocket messages the readers received (after
// the readers are done).
func (r *Result) countMessages(conns []*client) {
	for _, c := range conns {
		r.WSMessages += c.msgs
	}
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<20:
		return mib(b)
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// fill sets the figures every scenario shares.
func (r *Result) fill(o *options, m *meter, setup time.Duration, addrs int, errs *errLog, perUnit uint64) {
	r.Scenario, r.Server, r.Raw, r.Conns = o.scenario, o.server, o.raw, o.conns
	r.Window, r.Size, r.Addrs, r.Setup = o.window, o.size, addrs, setup
	if o.scenario == "fanout" {
		r.Pubs, r.E2E = o.pubs, o.e2e
	}
	if o.scenario == "fanout" || o.scenario == "p2p" {
		r.Rate = o.rate
	} else {
		r.Size = 0
	}
	r.ServerFig, r.Tool = m.figures()
	conns := o.conns
	if o.scenario == "p2p" {
		conns = 2 * o.conns
	}
	r.Nodes = m.nodeFigures(o.scraped(), len(o.servers), conns)
	if perUnit > 0 {
		if r.ServerFig.Scraped {
			r.ServerUSPer = r.ServerFig.CPU * 1e6 / float64(perUnit)
		}
		r.ToolUSPer = r.Tool.CPU * 1e6 / float64(perUnit)
		for i := range r.Nodes {
			if r.Nodes[i].Scraped {
				r.Nodes[i].ServerUSPer = r.Nodes[i].CPU * 1e6 / float64(perUnit)
			}
		}
	}
	r.Errors, r.FirstErrors = errs.get()
}
