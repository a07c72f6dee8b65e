package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// p2p: pair i is sender pa<i> (connection 2i) and echoer pb<i> (2i+1).
// The sender keeps --window peer messages in flight (sent, echo not yet
// back); the echoer sends each one back with peer.send.
type p2p struct {
	o       *options
	pairs   []*pair
	lat     hist
	errs    errLog
	closing atomic.Bool
	readers sync.WaitGroup
}

type pair struct {
	idx  int
	p    *p2p
	a, b *client
	sem  chan struct{}
	toB  []byte // `,"op":"peer.send","d":{"to":"pb<i>","msg":"`
	toA  []byte

	// sender side (a)
	aSent, aAcc, aRef atomic.Uint64
	echoed            atomic.Uint64
	aNext             uint64 // a's reader: answer expected next
	aFirst            uint64
	aLastEcho         uint64
	aLastSeq          uint64
	aAcked            uint64
	lastRecv          atomic.Int64

	// echoer side (b)
	bRecv, bAcc, bRef atomic.Uint64
	bSent             atomic.Uint64
	bNextID, bNext    uint64 // b's reader: next request id, answer expected next
	bLast             uint64
	bLastSeq          uint64
	bAcked            uint64
	bBuf              []byte // echoes of the message being read, written at its end
	bPending          uint64 // how many

	ooo     atomic.Uint64
	foreign atomic.Uint64
	aEv     event
	bEv     event
}

// side adapts a pair to lineHandler for one of its connections.
type side struct {
	p      *pair
	sender bool
}

func runP2P(ctx context.Context, o *options) (*Result, error) {
	n := 2 * o.conns
	d, err := newDialers(o.servers, n, o.perAddr, o.readBuf)
	if err != nil {
		return nil, err
	}
	m, err := startMeter(o.scraped())
	if err != nil {
		return nil, err
	}
	defer m.finish()
	t := &p2p{o: o}
	conns := make([]*client, n)
	setupStart := time.Now()
	o.logf("logging in %d pairs at %s…", o.conns, o.server)
	var pg *pinger
	login := func(c *client) error {
		acct := "pa" + strconv.Itoa(c.idx/2)
		if c.idx%2 == 1 {
			acct = "pb" + strconv.Itoa(c.idx/2)
		}
		hb, err := c.login(o, acct)
		if err != nil {
			return err
		}
		if c.idx == 0 {
			pg = startPinger(hb, o.ackEvery)
		}
		pg.add(c)
		return nil
	}
	err = connectAll(ctx, d, conns, 0, 1, 1, login)
	if err == nil {
		err = connectAll(ctx, d, conns, 1, n, o.setup, login)
	}
	if err != nil {
		if pg != nil {
			pg.finish()
		}
		closeAll(conns)
		return nil, err
	}
	setup := time.Since(setupStart)
	o.logf("set up in %s", dur(setup))

	for i := 0; i < o.conns; i++ {
		pr := &pair{idx: i, p: t, a: conns[2*i], b: conns[2*i+1], sem: make(chan struct{}, o.window)}
		pr.toB = fmt.Appendf(nil, `,"op":"peer.send","d":{"to":"pb%d","msg":"`, i)
		pr.toA = fmt.Appendf(nil, `,"op":"peer.send","d":{"to":"pa%d","msg":"`, i)
		pr.aFirst = pr.a.nextID + 1
		pr.aNext = pr.aFirst
		pr.bNextID = pr.b.nextID + 1
		pr.bNext = pr.bNextID
		pr.bBuf = make([]byte, 0, len(pr.toA)+o.size+64)
		t.pairs = append(t.pairs, pr)
	}
	for _, pr := range t.pairs {
		for _, s := range []side{{pr, true}, {pr, false}} {
			c := pr.b
			if s.sender {
				c = pr.a
			}
			t.readers.Add(1)
			go func() {
				defer t.readers.Done()
				err := c.readLoop(s)
				if !t.closing.Load() {
					t.errs.add("connection %d: connection lost: %v", c.idx, err)
				}
			}()
		}
	}

	m.mark()
	start := time.Now()
	stop := make(chan struct{})
	var senders sync.WaitGroup
	for _, pr := range t.pairs {
		senders.Add(1)
		go func() { defer senders.Done(); pr.send(start, stop) }()
	}
	o.logf("sending for %s…", o.duration)
	select {
	case <-time.After(o.duration):
	case <-ctx.Done():
	}
	close(stop)
	senders.Wait()
	drain(ctx, o.drain, t.complete, t.progress)
	m.end()
	pg.finish()

	r := &Result{}
	var lastRecv int64
	for _, pr := range t.pairs {
		r.Sent += pr.aSent.Load() + pr.bSent.Load()
		r.Accepted += pr.aAcc.Load() + pr.bAcc.Load()
		r.Refused += pr.aRef.Load() + pr.bRef.Load()
		r.Delivered += pr.bRecv.Load() + pr.echoed.Load()
		r.OutOfOrder += pr.ooo.Load()
		r.Foreign += pr.foreign.Load()
		lastRecv = max(lastRecv, pr.lastRecv.Load())
	}
	r.Unanswered = r.Sent - r.Accepted - r.Refused
	r.Expected = r.Accepted
	if r.Delivered < r.Expected {
		r.Lost = r.Expected - r.Delivered
	}
	r.Elapsed = time.Since(start)
	if lastRecv > start.UnixNano() {
		r.Elapsed = time.Duration(lastRecv - start.UnixNano())
	}
	r.Latency = t.lat.summary()
	rts := r.Latency.Count // round trips
	if s := r.Elapsed.Seconds(); s > 0 {
		r.MsgsPerSec = float64(rts) / s
		r.DelivPerS = float64(r.Delivered) / s
	}
	r.Pings = pg.pings.Load()

	t.closing.Store(true)
	shutdownAll(conns, logoutFrame, &t.readers, 5*time.Second)
	r.fill(o, m, setup, d.addrs(), &t.errs, r.Delivered)
	r.countMessages(conns)
	return r, ctx.Err()
}

