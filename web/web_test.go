package web

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestHandlerServesThePage(t *testing.T) {
	h := Handler()
	if r := get(t, h, "GET", "/app"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/app/" {
		t.Fatalf("GET /app: %s to %q, want a redirect to /app/", r.Status, r.Header.Get("Location"))
	}
	for path, typ := range map[string]string{
		"/app/":           "text/html",
		"/app/app.js":     "text/javascript",
		"/app/xinling.js": "text/javascript",
		"/app/app.css":    "text/css",
	} {
		r := get(t, h, "GET", path)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), typ) || len(body) == 0 {
			t.Errorf("GET %s: %s %q (%d bytes), want 200 %s", path, r.Status, r.Header.Get("Content-Type"), len(body), typ)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: missing security headers %v", path, r.Header)
		}
	}
	if r := get(t, h, "GET", "/app/nope.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing file: %s, want 404", r.Status)
	}
	if r := get(t, h, "POST", "/app/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /app/: %s, want 405", r.Status)
	}
	if r := get(t, h, "GET", "/app/../web.go"); r.StatusCode == 200 {
		t.Errorf("GET /app/../web.go: %s: the handler serves outside its files", r.Status)
	}
}

func TestServes(t *testing.T) {
	for path, want := range map[string]bool{"/app": true, "/app/": true, "/app/x.js": true, "/apple": false, "/ws": false, "/": false} {
		if got := Serves(path); got != want {
			t.Errorf("Serves(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestPageReferencesExist: every file the page loads is embedded, so the
// page never depends on a build step or on the network.
func TestPageReferencesExist(t *testing.T) {
	files := Files()
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"|from "\./([^"]+)"`)
	for _, name := range []string{"index.html", "app.js"} {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range refs.FindAllStringSubmatch(string(b), -1) {
			ref := m[1] + m[2]
			if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") {
				t.Errorf("%s loads %s from outside the embedded files", name, ref)
				continue
			}
			if _, err := fs.Stat(files, ref); err != nil {
				t.Errorf("%s loads %s, which is not embedded: %v", name, ref, err)
			}
		}
	}
}

// TestJavaScriptUnitTests runs web/test/*.test.mjs (the library against a
// scripted server) with Node's test runner, when Node is installed.
func TestJavaScriptUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("JavaScript unit tests skipped: no node on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--test", "test/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^# pass [1-9]`).Match(out) || !regexp.MustCompile(`(?m)^# fail 0$`).Match(out) {
		t.Fatalf("node --test ran no passing test:\n%s", out)
	}
}
