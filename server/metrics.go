package server

import (
	"bytes"
	"container/list"
	"encoding/json"
	"sync/atomic"
)

// metrics are the node's counters; Stats exposes them.
type metrics struct {
	framesIn, framesOut, deliveries atomic.Uint64
	badFrames, slowDrops, limited   atomic.Uint64
	logins, loginFailures           atomic.Uint64
}

// Stats is a snapshot of the node's state and counters.
type Stats struct {
	Connections, Sessions, Channels int
	FramesIn, FramesOut, Deliveries uint64
	BadFrames, SlowDrops, Limited   uint64
	Logins, LoginFailures           uint64
}

// Stats returns the node's current figures.
func (n *Node) Stats() Stats {
	conns := 0
	n.conns.Range(func(_, _ any) bool { conns++; return true })
	return Stats{
		Connections:   conns,
		Sessions:      n.sessions.len(),
		Channels:      n.channels.len(),
		FramesIn:      n.metrics.framesIn.Load(),
		FramesOut:     n.metrics.framesOut.Load(),
		Deliveries:    n.metrics.deliveries.Load(),
		BadFrames:     n.metrics.badFrames.Load(),
		SlowDrops:     n.metrics.slowDrops.Load(),
		Limited:       n.metrics.limited.Load(),
		Logins:        n.metrics.logins.Load(),
		LoginFailures: n.metrics.loginFailures.Load(),
	}
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
