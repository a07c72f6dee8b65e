package server

import (
	"sync"
	"time"
)

// kicks remembers the sessions a login elsewhere ended. A client whose
// session was kicked while it was detached learns of it only when it comes
// back to resume: it is told so (207) instead of logging in afresh, which
// would kick the newer session in turn. SPEC: a kicked session does not
// reconnect.
type kicks struct {
	mu    sync.Mutex
	ids   map[string]time.Time
	order []kick // oldest first
	keep  time.Duration
	max   int
}

type kick struct {
	id string
	at time.Time
}

// An SDK retries a lost connection for far less than an hour; the bound on
// entries keeps a login storm that kicks from growing the node without end
// (the oldest are forgotten first).
const (
	kickMemory = time.Hour
	maxKicks   = 1 << 16
)

func newKicks(keep time.Duration, max int) *kicks {
	return &kicks{ids: make(map[string]time.Time), keep: keep, max: max}
}

func (k *kicks) add(id string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(k.order) > 0 && (len(k.order) >= k.max || now.Sub(k.order[0].at) > k.keep) {
		delete(k.ids, k.order[0].id)
		k.order[0] = kick{}
		k.order = k.order[1:]
	}
	k.ids[id] = now
	k.order = append(k.order, kick{id, now})
}

func (k *kicks) has(id string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.ids[id]
	return ok && now.Sub(at) <= k.keep
}
