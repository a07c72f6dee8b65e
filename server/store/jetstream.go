package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidwall/btree"
)

// The JetStream backend keeps the store in memory and its durability in a
// replicated log: every batch the committer applies is one message (or a
// few, for a large batch) appended to the log stream, acknowledged once a
// majority of the replicas has it, then applied to memory. Opening reads
// the latest snapshot and the log after it. Every few megabytes of
// log the writer snapshots its memory (a copy-on-write copy, written in
// the background) and purges the log the snapshot covers.
//
// One writer at a time: each append expects the log's last sequence to be
// the one the writer last saw (JetStream's expected-last-subject-sequence),
// so a writer that another has replaced fails its next write instead of
// forking the log; so does each snapshot's marker.
//
// Streams, two per log (so a cluster's shards, one log each, spread their
// streams' leaders over the servers), for Prefix "XL" and log "0":
//
//	XL_LOG_0   XL.log.0         batches; headers Xl-Batch (its id), Xl-End on its last part
//	XL_SNAP_0  XL.snap.0.data   snapshot chunks: (uvarint length, key, uvarint length, value)…
//	           XL.snap.0.done   a complete snapshot: headers Xl-From, Xl-To (its chunks'
//	                            sequences), Xl-Log (the last log sequence it covers)

// NATSOptions configures the JetStream store.
type NATSOptions struct {
	// Replicas is how many servers keep each stream: 1 (the default) on a
	// single server, 3 in a 3-node cluster.
	Replicas int
	// Prefix starts every stream name and subject, so that several stores
	// can share a JetStream account. Letters, digits, '-' and '_' only;
	// default "XL".
	Prefix string
	// Log names the log within the streams (default "0"): one per writer.
	Log string
	// SnapshotBytes is how much log is written, at least, between snapshots
	// (default 8 MiB; at least as much as the last snapshot, so that
	// snapshots never cost more than the log they replace). It bounds what
	// a new writer reads before it can serve.
	SnapshotBytes int64
	// Store holds the rules' options.
	Store Options
}

