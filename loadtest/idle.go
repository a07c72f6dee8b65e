package loadtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// idleMember only watches for the end of its session.
type idleMember struct {
	closing *atomic.Bool
	ev      event
}

func (m *idleMember) line(b []byte) error {
	if err := classify(b, false, &m.ev); err != nil {
		return err
	}
	if m.ev.kind == evFatal && !m.closing.Load() {
		return fmt.Errorf("%s %v", m.ev.op, m.ev.resErr)
	}
	return nil
}

func (m *idleMember) end() error { return nil }

// runIdle logs --conns members into one channel and lets them heartbeat
// for --duration: server memory per session and idle CPU.
func runIdle(ctx context.Context, o *options) (*Result, error) {
	d, err := newDialers(o.servers, o.conns, o.perAddr, 2048)
	if err != nil {
		return nil, err
	}
	m, err := startMeter(o.scraped())
	if err != nil {
		return nil, err
	}
	defer m.finish()
	conns := make([]*client, o.conns)
	o.logf("connecting %d idle members to %s, channel %s…", o.conns, o.server, o.channel)
	setupStart := time.Now()
	pg, err := setupChannel(ctx, o, d, conns, "i")
	if err != nil {
		if pg != nil {
			pg.finish()
		}
		closeAll(conns)
		return nil, err
	}
	setup := time.Since(setupStart)
	o.logf("set up in %s; idling for %s…", dur(setup), o.duration)
	var (
		errs    errLog
		closing atomic.Bool
		readers sync.WaitGroup
	)
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			err := c.readLoop(&idleMember{closing: &closing})
			if !closing.Load() {
				errs.add("member %d: connection lost: %v", c.idx, err)
			}
		}()
	}
	m.mark()
	pings0 := pg.pings.Load()
	start := time.Now()
	select {
	case <-time.After(o.duration):
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	m.end()
	pg.finish()
	r := &Result{Elapsed: elapsed, Pings: pg.pings.Load() - pings0}
	closing.Store(true)
	shutdownAll(conns, logoutFrame, &readers, 10*time.Second)
	r.fill(o, m, setup, d.addrs(), &errs, 0)
	if s := r.ServerFig; s.Scraped && o.conns > 0 {
		r.MemPerSession = (s.RSSAfter - s.RSSBefore) / float64(o.conns)
		r.HeapPerSess = (s.HeapAfter - sum(m.s0).get("go_memstats_heap_inuse_bytes")) / float64(o.conns)
		r.StackPerSess = (s.StackAfter - sum(m.s0).get("go_memstats_stack_inuse_bytes")) / float64(o.conns)
	}
	return r, ctx.Err()
}
