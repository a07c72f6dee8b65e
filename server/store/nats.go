package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSOptions configures the JetStream-backed store.
type NATSOptions struct {
	// Replicas is how many servers keep each stream: 1 (the default) on a
	// single server, 3 in a 3-node cluster.
	Replicas int
	// Prefix starts every stream name and subject the store uses, so that
	// several stores can share a JetStream account. Letters, digits, '-' and
	// '_' only; the default is "XL".
	Prefix string
}

// Stream layout, for Prefix "XL". Every name part (app, account, channel,
// attribute) is one subject token escaped by tok, so any string is safe:
//
//	XL_UATTR  XL.uattr.<app>.<account>.<name>  the value; 1 message per subject
//	XL_CATTR  XL.cattr.<app>.<channel>.<name>  the value, may be empty; 1 per subject
//	XL_CEXP   XL.cexp.<app>.<channel>.<ms>     empty; the expiry is the last token,
//	                                           decimal unix ms; 1 per channel
//	XL_QUEUE  XL.queue.<app>.<account>         a JSON Queued; its stream sequence is its Key
//	          XL.qmin.<app>.<account>          decimal ms, at most the TS of every
//	                                           queued message (rollup: 1 per subject)
//
// Deleting is purging the subject (or a wildcard of subjects), which leaves no
// tombstone behind. Queue keys are stream sequences: they increase across the
// whole stream and are never reused, even after a purge, since JetStream never
// lowers a stream's last sequence.
//
// Every write returns once JetStream acknowledged it (stored and, with
// Replicas > 1, replicated to a quorum). The streams do not allow direct gets,
// so single reads are answered by the stream leader and see every write
// acknowledged before them, whichever replica the client is connected to.
const (
	kindUAttr = "uattr"
	kindCAttr = "cattr"
	kindCExp  = "cexp"
	kindQueue = "queue"
	kindQMin  = "qmin"
)

var (
	validPrefix = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	errClosed   = errors.New("store is closed")
)

type natsStore struct {
	js     jetstream.JetStream
	prefix string
	uattr  jetstream.Stream
	cattr  jetstream.Stream
	cexp   jetstream.Stream
	queue  jetstream.Stream

	ctx    context.Context // cancelled by Close; requests get the js default timeout
	cancel context.CancelFunc
	closed atomic.Bool

	seed  maphash.Seed
	locks [256]sync.Mutex // striped by (kind, app, name); see lock

	// queues caches what Enqueue needs to know of each account's queue,
	// kept exact by Enqueue and Dequeue. Valid while this process is the
	// only writer (a cluster's core); ForgetCache drops it when that may
	// have changed. An entry is read and written under its account's lock.
	qmu    sync.Mutex
	queues map[string]*queueState
}

// queueState is an account's queue as Enqueue sees it.
type queueState struct {
	bound int64 // the qmin bound
	known bool  // bound is known (a qmin record exists or the queue was scanned)
	count int   // messages queued; -1 unknown
}

// ForgetCache drops what the store remembers of the offline queues: another
// process may have written them since (a cluster's core changed).
func (s *natsStore) ForgetCache() {
	s.qmu.Lock()
	s.queues = nil
	s.qmu.Unlock()
}

// queueState returns the cached state of the queue on subj (msubj: its
// qmin record), reading the qmin record on a miss. The account's lock is held.
func (s *natsStore) queueState(subj, msubj string) (*queueState, error) {
	s.qmu.Lock()
	st := s.queues[subj]
	s.qmu.Unlock()
	if st != nil {
		return st, nil
	}
	bound, known, err := s.qmin(msubj)
	if err != nil {
		return nil, fmt.Errorf("read qmin: %w", err)
	}
	st = &queueState{bound: bound, known: known, count: -1}
	s.qmu.Lock()
	if s.queues == nil {
		s.queues = make(map[string]*queueState)
	}
	s.queues[subj] = st
	s.qmu.Unlock()
	return st, nil
}

func (s *natsStore) dropQueueState(subj string) {
	s.qmu.Lock()
	delete(s.queues, subj)
	s.qmu.Unlock()
}

