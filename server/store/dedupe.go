package store

import (
	"fmt"
	"time"
)

// Message-id deduplication, per sender across its sessions: a client that
// resends a message whose answer it never got (the connection dropped, the
// server restarted) must not have it queued twice. Memory holds each active
// sender's last recentMIDs ids; a persistent store also writes each id, in
// the batch of its message, under the minute it was accepted, so that for
// the dedupe window after a restart an id memory does not know is looked up
// there. Ids older than the window are deleted a minute at a time.

const recentMIDs = 1024

type midRing struct {
	ids  map[string]struct{}
	ring []string
	pos  int
	used time.Time
}

func (r *midRing) has(mid string) bool {
	_, ok := r.ids[mid]
	return ok
}

func (r *midRing) add(mid string) {
	if len(r.ring) < recentMIDs {
		r.ring = append(r.ring, mid)
	} else {
		delete(r.ids, r.ring[r.pos])
		r.ring[r.pos] = mid
		r.pos = (r.pos + 1) % recentMIDs
	}
	r.ids[mid] = struct{}{}
}

func (s *kvStore) senderLocked(app, from string, now time.Time) *midRing {
	k := acct{app, from}
	r := s.senders[k]
	if r == nil {
		r = &midRing{ids: make(map[string]struct{})}
		s.senders[k] = r
	}
	r.used = now
	return r
}

// seenBeforeRestart looks mid up among the ids written before this process
// opened the store, while those can still be inside the window.
func (s *kvStore) seenBeforeRestart(app, from, mid string, now time.Time) (bool, error) {
	if mid == "" || !s.persistent || now.Sub(s.opened) > s.window+time.Minute {
		return false, nil
	}
	s.mu.Lock()
	if r := s.senders[acct{app, from}]; r != nil && r.has(mid) {
		s.mu.Unlock()
		return true, nil
	}
	s.mu.Unlock()
	first := now.Add(-s.window).Unix()/60 - 1
	for m := s.opened.Unix() / 60; m >= first; m-- {
		_, ok, err := s.b.Get(midKey(m, app, from, mid))
		if err != nil {
			return false, fmt.Errorf("store: look up message id: %w", err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func (s *kvStore) evictSendersLocked(now time.Time) {
	for k, r := range s.senders {
		if now.Sub(r.used) > s.window {
			delete(s.senders, k)
		}
	}
}

// pruneMIDsLocked deletes the ids of minutes before the window.
func (s *kvStore) pruneMIDsLocked(now time.Time) {
	before := now.Add(-s.window).Unix()/60 - 1
	if before <= s.prunedMIDs {
		return
	}
	s.prunedMIDs = before
	_, err := s.writeLocked(func(b *Batch) {
		b.DeleteRange([]byte{tagMID}, appendU64([]byte{tagMID}, uint64(max(before, 0))))
	})
	if err != nil && s.usableLocked() == nil {
		s.log.Error("prune message ids", "err", err)
	}
}
