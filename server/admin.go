package server

import (
	"context"
	"net/http"
	"strings"
)

// The operator's endpoints, /metrics and (with Pprof) /debug/pprof/, tell
// anyone who can reach them how many users are on and how the server works
// inside. With Config.PrivateMetrics they are served only through
// MetricsHandler, on a listener of their own (xinling serve
// --metrics-listen, e.g. a loopback address), and the WebSocket listener
// answers them 404.

type privateKey struct{}

// MetricsHandler serves h's /metrics, /debug/pprof/ (when enabled) and
// /healthz; h is a *Node or a cluster member. Any other path is 404: the
// metrics listener is no way in for clients.
func MetricsHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/metrics", p == "/healthz", strings.HasPrefix(p, "/debug/pprof/"):
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), privateKey{}, true)))
		default:
			http.NotFound(w, r)
		}
	})
}

// private reports whether r came through MetricsHandler.
func private(r *http.Request) bool { return r.Context().Value(privateKey{}) != nil }

// operatorOnly reports whether r asks for an operator's endpoint that this
// listener must not serve.
func (n *Node) operatorOnly(r *http.Request) bool { return n.cfg.PrivateMetrics && !private(r) }