const (
	maxPart          = 512 << 10 // bytes of one message, under NATS's default 1 MiB limit
	defaultSnapBytes = 8 << 20
	publishPatience  = 30 * time.Second // retries of an append while JetStream elects a leader
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// NATS opens the store kept in JetStream, creating its streams when absent,
// and reads it into memory. Close does not close js's connection.
func NATS(js jetstream.JetStream, opts NATSOptions) (Store, error) {
	b, err := OpenNATSBackend(js, opts)
	if err != nil {
		return nil, err
	}
	if opts.Store.Logger == nil {
		opts.Store.Logger = b.(*jsBackend).log
	}
	return New(b, opts.Store)
}

// NATSStreamsOf names the streams of one log of a JetStream store (a
// cluster asks for their leaders to sit with the node that writes them).
func NATSStreamsOf(prefix, log string) []string {
	if prefix == "" {
		prefix = "XL"
	}
	if log == "" {
		log = "0"
	}
	return []string{prefix + "_LOG_" + log, prefix + "_SNAP_" + log}
}

type jsBackend struct {
	js                          jetstream.JetStream
	log                         *slog.Logger
	logSubj, dataSubj, doneSubj string
	logStream, snapStream       jetstream.Stream
	ctx                         context.Context
	cancel                      context.CancelFunc

	mem *memBackend

	// The committer's, one Apply at a time.
	last      uint64 // the log's last sequence, expected by the next append
	batchBase string
	batches   uint64
	sinceSnap int64
	snapEvery int64

	snapMu   sync.Mutex   // guards lastDone; held by the snapshot goroutine while it writes
	lastDone uint64       // sequence of the last snapshot marker, expected by the next
	snapSize atomic.Int64 // bytes of the last snapshot
	snapping sync.WaitGroup
}

// OpenNATSBackend opens the JetStream backend: its streams, then the latest
// snapshot and the log after it.
func OpenNATSBackend(js jetstream.JetStream, opts NATSOptions) (Backend, error) {
	if js == nil {
		return nil, errors.New("store: nats: nil JetStream")
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Replicas < 1 || opts.Replicas > 5 {
		return nil, fmt.Errorf("store: nats: replicas %d out of 1..5", opts.Replicas)
	}
	if opts.Prefix == "" {
		opts.Prefix = "XL"
	}
	if opts.Log == "" {
		opts.Log = "0"
	}
	if !validName.MatchString(opts.Prefix) || !validName.MatchString(opts.Log) {
		return nil, fmt.Errorf("store: nats: prefix %q, log %q: only letters, digits, '-' and '_' allowed", opts.Prefix, opts.Log)
	}
	if opts.SnapshotBytes <= 0 {
		opts.SnapshotBytes = defaultSnapBytes
	}
	log := opts.Store.Logger
	if log == nil {
		log = slog.Default()
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	p := &jsBackend{
		js:        js,
		log:       log,
		logSubj:   opts.Prefix + ".log." + opts.Log,
		dataSubj:  opts.Prefix + ".snap." + opts.Log + ".data",
		doneSubj:  opts.Prefix + ".snap." + opts.Log + ".done",
		mem:       &memBackend{t: btree.NewMap[string, []byte](32)},
		batchBase: hex.EncodeToString(r[:]),
		snapEvery: opts.SnapshotBytes,
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	names := NATSStreamsOf(opts.Prefix, opts.Log)
	for i, subj := range []string{p.logSubj, opts.Prefix + ".snap." + opts.Log + ".>"} {
		cfg := jetstream.StreamConfig{
			Name:         names[i],
			Description:  "xinling store",
			Subjects:     []string{subj},
			Retention:    jetstream.LimitsPolicy,
			MaxMsgs:      -1,
			MaxBytes:     -1,
			MaxConsumers: -1,
			Storage:      jetstream.FileStorage,
			Replicas:     opts.Replicas,
			Duplicates:   2 * time.Minute, // covers publishPatience's retries
		}
		st, err := ensureStream(p.ctx, js, cfg)
		if err != nil {
			p.cancel()
			return nil, fmt.Errorf("store: nats: stream %s: %w", cfg.Name, err)
		}
		if i == 0 {
			p.logStream = st
		} else {
			p.snapStream = st
		}
	}
	start := time.Now()
	if err := p.load(); err != nil {
		p.cancel()
		return nil, fmt.Errorf("store: nats: read the store: %w", err)
	}
	log.Info("store: read from JetStream", "log", p.logSubj, "bytes since the snapshot", p.sinceSnap, "took", time.Since(start).Round(time.Millisecond))
	return p, nil
}

func (p *jsBackend) Get(key []byte) ([]byte, bool, error) { return p.mem.Get(key) }

func (p *jsBackend) Scan(from, to []byte, fn func(key, value []byte) error) error {
	return p.mem.Scan(from, to, fn)
}

func (p *jsBackend) Persistent() bool { return true }

func (p *jsBackend) Close() error {
	p.snapping.Wait()
	p.cancel()
	return nil
}

// Apply appends b to the log, then applies it to memory.
func (p *jsBackend) Apply(b *Batch) error {
	data := encodeOps(b)
	p.batches++
	id := p.batchBase + "-" + strconv.FormatUint(p.batches, 10)
	for i := 0; len(data) > 0 || i == 0; i++ {
		part := data[:min(len(data), maxPart)]
		data = data[len(part):]
		msg := nats.NewMsg(p.logSubj)
		msg.Data = part
		msg.Header.Set("Xl-Batch", id)
		if len(data) == 0 {
			msg.Header.Set("Xl-End", "1")
		}
		seq, err := p.append(msg, id+"."+strconv.Itoa(i), p.last)
		if err != nil {
			return err
		}
		p.last = seq
		p.sinceSnap += int64(len(part))
	}
	p.mem.mu.Lock()
	p.mem.applyLocked(b)
	var snap *btree.Map[string, []byte]
	if p.sinceSnap >= max(p.snapEvery, p.snapSize.Load()) && p.snapMu.TryLock() {
		snap = p.mem.t.Copy() // copy-on-write: O(1) here
		p.sinceSnap = 0
	}
	p.mem.mu.Unlock()
	if snap != nil {
		p.snapping.Add(1)
		go p.snapshot(snap, p.last)
	}
	return nil
}

// append publishes msg expecting the subject's last sequence to be expect,
// retrying while JetStream cannot answer. A retry of an append that was
// stored after all is answered as a duplicate (the same message id) or
// refused for the sequence it moved; then the log's last message is ours.
// Only a last message of another id after expect means another writer.
func (p *jsBackend) append(msg *nats.Msg, id string, expect uint64) (uint64, error) {
	deadline := time.Now().Add(publishPatience)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectLastSequencePerSubject(expect))
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			// An earlier attempt of ours may still be on its way through
			// the replicas (a busy cluster answers late): then the end of
			// the log becomes our message.
			last, lerr := p.lastMsg(p.logStream, msg.Subject)
			switch {
			case lerr != nil:
				err = lerr
			case last != nil && last.Header.Get(jetstream.MsgIDHeader) == id:
				return last.Sequence, nil
			case last != nil && last.Sequence > expect && attempt > 0 && time.Now().Before(deadline):
				// Not ours yet: wait for ours to land, or for the proof
				// that it never will (another id stays last).
			case last != nil && last.Sequence > expect:
				return 0, fmt.Errorf("another writer appended to the log %s (expected it to end at %d, it ends at %d): %w", msg.Subject, expect, last.Sequence, err)
			}
		}
		if p.ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("append to %s: %w", msg.Subject, err)
		}
		p.log.Info("store: retrying an append to the log", "attempt", id, "err", err)
		select {
		case <-p.ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// encodeOps writes a batch as (kind, uvarint length, key[, uvarint length, value])….
func encodeOps(b *Batch) []byte {
	out := make([]byte, 0, b.Size()+4*b.Len())
	for _, o := range b.ops {
		out = append(out, byte(o.kind))
		out = binary.AppendUvarint(out, uint64(len(o.key)))
		out = append(out, o.key...)
		if o.kind != opDelete {
			out = binary.AppendUvarint(out, uint64(len(o.value)))
			out = append(out, o.value...)
		}
	}
	return out
}

// decodeOps reads what encodeOps wrote; the batch owns its slices.
func decodeOps(data []byte) (*Batch, error) {
	var b Batch
	read := func() ([]byte, error) {
		n, w := binary.Uvarint(data)
		if w <= 0 || uint64(len(data)-w) < n {
			return nil, errBadKey
		}
		v := append([]byte{}, data[w:w+int(n)]...)
		data = data[w+int(n):]
		return v, nil
	}
	for len(data) > 0 {
		kind := opKind(data[0])
		data = data[1:]
		key, err := read()
		if err != nil {
			return nil, err
		}
		switch kind {
		case opSet:
			v, err := read()
			if err != nil {
				return nil, err
			}
			b.Set(key, v)
		case opDelete:
			b.Delete(key)
		case opDeleteRange:
			v, err := read()
			if err != nil {
				return nil, err
			}
			if len(v) == 0 {
				v = nil
			}
			b.DeleteRange(key, v)
		default:
			return nil, fmt.Errorf("unknown change kind %d", kind)
		}
	}
	return &b, nil
}

// load reads the latest snapshot, then the log after it.
func (p *jsBackend) load() error {
	var covered uint64
	done, err := p.lastMsg(p.snapStream, p.doneSubj)
	if err != nil {
		return err
	}
	if done != nil {
		from, err1 := strconv.ParseUint(done.Header.Get("Xl-From"), 10, 64)
		to, err2 := strconv.ParseUint(done.Header.Get("Xl-To"), 10, 64)
		logSeq, err3 := strconv.ParseUint(done.Header.Get("Xl-Log"), 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return fmt.Errorf("snapshot marker %d: %w", done.Sequence, err)
		}
		err := p.read(p.snapStream, p.dataSubj, from, to, func(_ uint64, m jetstream.Msg) error {
			return p.loadChunk(m.Data())
		})
		if err != nil {
			return fmt.Errorf("snapshot %d: %w", done.Sequence, err)
		}
		covered, p.lastDone = logSeq, done.Sequence
	}
	tail, err := p.lastMsg(p.logStream, p.logSubj)
	if err != nil {
		return err
	}
	if tail == nil {
		p.last = covered
		return nil
	}
	p.last = tail.Sequence
	if tail.Sequence <= covered {
		return nil
	}
	var parts []byte
	batch := ""
	return p.read(p.logStream, p.logSubj, covered+1, tail.Sequence, func(seq uint64, m jetstream.Msg) error {
		if id := m.Headers().Get("Xl-Batch"); id != batch {
			parts, batch = parts[:0], id // an earlier batch never finished: its writer died mid-way
		}
		parts = append(parts, m.Data()...)
		p.sinceSnap += int64(len(m.Data()))
		if m.Headers().Get("Xl-End") == "" {
			return nil
		}
		b, err := decodeOps(parts)
		if err != nil {
			return fmt.Errorf("log message %d: %w", seq, err)
		}
		p.mem.mu.Lock()
		p.mem.applyLocked(b)
		p.mem.mu.Unlock()
		parts, batch = parts[:0], ""
		return nil
	})
}

func (p *jsBackend) loadChunk(data []byte) error {
	p.mem.mu.Lock()
	defer p.mem.mu.Unlock()
	for len(data) > 0 {
		kn, w := binary.Uvarint(data)
		if w <= 0 || uint64(len(data)-w) < kn {
			return errBadKey
		}
		k := string(data[w : w+int(kn)])
		data = data[w+int(kn):]
		vn, w := binary.Uvarint(data)
		if w <= 0 || uint64(len(data)-w) < vn {
			return errBadKey
		}
		p.mem.t.Set(k, append([]byte{}, data[w:w+int(vn)]...))
		data = data[w+int(vn):]
	}
	return nil
}

// lastMsg is the last message on subj, nil when there is none. It is
// answered by the stream's leader, so it is the latest acknowledged.
func (p *jsBackend) lastMsg(st jetstream.Stream, subj string) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	m, err := st.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last message on %s: %w", subj, err)
	}
	return m, nil
}

// read calls fn for the messages on subj with sequences from..to, in order.
// A consumer may sit on a replica that lags the leader; reading up to a
// sequence the leader named waits for it to catch up instead of missing
// the latest writes. A consumer that stops delivering (made while the
// stream was electing a leader, say) is replaced by a new one from where
// it stopped.
func (p *jsBackend) read(st jetstream.Stream, subj string, from, to uint64, fn func(seq uint64, m jetstream.Msg) error) error {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Minute)
	defer cancel()
	next := from
	for {
		done, err := p.readSome(ctx, st, subj, next, to, fn)
		if err != nil || done >= to {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("read %s up to %d (got to %d): %w", subj, to, done, ctx.Err())
		}
		if done >= next {
			next = done + 1
		}
		p.log.Info("store: a reading of the log stalled; reading on with a new consumer", "subject", subj, "from", next, "to", to)
	}
}

