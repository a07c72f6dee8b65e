package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// runLogins is a login storm: --conns connections, --window at a time,
// each dial + upgrade + login (fresh account l<i>) + logout + close.
func runLogins(ctx context.Context, o *options) (*Result, error) {
	d, err := newDialers(o.servers, o.conns, o.perAddr, 2048)
	if err != nil {
		return nil, err
	}
	m, err := startMeter(o.scraped())
	if err != nil {
		return nil, err
	}
	defer m.finish()
	var (
		lat   hist
		errs  errLog
		ferrs errLog
		ok    atomic.Uint64
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		kinds = map[string]uint64{}
	)
	fail := func(kind string, err error) {
		mu.Lock()
		kinds[kind]++
		mu.Unlock()
		ferrs.add("%s: %v", kind, err)
	}
	o.logf("%d logins, %d at a time, at %s…", o.conns, o.window, o.server)
	m.mark()
	start := time.Now()
	for w := 0; w < min(o.window, o.conns); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.conns {
					return
				}
				t0 := time.Now()
				c, err := d.dial(ctx, i)
				if err != nil {
					fail(dialKind(err), err)
					continue
				}
				if _, err := c.login(o, "l"+strconv.Itoa(i)); err != nil {
					var we *wire.Error
					if errors.As(err, &we) {
						fail(fmt.Sprintf("login refused (%d)", int(we.Code)), err)
					} else {
						fail("login failed", err)
					}
					c.close()
					continue
				}
				lat.record(int64(time.Since(t0)))
				ok.Add(1)
				if _, err := c.call(wire.OpLogout, wire.PingReq{}, 10*time.Second); err != nil {
					errs.add("logout l%d: %v", i, err)
				}
				c.close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	m.end()
	r := &Result{Logins: ok.Load(), Elapsed: elapsed, Latency: lat.summary()}
	for _, n := range kinds {
		r.Failures += n
	}
	if len(kinds) > 0 {
		r.FailureKind = kinds
	}
	r.LoginsPerS = float64(r.Logins) / elapsed.Seconds()
	r.fill(o, m, 0, d.addrs(), &errs, r.Logins)
	if _, first := ferrs.get(); len(first) > 0 {
		r.FirstErrors = append(r.FirstErrors, first...) // examples; counted in Failures
	}
	return r, ctx.Err()
}

// dialKind names a dial failure without the parts that vary.
func dialKind(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "503"):
		return "dial refused (503)"
	case strings.Contains(s, "timeout"):
		return "dial timeout"
	case strings.Contains(s, "refused"):
		return "connection refused"
	case strings.Contains(s, "address"):
		return "dial: address problem"
	}
	return "dial failed"
}
