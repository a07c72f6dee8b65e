package store

import (
	"sync"

	"github.com/tidwall/btree"
)

// Memory returns a Store that keeps everything in the process; nothing
// survives a restart.
func Memory() Store {
	s, _ := New(MemoryBackend(), Options{})
	return s
}

// MemoryBackend is a Backend kept in a B-tree in the process.
func MemoryBackend() Backend { return &memBackend{t: btree.NewMap[string, []byte](32)} }

type memBackend struct {
	mu sync.RWMutex
	t  *btree.Map[string, []byte]
}

func (m *memBackend) Get(key []byte) ([]byte, bool, error) {
	m.mu.RLock()
	v, ok := m.t.Get(string(key))
	m.mu.RUnlock()
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, v...), true, nil
}

func (m *memBackend) Scan(from, to []byte, fn func(key, value []byte) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	end := string(to)
	var err error
	m.t.Ascend(string(from), func(k string, v []byte) bool {
		if to != nil && k >= end {
			return false
		}
		err = fn([]byte(k), v)
		return err == nil
	})
	return err
}

func (m *memBackend) Apply(b *Batch) error {
	m.mu.Lock()
	m.applyLocked(b)
	m.mu.Unlock()
	return nil
}

func (m *memBackend) applyLocked(b *Batch) {
	for _, o := range b.ops {
		switch o.kind {
		case opSet:
			m.t.Set(string(o.key), o.value)
		case opDelete:
			m.t.Delete(string(o.key))
		case opDeleteRange:
			var doomed []string
			end := string(o.value)
			m.t.Ascend(string(o.key), func(k string, _ []byte) bool {
				if o.value != nil && k >= end {
					return false
				}
				doomed = append(doomed, k)
				return true
			})
			for _, k := range doomed {
				m.t.Delete(k)
			}
		}
	}
}

func (m *memBackend) Persistent() bool { return false }
func (m *memBackend) Close() error     { return nil }
