package store

import (
	"sync/atomic"
	"time"
)

// CommitStats counts a persistent store's commits, for /metrics.
type CommitStats struct {
	Commits uint64        // batches applied
	Changes uint64        // changes in them
	Bytes   uint64        // key and value bytes in them
	Time    time.Duration // spent applying them (syncing, mostly)
}

type commitStats struct {
	commits, changes, bytes, ns atomic.Uint64
}

func (c *commitStats) observe(b *Batch, d time.Duration) {
	c.commits.Add(1)
	c.changes.Add(uint64(b.Len()))
	c.bytes.Add(uint64(b.Size()))
	c.ns.Add(uint64(d))
}

// Stats reports what s committed so far; zero for a store that is not
// persistent (nothing is batched there).
func Stats(s Store) CommitStats {
	k, ok := s.(*kvStore)
	if !ok {
		return CommitStats{}
	}
	return CommitStats{
		Commits: k.stats.commits.Load(),
		Changes: k.stats.changes.Load(),
		Bytes:   k.stats.bytes.Load(),
		Time:    time.Duration(k.stats.ns.Load()),
	}
}
