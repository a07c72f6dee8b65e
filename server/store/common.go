package store

import (
	"fmt"
	"time"
)

// Rules shared by all implementations, so that they behave identically.

// checkAttrName rejects an empty attribute name on writes (bbolt cannot store
// an empty key, and an unnamed attribute is always a caller bug).
func checkAttrName(op, name string) error {
	if name == "" {
		return fmt.Errorf("store: %s: empty attribute name", op)
	}
	return nil
}

// checkChannel rejects an empty channel name on channel writes (its expiry
// would need an empty key in bbolt).
func checkChannel(op, channel string) error {
	if channel == "" {
		return fmt.Errorf("store: %s: empty channel name", op)
	}
	return nil
}

// cutoff returns the oldest TS (ms) still alive for ttl at now; messages with
// TS < cutoff are stale. ok is false when ttl <= 0 (messages never expire).
func cutoff(now time.Time, ttl time.Duration) (ms int64, ok bool) {
	if ttl <= 0 {
		return 0, false
	}
	return now.UnixMilli() - ttl.Milliseconds(), true
}
