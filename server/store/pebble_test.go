package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestPebblePersistence checks that everything survives Close + Open.
func TestPebblePersistence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := Open(dir)
	must(t, err)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v, %v; want mode 0700", fi, err)
	}
	id := s.ID()
	now := time.Now().UnixMilli()
	t0 := time.UnixMilli(1_700_000_000_000)
	must(t, s.SetUserAttr("a", "alice", "nick", "Al"))
	must(t, s.SetUserAttr("b", "alice", "nick", "Other"))
	must(t, s.SetChannelAttr("a", "ch", "topic", "hi"))
	must(t, s.SetChannelAttr("a", "ch", "blank", ""))
	must(t, s.SetChannelAttr("a", "keep", "topic", "kept"))
	must(t, s.SetChannelExpiry("a", "ch", t0))
	must(t, s.SetChannelExpiry("a", "keep", t0.Add(time.Hour)))
	k1 := enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "one", MID: "m1", TS: now}, 0, 0)
	k2 := enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "two", MID: "m2", TS: now + 1}, 0, 0)
	k3 := enqueue(t, s, "a", "carol", Queued{From: "alice", Msg: "gone", TS: now}, 0, 0)
	s.Dequeue("a", "carol", k3) // not waited for: Close makes it durable
	must(t, s.Close())

	s, err = Open(dir)
	must(t, err)
	defer func() { must(t, s.Close()) }()
	if s.ID() != id {
		t.Fatalf("ID after reopen %q, want %q", s.ID(), id)
	}
	wantAttr(t, s, "a", "alice", "nick", "Al")
	wantAttr(t, s, "b", "alice", "nick", "Other")
	m, err := s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs(a, ch) after reopen", m, err, map[string]string{"topic": "hi", "blank": ""})
	got := queue(t, s, "a", "bob", 0)
	want := []Queued{
		{Key: k1, From: "alice", Msg: "one", MID: "m1", TS: now},
		{Key: k2, From: "alice", Msg: "two", MID: "m2", TS: now + 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Queue after reopen = %+v, want %+v", got, want)
	}
	wantMsgs(t, "Queue(carol) after reopen", queue(t, s, "a", "carol", 0))
	if k := enqueue(t, s, "a", "carol", Queued{Msg: "again", TS: now}, 0, 0); k <= k3 {
		t.Fatalf("key for drained queue after reopen %d not above %d", k, k3)
	}
	// A resend of a message from before the restart is recognised.
	if _, err := tryEnqueue(s, "a", "bob", Queued{From: "alice", Msg: "one", MID: "m1"}, 0, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resend after reopen: %v, want ErrDuplicate", err)
	}
	wantExpired(t, s, t0, [2]string{"a", "ch"})
	wantExpired(t, s, t0.Add(time.Hour), [2]string{"a", "keep"})
}

// TestPebbleKeysCountUp: a clock that went back does not make keys repeat.
func TestPebbleKeysCountUp(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s, err := OpenWith(dir, Options{Clock: c.now})
	must(t, err)
	k := enqueue(t, s, "a", "bob", Queued{Msg: "1"}, 0, 0)
	must(t, s.Close())
	c.add(-time.Hour)
	s, err = OpenWith(dir, Options{Clock: c.now})
	must(t, err)
	defer s.Close()
	if k2 := enqueue(t, s, "a", "carol", Queued{Msg: "2"}, 0, 0); k2 <= k {
		t.Fatalf("key %d after the clock went back, not above %d", k2, k)
	}
}

