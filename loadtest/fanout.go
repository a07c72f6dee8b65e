package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// rawHello is what the raw server sends a connection once it is registered
// for broadcasts.
var rawHello = []byte(`{"op":"hello"}`)

// logoutID is the id of the logout that ends every session of a run: far
// above the ids the run used, so the readers can tell its answer apart.
const logoutID = 1<<53 - 1

type fanout struct {
	o       *options
	members []*fanMember
	pubs    []*publisher
	lat     hist
	errs    errLog
	closing atomic.Bool
	readers sync.WaitGroup
}

// fanMember is one member connection and its reader's bookkeeping.
type fanMember struct {
	f       *fanout
	c       *client
	pub     *publisher      // when this member publishes
	last    []atomic.Uint64 // per publisher: the last sequence number received (read by --e2e publishers)
	lastOff uint64
	ev      event

	recv     atomic.Uint64 // this run's messages received
	ooo      atomic.Uint64
	foreign  atomic.Uint64
	lastRecv atomic.Int64 // Unix ns of the last delivery
}

// publisher sends from member idx with a bounded window.
type publisher struct {
	idx     int
	m       *fanMember
	sem     chan struct{} // one token per unanswered request (raw: per own message not yet back)
	prefix  []byte        // the frame up to the message text
	first   uint64        // the first request id of the run
	minDone uint64        // --e2e: every member had this sequence number at the last look
	next    uint64        // reader: the answer expected next

	sent, accepted, refused atomic.Uint64
}

func runFanout(ctx context.Context, o *options) (*Result, error) {
	d, err := newDialers(o.servers, o.conns, o.perAddr, o.readBuf)
	if err != nil {
		return nil, err
	}
	m, err := startMeter(o.scraped())
	if err != nil {
		return nil, err
	}
	defer m.finish()
	f := &fanout{o: o}
	conns := make([]*client, o.conns)
	setupStart := time.Now()
	pg, err := f.connect(ctx, d, conns)
	if err != nil {
		return nil, err
	}
	setup := time.Since(setupStart)
	o.logf("set up in %s", dur(setup))
	f.start(conns)

	// Publish for the duration.
	m.mark()
	start := time.Now()
	f.publishFor(ctx, start)

	// Drain: every answer in, every delivery made, or the drain is over.
	drain(ctx, o.drain, f.complete, f.progress)
	m.end()
	if pg != nil {
		pg.finish()
	}

	// Results, then log everyone out and close.
	r := f.result(start)
	if pg != nil {
		r.Pings = pg.pings.Load()
	}
	f.closing.Store(true)
	var lastWords func(c *client) []byte
	if !o.raw {
		lastWords = logoutFrame
	}
	shutdownAll(conns, lastWords, &f.readers, 5*time.Second)
	r.fill(o, m, setup, d.addrs(), &f.errs, r.Delivered)
	if len(r.Nodes) > 1 {
		for i := range f.pubs {
			r.PubServers = append(r.PubServers, d.server(i))
		}
	}
	r.countMessages(conns)
	return r, ctx.Err()
}

// connect connects the members (logged in and joined, unless raw); on an
// error it closes them again.
func (f *fanout) connect(ctx context.Context, d *dialers, conns []*client) (*pinger, error) {
	o := f.o
	var pg *pinger
	var err error
	if o.raw {
		o.logf("connecting %d members to the raw server %s…", o.conns, o.server)
		err = connectAll(ctx, d, conns, 0, o.conns, o.setup, func(c *client) error {
			return c.waitLine(rawHello, 30*time.Second)
		})
	} else {
		o.logf("connecting %d members to %s, channel %s…", o.conns, o.server, o.channel)
		pg, err = setupChannel(ctx, o, d, conns, "m")
	}
	if err != nil {
		if pg != nil {
			pg.finish()
		}
		closeAll(conns)
		return nil, err
	}
	return pg, nil
}

// start makes the members and their publishers and starts the readers.
func (f *fanout) start(conns []*client) {
	o := f.o
	f.members = make([]*fanMember, o.conns)
	for i, c := range conns {
		f.members[i] = &fanMember{f: f, c: c, last: make([]atomic.Uint64, o.pubs)}
	}
	chJSON, _ := json.Marshal(o.channel)
	for i := 0; i < o.pubs; i++ {
		mem := f.members[i]
		p := &publisher{idx: i, m: mem, sem: make(chan struct{}, o.window)}
		if o.raw {
			p.prefix = fmt.Appendf(nil, `{"op":"ch.msg","off":1,"d":{"ch":%s,"from":"m%d","uid":%d,"msg":"`, chJSON, i, i+1)
		} else {
			p.prefix = fmt.Appendf(nil, `,"op":"ch.send","d":{"ch":%s,"msg":"`, chJSON)
			p.first = mem.c.nextID + 1
			p.next = p.first
		}
		mem.pub = p
		f.pubs = append(f.pubs, p)
	}
	for _, mem := range f.members {
		f.readers.Add(1)
		go func() {
			defer f.readers.Done()
			err := mem.c.readLoop(mem)
			if !f.closing.Load() {
				f.errs.add("member %d: connection lost: %v", mem.c.idx, err)
			}
		}()
	}
}

