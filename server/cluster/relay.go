package cluster

import (
	"encoding/binary"
	"errors"
	"sync"
	"unsafe"

	"github.com/nats-io/nats.go"
)

// The relay between edges and the core is a stream of records packed into
// NATS messages: a record is a kind byte, the client connection's id
// (uvarint) and, for some kinds, a length-prefixed payload. An outbox packs
// what is queued while the previous message is being published, so a busy
// relay sends few large messages, and a frame pushed to many clients of one
// edge travels once, the other clients getting a reference to it.
//
// Edge → core, on <prefix>.in.<core id>.<term> (the core it follows, so a
// deposed core hears nothing more), every message starts with the edge's id:
const (
	recOpen  = 'O' // a client connected; payload: its address
	recMsg   = 'M' // a client's WebSocket message
	recGone  = 'G' // the client's connection ended
	recAlive = 'H' // the edge is alive (connection id 0)
)

// Core → edge, on <prefix>.out.<edge>:
const (
	recFrame   = 'F' // a frame for the client; payload: the frame
	recRef     = 'R' // the same frame as the n-th 'F' of this message; payload-less, n as a uvarint
	recClose   = 'C' // close the client now
	recFlush   = 'D' // close the client after what is queued
	recTimeout = 'T' // the client's read timeout in ms (uvarint)
	recAccept  = 'A' // the open was accepted
	recRefuse  = 'X' // the open was refused; payload: why
)

// maxRelayMsg bounds one NATS message of the relay (NATS allows 1 MiB by
// default); a payload over maxPart travels as parts.
const (
	maxRelayMsg = 512 << 10
	maxPart     = 256 << 10
)

// recPart is the leading part of a payload too large for one record; the
// parts of one connection are joined to the payload of its next record.
const recPart = 'P'

// outbox packs records for one subject and publishes them from its own
// goroutine, so queuing never waits for the network.
type outbox struct {
	nc   *nats.Conn
	head []byte // written first in every message (the edge's id)

	mu       sync.Mutex
	subject  string // "": what is queued is dropped
	cur      []byte
	sealed   []sealedMsg
	lastPart bool                // the last record appended was a part
	seq      uint64              // number of the message being filled
	empty    int                 // length of a message with no record yet
	refs     map[frameKey]uint64 // a frame → its index among this message's frames
	kept     [][]byte            // those frames, so their memory is not reused while refs names it
	frames   uint64
	busy     bool
	closed   bool
	wg       sync.WaitGroup
}

type sealedMsg struct {
	subject string
	data    []byte
}

type frameKey struct {
	p *byte
	n int
}

func newOutbox(nc *nats.Conn, subject string, head []byte) *outbox {
	return &outbox{nc: nc, subject: subject, head: head}
}

// startLocked begins a message: the head, the relay's version and the
// message's number, by which the receiver notices one lost.
func (o *outbox) startLocked() {
	if len(o.cur) == 0 {
		o.seq++
		o.cur = append(o.cur, o.head...)
		o.cur = append(o.cur, relayVersion)
		o.cur = binary.AppendUvarint(o.cur, o.seq)
		o.empty = len(o.cur)
	}
}

// add queues one record.
func (o *outbox) add(kind byte, conn uint64, payload []byte, withPayload bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.startLocked()
	if kind == recFrame {
		p := frameKey{unsafe.SliceData(payload), len(payload)}
		if i, ok := o.refs[p]; ok {
			o.cur = append(o.cur, recRef)
			o.cur = binary.AppendUvarint(o.cur, conn)
			o.cur = binary.AppendUvarint(o.cur, i)
			o.kickLocked()
			return
		}
	}
	// A payload larger than a part goes as parts and a last record of its
	// kind, which the receiver joins: no NATS message exceeds its limit.
	for len(payload) > maxPart {
		o.appendLocked(recPart, conn, payload[:maxPart], true)
		payload = payload[maxPart:]
	}
	if kind == recFrame {
		// A payload sent in parts cannot be shared: this record holds only its tail.
		if len(payload) > 0 && !o.lastPart {
			if o.refs == nil {
				o.refs = make(map[frameKey]uint64)
			}
			o.refs[frameKey{unsafe.SliceData(payload), len(payload)}] = o.frames
			o.kept = append(o.kept, payload)
		}
		o.frames++ // every 'F' has an index, as the receiver counts them
	}
	o.appendLocked(kind, conn, payload, withPayload)
	o.kickLocked()
}

