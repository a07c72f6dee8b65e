package cluster

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/nats-io/nats.go"
)

// The transport carries the server's records (server/remote.go) from one
// node to another: each node listens on <prefix>.n.<relay id>, and keeps an
// outbox per other node that packs what is queued while it publishes the
// previous NATS message into the next one — a busy link sends few large
// messages, as a connection's flusher writes few large WebSocket messages.
//
// A message: the sender's relay id (length-prefixed), the transport's
// version, the message's number (uvarint, counting up per sender and
// receiver: a gap is a lost message), then records, each a uvarint
// (length << 1 | more) and that many bytes. A record longer than a part
// travels as parts: every part but the last has "more" set.
const (
	transportVersion = 3
	maxMessage       = 512 << 10 // NATS allows 1 MiB by default
	maxPart          = 256 << 10
)

var (
	errShort   = errors.New("cluster: truncated message")
	errVersion = errors.New("cluster: message of another version")
)

// outbox queues records for one node and publishes them from its own
// goroutine, so queuing never waits for the network.
type outbox struct {
	nc      *nats.Conn
	subject string
	head    []byte

	mu     sync.Mutex
	cur    []byte
	sealed [][]byte
	seq    uint64
	empty  int
	busy   bool
	closed bool
	wg     sync.WaitGroup
}

func newOutbox(nc *nats.Conn, subject, self string) *outbox {
	head := binary.AppendUvarint(nil, uint64(len(self)))
	return &outbox{nc: nc, subject: subject, head: append(head, self...)}
}

func (o *outbox) startLocked() {
	if len(o.cur) == 0 {
		o.seq++
		o.cur = append(o.cur, o.head...)
		o.cur = append(o.cur, transportVersion)
		o.cur = binary.AppendUvarint(o.cur, o.seq)
		o.empty = len(o.cur)
	}
}

// add queues one record.
func (o *outbox) add(rec []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	for {
		o.startLocked()
		part := rec[:min(len(rec), maxPart)]
		rec = rec[len(part):]
		more := uint64(0)
		if len(rec) > 0 {
			more = 1
		}
		o.cur = binary.AppendUvarint(o.cur, uint64(len(part))<<1|more)
		o.cur = append(o.cur, part...)
		if len(o.cur) >= maxMessage {
			o.sealLocked()
		}
		if len(rec) == 0 {
			break
		}
	}
	if !o.busy {
		o.busy = true
		o.wg.Add(1)
		go o.flush()
	}
}

func (o *outbox) sealLocked() {
	if len(o.cur) > o.empty {
		o.sealed = append(o.sealed, o.cur)
	} else if len(o.cur) > 0 {
		o.seq-- // nothing in it: its number goes to the next
	}
	o.cur = nil
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
			_ = o.nc.Publish(o.subject, m) // a lost connection: liveness takes over
		}
	}
}

// close stops queuing and waits for what is queued to be handed to NATS.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.wg.Wait()
}

// inbound is what a receiver keeps of one sender.
type inbound struct {
	seq  uint64 // number of its last message
	part []byte // a record being assembled from parts
}

// readMessage splits a message into its sender, number and records; fn
// gets each whole record (valid only during the call).
func readMessage(b []byte, from func(sender string, seq uint64) *inbound, fn func(sender string, rec []byte)) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return errShort
	}
	sender := string(b[k : k+int(n)])
	b = b[k+int(n):]
	if len(b) == 0 {
		return errShort
	}
	if b[0] != transportVersion {
		return errVersion
	}
	seq, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return errShort
	}
	b = b[1+k:]
	in := from(sender, seq)
	for len(b) > 0 {
		h, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < h>>1 {
			return errShort
		}
		data := b[k : k+int(h>>1)]
		b = b[k+int(h>>1):]
		if h&1 == 1 {
			in.part = append(in.part, data...)
			continue
		}
		if len(in.part) > 0 {
			data = append(in.part, data...)
			in.part = nil
		}
		fn(sender, data)
	}
	return nil
}
