package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/xinling/xinling/web"
)

// withWebApp serves the browser client (package web) at /app beside the
// node: every other path still goes to the node, which upgrades it to the
// signaling WebSocket. It needs a node that is an http.Handler (server.Node
// and cluster.Member are); any other is returned unchanged.
func withWebApp(n node) node {
	h, ok := n.(http.Handler)
	if !ok {
		return n
	}
	return &webAppNode{node: n, h: h, app: web.Handler()}
}

// webAppNode runs its own http.Server in place of the node's Serve, so
// that it can route /app; Shutdown stops the node first (its clients get
// goaway), then the server.
type webAppNode struct {
	node
	h, app http.Handler

	mu     sync.Mutex
	srv    *http.Server
	closed bool // Shutdown ran: a late Serve returns at once
}

func (w *webAppNode) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if web.Serves(r.URL.Path) {
		w.app.ServeHTTP(rw, r)
		return
	}
	w.h.ServeHTTP(rw, r)
}

func (w *webAppNode) Serve(l net.Listener) error {
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return l.Close()
	case w.srv != nil:
		w.mu.Unlock()
		return errors.New("webapp: Serve called twice")
	}
	w.srv = srv
	w.mu.Unlock()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (w *webAppNode) Shutdown(ctx context.Context) error {
	err := w.node.Shutdown(ctx)
	w.mu.Lock()
	w.closed = true
	srv := w.srv
	w.mu.Unlock()
	if srv != nil {
		// The WebSockets were hijacked and are the node's; Close ends the
		// listener and any page requests still open.
		_ = srv.Close()
	}
	return err
}
