package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPrivateMetrics: with PrivateMetrics, /metrics and the profiles are
// served only through MetricsHandler (xinling serve --metrics-listen), not
// on the WebSocket listener; /healthz stays public for load balancers.
func TestPrivateMetrics(t *testing.T) {
	n, url := testNode(t, Config{PrivateMetrics: true, Pprof: true})
	public := "http" + strings.TrimSuffix(strings.TrimPrefix(url, "ws"), "/ws")
	private := httptest.NewServer(MetricsHandler(n))
	defer private.Close()
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine"} {
		if code, body := get(t, public+path); code != http.StatusNotFound || strings.Contains(body, "xinling_") || strings.Contains(body, "goroutine") {
			t.Errorf("public %s: %d %.80q, want 404", path, code, body)
		}
		if code, _ := get(t, private.URL+path); code != http.StatusOK {
			t.Errorf("private %s: %d, want 200", path, code)
		}
	}
	if code, body := get(t, private.URL+"/metrics"); code != 200 || !strings.Contains(body, "xinling_connections") {
		t.Errorf("private /metrics: %d %.80q", code, body)
	}
	for _, base := range []string{public, private.URL} {
		if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
			t.Errorf("%s/healthz: %d %q", base, code, body)
		}
	}
	// The metrics listener is not a way in: no WebSocket there.
	if code, _ := get(t, private.URL+"/ws"); code != http.StatusNotFound {
		t.Errorf("private /ws: %d, want 404", code)
	}
	dialRaw(t, url).login("app", "a") // and the public one still is
}

// TestMetricsOnThePublicListenerByDefault: without PrivateMetrics nothing
// changes for existing deployments.
func TestMetricsOnThePublicListenerByDefault(t *testing.T) {
	_, url := testNode(t, Config{})
	public := "http" + strings.TrimSuffix(strings.TrimPrefix(url, "ws"), "/ws")
	if code, body := get(t, public+"/metrics"); code != 200 || !strings.Contains(body, "xinling_connections") {
		t.Errorf("/metrics: %d %.80q", code, body)
	}
	if code, _ := get(t, public+"/debug/pprof/"); code == 200 {
		t.Errorf("/debug/pprof/ served without Pprof")
	}
}
