package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// The offline queue's rules, the same on every backend: a message gets a
// key larger than every key given out before, in this store's whole life
// (the time in µs, or one more than the last key when that is not larger;
// the highest key is written with each batch, so a restart with a clock
// that went back still counts up). An account's keys are kept in memory
// while it is in use, which makes the cap a length and expiry a look at
// the oldest keys, since a key is (at least) its message's time in µs.
//
// On a backend that is not persistent the messages themselves are kept
// here and the backend never sees them: nothing would be gained by
// encoding them into its tree, and the in-memory server is the fast one.

// queueIndex is what memory holds of one account's queue.
type queueIndex struct {
	keys []uint64 // live keys, ascending: durable, or in a batch being committed
	msgs []Queued // the messages of keys, when the backend is not persistent
	low  uint64   // every key ≤ low is deleted, or being deleted
	last uint64   // ticket of the latest change; the index is forgotten only once it is durable
	used time.Time
}

// queueLocked returns the account's index, reading it from the backend
// the first time. An account without an index has no change in flight, so
// the backend has all of it.
func (s *kvStore) queueLocked(app, account string, now time.Time) (*queueIndex, error) {
	k := acct{app, account}
	if q := s.queues[k]; q != nil {
		q.used = now
		return q, nil
	}
	q := &queueIndex{used: now}
	if s.persistent {
		g := group(tagQueue, app, account)
		err := s.b.Scan(g, prefixEnd(g), func(key, _ []byte) error {
			if len(key) != len(g)+8 {
				return fmt.Errorf("queue of %q: %w", account, errBadKey)
			}
			q.keys = append(q.keys, binary.BigEndian.Uint64(key[len(g):]))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: read the queue of %q: %w", account, err)
		}
	}
	s.queues[k] = q
	return q, nil
}

// nextKeyLocked gives out the next queue key.
func (s *kvStore) nextKeyLocked(now time.Time) uint64 {
	k := max(s.hw+1, uint64(now.UnixMicro()))
	s.hw = k
	return k
}

// staleBefore is the smallest key of a message younger than ttl.
func staleBefore(now time.Time, ttl time.Duration) uint64 {
	if ttl <= 0 {
		return 0
	}
	return uint64(max(now.Add(-ttl).UnixMicro(), 0))
}

// cutLocked deletes the index's keys up to upTo (with the batch).
func (s *kvStore) cutLocked(app, account string, q *queueIndex, upTo uint64) error {
	n, _ := slices.BinarySearch(q.keys, upTo+1)
	if upTo == ^uint64(0) {
		n = len(q.keys)
	}
	if n > 0 && s.persistent {
		doomed := q.keys[:n]
		t, err := s.writeLocked(func(b *Batch) {
			for _, k := range doomed {
				b.Delete(queueKey(app, account, k))
			}
		})
		if err != nil {
			return err
		}
		q.last = max(q.last, t)
	}
	if n > 0 {
		q.keys = q.keys[:copy(q.keys, q.keys[n:])]
		if q.msgs != nil {
			rest := copy(q.msgs, q.msgs[n:])
			clear(q.msgs[rest:])
			q.msgs = q.msgs[:rest]
		}
	}
	q.low = max(q.low, upTo)
	return nil
}

func (s *kvStore) Enqueue(app, account string, m Queued, lim QueueLimits, done func(uint64, error)) {
	now := s.now()
	dup, derr := s.seenBeforeRestart(app, m.From, m.MID, now)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(0, ErrClosed)
		return
	}
	key, t, err := s.enqueueLocked(app, account, &m, lim, now, dup, derr)
	if err != nil {
		s.thenLocked(s.currentLocked(), func(error) { done(0, err) })
	} else {
		s.thenLocked(t, func(err error) {
			if err != nil {
				key = 0
			}
			done(key, err)
		})
	}
	s.mu.Unlock()
	s.afterWrite()
}

func (s *kvStore) enqueueLocked(app, account string, m *Queued, lim QueueLimits, now time.Time, dup bool, derr error) (uint64, uint64, error) {
	if err := s.usableLocked(); err != nil {
		return 0, 0, err
	}
	if derr != nil {
		return 0, 0, derr
	}
	s.maintainLocked(now)
	var ring *midRing
	if m.MID != "" {
		ring = s.senderLocked(app, m.From, now)
		if dup || ring.has(m.MID) {
			return 0, 0, ErrDuplicate
		}
	}
	q, err := s.queueLocked(app, account, now)
	if err != nil {
		return 0, 0, err
	}
	if cut := staleBefore(now, lim.TTL); cut > 0 && len(q.keys) > 0 && q.keys[0] < cut {
		if err := s.cutLocked(app, account, q, cut-1); err != nil {
			return 0, 0, err
		}
	}
	if lim.Max > 0 && len(q.keys) >= lim.Max {
		return 0, 0, ErrQueueFull
	}
	key := s.nextKeyLocked(now)
	m.Key = key
	var t uint64
	if s.persistent {
		t, err = s.writeLocked(func(b *Batch) {
			b.Set(queueKey(app, account, key), encodeQueued(m))
			if ring != nil {
				b.Set(midKey(now.Unix()/60, app, m.From, m.MID), appendU64(nil, key))
			}
		})
		if err != nil {
			return 0, 0, err
		}
		q.last = max(q.last, t)
	} else {
		q.msgs = append(q.msgs, *m)
	}
	q.keys = append(q.keys, key)
	if ring != nil {
		ring.add(m.MID)
	}
	return key, t, nil
}

func (s *kvStore) Queue(app, account string, ttl time.Duration) ([]Queued, error) {
	now := s.now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	q, err := s.queueLocked(app, account, now)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	from := staleBefore(now, ttl)
	if !s.persistent {
		out := []Queued{}
		for _, m := range q.msgs {
			if m.Key >= from {
				out = append(out, m)
			}
		}
		s.mu.Unlock()
		return out, nil
	}
	low := q.low
	s.mu.Unlock()
	if low == ^uint64(0) {
		return []Queued{}, nil
	}
	from = max(from, low+1)
	g := group(tagQueue, app, account)
	out := []Queued{}
	err = s.b.Scan(appendU64(g, from), prefixEnd(g), func(key, value []byte) error {
		if len(key) != len(g)+8 {
			return errBadKey
		}
		m, err := decodeQueued(binary.BigEndian.Uint64(key[len(g):]), value)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read the queue of %q: %w", account, err)
	}
	return out, nil
}

func (s *kvStore) Dequeue(app, account string, upTo uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usableLocked() != nil {
		return // the failure was logged when it happened
	}
	q, err := s.queueLocked(app, account, s.now())
	if err != nil {
		s.log.Error("dequeue", "app", app, "account", account, "err", err)
		return
	}
	if upTo <= q.low && (len(q.keys) == 0 || q.keys[0] > upTo) {
		return
	}
	if err := s.cutLocked(app, account, q, upTo); err != nil {
		s.log.Error("dequeue", "app", app, "account", account, "err", err)
	}
}

// evictQueuesLocked forgets the indexes nobody used lately whose changes
// are all durable: the backend can tell them again. (Without a persistent
// backend the index is the queue: only empty ones go.)
func (s *kvStore) evictQueuesLocked(now time.Time) {
	for k, q := range s.queues {
		idle := now.Sub(q.used)
		switch {
		case len(q.keys) == 0 && idle > time.Minute && q.last <= s.durable:
		case s.persistent && idle > 10*time.Minute && q.last <= s.durable:
		default:
			continue
		}
		delete(s.queues, k)
	}
}