func (o *outbox) appendLocked(kind byte, conn uint64, payload []byte, withPayload bool) {
	o.lastPart = kind == recPart
	o.cur = append(o.cur, kind)
	o.cur = binary.AppendUvarint(o.cur, conn)
	if withPayload {
		o.cur = binary.AppendUvarint(o.cur, uint64(len(payload)))
		o.cur = append(o.cur, payload...)
	}
	if len(o.cur) >= maxRelayMsg {
		o.sealLocked()
		o.startLocked()
	}
}

func (o *outbox) sealLocked() {
	switch {
	case len(o.cur) > o.empty && o.subject != "":
		o.sealed = append(o.sealed, sealedMsg{o.subject, o.cur})
	case len(o.cur) > 0:
		o.seq-- // nothing in it, or no one to send it to: its number goes to the next
	}
	o.cur = nil
	clear(o.refs)
	clear(o.kept)
	o.kept = o.kept[:0]
	o.frames = 0
}

func (o *outbox) kickLocked() {
	if !o.busy {
		o.busy = true
		o.wg.Add(1)
		go o.flush()
	}
}

// flush publishes until nothing is queued; what is queued meanwhile goes
// out in the next message.
func (o *outbox) flush() {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		o.sealLocked()
		msgs := o.sealed
		o.sealed = nil
		if len(msgs) == 0 {
			o.busy = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		for _, m := range msgs {
			_ = o.nc.Publish(m.subject, m.data) // a lost connection: the peers' liveness checks take over
		}
	}
}

// retarget sends what is queued from now on to subject; what was queued
// before still goes where it was meant to.
func (o *outbox) retarget(subject string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.cur) > 0 {
		o.sealLocked()
		if len(o.sealed) > 0 {
			o.kickLocked()
		}
	}
	o.subject = subject
}

// close stops queuing and waits for what is queued to be handed to NATS.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.wg.Wait()
}

// record is one decoded record; payload aliases the message.
type record struct {
	kind    byte
	conn    uint64
	payload []byte
	ref     uint64
}

var errShort = errors.New("relay: truncated record")

func hasPayload(kind byte) bool {
	switch kind {
	case recOpen, recMsg, recFrame, recRefuse, recPart:
		return true
	}
	return false
}

// relayVersion starts every message after the head; a receiver drops
// messages of another version (a node of another release).
const relayVersion = 1

var errVersion = errors.New("relay: message of another version")

// readSeq reads the version and the message's number.
func readSeq(b []byte) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errShort
	}
	if b[0] != relayVersion {
		return 0, nil, errVersion
	}
	seq, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return 0, nil, errShort
	}
	return seq, b[1+k:], nil
}

// readHead splits the edge id off an edge message.
func readHead(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errShort
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

func appendHead(id string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(id)))
	return append(b, id...)
}

// records calls fn for every record of b.
func records(b []byte, fn func(r record)) error {
	for len(b) > 0 {
		var r record
		r.kind = b[0]
		b = b[1:]
		var k int
		if r.conn, k = binary.Uvarint(b); k <= 0 {
			return errShort
		}
		b = b[k:]
		switch {
		case r.kind == recRef || r.kind == recTimeout:
			if r.ref, k = binary.Uvarint(b); k <= 0 {
				return errShort
			}
			b = b[k:]
		case hasPayload(r.kind):
			n, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < n {
				return errShort
			}
			r.payload = b[k : k+int(n) : k+int(n)]
			b = b[k+int(n):]
		}
		fn(r)
	}
	return nil
}

// addNum queues a record whose argument is a number (a reference or a timeout).
func (o *outbox) addNum(kind byte, conn, v uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.startLocked()
	o.cur = append(o.cur, kind)
	o.cur = binary.AppendUvarint(o.cur, conn)
	o.cur = binary.AppendUvarint(o.cur, v)
	o.kickLocked()
}

// joiner holds the parts of large payloads per connection until the record
// they lead arrives.
type joiner map[uint64][]byte

// join completes r with the parts before it; false for a part, which it keeps.
func (j joiner) join(r *record) bool {
	if r.kind == recPart {
		j[r.conn] = append(j[r.conn], r.payload...)
		return false
	}
	if p, ok := j[r.conn]; ok {
		delete(j, r.conn)
		r.payload = append(p, r.payload...)
	}
	return true
}