// NATS returns a Store kept in JetStream streams, creating them or binding to
// existing ones (several nodes may call this at once with the same options).
// Close does not close js's connection.
//
// The store assumes that one node at a time uses it: operations that read
// then write (the queue cap and ttl, DelChannelAttr, ExpireChannels) are made
// atomic with locks in this process, not across nodes.
func NATS(js jetstream.JetStream, opts NATSOptions) (Store, error) {
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
	if !validPrefix.MatchString(opts.Prefix) {
		return nil, fmt.Errorf("store: nats: prefix %q: only letters, digits, '-' and '_' allowed", opts.Prefix)
	}
	s := &natsStore{js: js, prefix: opts.Prefix, seed: maphash.MakeSeed()}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	for _, def := range []struct {
		dst        *jetstream.Stream
		kind, what string
		perSubject int64  // messages kept per subject, -1 for no limit
		rollup     string // a kind of subject holding one message, by rollup
	}{
		{&s.uattr, kindUAttr, "user attributes", 1, ""},
		{&s.cattr, kindCAttr, "channel attributes", 1, ""},
		{&s.cexp, kindCExp, "channel expiries", 1, ""},
		{&s.queue, kindQueue, "offline queues", -1, kindQMin},
	} {
		cfg := jetstream.StreamConfig{
			Name:              opts.Prefix + "_" + strings.ToUpper(def.kind),
			Description:       "xinling " + def.what,
			Subjects:          []string{opts.Prefix + "." + def.kind + ".>"},
			Retention:         jetstream.LimitsPolicy,
			Discard:           jetstream.DiscardOld,
			MaxMsgs:           -1,
			MaxBytes:          -1,
			MaxMsgsPerSubject: def.perSubject,
			MaxConsumers:      -1,
			Storage:           jetstream.FileStorage,
			Replicas:          opts.Replicas,
			AllowDirect:       false, // reads go to the leader: see the layout comment
		}
		if def.rollup != "" {
			cfg.Subjects = append(cfg.Subjects, opts.Prefix+"."+def.rollup+".>")
			cfg.AllowRollup = true
		}
		st, err := ensureStream(s.ctx, js, cfg)
		if err != nil {
			s.cancel()
			return nil, fmt.Errorf("store: nats: create stream %s: %w", cfg.Name, err)
		}
		*def.dst = st
	}
	return s, nil
}

func (s *natsStore) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

// begin fails once the store is closed.
func (s *natsStore) begin(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("store: %s: %w", op, errClosed)
	}
	return nil
}

// lock returns the mutex for one account's queue or one channel.
func (s *natsStore) lock(kind, app, name string) *sync.Mutex {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(kind)
	h.WriteByte(0)
	h.WriteString(app)
	h.WriteByte(0)
	h.WriteString(name)
	return &s.locks[h.Sum64()%uint64(len(s.locks))]
}

// subject joins the prefix, the kind and the escaped parts.
func (s *natsStore) subject(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(s.prefix)
	b.WriteByte('.')
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteByte('.')
		b.WriteString(tok(p))
	}
	return b.String()
}