// progress is a number that grows while anything arrives.
func (t *p2p) progress() uint64 {
	var n uint64
	for _, pr := range t.pairs {
		n += pr.aAcc.Load() + pr.aRef.Load() + pr.bAcc.Load() + pr.bRef.Load() + pr.bRecv.Load() + pr.echoed.Load()
	}
	return n
}

// complete reports whether nothing is in flight. The counters are read
// against the causal order (a send is answered and pushed to b; b counts
// its echo sent before the message received; the echo is answered and
// pushed to a), so that a stale read can only say "not yet".
func (t *p2p) complete() bool {
	for _, pr := range t.pairs {
		bRecv := pr.bRecv.Load()
		bSent := pr.bSent.Load()
		bAcc, bRef := pr.bAcc.Load(), pr.bRef.Load()
		echoed := pr.echoed.Load()
		aSent, aAcc, aRef := pr.aSent.Load(), pr.aAcc.Load(), pr.aRef.Load()
		if aSent != aAcc+aRef || bRecv < aAcc || bSent != bRecv || bSent != bAcc+bRef || echoed < bAcc {
			return false
		}
	}
	return true
}

// send keeps the window full until stop, optionally paced.
func (pr *pair) send(start time.Time, stop <-chan struct{}) {
	o := pr.p.o
	buf := make([]byte, 0, len(pr.toB)+o.size+64)
	pace := newPacer(start, o.rate, o.conns, pr.idx)
	defer pace.stop()
	batch := o.rate == 0
	id := pr.aFirst
	for seq := uint64(1); ; seq++ {
		if !pace.wait(seq, stop) {
			return
		}
		select {
		case <-stop:
			return
		case pr.sem <- struct{}{}:
		}
		select {
		case <-stop:
			<-pr.sem
			return
		default:
		}
		// At full speed, every free place of the window is filled at
		// once, in one message, as the SDK packs what is queued.
		buf = buf[:0]
		n := uint64(0)
		for {
			if n > 0 {
				buf = append(buf, '\n')
			}
			buf = append(buf, `{"id":`...)
			buf = strconv.AppendUint(buf, id, 10)
			id++
			buf = append(buf, pr.toB...)
			buf = appendText(buf, pr.idx, seq+n, time.Now().UnixNano(), o.size)
			buf = append(buf, `"}}`...)
			n++
			if !batch {
				break
			}
			select {
			case pr.sem <- struct{}{}:
				continue
			default:
			}
			break
		}
		seq += n - 1
		if err := pr.a.write(buf); err != nil {
			pr.p.errs.add("pair %d: send: %v", pr.idx, err)
			return
		}
		pr.aSent.Add(n)
	}
}