// TestPebbleLocked checks that a second Open of a store in use fails
// (after the lock timeout) instead of hanging.
func TestPebbleLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	must(t, err)
	type result struct {
		s   Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s2, err := Open(dir)
		done <- result{s2, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.s.Close()
			t.Fatal("second Open of a store in use succeeded")
		}
		if !strings.Contains(r.err.Error(), "in use") {
			t.Fatalf("second Open error = %v; want it to say the store is in use", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second Open of a store in use hangs")
	}
	must(t, s.Close())
	s3, err := Open(dir)
	must(t, err)
	must(t, s3.Close())
}

// TestStoreClosed checks that use after Close is an error, not a panic.
func TestStoreClosed(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	must(t, s.Close())
	must(t, s.Close()) // twice is fine
	if err := s.SetUserAttr("a", "alice", "nick", "Al"); !errors.Is(err, ErrClosed) {
		t.Errorf("SetUserAttr after Close: %v", err)
	}
	if _, err := s.Queue("a", "bob", 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Queue after Close: %v", err)
	}
	if _, err := tryEnqueue(s, "a", "bob", Queued{Msg: "x"}, 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
	s.Dequeue("a", "bob", 1)
	var thenErr error
	s.Then(func(err error) { thenErr = err })
	if !errors.Is(thenErr, ErrClosed) {
		t.Errorf("Then after Close: %v", thenErr)
	}
}

// TestMigrateBolt: the bbolt database of an earlier version is imported once.
func TestMigrateBolt(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, boltFile), 0o600, nil)
	must(t, err)
	ts := time.Now().Add(-time.Minute).UnixMilli()
	must(t, db.Update(func(tx *bolt.Tx) error {
		a, _ := tx.CreateBucket([]byte("app/a"))
		u, _ := a.CreateBucket([]byte("uattr/alice"))
		_ = u.Put([]byte("nick"), []byte("Al"))
		c, _ := a.CreateBucket([]byte("cattr/ch"))
		_ = c.Put([]byte("topic"), []byte("hi"))
		_ = c.Put([]byte("blank"), []byte(""))
		e, _ := a.CreateBucket([]byte("cexp"))
		_ = e.Put([]byte("ch"), binary.BigEndian.AppendUint64(nil, 1_700_000_000_000))
		q, _ := a.CreateBucket([]byte("queue/bob"))
		for i := range 3 {
			v, _ := json.Marshal(map[string]any{"from": "alice", "msg": fmt.Sprint("m", i), "mid": fmt.Sprint(i), "ts": ts})
			_ = q.Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), v)
		}
		return nil
	}))
	must(t, db.Close())

	s, err := Open(dir)
	must(t, err)
	wantAttr(t, s, "a", "alice", "nick", "Al")
	m, err := s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs", m, err, map[string]string{"topic": "hi", "blank": ""})
	q := queue(t, s, "a", "bob", time.Hour)
	wantMsgs(t, "Queue", q, "m0", "m1", "m2")
	if q[0].From != "alice" || q[0].MID != "0" || q[0].TS != ts {
		t.Fatalf("migrated message %+v", q[0])
	}
	if k := enqueue(t, s, "a", "bob", Queued{Msg: "new"}, 0, 0); k <= q[2].Key {
		t.Fatalf("new key %d not above the migrated %d", k, q[2].Key)
	}
	wantExpired(t, s, time.UnixMilli(1_700_000_000_000), [2]string{"a", "ch"})
	must(t, s.Close())
	if _, err := os.Stat(filepath.Join(dir, boltMigrated)); err != nil {
		t.Fatalf("the bbolt file was not kept as %s: %v", boltMigrated, err)
	}
	// Opened again, nothing is imported twice.
	s, err = Open(dir)
	must(t, err)
	defer s.Close()
	wantMsgs(t, "Queue after reopen", queue(t, s, "a", "bob", 0), "m0", "m1", "m2", "new")
}

// slowBackend holds each Apply until released, counting them.
type slowBackend struct {
	Backend
	mu      sync.Mutex
	entered int // Applies begun
	applies int // Applies done
	gate    chan struct{}
	fail    error
}

func (b *slowBackend) Apply(batch *Batch) error {
	b.mu.Lock()
	b.entered++
	gate := b.gate
	b.mu.Unlock()
	if gate != nil {
		<-gate
	}
	b.mu.Lock()
	b.applies++
	fail := b.fail
	b.mu.Unlock()
	if fail != nil {
		return fail
	}
	return b.Backend.Apply(batch)
}

type persistentMem struct{ Backend }

func (persistentMem) Persistent() bool { return true }

// TestGroupCommit: writers that come while a commit is under way share the
// next one.
func TestGroupCommit(t *testing.T) {
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	b := &slowBackend{Backend: persistentMem{MemoryBackend()}}
	s, err := New(b, Options{})
	must(t, err)
	t.Cleanup(func() { release(); s.Close() })
	b.mu.Lock()
	b.gate = gate
	b.mu.Unlock()
	const writers = 50
	first := make(chan error, 1)
	go func() { first <- s.SetUserAttr("a", "first", "n", "v") }()
	waitFor(t, "the first commit to begin", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.entered == 2 })
	// While the first commit is held, the others gather behind it.
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() { errs <- s.SetUserAttr("a", fmt.Sprint("u", i), "n", "v") })
	}
	keys := make(chan uint64, writers)
	for i := range writers {
		s.Enqueue("a", "bob", Queued{Msg: fmt.Sprint(i)}, QueueLimits{}, func(k uint64, err error) { keys <- k })
	}
	waitFor(t, "the writes to gather", func() bool {
		k := s.(*kvStore)
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.batch.Len() >= 2*writers
	})
	release()
	must(t, <-first)
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	for range writers {
		<-keys
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.applies > 3 { // the ID at New, the first write, then all the others
		t.Fatalf("%d commits for %d writes: not grouped", b.applies, 2*writers+1)
	}
	if st := Stats(s); st.Commits < 2 || st.Changes < 2*writers {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestFailedCommit: a write the backend refuses fails every writer of its
// batch and every later one; nothing is reported durable that is not.
func TestFailedCommit(t *testing.T) {
	b := &slowBackend{Backend: persistentMem{MemoryBackend()}}
	s, err := New(b, Options{})
	must(t, err)
	k := enqueue(t, s, "a", "bob", Queued{Msg: "kept"}, 0, 0)
	b.mu.Lock()
	b.fail = errors.New("disk on fire")
	b.mu.Unlock()
	if _, err := tryEnqueue(s, "a", "bob", Queued{Msg: "lost"}, 0, 0); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Enqueue on a failing disk: %v", err)
	}
	if err := s.SetUserAttr("a", "alice", "n", "v"); err == nil {
		t.Fatal("SetUserAttr after a failed commit: no error")
	}
	var thenErr error
	done := make(chan struct{})
	s.Then(func(err error) { thenErr = err; close(done) })
	<-done
	if thenErr == nil {
		t.Fatal("Then after a failed commit: no error")
	}
	wantMsgs(t, "Queue", queue(t, s, "a", "bob", 0), "kept")
	_ = k
	if err := s.Close(); err == nil {
		t.Fatal("Close after a failed commit: no error")
	}
}

// waitFor polls cond (state with no event to wait on) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