// tok escapes s into a non-empty subject token: letters, digits and '-' stay,
// every other byte becomes '_' and two hex digits, and "" becomes "_".
func tok(s string) string {
	if s == "" {
		return "_"
	}
	safe := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
	}
	i := 0
	for i < len(s) && safe(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if c := s[i]; safe(c) {
			b = append(b, c)
		} else {
			b = append(b, '_', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// untok reverses tok.
func untok(t string) (string, error) {
	if t == "_" {
		return "", nil
	}
	if !strings.Contains(t, "_") {
		return t, nil
	}
	b := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if t[i] != '_' {
			b = append(b, t[i])
			continue
		}
		if i+2 >= len(t) {
			return "", fmt.Errorf("bad subject token %q", t)
		}
		v, err := strconv.ParseUint(t[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad subject token %q", t)
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), nil
}

// lastToken returns the unescaped last token of subj.
func lastToken(subj string) (string, error) {
	return untok(subj[strings.LastIndexByte(subj, '.')+1:])
}

// publish stores data on subj in st and returns its sequence once
// acknowledged.
func (s *natsStore) publish(st jetstream.Stream, subj string, data []byte, hdr nats.Header) (uint64, error) {
	ack, err := s.js.PublishMsg(s.ctx, &nats.Msg{Subject: subj, Data: data, Header: hdr},
		jetstream.WithExpectStream(st.CachedInfo().Config.Name))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// last returns the last message on subj, nil when there is none.
func (s *natsStore) last(st jetstream.Stream, subj string) (*jetstream.RawStreamMsg, error) {
	m, err := st.GetLastMsgForSubject(s.ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	return m, err
}

// purge removes the messages on filter (which may hold wildcards) below
// sequence before, or all of them when before is 0.
func (s *natsStore) purge(st jetstream.Stream, filter string, before uint64) error {
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(filter)}
	if before > 0 {
		opts = append(opts, jetstream.WithPurgeSequence(before))
	}
	return st.Purge(s.ctx, opts...)
}

// scan calls fn with every message on filter, in stream order. It does not
// read a consistent snapshot: messages written meanwhile may or may not be
// seen.
//
// It steps with single gets, one round trip per message, because those are
// answered by the stream leader. A consumer would stream the messages, but
// the server places it on any replica, one that may not have applied the
// latest writes yet: in a 3-node cluster it then misses writes acknowledged
// just before, and returns values deleted just before.
func (s *natsStore) scan(st jetstream.Stream, filter string, fn func(subj string, seq uint64, data []byte) error) error {
	for seq := uint64(1); ; {
		m, err := st.GetMsg(s.ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(m.Subject, m.Sequence, m.Data); err != nil {
			return err
		}
		seq = m.Sequence + 1
	}
}

// attrs reads every attribute under subject prefix pre (a whole entity).
func (s *natsStore) attrs(st jetstream.Stream, pre, op string) (map[string]string, error) {
	if err := s.begin(op); err != nil {
		return nil, err
	}
	out := make(map[string]string)
	err := s.scan(st, pre+".*", func(subj string, _ uint64, data []byte) error {
		name, err := lastToken(subj)
		if err != nil {
			return err
		}
		out[name] = string(data)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

func (s *natsStore) UserAttrs(app, account string) (map[string]string, error) {
	return s.attrs(s.uattr, s.subject(kindUAttr, app, account), "user attrs")
}

// UserAttrCount counts the account's attribute subjects in one stream-info
// request, reading no value.
func (s *natsStore) UserAttrCount(app, account string) (int, error) {
	const op = "user attr count"
	if err := s.begin(op); err != nil {
		return 0, err
	}
	info, err := s.uattr.Info(s.ctx, jetstream.WithSubjectFilter(s.subject(kindUAttr, app, account)+".*"))
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	return len(info.State.Subjects), nil
}

func (s *natsStore) UserAttr(app, account, name string) (string, error) {
	const op = "user attr"
	if err := s.begin(op); err != nil {
		return "", err
	}
	m, err := s.last(s.uattr, s.subject(kindUAttr, app, account, name))
	if err != nil {
		return "", fmt.Errorf("store: %s: %w", op, err)
	}
	if m == nil {
		return "", nil
	}
	return string(m.Data), nil
}

func (s *natsStore) SetUserAttr(app, account, name, value string) error {
	const op = "set user attr"
	if err := checkAttrName(op, name); err != nil {
		return err
	}
	if err := s.begin(op); err != nil {
		return err
	}
	subj := s.subject(kindUAttr, app, account, name)
	var err error
	if value == "" {
		err = s.purge(s.uattr, subj, 0)
	} else {
		_, err = s.publish(s.uattr, subj, []byte(value), nil)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

func (s *natsStore) ChannelAttrs(app, channel string) (map[string]string, error) {
	return s.attrs(s.cattr, s.subject(kindCAttr, app, channel), "channel attrs")
}

func (s *natsStore) SetChannelAttr(app, channel, name, value string) error {
	const op = "set channel attr"
	if err := checkChannel(op, channel); err != nil {
		return err
	}
	if err := checkAttrName(op, name); err != nil {
		return err
	}
	if err := s.begin(op); err != nil {
		return err
	}
	if _, err := s.publish(s.cattr, s.subject(kindCAttr, app, channel, name), []byte(value), nil); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

func (s *natsStore) DelChannelAttr(app, channel, name string) (bool, error) {
	const op = "delete channel attr"
	if err := checkChannel(op, channel); err != nil {
		return false, err
	}
	if err := checkAttrName(op, name); err != nil {
		return false, err
	}
	if err := s.begin(op); err != nil {
		return false, err
	}
	// Locked so that of two concurrent deletes only one reports the attribute.
	mu := s.lock(kindCAttr, app, channel)
	mu.Lock()
	defer mu.Unlock()
	subj := s.subject(kindCAttr, app, channel, name)
	m, err := s.last(s.cattr, subj)
	if err == nil && m != nil {
		err = s.purge(s.cattr, subj, 0)
	}
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", op, err)
	}
	return m != nil, nil
}

func (s *natsStore) ClearChannelAttrs(app, channel string) error {
	const op = "clear channel attrs"
	if err := checkChannel(op, channel); err != nil {
		return err
	}
	if err := s.begin(op); err != nil {
		return err
	}
	if err := s.purge(s.cattr, s.subject(kindCAttr, app, channel)+".*", 0); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

func (s *natsStore) SetChannelExpiry(app, channel string, at time.Time) error {
	const op = "set channel expiry"
	if err := checkChannel(op, channel); err != nil {
		return err
	}
	if err := s.begin(op); err != nil {
		return err
	}
	// Locked against ExpireChannels deciding on the old value.
	mu := s.lock(kindCAttr, app, channel)
	mu.Lock()
	defer mu.Unlock()
	all := s.subject(kindCExp, app, channel) + ".*"
	var err error
	if at.IsZero() {
		err = s.purge(s.cexp, all, 0)
	} else {
		// The new record first, then the older ones: should the second step
		// fail, the newest record is the one that counts (see expire).
		var seq uint64
		seq, err = s.publish(s.cexp, s.subject(kindCExp, app, channel)+"."+strconv.FormatInt(at.UnixMilli(), 10), nil, nil)
		if err == nil {
			err = s.purge(s.cexp, all, seq)
		}
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// expiryMs returns the time of the expiry record on subj.
func expiryMs(subj string) (int64, error) {
	ms, err := strconv.ParseInt(subj[strings.LastIndexByte(subj, '.')+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad expiry subject %q", subj)
	}
	return ms, nil
}

func (s *natsStore) ExpireChannels(now time.Time) ([][2]string, error) {
	const op = "expire channels"
	if err := s.begin(op); err != nil {
		return nil, err
	}
	nowMs := now.UnixMilli()
	// One request lists every record, and so every expiry time, whatever
	// the number of channels waiting.
	kindPre := s.prefix + "." + kindCExp + "."
	info, err := s.cexp.Info(s.ctx, jetstream.WithSubjectFilter(kindPre+">"))
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	var due [][2]string
	for subj := range info.State.Subjects {
		ms, err := expiryMs(subj)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		if ms > nowMs {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(subj, kindPre), ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("store: %s: bad expiry subject %q", op, subj)
		}
		var c [2]string
		for i := range c {
			if c[i], err = untok(parts[i]); err != nil {
				return nil, fmt.Errorf("store: %s: %w", op, err)
			}
		}
		due = append(due, c)
	}
	slices.SortFunc(due, func(x, y [2]string) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	due = slices.Compact(due) // a channel with an older record left over
	var out [][2]string
	for _, c := range due {
		expired, err := s.expire(c[0], c[1], nowMs)
		if err != nil {
			// What failed is done again by the next sweep, but what is
			// done is not: return it too.
			return out, fmt.Errorf("store: %s: app %q channel %q: %w", op, c[0], c[1], err)
		}
		if expired {
			out = append(out, c)
		}
	}
	return out, nil
}

// expire destroys a channel's attributes and expiry if its newest expiry
// record is (still) due at nowMs. The attributes go first: should the
// expiry's purge fail, the next sweep does it again.
func (s *natsStore) expire(app, channel string, nowMs int64) (bool, error) {
	mu := s.lock(kindCAttr, app, channel)
	mu.Lock()
	defer mu.Unlock()
	all := s.subject(kindCExp, app, channel) + ".*"
	m, err := s.last(s.cexp, all)
	if err != nil || m == nil {
		return false, err // cleared since the listing
	}
	ms, err := expiryMs(m.Subject)
	if err != nil {
		return false, err
	}
	if ms > nowMs {
		// Moved since the listing, or an older record left over.
		return false, s.purge(s.cexp, all, m.Sequence)
	}
	if err := s.purge(s.cattr, s.subject(kindCAttr, app, channel)+".*", 0); err != nil {
		return false, err
	}
	if err := s.purge(s.cexp, all, 0); err != nil {
		return false, err
	}
	return true, nil
}

func (s *natsStore) Enqueue(app, account string, m Queued, max int, ttl time.Duration) (uint64, error) {
	const op = "enqueue"
	data, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	if err := s.begin(op); err != nil {
		return 0, err
	}
	cut, expires := cutoff(time.Now(), ttl)
	qsubj := s.subject(kindQueue, app, account)
	msubj := s.subject(kindQMin, app, account)

	mu := s.lock(kindQueue, app, account)
	mu.Lock()
	defer mu.Unlock()

	// The qmin record holds a lower bound of the TS of every queued
	// message, so that the queue is read only when something in it may be
	// stale. No record means no bound is known. The record and the count
	// are cached: a message costs one publish here and one purge when
	// acknowledged.
	st, err := s.queueState(qsubj, msubj)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	ok := false
	defer func() {
		if !ok {
			s.dropQueueState(qsubj) // after a failure, read it afresh
		}
	}()
	old := st.bound
	if expires && (!st.known || st.bound < cut) {
		if st.count, st.bound, err = s.dropStale(qsubj, cut); err != nil {
			return 0, fmt.Errorf("store: %s: drop stale: %w", op, err)
		}
		st.known = true // exact now, math.MaxInt64 for an empty queue
	}
	if max > 0 {
		if st.count < 0 {
			if st.count, err = s.count(qsubj); err != nil {
				return 0, fmt.Errorf("store: %s: count: %w", op, err)
			}
		}
		if st.count >= max {
			if st.known && st.bound != old && st.bound != math.MaxInt64 {
				if err := s.setQMin(msubj, st.bound); err != nil {
					return 0, fmt.Errorf("store: %s: write qmin: %w", op, err)
				}
			}
			ok = true
			return 0, ErrQueueFull
		}
	}
	// Lower the bound before the message that needs it is stored.
	if st.known {
		st.bound = min(st.bound, m.TS)
		if st.bound != old {
			if err := s.setQMin(msubj, st.bound); err != nil {
				return 0, fmt.Errorf("store: %s: write qmin: %w", op, err)
			}
		}
	}
	key, err := s.publish(s.queue, qsubj, data, nil)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	if st.count >= 0 {
		st.count++
	}
	ok = true
	return key, nil
}

// qmin reads the account's TS lower bound.
func (s *natsStore) qmin(subj string) (int64, bool, error) {
	m, err := s.last(s.queue, subj)
	if err != nil || m == nil {
		return 0, false, err
	}
	ms, err := strconv.ParseInt(string(m.Data), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bad qmin record %q", m.Data)
	}
	return ms, true, nil
}

// setQMin replaces the account's TS lower bound.
func (s *natsStore) setQMin(subj string, ms int64) error {
	hdr := nats.Header{}
	hdr.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	_, err := s.publish(s.queue, subj, strconv.AppendInt(nil, ms, 10), hdr)
	return err
}

// count returns how many messages are on subj.
func (s *natsStore) count(subj string) (int, error) {
	info, err := s.queue.Info(s.ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return 0, err
	}
	return int(info.State.Subjects[subj]), nil
}

// dropStale deletes the messages on subj with TS < cut and returns how many
// remain and their lowest TS (math.MaxInt64 when none).
func (s *natsStore) dropStale(subj string, cut int64) (live int, low int64, err error) {
	var stale []uint64
	low = math.MaxInt64
	prefix := true // stale so far is a prefix of the queue
	var end uint64 // just past that prefix
	err = s.scan(s.queue, subj, func(_ string, seq uint64, data []byte) error {
		var m tsOnly
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("decode message %d: %w", seq, err)
		}
		if m.TS >= cut {
			live++
			low = min(low, m.TS)
			prefix = false
			return nil
		}
		if prefix {
			end = seq + 1
		} else {
			stale = append(stale, seq)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	// Messages usually arrive in TS order, so the stale ones usually are a
	// prefix, which one purge removes.
	if end > 0 {
		if err := s.purge(s.queue, subj, end); err != nil {
			return 0, 0, err
		}
	}
	for _, seq := range stale {
		if err := s.queue.DeleteMsg(s.ctx, seq); err != nil {
			return 0, 0, fmt.Errorf("delete message %d: %w", seq, err)
		}
	}
	return live, low, nil
}

func (s *natsStore) Queue(app, account string, ttl time.Duration) ([]Queued, error) {
	const op = "queue"
	if err := s.begin(op); err != nil {
		return nil, err
	}
	cut, expires := cutoff(time.Now(), ttl)
	out := []Queued{}
	err := s.scan(s.queue, s.subject(kindQueue, app, account), func(_ string, seq uint64, data []byte) error {
		var m Queued
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("decode message %d: %w", seq, err)
		}
		if expires && m.TS < cut {
			return nil
		}
		m.Key = seq
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

func (s *natsStore) Dequeue(app, account string, upTo uint64) error {
	const op = "dequeue"
	if err := s.begin(op); err != nil {
		return err
	}
	if upTo == 0 {
		return nil // keys start at 1
	}
	mu := s.lock(kindQueue, app, account)
	mu.Lock()
	defer mu.Unlock()
	var before uint64 // everything when upTo+1 overflows
	if upTo < math.MaxUint64 {
		before = upTo + 1
	}
	subj := s.subject(kindQueue, app, account)
	purged, err := s.purgeCount(s.queue, subj, before)
	if err != nil {
		s.dropQueueState(subj)
		return fmt.Errorf("store: %s: %w", op, err)
	}
	s.qmu.Lock()
	if st := s.queues[subj]; st != nil && st.count >= 0 {
		st.count = max(0, st.count-int(purged))
	}
	s.qmu.Unlock()
	return nil
}

// purgeCount purges like purge and returns how many messages went: the
// stream API says so, the client library's Purge does not.
func (s *natsStore) purgeCount(st jetstream.Stream, filter string, before uint64) (uint64, error) {
	req := map[string]any{"filter": filter}
	if before > 0 {
		req["seq"] = before
	}
	b, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	msg, err := s.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+st.CachedInfo().Config.Name, b)
	if err != nil {
		return 0, err
	}
	var res struct {
		Success bool   `json:"success"`
		Purged  uint64 `json:"purged"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &res); err != nil {
		return 0, fmt.Errorf("purge answer: %w", err)
	}
	if res.Error != nil || !res.Success {
		desc := "not successful"
		if res.Error != nil {
			desc = res.Error.Description
		}
		return 0, fmt.Errorf("purge: %s", desc)
	}
	return res.Purged, nil
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

// NATSStreams names the streams a NATS store with this prefix keeps (a
// cluster asks for their leaders to sit with the node that writes them).
func NATSStreams(prefix string) []string {
	if prefix == "" {
		prefix = "XL"
	}
	var out []string
	for _, k := range []string{kindUAttr, kindCAttr, kindCExp, kindQueue} {
		out = append(out, prefix+"_"+strings.ToUpper(k))
	}
	return out
}
