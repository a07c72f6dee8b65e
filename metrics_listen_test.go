package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeMetricsListen: with --metrics-listen, /metrics is served on that
// address and refused (404) on the public --listen, where clients still
// connect.
func TestServeMetricsListen(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	connect(t, s.addr, "alice")
	var maddr string
	re := regexp.MustCompile(`metrics served here only.*addr=(\S+)`)
	for deadline := time.Now().Add(5 * time.Second); maddr == ""; {
		if m := re.FindStringSubmatch(s.logText()); m != nil {
			maddr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not say where the metrics are; log:\n%s", s.logText())
		} else {
			time.Sleep(10 * time.Millisecond) // the log is copied from the process's stderr
		}
	}
	code, body := httpGet(t, "http://"+maddr+"/metrics")
	if code != 200 || !strings.Contains(body, "xinling_sessions 1") {
		t.Fatalf("metrics address /metrics: %d %.200q", code, body)
	}
	if code, body := httpGet(t, "http://"+s.addr+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "xinling_") {
		t.Fatalf("public /metrics with --metrics-listen: %d %.200q, want 404", code, body)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *serveProc) logText() string {
	lw := s.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return s.log.String()
}
