package bench

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

var fanoutParse = flag.String("bench.parse", "fast",
	"how fan-out members read frames: fast (recognise the server's exact ch.msg line, wire.Split for anything else) or split (wire.Split and a payload decode for every frame)")

const (
	fanApp     = "bench"
	fanChannel = "fan"
)

// fanMember is one member socket of the fan-out channel with its reader's
// bookkeeping. Member 0 is the publisher: its reader also takes the answers
// to the ch.send requests and frees the window.
type fanMember struct {
	f      *fanout
	idx    int
	c      *rawClient
	next   uint64 // the message number expected next
	last   uint64 // offset of the last ch.msg
	answer uint64 // publisher: answers received
	wsMsgs uint64 // WebSocket messages that carried ch.msg frames
	fin    bool   // counted in fanout.done
}

// checkDone counts the member as finished once it has every message (and,
// for the publisher, every answer).
func (m *fanMember) checkDone() {
	if !m.fin && m.next == m.f.target && (m.idx != 0 || m.answer == m.f.target) {
		m.fin = true
		m.f.done.Done()
	}
}

// fanout is a channel with members raw wire clients and a bounded publisher.
type fanout struct {
	tb      testing.TB
	members []*fanMember
	window  int
	split   bool
	e2e     bool // the window also bounds delivery: message i waits until every member has i-window

	// per run
	target  uint64
	sem     chan struct{}  // unanswered ch.send requests
	dsem    chan struct{}  // e2e: messages not yet delivered to every member
	recv    []atomic.Int32 // e2e: members that have message k, at k % len
	done    sync.WaitGroup // one per member: has every message (publisher: and every answer)
	readers sync.WaitGroup
	failed  chan struct{}
	failMu  sync.Mutex
	failErr error
	closing atomic.Bool
	stopHB  chan struct{}
	hbDone  chan struct{}
}

// newFanout logs in n members (the publisher first), turns membership
// pushes off (_userNotification 0, so joining costs O(n), not O(n²)) and
// joins them all to one channel.
func newFanout(tb testing.TB, url string, n, window int) *fanout {
	tb.Helper()
	f := &fanout{tb: tb, window: window, split: *fanoutParse == "split"}
	if *fanoutParse != "split" && *fanoutParse != "fast" {
		tb.Fatalf("-bench.parse must be fast or split, not %q", *fanoutParse)
	}
	tb.Cleanup(f.close)
	pub, err := dialRaw(url)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	f.members = make([]*fanMember, n)
	f.members[0] = &fanMember{f: f, idx: 0, c: pub}
	if err := pub.login(fanApp, "m0"); err != nil {
		tb.Fatalf("publisher: %v", err)
	}
	if _, err := pub.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: fanChannel, Name: wire.AttrUserNotify, Value: "0"}); err != nil {
		tb.Fatalf("publisher: %v", err)
	}
	if _, err := pub.call(wire.OpChannelJoin, wire.ChannelReq{Channel: fanChannel}); err != nil {
		tb.Fatalf("publisher: %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	next.Store(1)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := func() error {
					c, err := dialRaw(url)
					if err != nil {
						return err
					}
					mu.Lock()
					f.members[i] = &fanMember{f: f, idx: i, c: c}
					mu.Unlock()
					if err := c.login(fanApp, "m"+strconv.Itoa(i)); err != nil {
						return err
					}
					_, err = c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: fanChannel})
					return err
				}()
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("member %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
	f.stopHB, f.hbDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(f.hbDone)
		heartbeat(func() []*rawClient {
			cs := make([]*rawClient, len(f.members))
			for i, m := range f.members {
				cs[i] = m.c
			}
			return cs
		}, 5*time.Second, f.stopHB)
	}()
	return f
}

func (f *fanout) close() {
	f.closing.Store(true)
	if f.stopHB != nil {
		close(f.stopHB)
		<-f.hbDone
	}
	for _, m := range f.members {
		if m != nil {
			m.c.close()
		}
	}
	f.readers.Wait()
}

func (f *fanout) fail(err error) {
	f.failMu.Lock()
	defer f.failMu.Unlock()
	if f.failErr == nil {
		f.failErr = err
		close(f.failed)
	}
}

// run publishes n messages ("0", "1", …) with at most f.window unanswered
// ch.send requests and returns when every member has received every one of
// them, in order, or with the first error. It may be called once.
func (f *fanout) run(n int) (time.Duration, error) {
	f.target = uint64(n)
	f.sem = make(chan struct{}, f.window)
	f.dsem = make(chan struct{}, f.window)
	f.recv = make([]atomic.Int32, 2*f.window)
	f.failed = make(chan struct{})
	if n == 0 {
		return 0, nil
	}
	f.done.Add(len(f.members))
	for _, m := range f.members {
		f.readers.Add(1)
		go m.read()
	}
	allDone := make(chan struct{})
	go func() { f.done.Wait(); close(allDone) }()

	start := time.Now()
	go f.publish(n)
	// Fail when nothing arrives anywhere for stallTimeout, however long the
	// run (a lockstep run of 20,000 messages takes minutes).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastChange := f.received(), time.Now()
wait:
	for {
		select {
		case <-allDone:
			break wait
		case <-f.failed:
			break wait
		case now := <-tick.C:
			if got := f.received(); got != last {
				last, lastChange = got, now
			} else if now.Sub(lastChange) > stallTimeout {
				f.fail(fmt.Errorf("no delivery for %v: %s", stallTimeout, f.progress()))
			}
		}
	}
	elapsed := time.Since(start)
	f.failMu.Lock()
	err := f.failErr
	f.failMu.Unlock()
	return elapsed, err
}