// publishFor runs the publishers for --duration (or until ctx is done).
func (f *fanout) publishFor(ctx context.Context, start time.Time) {
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	for _, p := range f.pubs {
		pubs.Add(1)
		go func() { defer pubs.Done(); f.publish(p, start, stop) }()
	}
	f.o.logf("publishing for %s…", f.o.duration)
	select {
	case <-time.After(f.o.duration):
	case <-ctx.Done():
	}
	close(stop)
	pubs.Wait()
}

// result sums the publishers' and members' figures after the drain.
func (f *fanout) result(start time.Time) *Result {
	r := &Result{}
	var lastRecv int64
	for _, p := range f.pubs {
		r.Sent += p.sent.Load()
		r.Accepted += p.accepted.Load()
		r.Refused += p.refused.Load()
	}
	r.Unanswered = r.Sent - r.Accepted - r.Refused
	for _, mem := range f.members {
		r.Delivered += mem.recv.Load()
		r.OutOfOrder += mem.ooo.Load()
		r.Foreign += mem.foreign.Load()
		lastRecv = max(lastRecv, mem.lastRecv.Load())
	}
	r.Expected = r.Accepted * uint64(f.o.conns)
	if r.Delivered < r.Expected {
		r.Lost = r.Expected - r.Delivered
		f.reportShort(r.Accepted)
	}
	r.Elapsed = time.Since(start)
	if lastRecv > start.UnixNano() {
		r.Elapsed = time.Duration(lastRecv - start.UnixNano())
	}
	if s := r.Elapsed.Seconds(); s > 0 {
		r.MsgsPerSec = float64(r.Accepted) / s
		r.DelivPerS = float64(r.Delivered) / s
	}
	r.Latency = f.lat.summary()
	return r
}

// reportShort logs the first few members that got fewer than want
// messages.
func (f *fanout) reportShort(want uint64) {
	short := 0
	for i, mem := range f.members {
		if got := mem.recv.Load(); got < want {
			if short++; short <= 5 {
				last := make([]uint64, len(mem.last))
				for k := range last {
					last[k] = mem.last[k].Load()
				}
				f.errs.add("member %d got %d of %d messages (last sequence numbers %v)", i, got, want, last)
			}
		}
	}
}

// logoutFrame is the last request of a session.
func logoutFrame(c *client) []byte {
	b := append([]byte(`{"id":`), strconv.FormatUint(logoutID, 10)...)
	b = append(b, `,"op":"logout","d":{"ack":`...)
	b = strconv.AppendUint(b, c.seq.Load(), 10)
	return append(b, "}}"...)
}

// setupChannel logs conns in as PREFIX0, PREFIX1, … and joins them to
// o.channel. The first connection turns membership pushes off (unless
// --notify) and sets _channel_ttl 0, so the channel's attributes go away
// soon after the run. It returns the pinger that keeps them alive.
func setupChannel(ctx context.Context, o *options, d *dialers, conns []*client, prefix string) (*pinger, error) {
	var pg *pinger
	join := func(c *client) error {
		hb, err := c.login(o, prefix+strconv.Itoa(c.idx))
		if err != nil {
			return err
		}
		if c.idx == 0 {
			if !o.notify {
				if _, err := c.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: o.channel, Name: wire.AttrUserNotify, Value: "0"}, 30*time.Second); err != nil {
					return err
				}
			}
			if _, err := c.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: o.channel, Name: wire.AttrChannelTTL, Value: "0"}, 30*time.Second); err != nil {
				return err
			}
			pg = startPinger(hb, o.ackEvery)
		}
		if _, err := c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: o.channel}, 30*time.Second); err != nil {
			return fmt.Errorf("join %s: %w", o.channel, err)
		}
		pg.add(c)
		return nil
	}
	if err := connectAll(ctx, d, conns, 0, 1, 1, join); err != nil {
		return pg, err
	}
	return pg, connectAll(ctx, d, conns, 1, len(conns), o.setup, join)
}

// progress is a number that grows while anything arrives.
func (f *fanout) progress() uint64 {
	var n uint64
	for _, p := range f.pubs {
		n += p.accepted.Load() + p.refused.Load()
	}
	for _, mem := range f.members {
		n += mem.recv.Load()
	}
	return n
}

