package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a test's time: it starts at the real time and moves when told.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func closeAtCleanup(tb testing.TB, s Store) {
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
}

// impls lists every backend; the conformance suite runs on each.
var impls = []struct {
	name string
	open func(tb testing.TB, opts Options) Store
}{
	{"memory", func(tb testing.TB, opts Options) Store {
		s, err := New(MemoryBackend(), opts)
		if err != nil {
			tb.Fatal(err)
		}
		closeAtCleanup(tb, s)
		return s
	}},
	{"pebble", func(tb testing.TB, opts Options) Store {
		s, err := OpenWith(tb.TempDir(), opts)
		if err != nil {
			tb.Fatal(err)
		}
		closeAtCleanup(tb, s)
		return s
	}},
	{"nats", func(tb testing.TB, opts Options) Store { return newNATS(tb, opts) }},
}

// conformance is the suite every backend must pass.
var conformance = []struct {
	name string
	fn   func(t *testing.T, s Store, c *clock)
}{
	{"UserAttrs", testUserAttrs},
	{"ChannelAttrs", testChannelAttrs},
	{"EmptyNames", testEmptyNames},
	{"ChannelExpiry", testChannelExpiry},
	{"Unexpiring", testUnexpiring},
	{"QueueOrder", testQueueOrder},
	{"QueueCap", testQueueCap},
	{"QueueTTL", testQueueTTL},
	{"Dequeue", testDequeue},
	{"Dedupe", testDedupe},
	{"DoneOrder", testDoneOrder},
	{"Concurrent", testConcurrent},
}