// stallTimeout fails a fan-out run in which no member receives anything for this long.
const stallTimeout = 30 * time.Second

// received is how many messages the members have received in all.
func (f *fanout) received() uint64 {
	var n uint64
	for _, m := range f.members {
		n += atomicLoad(&m.next)
	}
	return n
}

// progress describes how far the members got, for a failure message.
func (f *fanout) progress() string {
	lo, hi := ^uint64(0), uint64(0)
	for _, m := range f.members {
		got := atomicLoad(&m.next)
		lo, hi = min(lo, got), max(hi, got)
	}
	return fmt.Sprintf("members received between %d and %d of %d messages", lo, hi, f.target)
}

// atomicLoad reads a counter owned by a reader goroutine, for diagnostics only.
func atomicLoad(p *uint64) uint64 { return atomic.LoadUint64(p) }

func (f *fanout) publish(n int) {
	pub := f.members[0].c
	buf := make([]byte, 0, 128)
	for i := 0; i < n; i++ {
		select {
		case f.sem <- struct{}{}:
		case <-f.failed:
			return
		}
		if f.e2e {
			select {
			case f.dsem <- struct{}{}:
			case <-f.failed:
				return
			}
		}
		// {"id":I,"op":"ch.send","d":{"ch":"fan","msg":"i","mid":"pi"}}; ids start at 100.
		buf = append(buf[:0], `{"id":`...)
		buf = strconv.AppendUint(buf, uint64(i)+100, 10)
		buf = append(buf, `,"op":"ch.send","d":{"ch":"`+fanChannel+`","msg":"`...)
		buf = strconv.AppendUint(buf, uint64(i), 10)
		buf = append(buf, `","mid":"p`...)
		buf = strconv.AppendUint(buf, uint64(i), 10)
		buf = append(buf, `"}}`...)
		if err := pub.write(buf); err != nil {
			f.fail(fmt.Errorf("publish %d: %w", i, err))
			return
		}
	}
}

// framesPerMessage is how many ch.msg frames one WebSocket message carried
// on average: the server packs frames that queued up while a member was
// behind. Call after run.
func (f *fanout) framesPerMessage() float64 {
	var frames, msgs uint64
	for _, m := range f.members {
		frames += m.next
		msgs += m.wsMsgs
	}
	if msgs == 0 {
		return 0
	}
	return float64(frames) / float64(msgs)
}

// wsMessages is how many WebSocket messages carrying ch.msg frames the
// members received. Call after run.
func (f *fanout) wsMessages() uint64 {
	var n uint64
	for _, m := range f.members {
		n += m.wsMsgs
	}
	return n
}

// read is a member's reader goroutine.
func (m *fanMember) read() {
	f := m.f
	defer f.readers.Done()
	var buf bytes.Buffer
	for {
		_, r, err := m.c.ws.NextReader()
		if err != nil {
			if !f.closing.Load() && atomicLoad(&m.next) < f.target {
				f.fail(fmt.Errorf("member %d: connection lost after %d of %d messages: %v", m.idx, m.next, f.target, err))
			}
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			if !f.closing.Load() {
				f.fail(fmt.Errorf("member %d: read: %v", m.idx, err))
			}
			return
		}
		before := m.next
		if err := m.message(buf.Bytes()); err != nil {
			f.fail(fmt.Errorf("member %d: %w", m.idx, err))
			return
		}
		if m.next != before {
			m.wsMsgs++
		}
	}
}

