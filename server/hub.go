package server

import (
	"hash/maphash"
	"sync"
)

// key scopes a name (account or channel) by app: apps never see each other.
type key struct{ app, name string }

const shards = 64

// shardedMap spreads a map over independently locked shards so that logins
// and joins of unrelated users do not contend.
type shardedMap[V any] struct {
	seed   maphash.Seed
	shards [shards]struct {
		sync.Mutex
		m map[key]V
	}
}

func newShardedMap[V any]() *shardedMap[V] {
	s := &shardedMap[V]{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[key]V)
	}
	return s
}

func (s *shardedMap[V]) shard(k key) *struct {
	sync.Mutex
	m map[key]V
} {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(k.app)
	h.WriteByte(0)
	h.WriteString(k.name)
	return &s.shards[h.Sum64()%shards]
}

func (s *shardedMap[V]) get(k key) (V, bool) {
	sh := s.shard(k)
	sh.Lock()
	v, ok := sh.m[k]
	sh.Unlock()
	return v, ok
}

// getOrCreate returns the value under k, storing mk() first when absent.
// mk runs under the shard's lock, so no one sees a half-made value and no
// two are made.
func (s *shardedMap[V]) getOrCreate(k key, mk func() (V, error)) (V, error) {
	sh := s.shard(k)
	sh.Lock()
	defer sh.Unlock()
	v, ok := sh.m[k]
	if !ok {
		var err error
		if v, err = mk(); err != nil {
			return v, err
		}
		sh.m[k] = v
	}
	return v, nil
}

// swap stores v under k and returns the previous value.
func (s *shardedMap[V]) swap(k key, v V) (V, bool) {
	sh := s.shard(k)
	sh.Lock()
	old, ok := sh.m[k]
	sh.m[k] = v
	sh.Unlock()
	return old, ok
}

// deleteIf removes k when cond holds for its current value.
func (s *shardedMap[V]) deleteIf(k key, cond func(V) bool) bool {
	sh := s.shard(k)
	sh.Lock()
	defer sh.Unlock()
	if v, ok := sh.m[k]; ok && cond(v) {
		delete(sh.m, k)
		return true
	}
	return false
}

func (s *shardedMap[V]) len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].Lock()
		n += len(s.shards[i].m)
		s.shards[i].Unlock()
	}
	return n
}

// each calls fn for a snapshot of the values.
func (s *shardedMap[V]) each(fn func(V)) {
	var vs []V
	for i := range s.shards {
		s.shards[i].Lock()
		for _, v := range s.shards[i].m {
			vs = append(vs, v)
		}
		s.shards[i].Unlock()
	}
	for _, v := range vs {
		fn(v)
	}
}
