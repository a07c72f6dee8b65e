package store

import "fmt"

// checkAttrName rejects an empty attribute name on writes (an unnamed
// attribute is always a caller bug).
func checkAttrName(op, name string) error {
	if name == "" {
		return fmt.Errorf("store: %s: empty attribute name", op)
	}
	return nil
}

// checkChannel rejects an empty channel name on channel writes.
func checkChannel(op, channel string) error {
	if channel == "" {
		return fmt.Errorf("store: %s: empty channel name", op)
	}
	return nil
}