// complete reports whether every answer and every due delivery is in.
func (f *fanout) complete() bool {
	var want, got uint64
	for _, p := range f.pubs {
		s, a := p.sent.Load(), p.accepted.Load()
		if s != a+p.refused.Load() { // raw: accepted counts the publisher's own messages back
			return false
		}
		want += a
	}
	want *= uint64(len(f.members))
	for _, mem := range f.members {
		got += mem.recv.Load()
	}
	return got >= want
}

// publish sends until stop: flat out within the window, or paced at
// --rate/--pubs messages per second.
func (f *fanout) publish(p *publisher, start time.Time, stop <-chan struct{}) {
	o := f.o
	c := p.m.c
	buf := make([]byte, 0, len(p.prefix)+o.size+64)
	pace := newPacer(start, o.rate, o.pubs, p.idx)
	defer pace.stop()
	id := p.first
	for seq := uint64(1); ; seq++ {
		if !pace.wait(seq, stop) {
			return
		}
		if o.e2e && !f.waitDelivered(p, seq, stop) {
			return
		}
		select {
		case <-stop:
			return
		case p.sem <- struct{}{}:
		}
		select {
		case <-stop:
			<-p.sem
			return
		default:
		}
		buf = buf[:0]
		if !o.raw {
			buf = append(buf, `{"id":`...)
			buf = strconv.AppendUint(buf, id, 10)
			id++
		}
		buf = append(buf, p.prefix...)
		buf = appendText(buf, p.idx, seq, time.Now().UnixNano(), o.size)
		buf = append(buf, `"}}`...)
		if err := c.write(buf); err != nil {
			f.errs.add("publisher %d: %v", p.idx, err)
			return
		}
		p.sent.Add(1)
	}
}

// waitDelivered blocks (--e2e) until every member has message seq-window
// of p, so that at most window of its messages are on their way to anyone:
// end-to-end flow control, where the ch.send answers only say the server
// took the message. Members publish their progress in last[p.idx]; the
// publisher polls the slowest.
func (f *fanout) waitDelivered(p *publisher, seq uint64, stop <-chan struct{}) bool {
	w := uint64(f.o.window)
	if seq <= w || p.minDone+w >= seq {
		return true
	}
	for {
		low := ^uint64(0)
		for _, mem := range f.members {
			low = min(low, mem.last[p.idx].Load())
			if low+w < seq {
				break
			}
		}
		if low+w >= seq {
			p.minDone = low
			return true
		}
		select {
		case <-stop:
			return false
		case <-time.After(100 * time.Microsecond):
		}
	}
}

// line handles one frame received by a member.
func (mem *fanMember) line(b []byte) error {
	f := mem.f
	ev := &mem.ev
	if err := classify(b, f.o.strict, ev); err != nil {
		f.errs.add("member %d: %v", mem.c.idx, err)
		return nil
	}
	switch ev.kind {
	case evChMsg:
		now := mem.c.now
		pub, seq, ts, ok := parseText(ev.text)
		if !ok || pub >= len(mem.last) {
			mem.foreign.Add(1)
			return nil
		}
		bad := seq <= mem.last[pub].Load()
		if !bad {
			mem.last[pub].Store(seq)
		}
		if !f.o.raw {
			if ev.num <= mem.lastOff {
				bad = true
			} else {
				mem.lastOff = ev.num
			}
		}
		if bad {
			mem.ooo.Add(1)
		}
		f.lat.record(now - ts)
		mem.lastRecv.Store(now)
		mem.recv.Add(1)
		if p := mem.pub; f.o.raw && p != nil && pub == p.idx {
			p.accepted.Add(1)
			select {
			case <-p.sem:
			default:
			}
		}
	case evRes:
		if ev.id == logoutID || f.closing.Load() {
			return nil
		}
		p := mem.pub
		if p == nil {
			f.errs.add("member %d: unexpected answer %d", mem.c.idx, ev.id)
			return nil
		}
		if ev.id != p.next {
			f.errs.add("publisher %d: answer %d, expected %d", p.idx, ev.id, p.next)
		}
		p.next = ev.id + 1
		if ev.resErr != nil {
			p.refused.Add(1)
			f.errs.add("publisher %d: ch.send %d refused: %v", p.idx, ev.id, ev.resErr)
		} else {
			p.accepted.Add(1)
		}
		select {
		case <-p.sem:
		default:
		}
	case evFatal:
		if !f.closing.Load() {
			return fmt.Errorf("%s %v", ev.op, ev.resErr)
		}
	}
	return nil
}

func (mem *fanMember) end() error { return nil }