// readStall is how long a reading waits for its consumer's next message.
const readStall = 3 * time.Second

// readSome reads with one consumer until to, an error, or a stall; it
// returns the last sequence it handed to fn (from−1 when none).
func (p *jsBackend) readSome(ctx context.Context, st jetstream.Stream, subj string, from, to uint64, fn func(seq uint64, m jetstream.Msg) error) (uint64, error) {
	last := from - 1
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := st.OrderedConsumer(cctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subj},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	cancel()
	if err != nil {
		return last, nil // a stall of its own kind: try again
	}
	it, err := c.Messages()
	if err != nil {
		return last, nil
	}
	type next struct {
		m   jetstream.Msg
		err error
	}
	msgs := make(chan next, 64)
	go func() {
		defer close(msgs)
		for {
			m, err := it.Next()
			msgs <- next{m, err}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		it.Stop() // ends Next, and so the goroutine, which the drain lets finish
		for range msgs {
		}
	}()
	stall := time.NewTimer(readStall)
	defer stall.Stop()
	for {
		var n next
		select {
		case n = <-msgs:
		case <-stall.C:
			return last, nil
		case <-ctx.Done():
			return last, nil
		}
		if n.err != nil {
			return last, nil
		}
		md, err := n.m.Metadata()
		if err != nil {
			return last, fmt.Errorf("read %s: %w", subj, err)
		}
		seq := md.Sequence.Stream
		if seq > to {
			return to, nil
		}
		if seq <= last {
			continue // a new consumer may begin before where the last stopped
		}
		if err := fn(seq, n.m); err != nil {
			return last, err
		}
		last = seq
		if seq == to {
			return to, nil
		}
		stall.Reset(readStall)
	}
}

// snapshot writes the state t, which covers the log up to logSeq, then
// purges what it replaces. A failed snapshot costs nothing: the log still
// has everything, and the next one tries again.
func (p *jsBackend) snapshot(t *btree.Map[string, []byte], logSeq uint64) {
	defer p.snapping.Done()
	defer p.snapMu.Unlock()
	err := p.writeSnapshot(t, logSeq)
	if err != nil && p.ctx.Err() == nil {
		p.log.Warn("store: snapshot failed; the log keeps everything", "err", err)
	}
}

func (p *jsBackend) writeSnapshot(t *btree.Map[string, []byte], logSeq uint64) error {
	var first, last uint64
	var size int64
	chunk := make([]byte, 0, maxPart)
	flush := func() error {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		ack, err := p.js.Publish(ctx, p.dataSubj, chunk)
		if err != nil {
			return fmt.Errorf("write a snapshot chunk: %w", err)
		}
		if first == 0 {
			first = ack.Sequence
		}
		last = ack.Sequence
		size += int64(len(chunk))
		chunk = chunk[:0]
		return nil
	}
	var err error
	t.Scan(func(k string, v []byte) bool {
		if len(chunk) > 0 && len(chunk)+len(k)+len(v)+20 > maxPart {
			if err = flush(); err != nil {
				return false
			}
		}
		chunk = binary.AppendUvarint(chunk, uint64(len(k)))
		chunk = append(chunk, k...)
		chunk = binary.AppendUvarint(chunk, uint64(len(v)))
		chunk = append(chunk, v...)
		return true
	})
	if err != nil {
		return err
	}
	if len(chunk) > 0 || first == 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	msg := nats.NewMsg(p.doneSubj)
	msg.Header.Set("Xl-From", strconv.FormatUint(first, 10))
	msg.Header.Set("Xl-To", strconv.FormatUint(last, 10))
	msg.Header.Set("Xl-Log", strconv.FormatUint(logSeq, 10))
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(p.lastDone))
	cancel()
	if err != nil {
		return fmt.Errorf("mark the snapshot: %w", err)
	}
	p.lastDone = ack.Sequence
	p.snapSize.Store(size)
	// What the snapshot replaces: earlier chunks and markers, and the log
	// before logSeq (logSeq itself stays, so the log's last sequence is
	// never lost: the next append expects it).
	ctx, cancel = context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return errors.Join(
		p.snapStream.Purge(ctx, jetstream.WithPurgeSubject(p.dataSubj), jetstream.WithPurgeSequence(first)),
		p.snapStream.Purge(ctx, jetstream.WithPurgeSubject(p.doneSubj), jetstream.WithPurgeSequence(ack.Sequence)),
		p.logStream.Purge(ctx, jetstream.WithPurgeSubject(p.logSubj), jetstream.WithPurgeSequence(logSeq)),
	)
}

// ensureStream binds to the stream, creating it when absent. Several nodes
// start at once: when they create the same stream together, JetStream
// answers one and leaves the others unanswered, so each attempt is short
// and the next one finds the stream made.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		st, err := js.Stream(actx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			st, err = js.CreateStream(actx, cfg)
		}
		acancel()
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
}
