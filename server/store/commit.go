package store

import (
	"fmt"
	"time"
)

// Group commit. On a persistent backend every change joins the batch being
// gathered and gets its ticket; one committer goroutine applies a batch
// while the next one gathers, so the changes of every writer that came
// while the disk was busy share one sync. A write that must be durable
// before its answer waits for its ticket (waitLocked); one that need not
// block its caller leaves a continuation, which the notifier goroutine runs
// once the ticket is durable, in the order continuations were made. On a
// backend that is not persistent there is nothing to wait for: changes are
// applied at once and continuations run on the writer's goroutine, still in
// order (runReady).

// cont is a continuation: fn runs once ticket t is durable.
type cont struct {
	t  uint64
	fn func(error)
}

// usableLocked says why nothing can be written, if so.
func (s *kvStore) usableLocked() error {
	if s.closed {
		return ErrClosed
	}
	return s.failed
}

// writeLocked adds the changes fill makes to the next batch and returns its
// ticket (0 on a backend that is not persistent: applied already).
func (s *kvStore) writeLocked(fill func(b *Batch)) (uint64, error) {
	if err := s.usableLocked(); err != nil {
		return 0, err
	}
	if !s.persistent {
		s.scratch.reset()
		fill(&s.scratch)
		if s.hw > s.hwSaved {
			s.scratch.Set(keyHW, appendU64(nil, s.hw))
			s.hwSaved = s.hw
		}
		return 0, s.b.Apply(&s.scratch)
	}
	n := s.batch.Len()
	fill(s.batch)
	if s.batch.Len() == n {
		return s.currentLocked(), nil // nothing added: wait for what is in flight
	}
	s.kick()
	return s.next, nil
}

// currentLocked is the ticket after which everything written so far is durable.
func (s *kvStore) currentLocked() uint64 {
	if !s.persistent {
		return 0
	}
	if s.batch.Len() > 0 {
		return s.next
	}
	return s.next - 1
}

// waitLocked waits until ticket t is durable.
func (s *kvStore) waitLocked(t uint64) error {
	for s.durable < t && s.failed == nil {
		s.cond.Wait()
	}
	if s.failed != nil && t >= s.failedAt {
		return s.failed
	}
	return nil
}

// thenLocked leaves a continuation for ticket t.
func (s *kvStore) thenLocked(t uint64, fn func(error)) {
	s.conts = append(s.conts, cont{t, fn})
	if t <= s.durable || s.failed != nil {
		s.signal(s.ready)
	}
}

// afterWrite runs ready continuations on the writer's goroutine when the
// backend is not persistent (the notifier does it otherwise). Call it
// without holding mu.
func (s *kvStore) afterWrite() {
	if !s.persistent {
		s.runReady()
	}
}

func (s *kvStore) Then(fn func(error)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		fn(ErrClosed) // nothing runs continuations any more
		return
	}
	s.thenLocked(s.currentLocked(), fn)
	s.mu.Unlock()
	s.afterWrite()
}

// runReady runs the continuations whose tickets are durable, in order. One
// goroutine at a time runs them; one that finds another at it leaves its
// own to that one, which looks again before it stops (and lets go of
// drainMu while it still holds mu, so that a continuation left after its
// last look finds drainMu free).
func (s *kvStore) runReady() {
	if !s.drainMu.TryLock() {
		return
	}
	for {
		s.mu.Lock()
		n := 0
		for n < len(s.conts) && (s.conts[n].t <= s.durable || s.failed != nil) {
			n++
		}
		if n == 0 {
			s.drainMu.Unlock()
			s.mu.Unlock()
			return
		}
		s.running = append(s.running[:0], s.conts[:n]...)
		rest := copy(s.conts, s.conts[n:])
		clear(s.conts[rest:])
		s.conts = s.conts[:rest]
		durable, failed, failedAt := s.durable, s.failed, s.failedAt
		s.mu.Unlock()
		for _, c := range s.running {
			var err error
			if failed != nil && (c.t >= failedAt || c.t > durable) {
				err = failed
			}
			c.fn(err)
		}
		clear(s.running)
	}
}

func (s *kvStore) kick() { s.signal(s.wake) }

func (s *kvStore) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// commitLoop is the committer: it applies the gathered batch, marks its
// ticket durable and wakes the notifier, until the store closes and nothing
// is left.
func (s *kvStore) commitLoop() {
	defer s.cwg.Done()
	for {
		<-s.wake
		for {
			s.mu.Lock()
			if s.batch.Len() == 0 {
				closed := s.closed
				s.mu.Unlock()
				if closed {
					return
				}
				break
			}
			b, t := s.batch, s.next
			s.batch, s.spare = s.spare, nil
			s.next++
			if s.hw > s.hwSaved {
				b.Set(keyHW, appendU64(nil, s.hw))
				s.hwSaved = s.hw
			}
			s.mu.Unlock()

			start := time.Now()
			err := s.b.Apply(b)
			s.stats.observe(b, time.Since(start))

			s.mu.Lock()
			if err != nil && s.failed == nil {
				s.failed = fmt.Errorf("store: write %d changes: %w", b.Len(), err)
				s.failedAt = t
				close(s.failedCh)
				s.log.Error("store write failed; the store takes no more writes", "err", err)
			}
			s.durable = t
			b.reset()
			s.spare = b
			s.cond.Broadcast()
			s.mu.Unlock()
			s.signal(s.ready)
		}
	}
}

// notifyLoop runs continuations as their batches become durable.
func (s *kvStore) notifyLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ready:
			s.runReady()
		case <-s.stop:
			s.runReady()
			return
		}
	}
}
