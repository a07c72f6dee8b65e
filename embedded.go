package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// Embedded is a server started inside the terminal client: in memory, for
// the demo or for a first try without `xinling serve`.
type Embedded struct {
	Addr string
	node *server.Node
	st   store.Store
	done chan error
}

// StartEmbedded serves on addr with an in-memory store.
func StartEmbedded(addr string) (*Embedded, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	st := store.Memory()
	e := &Embedded{Addr: l.Addr().String(), st: st, done: make(chan error, 1)}
	e.node = server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	go func() { e.done <- e.node.Serve(l) }()
	return e, nil
}

// Stop shuts the embedded server down.
func (e *Embedded) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = e.node.Shutdown(ctx)
	<-e.done
	_ = e.st.Close()
}

// URL is the embedded server's WebSocket URL.
func (e *Embedded) URL() string { return "ws://" + e.Addr }

// listening reports whether something accepts connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// hostPort is the host:port of a server URL ("" when it has none).
func hostPort(server string) string {
	s := server
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}
