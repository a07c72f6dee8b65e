package store

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Memory returns a Store that keeps everything in the process; nothing
// survives a restart. Close is a no-op.
func Memory() Store {
	return &memStore{apps: make(map[string]*memApp)}
}

type memStore struct {
	mu   sync.Mutex
	apps map[string]*memApp
}

type memApp struct {
	uattr  map[string]map[string]string // account → name → value
	cattr  map[string]map[string]string // channel → name → value
	cexp   map[string]int64             // channel → expiry, unix ms
	queues map[string]*memQueue         // account → queue
}

type memQueue struct {
	seq  uint64   // last key handed out; never reset, so keys strictly increase
	msgs []Queued // ascending Key
}

// app returns the app's state, creating it when create is set (else nil).
func (s *memStore) app(name string, create bool) *memApp {
	a := s.apps[name]
	if a == nil && create {
		a = &memApp{
			uattr:  make(map[string]map[string]string),
			cattr:  make(map[string]map[string]string),
			cexp:   make(map[string]int64),
			queues: make(map[string]*memQueue),
		}
		s.apps[name] = a
	}
	return a
}

func (s *memStore) UserAttrs(app, account string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string)
	if a := s.app(app, false); a != nil {
		for k, v := range a.uattr[account] {
			out[k] = v
		}
	}
	return out, nil
}

func (s *memStore) UserAttrCount(app, account string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.app(app, false); a != nil {
		return len(a.uattr[account]), nil
	}
	return 0, nil
}

func (s *memStore) UserAttr(app, account, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.app(app, false); a != nil {
		return a.uattr[account][name], nil
	}
	return "", nil
}

func (s *memStore) SetUserAttr(app, account, name, value string) error {
	if err := checkAttrName("set user attr", name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		a := s.app(app, false)
		if a == nil {
			return nil
		}
		attrs := a.uattr[account]
		delete(attrs, name)
		if len(attrs) == 0 {
			delete(a.uattr, account)
		}
		return nil
	}
	a := s.app(app, true)
	attrs := a.uattr[account]
	if attrs == nil {
		attrs = make(map[string]string)
		a.uattr[account] = attrs
	}
	attrs[name] = value
	return nil
}

func (s *memStore) ChannelAttrs(app, channel string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string)
	if a := s.app(app, false); a != nil {
		for k, v := range a.cattr[channel] {
			out[k] = v
		}
	}
	return out, nil
}

func (s *memStore) SetChannelAttr(app, channel, name, value string) error {
	if err := checkChannel("set channel attr", channel); err != nil {
		return err
	}
	if err := checkAttrName("set channel attr", name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app, true)
	attrs := a.cattr[channel]
	if attrs == nil {
		attrs = make(map[string]string)
		a.cattr[channel] = attrs
	}
	attrs[name] = value
	return nil
}

func (s *memStore) DelChannelAttr(app, channel, name string) (bool, error) {
	if err := checkChannel("delete channel attr", channel); err != nil {
		return false, err
	}
	if err := checkAttrName("delete channel attr", name); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app, false)
	if a == nil {
		return false, nil
	}
	attrs := a.cattr[channel]
	_, ok := attrs[name]
	delete(attrs, name)
	if len(attrs) == 0 {
		delete(a.cattr, channel)
	}
	return ok, nil
}

func (s *memStore) ClearChannelAttrs(app, channel string) error {
	if err := checkChannel("clear channel attrs", channel); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.app(app, false); a != nil {
		delete(a.cattr, channel)
	}
	return nil
}

func (s *memStore) SetChannelExpiry(app, channel string, at time.Time) error {
	if err := checkChannel("set channel expiry", channel); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.IsZero() {
		if a := s.app(app, false); a != nil {
			delete(a.cexp, channel)
		}
		return nil
	}
	s.app(app, true).cexp[channel] = at.UnixMilli()
	return nil
}

func (s *memStore) ExpireChannels(now time.Time) ([][2]string, error) {
	nowMs := now.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]string
	for name, a := range s.apps {
		for ch, exp := range a.cexp {
			if exp <= nowMs {
				delete(a.cexp, ch)
				delete(a.cattr, ch)
				out = append(out, [2]string{name, ch})
			}
		}
	}
	// Same order as the bbolt store: by app, then channel.
	slices.SortFunc(out, func(x, y [2]string) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	return out, nil
}

func (s *memStore) Enqueue(app, account string, m Queued, max int, ttl time.Duration) (uint64, error) {
	cut, expires := cutoff(time.Now(), ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app, true)
	q := a.queues[account]
	if q == nil {
		q = &memQueue{}
		a.queues[account] = q
	}
	if expires {
		q.msgs = slices.DeleteFunc(q.msgs, func(old Queued) bool { return old.TS < cut })
	}
	if max > 0 && len(q.msgs) >= max {
		return 0, ErrQueueFull
	}
	q.seq++
	m.Key = q.seq
	q.msgs = append(q.msgs, m)
	return m.Key, nil
}

func (s *memStore) Queue(app, account string, ttl time.Duration) ([]Queued, error) {
	cut, expires := cutoff(time.Now(), ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Queued{}
	a := s.app(app, false)
	if a == nil || a.queues[account] == nil {
		return out, nil
	}
	for _, m := range a.queues[account].msgs {
		if expires && m.TS < cut {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *memStore) Dequeue(app, account string, upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app, false)
	if a == nil || a.queues[account] == nil {
		return nil
	}
	q := a.queues[account]
	i, _ := slices.BinarySearchFunc(q.msgs, upTo+1, func(m Queued, k uint64) int { return cmp.Compare(m.Key, k) })
	if upTo == ^uint64(0) { // upTo+1 overflowed: everything goes
		i = len(q.msgs)
	}
	q.msgs = slices.Delete(q.msgs, 0, i) // also zeroes the freed tail
	return nil
}

func (s *memStore) Close() error { return nil }
