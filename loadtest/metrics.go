package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scraped lists the metrics read from the server's /metrics. The process_*
// ones come from client_golang's process collector (the xinling server and
// the raw server both register it); the others are read when present.
var scraped = map[string]bool{
	"process_cpu_seconds_total":         true,
	"process_resident_memory_bytes":     true,
	"go_goroutines":                     true,
	"go_memstats_heap_inuse_bytes":      true,
	"go_memstats_stack_inuse_bytes":     true,
	"xinling_connections":               true,
	"xinling_sessions":                  true,
	"xinling_channel_deliveries_total":  true,
	"xinling_frames_in_total":           true,
	"xinling_frames_out_total":          true,
	"xinling_slow_client_drops_total":   true,
	"xinling_rate_limited_total":        true,
	"xinling_logins_total":              true,
	"xinling_login_failures_total":      true,
	"xinling_login_redirects_total":     true,
	"xinling_connections_refused_total": true,
	"xinling_cluster_shards":            true,
	"raw_connections":                   true,
	"raw_slow_client_drops_total":       true,
	"raw_messages_in_total":             true,
}

// sample is one scrape of the server's metrics.
type sample struct {
	ok bool
	t  time.Time
	m  map[string]float64
}

func (s sample) get(name string) float64 { return s.m[name] }
func (s sample) cpu() float64            { return s.m["process_cpu_seconds_total"] }
func (s sample) rss() float64            { return s.m["process_resident_memory_bytes"] }

// metricsURL turns ws://host/path into http://host/metrics.
func metricsURL(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("server URL %q: want ws:// or wss://", server)
	}
	u.Path, u.RawQuery, u.Fragment = "/metrics", "", ""
	return u.String(), nil
}

// scraper reads one server's process figures: before, during (every 250
// ms, for the peak resident memory) and after a phase.
type scraper struct {
	url    string
	client *http.Client
	tr     *http.Transport

	mu      sync.Mutex
	peakRSS float64
	lastErr error
}

func newScraper(server string) (*scraper, error) {
	u, err := metricsURL(server)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: 1, IdleConnTimeout: 10 * time.Second}
	return &scraper{url: u, tr: tr, client: &http.Client{Transport: tr, Timeout: 3 * time.Second}}, nil
}

// scrape reads the metrics once; a failure gives a sample with ok false.
func (s *scraper) scrape() sample {
	out := sample{t: time.Now(), m: make(map[string]float64, len(scraped))}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		s.setErr(err)
		return out
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.setErr(err)
		return out
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.setErr(fmt.Errorf("GET %s: %s", s.url, resp.Status))
		return out
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !scraped[name] { // labelled series (name{…}) are not wanted
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
			out.m[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		s.setErr(err)
		return out
	}
	_, out.ok = out.m["process_cpu_seconds_total"]
	if !out.ok {
		s.setErr(fmt.Errorf("GET %s: no process_cpu_seconds_total", s.url))
	}
	s.mu.Lock()
	if r := out.rss(); r > s.peakRSS {
		s.peakRSS = r
	}
	s.mu.Unlock()
	return out
}

func (s *scraper) setErr(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// close releases the HTTP connection.
func (s *scraper) close() { s.tr.CloseIdleConnections() }

func (s *scraper) peak() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

func (s *scraper) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// machineBusy is the CPU time all processors spent busy (user, nice,
// system, irq, softirq, steal) since boot, from /proc/stat; ok false where
// there is none. With the server's and the tool's CPU it tells how much
// else — other processes, and kernel network work not charged to either —
// ran during a measurement.
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), true // USER_HZ is 100 on Linux
}

// usage is this process's CPU time (user + system) and peak RSS.
type usage struct {
	cpu    time.Duration
	maxRSS int64 // bytes
}

func selfUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return usage{
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSS: ru.Maxrss * 1024, // kilobytes on Linux
	}
}