// message handles one WebSocket message: one or more '\n'-separated frames.
func (m *fanMember) message(msg []byte) error {
	if m.f.split {
		frames, err := wire.Split(msg)
		if err != nil {
			return err
		}
		for i := range frames {
			if err := m.frame(&frames[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if cm, ok := parseLine(line); ok {
			if err := m.chMsg(cm); err != nil {
				return err
			}
			continue
		}
		frames, err := wire.Split(line)
		if err != nil && !errors.Is(err, wire.ErrEmptyMessage) {
			return err
		}
		for i := range frames {
			if err := m.frame(&frames[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *fanMember) frame(fr *wire.Frame) error {
	switch fr.Op {
	case wire.PushChannelMsg:
		cm, err := parseFrame(fr)
		if err != nil {
			return err
		}
		return m.chMsg(cm)
	case wire.OpResult:
		if m.idx != 0 {
			return fmt.Errorf("unexpected answer %s", fr.Describe())
		}
		if fr.Err != nil {
			return fmt.Errorf("ch.send %d refused: %v", fr.ID, fr.Err)
		}
		m.answer++
		<-m.f.sem
		m.checkDone()
		return nil
	case wire.OpPong:
		return nil
	default:
		return fmt.Errorf("unexpected frame %s", fr.Describe())
	}
}

// chMsg checks order and counts: message numbers must arrive as 0, 1, 2, …
// with increasing offsets; nothing lost, nothing twice, nothing extra.
func (m *fanMember) chMsg(cm chMsg) error {
	if cm.n != m.next {
		return fmt.Errorf("got message %d, want %d (lost or out of order)", cm.n, m.next)
	}
	if cm.off <= m.last {
		return fmt.Errorf("message %d has offset %d after %d", cm.n, cm.off, m.last)
	}
	m.last = cm.off
	if m.f.e2e {
		slot := &m.f.recv[cm.n%uint64(len(m.f.recv))]
		if int(slot.Add(1)) == len(m.f.members) {
			slot.Store(0) // message n+len(recv) cannot be sent before the token below is freed
			<-m.f.dsem
		}
	}
	atomic.StoreUint64(&m.next, m.next+1)
	if m.next > m.f.target {
		return fmt.Errorf("message %d beyond the %d published", cm.n, m.f.target)
	}
	m.checkDone()
	return nil
}

// --- benchmarks ---------------------------------------------------------

const (
	fanMembers = 1000
	fanWindow  = 64
)

// BenchmarkChannelFanout1000: one op = one channel message published and
// delivered to all 1,000 members (the publisher is one of them), with at
// most 64 unanswered ch.send requests. Server in this process: the CPU
// figure is clients and server together.
//
// The server answers a ch.send once the push is queued to every member, so
// this window does not bound how far members lag behind: the longer the
// run, the deeper the members' queues and the more frames the server packs
// into one WebSocket write (frames/wsmsg). The E2E variants bound delivery
// instead: message i is sent only once message i-64 reached every member.
func BenchmarkChannelFanout1000(b *testing.B)         { benchFanout(b, false, false, fanWindow) }
func BenchmarkChannelFanout1000E2E(b *testing.B)      { benchFanout(b, false, true, fanWindow) }
func BenchmarkChannelFanout1000Split(b *testing.B)    { benchFanout(b, true, false, fanWindow) }
func BenchmarkChannelFanout1000SplitE2E(b *testing.B) { benchFanout(b, true, true, fanWindow) }

// BenchmarkChannelFanout1000SplitLockstep sends the next message only when
// the previous one reached every member (an end-to-end window of 1): members
// are never behind, the server writes about one frame per WebSocket message,
// and server-cpu-ns/delivery is the cost without write coalescing. Slow: run
// it with a fixed count (-benchtime 2000x).
func BenchmarkChannelFanout1000SplitLockstep(b *testing.B) { benchFanout(b, true, true, 1) }

// benchFanout runs the fan-out benchmark. With child, the server is a child
// process (this binary re-run as a server), so that its CPU time is
// measured alone (server-cpu-ns/delivery; the clients still share the
// machine's cores with it); otherwise it runs in this process and only the
// combined CPU is known.
func benchFanout(b *testing.B, inChild, e2e bool, window int) {
	var (
		url   string
		stats func() childStat
		ch    *child
	)
	if inChild {
		ch = startChild(b)
		url = ch.url
		stats = func() childStat { return ch.stat(b) }
	} else {
		srv := startServer(b)
		url = srv.url
		stats = func() childStat { return childStat{Stats: srv.node.Stats()} }
	}
	f := newFanout(b, url, fanMembers, window)
	f.e2e = e2e
	if ch != nil {
		ch.command(b, "profstart")
	}
	st0 := stats()
	cpu0 := processCPU()
	b.ResetTimer()
	elapsed, err := f.run(b.N)
	b.StopTimer()
	cpu := processCPU() - cpu0
	st1 := stats()
	before, after := st0.Stats, st1.Stats
	if ch != nil {
		ch.command(b, "profstop")
	}
	if err != nil {
		b.Fatal(err)
	}
	deliveries := float64(b.N) * fanMembers
	checkServerCounts(b, before.Deliveries, after.Deliveries, before.SlowDrops, after.SlowDrops, uint64(b.N)*fanMembers)
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(f.framesPerMessage(), "frames/wsmsg")
	if inChild {
		b.ReportMetric(float64((st1.CPU-st0.CPU).Nanoseconds())/deliveries, "server-cpu-ns/delivery")
		b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "client-cpu-ns/delivery")
		if msgs := f.wsMessages(); msgs > 0 && st1.Writes > st0.Writes {
			// More than 1: the server split WebSocket messages over several writes.
			b.ReportMetric(float64(st1.Writes-st0.Writes)/float64(msgs), "srv-writes/wsmsg")
		}
	} else {
		b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "combined-cpu-ns/delivery")
	}
}

// checkServerCounts makes sure the server's own counters agree with what the
// members counted.
func checkServerCounts(tb testing.TB, d0, d1, s0, s1, want uint64) {
	tb.Helper()
	if d1-d0 != want {
		tb.Fatalf("server counted %d deliveries, want %d", d1-d0, want)
	}
	if s1 != s0 {
		tb.Fatalf("server dropped %d slow clients", s1-s0)
	}
}