func (s side) line(b []byte) error {
	pr, t := s.p, s.p.p
	ev := &pr.bEv
	if s.sender {
		ev = &pr.aEv
	}
	if err := classify(b, t.o.strict, ev); err != nil {
		t.errs.add("pair %d: %v", pr.idx, err)
		return nil
	}
	switch ev.kind {
	case evPeerMsg:
		lastSeq := &pr.bLastSeq
		c := pr.b
		if s.sender {
			lastSeq, c = &pr.aLastSeq, pr.a
		}
		now := c.now
		if ev.num <= *lastSeq {
			pr.ooo.Add(1) // a user-stream seq not increasing
		} else {
			*lastSeq = ev.num
			c.seq.Store(ev.num)
		}
		idx, seq, ts, ok := parseText(ev.text)
		if !ok {
			pr.foreign.Add(1) // queued by an earlier run for this account
			return nil
		}
		if idx != pr.idx {
			t.errs.add("pair %d: peer message of pair %d %.60q", pr.idx, idx, ev.text)
			return nil
		}
		if s.sender { // an echo came back
			if seq <= pr.aLastEcho {
				pr.ooo.Add(1)
			} else {
				pr.aLastEcho = seq
			}
			t.lat.record(now - ts)
			pr.lastRecv.Store(now)
			pr.echoed.Add(1)
			select {
			case <-pr.sem:
			default:
			}
			return nil
		}
		if seq <= pr.bLast {
			pr.ooo.Add(1)
		} else {
			pr.bLast = seq
		}
		pr.lastRecv.Store(now)
		if t.closing.Load() {
			pr.bRecv.Add(1)
			return nil
		}
		// The echoes of one received message go out together at its end,
		// as the SDK packs what is queued while it writes.
		buf := pr.bBuf
		if len(buf) > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, `{"id":`...)
		buf = strconv.AppendUint(buf, pr.bNextID, 10)
		pr.bNextID++
		buf = append(buf, pr.toA...)
		buf = append(buf, ev.text...)
		buf = append(buf, `"}}`...)
		pr.bBuf = buf
		pr.bPending++
	case evRes:
		if ev.id == logoutID || t.closing.Load() {
			return nil
		}
		next, acc, ref := &pr.bNext, &pr.bAcc, &pr.bRef
		if s.sender {
			next, acc, ref = &pr.aNext, &pr.aAcc, &pr.aRef
		}
		if ev.id != *next {
			t.errs.add("pair %d: answer %d, expected %d", pr.idx, ev.id, *next)
		}
		*next = ev.id + 1
		if ev.resErr != nil {
			ref.Add(1)
			t.errs.add("pair %d: peer.send %d refused: %v", pr.idx, ev.id, ev.resErr)
			if s.sender {
				select {
				case <-pr.sem: // no echo will come
				default:
				}
			}
		} else {
			acc.Add(1)
		}
	case evFatal:
		if !t.closing.Load() {
			return fmt.Errorf("%s %v", ev.op, ev.resErr)
		}
	}
	return nil
}

// end writes the echoes of the message just read and, when --ack 0,
// acknowledges it (as the SDK does), all in one message.
func (s side) end() error {
	pr := s.p
	c, lastp, acked := pr.b, &pr.bLastSeq, &pr.bAcked // each reader touches only its side's fields
	var ping [48]byte
	out := ping[:0]
	if s.sender {
		c, lastp, acked = pr.a, &pr.aLastSeq, &pr.aAcked
	} else {
		out = pr.bBuf
	}
	if last := *lastp; pr.p.o.ackEvery == 0 && last > *acked {
		*acked = last
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = appendPing(out, last)
	}
	if len(out) == 0 {
		return nil
	}
	if err := c.write(out); err != nil {
		return err
	}
	if !s.sender {
		pr.bBuf = out[:0]
		pr.bSent.Add(pr.bPending)
		pr.bRecv.Add(pr.bPending) // after bSent: see complete
		pr.bPending = 0
	}
	return nil
}
