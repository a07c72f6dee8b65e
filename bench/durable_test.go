package bench

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// BenchmarkPeerPairs: 200 pairs of raw wire clients, each keeping 8 peer
// messages in flight; bob echoes every message back to alice, and both
// acknowledge each push at once. One op = one round trip (two peer
// messages, each queued, pushed, acknowledged and dequeued). The durable
// store's target (issue 11) is at least half the round trips per second of
// the in-memory one: pebble's group commit shares each sync among every
// writer of the moment (reported as changes per commit).
func BenchmarkPeerPairs(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) { benchPairs(b, store.Memory()) })
	b.Run("store=pebble", func(b *testing.B) {
		st, err := store.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		benchPairs(b, st)
	})
}

func benchPairs(b *testing.B, st store.Store) {
	const pairs, window = 200, 8
	srv := startServerWith(b, st)
	var left, done atomic.Int64
	finished := make(chan struct{})
	var once sync.Once
	errs := make(chan error, 2*pairs)
	var clients []*rawClient
	type pair struct {
		alice, bob *rawClient
		amu, bmu   sync.Mutex // a client's requests: by its reader, and alice's first window by the runner
	}
	var all []*pair
	for i := range pairs {
		a, err := dialRaw(srv.url)
		if err != nil {
			b.Fatal(err)
		}
		bb, err := dialRaw(srv.url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(a.close)
		b.Cleanup(bb.close)
		if err := a.login(fanApp, "pa"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		if err := bb.login(fanApp, "pb"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		clients = append(clients, a, bb)
		all = append(all, &pair{alice: a, bob: bb})
	}
	stop := make(chan struct{})
	defer close(stop)
	go heartbeat(func() []*rawClient { return clients }, 2*time.Second, stop)
	read := func(c *rawClient, mu *sync.Mutex, onMsg func(seq uint64, msg string)) {
		for {
			_, m, err := c.ws.ReadMessage()
			if err != nil {
				return
			}
			fs, _ := wire.Split(m)
			var last uint64
			for i := range fs {
				f := &fs[i]
				switch {
				case f.Op == wire.OpResult && f.Err != nil:
					errs <- f.Err
				case f.Op == wire.PushPeerMsg:
					var pm wire.PeerMsg
					if f.Decode(&pm) == nil {
						last = f.Seq
						mu.Lock()
						onMsg(f.Seq, pm.Msg)
						mu.Unlock()
					}
				}
			}
			if last > 0 {
				ack, _ := wire.Encode(0, wire.OpPing, wire.PingReq{Ack: last})
				_ = c.write(ack)
			}
		}
	}
	send := func(c *rawClient, to, msg string) {
		if _, err := c.send(wire.OpPeerSend, wire.PeerSendReq{To: to, Msg: msg}); err != nil {
			errs <- err
		}
	}
	for i, p := range all {
		to := "pa" + strconv.Itoa(i)
		go read(p.bob, &p.bmu, func(_ uint64, msg string) { send(p.bob, to, msg) })
		bto := "pb" + strconv.Itoa(i)
		go read(p.alice, &p.amu, func(_ uint64, msg string) {
			if done.Add(1) == int64(b.N) {
				once.Do(func() { close(finished) })
			}
			if left.Add(-1) >= 0 {
				send(p.alice, bto, msg)
			}
		})
	}
	st0, cs0 := srv.node.Stats(), store.Stats(st)
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	left.Store(int64(b.N))
	for i, p := range all {
		p.amu.Lock()
		for range window {
			if left.Add(-1) < 0 {
				break
			}
			send(p.alice, "pb"+strconv.Itoa(i), "x")
		}
		p.amu.Unlock()
	}
	select {
	case <-finished:
	case err := <-errs:
		b.Fatal(err)
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d round trips in 5 minutes", done.Load(), b.N)
	}
	el := time.Since(start)
	b.StopTimer()
	cpu := processCPU() - cpu0
	cs := store.Stats(st)
	b.ReportMetric(float64(b.N)/el.Seconds(), "round-trips/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "combined-cpu-us/op")
	if n := cs.Commits - cs0.Commits; n > 0 {
		b.ReportMetric(float64(cs.Changes-cs0.Changes)/float64(n), "changes/commit")
		b.ReportMetric(float64(n)/el.Seconds(), "commits/s")
	}
	reportFrames(b, st0, srv.node.Stats())
}
