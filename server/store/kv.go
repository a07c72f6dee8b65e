package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Options tune a store built with New.
type Options struct {
	// DedupeWindow is how long after a restart a sender's message ids from
	// before it are still recognised (default 5 minutes). In one process
	// life the last 1024 ids of each sender are.
	DedupeWindow time.Duration
	// Logger gets the store's errors (a failed write is also reported to
	// every writer). Default: slog.Default().
	Logger *slog.Logger
	// Clock tells the time: when messages are accepted and expire (tests
	// move it). Default: time.Now.
	Clock func() time.Time
}

const defaultDedupeWindow = 5 * time.Minute

// kvStore is the Store: the rules, over a Backend. Writes are gathered into
// batches (commit.go); the queue's index and the senders' recent message
// ids are kept in memory (queue.go, dedupe.go).
type kvStore struct {
	b          Backend
	persistent bool
	id         string
	opened     time.Time
	window     time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu       sync.Mutex
	cond     *sync.Cond // broadcast when durable advances or the store fails
	batch    *Batch     // changes for the next commit (persistent backends)
	spare    *Batch
	scratch  Batch  // changes applied at once (a backend that is not persistent)
	next     uint64 // ticket of batch: every change in it becomes durable together
	durable  uint64 // highest ticket committed
	failed   error  // the first failed commit; every later write fails too
	failedAt uint64
	failedCh chan struct{} // closed with failed set
	closed   bool
	conts    []cont // continuations in the order they were made
	running  []cont // the ones being run; drainMu's
	hw       uint64 // highest queue key given out
	hwSaved  uint64 // the hw the backend has

	queues     map[acct]*queueIndex
	senders    map[acct]*midRing
	expiries   map[acct]pendingExpiry
	prunedMIDs int64     // ids of minutes before this are deleted
	maintained time.Time // last maintainLocked

	stats commitStats

	wake    chan struct{} // a batch is waiting for the committer
	ready   chan struct{} // continuations may be ready for the notifier
	drainMu sync.Mutex    // held by whoever runs continuations
	stop    chan struct{} // stops the notifier
	wg      sync.WaitGroup
	cwg     sync.WaitGroup // the committer
}

// acct names an account or a channel of an app.
type acct struct{ app, name string }

// New builds a store on b, which it owns: Close closes it.
func New(b Backend, opts Options) (Store, error) {
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	s := &kvStore{
		failedCh:   make(chan struct{}),
		now:        now,
		b:          b,
		persistent: b.Persistent(),
		opened:     now(),
		maintained: now(),
		window:     opts.DedupeWindow,
		log:        opts.Logger,
		batch:      &Batch{},
		spare:      &Batch{},
		next:       1,
		queues:     make(map[acct]*queueIndex),
		senders:    make(map[acct]*midRing),
		expiries:   make(map[acct]pendingExpiry),
		wake:       make(chan struct{}, 1),
		ready:      make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	if s.window <= 0 {
		s.window = defaultDedupeWindow
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.loadMeta(); err != nil {
		_ = b.Close()
		return nil, err
	}
	if s.persistent {
		s.cwg.Add(1)
		go s.commitLoop()
		s.wg.Add(1)
		go s.notifyLoop()
	}
	return s, nil
}

// loadMeta reads the store's ID and queue high water, making an ID for a
// new store.
func (s *kvStore) loadMeta() error {
	v, ok, err := s.b.Get(keyHW)
	if err != nil {
		return fmt.Errorf("store: read the queue's high water: %w", err)
	}
	if ok && len(v) == 8 {
		s.hw = binary.BigEndian.Uint64(v)
		s.hwSaved = s.hw
	}
	v, ok, err = s.b.Get(keyID)
	if err != nil {
		return fmt.Errorf("store: read the store's id: %w", err)
	}
	if ok {
		s.id = string(v)
		return nil
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	s.id = hex.EncodeToString(r[:])
	var b Batch
	b.Set(keyID, []byte(s.id))
	if err := s.b.Apply(&b); err != nil {
		return fmt.Errorf("store: write the store's id: %w", err)
	}
	return nil
}

func (s *kvStore) ID() string { return s.id }

// Failed is closed once a write fails; the store takes no more writes (a
// cluster member lets the shard go, to open it again from the log).
func (s *kvStore) Failed() <-chan struct{} { return s.failedCh }

// Close makes every write durable, runs the continuations still waiting,
// and closes the backend.
func (s *kvStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.kick()
	s.cwg.Wait() // the committer commits what is left, then exits
	close(s.stop)
	s.wg.Wait()  // the notifier runs what is left
	s.runReady() // a memory store's last continuations, if a caller is mid-drain
	failed := s.failed
	if err := s.b.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	if failed != nil {
		return fmt.Errorf("store: closed after a failed write: %w", failed)
	}
	return nil
}

// maintainLocked forgets what memory holds only to be fast (idle queues
// and senders) and deletes message ids past the dedupe window. Writers call
// it as they pass, at most every maintainEvery: an idle store needs none.
func (s *kvStore) maintainLocked(now time.Time) {
	if now.Sub(s.maintained) < maintainEvery {
		return
	}
	s.maintained = now
	s.evictQueuesLocked(now)
	s.evictSendersLocked(now)
	for k, p := range s.expiries {
		if p.t <= s.durable {
			delete(s.expiries, k)
		}
	}
	if s.persistent {
		s.pruneMIDsLocked(now)
	}
}

const maintainEvery = 30 * time.Second