func TestConformance(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					c := newClock()
					tc.fn(t, impl.open(t, Options{Clock: c.now}), c)
				})
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantMap(t *testing.T, what string, got map[string]string, err error, want map[string]string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got == nil {
		t.Fatalf("%s: got nil map", what)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantAttr(t *testing.T, s Store, app, account, name, want string) {
	t.Helper()
	got, err := s.UserAttr(app, account, name)
	if err != nil {
		t.Fatalf("UserAttr(%q, %q, %q): %v", app, account, name, err)
	}
	if got != want {
		t.Fatalf("UserAttr(%q, %q, %q) = %q, want %q", app, account, name, got, want)
	}
}

func testUserAttrs(t *testing.T, s Store, _ *clock) {
	m, err := s.UserAttrs("a", "alice")
	wantMap(t, "UserAttrs on empty store", m, err, map[string]string{})
	wantAttr(t, s, "a", "alice", "nick", "")

	must(t, s.SetUserAttr("a", "alice", "nick", "Al"))
	must(t, s.SetUserAttr("a", "alice", "lang", "en"))
	must(t, s.SetUserAttr("a", "bob", "nick", "Bob"))
	must(t, s.SetUserAttr("b", "alice", "nick", "Other Al"))
	must(t, s.SetUserAttr("", "alice", "nick", "No-app Al")) // empty app is still its own app
	must(t, s.SetUserAttr("a", "", "nick", "nobody"))        // empty account likewise

	m, err = s.UserAttrs("a", "alice")
	wantMap(t, "UserAttrs(a, alice)", m, err, map[string]string{"nick": "Al", "lang": "en"})
	m, err = s.UserAttrs("b", "alice")
	wantMap(t, "UserAttrs(b, alice)", m, err, map[string]string{"nick": "Other Al"})
	m, err = s.UserAttrs("", "alice")
	wantMap(t, `UserAttrs("", alice)`, m, err, map[string]string{"nick": "No-app Al"})
	m, err = s.UserAttrs("a", "")
	wantMap(t, `UserAttrs(a, "")`, m, err, map[string]string{"nick": "nobody"})
	m, err = s.UserAttrs("c", "alice")
	wantMap(t, "UserAttrs(c, alice)", m, err, map[string]string{})
	wantAttr(t, s, "a", "alice", "nick", "Al")
	wantAttr(t, s, "a", "bob", "nick", "Bob")
	wantAttr(t, s, "b", "alice", "nick", "Other Al")
	wantAttr(t, s, "a", "alice", "missing", "")
	wantAttr(t, s, "a", "carol", "nick", "")
	for _, c := range []struct {
		app, account string
		want         int
	}{{"a", "alice", 2}, {"a", "bob", 1}, {"a", "carol", 0}, {"c", "alice", 0}, {"a", "", 1}} {
		if n, err := s.UserAttrCount(c.app, c.account); err != nil || n != c.want {
			t.Errorf("UserAttrCount(%q, %q) = %d, %v; want %d", c.app, c.account, n, err, c.want)
		}
	}
	must(t, s.SetUserAttr("a", "alice", "lang", "")) // a delete is not counted
	if n, err := s.UserAttrCount("a", "alice"); err != nil || n != 1 {
		t.Errorf("UserAttrCount after a delete = %d, %v; want 1", n, err)
	}
	must(t, s.SetUserAttr("a", "alice", "lang", "en"))

	// The returned map is a copy.
	m["nick"] = "mutated"
	wantAttr(t, s, "a", "alice", "nick", "Al")

	// Overwrite.
	must(t, s.SetUserAttr("a", "alice", "nick", "Alice"))
	wantAttr(t, s, "a", "alice", "nick", "Alice")

	// "" deletes, only in the named app/account.
	must(t, s.SetUserAttr("a", "alice", "nick", ""))
	wantAttr(t, s, "a", "alice", "nick", "")
	m, err = s.UserAttrs("a", "alice")
	wantMap(t, "UserAttrs after delete", m, err, map[string]string{"lang": "en"})
	wantAttr(t, s, "b", "alice", "nick", "Other Al")
	wantAttr(t, s, "a", "bob", "nick", "Bob")

	// Deleting the last attribute leaves an empty (non-nil) map; deleting
	// something absent, or in an absent app, is fine.
	must(t, s.SetUserAttr("a", "alice", "lang", ""))
	m, err = s.UserAttrs("a", "alice")
	wantMap(t, "UserAttrs after deleting all", m, err, map[string]string{})
	must(t, s.SetUserAttr("a", "alice", "lang", ""))
	must(t, s.SetUserAttr("nope", "alice", "lang", ""))
	m, err = s.UserAttrs("nope", "alice")
	wantMap(t, "UserAttrs(nope, alice)", m, err, map[string]string{})

	// And it can be set again.
	must(t, s.SetUserAttr("a", "alice", "lang", "fr"))
	wantAttr(t, s, "a", "alice", "lang", "fr")
}

func testChannelAttrs(t *testing.T, s Store, _ *clock) {
	m, err := s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs on empty store", m, err, map[string]string{})

	must(t, s.SetChannelAttr("a", "ch", "topic", "hello"))
	must(t, s.SetChannelAttr("a", "ch", "empty", "")) // stored, not deleted
	must(t, s.SetChannelAttr("a", "other", "topic", "x"))
	must(t, s.SetChannelAttr("b", "ch", "topic", "b's"))

	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs(a, ch)", m, err, map[string]string{"topic": "hello", "empty": ""})
	m, err = s.ChannelAttrs("b", "ch")
	wantMap(t, "ChannelAttrs(b, ch)", m, err, map[string]string{"topic": "b's"})
	m, err = s.ChannelAttrs("c", "ch")
	wantMap(t, "ChannelAttrs(c, ch)", m, err, map[string]string{})

	// Channel and user namespaces are separate.
	um, err := s.UserAttrs("a", "ch")
	wantMap(t, "UserAttrs(a, ch)", um, err, map[string]string{})

	// The returned map is a copy.
	m["topic"] = "mutated"
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs after mutating copy", m, err, map[string]string{"topic": "hello", "empty": ""})

	// Overwrite, including with "".
	must(t, s.SetChannelAttr("a", "ch", "topic", ""))
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs after setting empty", m, err, map[string]string{"topic": "", "empty": ""})
	must(t, s.SetChannelAttr("a", "ch", "topic", "again"))

	// DelChannelAttr reports existence, also for an attribute whose value is "".
	for _, tc := range []struct {
		app, ch, name string
		want          bool
	}{
		{"a", "ch", "empty", true},
		{"a", "ch", "empty", false},
		{"a", "ch", "never", false},
		{"a", "nochan", "topic", false},
		{"noapp", "ch", "topic", false},
		{"b", "ch", "topic", true},
	} {
		ok, err := s.DelChannelAttr(tc.app, tc.ch, tc.name)
		if err != nil || ok != tc.want {
			t.Fatalf("DelChannelAttr(%q, %q, %q) = %v, %v; want %v", tc.app, tc.ch, tc.name, ok, err, tc.want)
		}
	}
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs after deletes", m, err, map[string]string{"topic": "again"})
	m, err = s.ChannelAttrs("b", "ch")
	wantMap(t, "ChannelAttrs(b, ch) after deleting its only attr", m, err, map[string]string{})

	// Clear wipes one channel of one app only; clearing nothing is fine.
	must(t, s.SetChannelAttr("a", "ch", "mode", "open"))
	must(t, s.SetChannelAttr("b", "ch", "topic", "b's again"))
	must(t, s.ClearChannelAttrs("a", "ch"))
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs after clear", m, err, map[string]string{})
	m, err = s.ChannelAttrs("a", "other")
	wantMap(t, "ChannelAttrs(a, other) after clearing ch", m, err, map[string]string{"topic": "x"})
	m, err = s.ChannelAttrs("b", "ch")
	wantMap(t, "ChannelAttrs(b, ch) after clearing a/ch", m, err, map[string]string{"topic": "b's again"})
	must(t, s.ClearChannelAttrs("a", "ch"))
	must(t, s.ClearChannelAttrs("noapp", "ch"))

	// A cleared channel can be used again.
	must(t, s.SetChannelAttr("a", "ch", "topic", "reborn"))
	m, err = s.ChannelAttrs("a", "ch")
	wantMap(t, "ChannelAttrs after reuse", m, err, map[string]string{"topic": "reborn"})
}

func testEmptyNames(t *testing.T, s Store, _ *clock) {
	wantErr := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	wantErr("SetUserAttr empty name", s.SetUserAttr("a", "alice", "", "v"))
	wantErr("SetUserAttr empty name, empty value", s.SetUserAttr("a", "alice", "", ""))
	wantErr("SetChannelAttr empty name", s.SetChannelAttr("a", "ch", "", "v"))
	wantErr("SetChannelAttr empty channel", s.SetChannelAttr("a", "", "n", "v"))
	_, err := s.DelChannelAttr("a", "ch", "")
	wantErr("DelChannelAttr empty name", err)
	_, err = s.DelChannelAttr("a", "", "n")
	wantErr("DelChannelAttr empty channel", err)
	wantErr("ClearChannelAttrs empty channel", s.ClearChannelAttrs("a", ""))
	wantErr("SetChannelExpiry empty channel", s.SetChannelExpiry("a", "", time.Now()))

	// Reads with empty names are harmless.
	wantAttr(t, s, "a", "alice", "", "")
	m, err := s.ChannelAttrs("a", "")
	wantMap(t, `ChannelAttrs(a, "")`, m, err, map[string]string{})
}

func wantExpired(t *testing.T, s Store, now time.Time, want ...[2]string) {
	t.Helper()
	got, err := s.ExpireChannels(now)
	if err != nil {
		t.Fatalf("ExpireChannels(%v): %v", now, err)
	}
	// All implementations return pairs sorted by app, then channel.
	if !slices.Equal(got, want) {
		t.Fatalf("ExpireChannels(%v) = %q, want %q", now, got, want)
	}
}

func testChannelExpiry(t *testing.T, s Store, _ *clock) {
	t0 := time.UnixMilli(1_700_000_000_000)

	wantExpired(t, s, t0) // nothing recorded

	for _, ac := range [][2]string{{"a", "c1"}, {"a", "c2"}, {"a", "c3"}, {"a", "c4"}, {"b", "c1"}} {
		must(t, s.SetChannelAttr(ac[0], ac[1], "topic", ac[0]+"/"+ac[1]))
	}
	must(t, s.SetChannelExpiry("a", "c1", t0))                   // due exactly at t0
	must(t, s.SetChannelExpiry("a", "c2", t0.Add(time.Second)))  // later
	must(t, s.SetChannelExpiry("a", "c3", t0.Add(-time.Hour)))   // would be due ...
	must(t, s.SetChannelExpiry("a", "c3", time.Time{}))          // ... but was cleared
	must(t, s.SetChannelExpiry("b", "c1", t0.Add(-time.Minute))) // overdue, other app
	must(t, s.SetChannelExpiry("a", "empty", t0))                // no attributes at all
	must(t, s.SetChannelExpiry("a", "never", time.Time{}))       // clearing nothing is fine
	must(t, s.SetChannelExpiry("z", "never", time.Time{}))       // even in an unknown app

	wantExpired(t, s, t0.Add(-2*time.Minute))
	wantExpired(t, s, t0, [2]string{"a", "c1"}, [2]string{"a", "empty"}, [2]string{"b", "c1"})

	for _, tc := range []struct {
		app, ch string
		want    map[string]string
	}{
		{"a", "c1", map[string]string{}},
		{"b", "c1", map[string]string{}},
		{"a", "c2", map[string]string{"topic": "a/c2"}},
		{"a", "c3", map[string]string{"topic": "a/c3"}},
		{"a", "c4", map[string]string{"topic": "a/c4"}},
	} {
		m, err := s.ChannelAttrs(tc.app, tc.ch)
		wantMap(t, fmt.Sprintf("ChannelAttrs(%s, %s) after expiry", tc.app, tc.ch), m, err, tc.want)
	}

	// The expiry records went with the attributes.
	wantExpired(t, s, t0)

	// Moving an expiry replaces it.
	must(t, s.SetChannelExpiry("a", "c2", t0.Add(time.Hour)))
	wantExpired(t, s, t0.Add(time.Minute))
	wantExpired(t, s, t0.Add(time.Hour), [2]string{"a", "c2"})
	m, err := s.ChannelAttrs("a", "c2")
	wantMap(t, "ChannelAttrs(a, c2) after its expiry", m, err, map[string]string{})

	// Attributes set after an expiry fired are not touched by later sweeps.
	must(t, s.SetChannelAttr("a", "c1", "topic", "new"))
	wantExpired(t, s, t0.Add(24*time.Hour))
	m, err = s.ChannelAttrs("a", "c1")
	wantMap(t, "ChannelAttrs(a, c1) recreated", m, err, map[string]string{"topic": "new"})
	m, err = s.ChannelAttrs("a", "c3")
	wantMap(t, "ChannelAttrs(a, c3) with cleared expiry", m, err, map[string]string{"topic": "a/c3"})
}

func testUnexpiring(t *testing.T, s Store, _ *clock) {
	t0 := time.Now().Add(time.Hour)
	must(t, s.SetChannelAttr("a", "open", "topic", "x"))
	must(t, s.SetChannelAttr("a", "timed", "topic", "x"))
	must(t, s.SetChannelAttr("b", "open", "topic", "x"))
	must(t, s.SetChannelAttr("b", "open", "other", "y"))
	must(t, s.SetChannelExpiry("a", "timed", t0))
	must(t, s.SetChannelExpiry("a", "bare", t0)) // an expiry without attributes
	got, err := s.UnexpiringChannels()
	must(t, err)
	if want := [][2]string{{"a", "open"}, {"b", "open"}}; !slices.Equal(got, want) {
		t.Fatalf("UnexpiringChannels = %q, want %q", got, want)
	}
	must(t, s.SetChannelExpiry("a", "timed", time.Time{}))
	got, err = s.UnexpiringChannels()
	must(t, err)
	if want := [][2]string{{"a", "open"}, {"a", "timed"}, {"b", "open"}}; !slices.Equal(got, want) {
		t.Fatalf("UnexpiringChannels after clearing = %q, want %q", got, want)
	}
}

// tryEnqueue enqueues and waits for done.
func tryEnqueue(s Store, app, account string, m Queued, max int, ttl time.Duration) (uint64, error) {
	type res struct {
		k   uint64
		err error
	}
	ch := make(chan res, 1)
	s.Enqueue(app, account, m, QueueLimits{Max: max, TTL: ttl}, func(k uint64, err error) { ch <- res{k, err} })
	select {
	case r := <-ch:
		return r.k, r.err
	case <-time.After(30 * time.Second):
		return 0, errors.New("Enqueue: done never called")
	}
}

func enqueue(t *testing.T, s Store, app, account string, m Queued, max int, ttl time.Duration) uint64 {
	t.Helper()
	k, err := tryEnqueue(s, app, account, m, max, ttl)
	if err != nil {
		t.Fatalf("Enqueue(%q, %q, %+v): %v", app, account, m, err)
	}
	return k
}

func queue(t *testing.T, s Store, app, account string, ttl time.Duration) []Queued {
	t.Helper()
	q, err := s.Queue(app, account, ttl)
	if err != nil {
		t.Fatalf("Queue(%q, %q): %v", app, account, err)
	}
	if q == nil {
		t.Fatalf("Queue(%q, %q) returned nil", app, account)
	}
	return q
}

func msgs(q []Queued) []string {
	var out []string
	for _, m := range q {
		out = append(out, m.Msg)
	}
	return out
}

func wantMsgs(t *testing.T, what string, q []Queued, want ...string) {
	t.Helper()
	if got := msgs(q); !slices.Equal(got, want) {
		t.Fatalf("%s: messages %q, want %q", what, got, want)
	}
}

func testQueueOrder(t *testing.T, s Store, _ *clock) {
	if q := queue(t, s, "a", "bob", 0); len(q) != 0 {
		t.Fatalf("Queue on empty store = %+v", q)
	}
	now := time.Now().UnixMilli()
	var sent []Queued
	var prev uint64
	for i := range 5 {
		m := Queued{Key: 999, From: "alice", Msg: fmt.Sprintf("m%d", i), MID: fmt.Sprintf("mid%d", i), TS: now + int64(i)}
		k := enqueue(t, s, "a", "bob", m, 0, 0)
		if k <= prev {
			t.Fatalf("Enqueue key %d after %d: not increasing", k, prev)
		}
		prev = k
		m.Key = k
		sent = append(sent, m)
	}
	// Other apps and accounts do not see (or disturb) bob's queue.
	enqueue(t, s, "b", "bob", Queued{From: "x", Msg: "other app", TS: now}, 0, 0)
	enqueue(t, s, "a", "carol", Queued{From: "x", Msg: "other account", TS: now}, 0, 0)
	enqueue(t, s, "a", "", Queued{From: "", Msg: "no name", TS: now}, 0, 0) // "" is an account too

	got := queue(t, s, "a", "bob", 0)
	if !slices.Equal(got, sent) {
		t.Fatalf("Queue = %+v\nwant %+v", got, sent)
	}
	wantMsgs(t, "Queue(b, bob)", queue(t, s, "b", "bob", 0), "other app")
	wantMsgs(t, "Queue(a, carol)", queue(t, s, "a", "carol", 0), "other account")
	wantMsgs(t, `Queue(a, "")`, queue(t, s, "a", "", 0), "no name")
	wantMsgs(t, "Queue(c, bob)", queue(t, s, "c", "bob", 0))

	// The returned slice is a copy.
	got[0].Msg = "mutated"
	wantMsgs(t, "Queue after mutating copy", queue(t, s, "a", "bob", 0), "m0", "m1", "m2", "m3", "m4")
}

func testQueueCap(t *testing.T, s Store, _ *clock) {
	now := time.Now().UnixMilli()
	var keys []uint64
	for i := range 3 {
		keys = append(keys, enqueue(t, s, "a", "bob", Queued{Msg: fmt.Sprint(i), TS: now}, 3, time.Hour))
	}
	k, err := tryEnqueue(s, "a", "bob", Queued{Msg: "overflow", TS: now}, 3, time.Hour)
	if !errors.Is(err, ErrQueueFull) || k != 0 {
		t.Fatalf("Enqueue on full queue = %d, %v; want 0, ErrQueueFull", k, err)
	}
	wantMsgs(t, "Queue after overflow", queue(t, s, "a", "bob", 0), "0", "1", "2")

	// The cap is per account and per app.
	enqueue(t, s, "a", "carol", Queued{Msg: "c", TS: now}, 3, time.Hour)
	enqueue(t, s, "b", "bob", Queued{Msg: "b", TS: now}, 3, time.Hour)

	// A lower cap than what is queued is also full; a higher one is not.
	if _, err := tryEnqueue(s, "a", "bob", Queued{Msg: "x", TS: now}, 1, 0); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Enqueue with max 1 over 3 queued: %v, want ErrQueueFull", err)
	}
	k4 := enqueue(t, s, "a", "bob", Queued{Msg: "3", TS: now}, 4, 0)
	if k4 <= keys[2] {
		t.Fatalf("key %d after full queue not above %d", k4, keys[2])
	}

	// Draining makes room again.
	s.Dequeue("a", "bob", keys[0])
	enqueue(t, s, "a", "bob", Queued{Msg: "4", TS: now}, 4, 0)
	wantMsgs(t, "Queue after drain and refill", queue(t, s, "a", "bob", 0), "1", "2", "3", "4")

	// max <= 0 is unlimited.
	for i := range 20 {
		enqueue(t, s, "a", "dave", Queued{Msg: fmt.Sprint(i), TS: now}, 0, 0)
		enqueue(t, s, "a", "erin", Queued{Msg: fmt.Sprint(i), TS: now}, -1, 0)
	}
	if n := len(queue(t, s, "a", "dave", 0)); n != 20 {
		t.Fatalf("unlimited queue holds %d, want 20", n)
	}
	if n := len(queue(t, s, "a", "erin", 0)); n != 20 {
		t.Fatalf("unlimited queue (max -1) holds %d, want 20", n)
	}
}

// testQueueTTL moves the store's clock: a message's age is the time since
// the store accepted it.
func testQueueTTL(t *testing.T, s Store, c *clock) {
	at := func(msg string) Queued { return Queued{Msg: msg, TS: c.now().UnixMilli()} }
	enqueue(t, s, "a", "bob", at("2h"), 0, 0)
	c.add(30 * time.Minute)
	enqueue(t, s, "a", "bob", at("90m"), 0, 0)
	c.add(60 * time.Minute)
	enqueue(t, s, "a", "bob", at("30m"), 0, 0)
	c.add(30 * time.Minute)
	enqueue(t, s, "a", "bob", at("now"), 0, 0)

	// Queue skips stale messages without deleting them.
	wantMsgs(t, "Queue ttl 1h", queue(t, s, "a", "bob", time.Hour), "30m", "now")
	wantMsgs(t, "Queue ttl 100m", queue(t, s, "a", "bob", 100*time.Minute), "90m", "30m", "now")
	wantMsgs(t, "Queue ttl 0", queue(t, s, "a", "bob", 0), "2h", "90m", "30m", "now")
	wantMsgs(t, "Queue ttl -1", queue(t, s, "a", "bob", -1), "2h", "90m", "30m", "now")

	// Enqueue drops stale messages first, so a queue of 4 with cap 3 has room
	// once the two older than an hour are gone; Queue(0) shows they are gone.
	enqueue(t, s, "a", "bob", at("new"), 3, time.Hour)
	wantMsgs(t, "Queue after ttl drop", queue(t, s, "a", "bob", 0), "30m", "now", "new")

	// Now the cap applies to what is alive: full at 3.
	if _, err := tryEnqueue(s, "a", "bob", at("x"), 3, time.Hour); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Enqueue on full queue: %v, want ErrQueueFull", err)
	}
	// With a shorter ttl "30m" goes too, and there is room again.
	enqueue(t, s, "a", "bob", at("new2"), 3, 10*time.Minute)
	wantMsgs(t, "Queue after second ttl drop", queue(t, s, "a", "bob", 0), "now", "new", "new2")

	// Stale messages are dropped even when the new one is then refused.
	c.add(2 * time.Hour)
	enqueue(t, s, "a", "carol", at("fresh"), 0, 0)
	if _, err := tryEnqueue(s, "a", "bob", at("x"), 0, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	wantMsgs(t, "Queue after a ttl drop of everything", queue(t, s, "a", "bob", 0), "x")

	// ttl dropping is per account and app.
	enqueue(t, s, "b", "bob", at("old"), 0, 0)
	c.add(2 * time.Hour)
	enqueue(t, s, "a", "bob", at("new3"), 0, time.Minute)
	wantMsgs(t, "Queue(a, carol)", queue(t, s, "a", "carol", 0), "fresh")
	wantMsgs(t, "Queue(b, bob)", queue(t, s, "b", "bob", 0), "old")
	wantMsgs(t, "Queue(a, bob)", queue(t, s, "a", "bob", 0), "new3")
}

func testDequeue(t *testing.T, s Store, _ *clock) {
	now := time.Now().UnixMilli()
	s.Dequeue("a", "nobody", 10) // unknown app/account is fine
	s.Dequeue("zz", "nobody", 10)

	var keys []uint64
	for i := range 5 {
		keys = append(keys, enqueue(t, s, "a", "bob", Queued{Msg: fmt.Sprint(i), TS: now}, 0, 0))
	}
	other := enqueue(t, s, "b", "bob", Queued{Msg: "b", TS: now}, 0, 0)

	s.Dequeue("a", "bob", 0)
	wantMsgs(t, "Dequeue(0)", queue(t, s, "a", "bob", 0), "0", "1", "2", "3", "4")

	s.Dequeue("a", "bob", keys[1])
	q := queue(t, s, "a", "bob", 0)
	wantMsgs(t, "Dequeue(k1)", q, "2", "3", "4")
	if q[0].Key != keys[2] {
		t.Fatalf("first key after Dequeue = %d, want %d", q[0].Key, keys[2])
	}

	// Repeating, or going backwards, does nothing.
	s.Dequeue("a", "bob", keys[1])
	s.Dequeue("a", "bob", keys[0])
	wantMsgs(t, "Dequeue repeated", queue(t, s, "a", "bob", 0), "2", "3", "4")

	// The other app's queue is untouched even though its key may be ≤ upTo.
	s.Dequeue("a", "bob", keys[4])
	wantMsgs(t, "Dequeue all", queue(t, s, "a", "bob", 0))
	q = queue(t, s, "b", "bob", 0)
	if len(q) != 1 || q[0].Key != other {
		t.Fatalf("Queue(b, bob) = %+v", q)
	}

	// Keys are never reused after draining.
	k := enqueue(t, s, "a", "bob", Queued{Msg: "5", TS: now}, 0, 0)
	if k <= keys[4] {
		t.Fatalf("key after drain %d not above %d", k, keys[4])
	}
	enqueue(t, s, "a", "bob", Queued{Msg: "6", TS: now}, 0, 0)
	s.Dequeue("a", "bob", ^uint64(0))
	wantMsgs(t, "Dequeue(max uint64)", queue(t, s, "a", "bob", 0))
}

func testDedupe(t *testing.T, s Store, _ *clock) {
	m := Queued{From: "alice", Msg: "hi", MID: "m1", TS: time.Now().UnixMilli()}
	k := enqueue(t, s, "a", "bob", m, 0, 0)
	if _, err := tryEnqueue(s, "a", "bob", m, 0, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Enqueue with the same id: %v, want ErrDuplicate", err)
	}
	// Even once delivered and deleted: the sender's id is remembered.
	s.Dequeue("a", "bob", k)
	if _, err := tryEnqueue(s, "a", "carol", m, 0, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Enqueue with the same id after dequeue: %v, want ErrDuplicate", err)
	}
	wantMsgs(t, "Queue(bob)", queue(t, s, "a", "bob", 0))
	// Ids are the sender's: another sender, app, or no id is not a duplicate.
	enqueue(t, s, "a", "bob", Queued{From: "carol", Msg: "c", MID: "m1"}, 0, 0)
	enqueue(t, s, "b", "bob", Queued{From: "alice", Msg: "b", MID: "m1"}, 0, 0)
	enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "x"}, 0, 0)
	enqueue(t, s, "a", "bob", Queued{From: "alice", Msg: "y"}, 0, 0)
	wantMsgs(t, "Queue(bob)", queue(t, s, "a", "bob", 0), "c", "x", "y")
	// A refused message leaves no id behind: its resend can succeed.
	full := Queued{From: "alice", Msg: "full", MID: "m2"}
	if _, err := tryEnqueue(s, "a", "bob", full, 3, 0); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Enqueue on a full queue: %v", err)
	}
	enqueue(t, s, "a", "bob", full, 4, 0)
	// The last recentMIDs ids are remembered; older ones are let go.
	for i := range recentMIDs {
		enqueue(t, s, "a", "dave", Queued{From: "erin", Msg: "n", MID: fmt.Sprint("n", i)}, 0, 0)
	}
	if _, err := tryEnqueue(s, "a", "dave", Queued{From: "erin", MID: fmt.Sprint("n", recentMIDs-1)}, 0, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("the last id: %v, want ErrDuplicate", err)
	}
	enqueue(t, s, "a", "dave", Queued{From: "erin", Msg: "more", MID: "fresh"}, 0, 0)
}

// testDoneOrder checks that done and Then run in the order of the calls,
// whatever the outcome.
func testDoneOrder(t *testing.T, s Store, _ *clock) {
	var mu sync.Mutex
	var order []int
	note := func(i int) { mu.Lock(); order = append(order, i); mu.Unlock() }
	done := make(chan struct{})
	const n = 200
	for i := range n {
		switch i % 4 {
		case 0, 1:
			s.Enqueue("a", fmt.Sprint("u", i%7), Queued{From: "x", Msg: "m", MID: fmt.Sprint(i)}, QueueLimits{}, func(uint64, error) { note(i) })
		case 2:
			s.Enqueue("a", "full", Queued{Msg: "m"}, QueueLimits{Max: -1}, func(uint64, error) { note(i) })
		case 3:
			s.Then(func(error) { note(i) })
		}
	}
	s.Then(func(error) { close(done) })
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("continuations did not run")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != n || !slices.IsSorted(order) {
		t.Fatalf("continuations ran in the order %v", order)
	}
}

func testConcurrent(t *testing.T, s Store, _ *clock) {
	const workers, per = 8, 25
	now := time.Now().UnixMilli()
	var wg sync.WaitGroup
	keys := make([][]uint64, workers)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				k, err := tryEnqueue(s, "a", "bob", Queued{From: fmt.Sprint(w), Msg: fmt.Sprint(i), TS: now}, 0, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				keys[w] = append(keys[w], k)
				acct := fmt.Sprintf("u%d", w)
				if err := s.SetUserAttr("a", acct, "n", fmt.Sprint(i)); err != nil {
					errs <- err
					return
				}
				if _, err := s.UserAttrs("a", acct); err != nil {
					errs <- err
					return
				}
				if _, err := s.Queue("a", "bob", time.Hour); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	q := queue(t, s, "a", "bob", 0)
	if len(q) != workers*per {
		t.Fatalf("queue holds %d, want %d", len(q), workers*per)
	}
	var all []uint64
	for w := range workers {
		if !slices.IsSorted(keys[w]) {
			t.Fatalf("worker %d keys not increasing: %v", w, keys[w])
		}
		all = append(all, keys[w]...)
	}
	slices.Sort(all)
	for i, m := range q {
		if m.Key != all[i] {
			t.Fatalf("queue[%d].Key = %d, want %d (keys must be unique and in order)", i, m.Key, all[i])
		}
	}
	for w := range workers {
		wantAttr(t, s, "a", fmt.Sprintf("u%d", w), "n", fmt.Sprint(per-1))
	}
}

func BenchmarkEnqueueDequeue(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.open(b, Options{})
			m := Queued{From: "alice", Msg: strings.Repeat("x", 100), TS: time.Now().UnixMilli()}
			for b.Loop() {
				k, err := tryEnqueue(s, "app", "bob", m, 1000, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				s.Dequeue("app", "bob", k)
			}
		})
	}
}
