package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Key layout. A key starts with a tag byte; names are length-prefixed
// (uvarint), so any string is safe and one group's keys never run into
// another's; numbers are 8-byte big-endian, so byte order is numeric order.
//
//	'u' app account name        user attribute → value
//	'c' app channel name        channel attribute → value (may be empty)
//	'e' app channel             a channel's expiry → unix ms
//	'E' ms app channel          the same, ordered by time, for ExpireChannels
//	'q' app account key         queued message → record (encodeQueued)
//	'm' minute app from mid     a sender's message id, for deduplication → the message's key
//	'M' "hw"                    the highest queue key given out
//	'M' "id"                    the store's ID
const (
	tagUser     = 'u'
	tagChannel  = 'c'
	tagExpiry   = 'e'
	tagExpiryAt = 'E'
	tagQueue    = 'q'
	tagMID      = 'm'
	tagMeta     = 'M'
)

var (
	keyHW = []byte("Mhw")
	keyID = []byte("Mid")
)

func appendName(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// group is the prefix of the keys of one (app, name): an account's
// attributes or queue, a channel's attributes.
func group(tag byte, app, name string) []byte {
	b := make([]byte, 0, 1+len(app)+len(name)+4)
	b = append(b, tag)
	b = appendName(b, app)
	return appendName(b, name)
}

func itemKey(tag byte, app, name, item string) []byte {
	return append(group(tag, app, name), item...)
}

func queueKey(app, account string, key uint64) []byte {
	return appendU64(group(tagQueue, app, account), key)
}

func expiryAtKey(ms int64, app, channel string) []byte {
	b := append(make([]byte, 0, 9+len(app)+len(channel)+4), tagExpiryAt)
	b = appendU64(b, uint64(ms))
	b = appendName(b, app)
	return appendName(b, channel)
}

func midKey(minute int64, app, from, mid string) []byte {
	b := append(make([]byte, 0, 9+len(app)+len(from)+len(mid)+4), tagMID)
	b = appendU64(b, uint64(minute))
	b = appendName(b, app)
	b = appendName(b, from)
	return append(b, mid...)
}

// prefixEnd is the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

var errBadKey = errors.New("malformed key")

// readName reads a length-prefixed name from b.
func readName(b []byte) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", nil, errBadKey
	}
	return string(b[w : w+int(n)]), b[w+int(n):], nil
}

// splitGroup reads the (app, name) of a key of tag and returns the rest.
func splitGroup(key []byte) (app, name string, rest []byte, err error) {
	if len(key) == 0 {
		return "", "", nil, errBadKey
	}
	if app, rest, err = readName(key[1:]); err != nil {
		return "", "", nil, err
	}
	if name, rest, err = readName(rest); err != nil {
		return "", "", nil, err
	}
	return app, name, rest, nil
}

// encodeQueued is a queued message's record: ts, from, mid, then the text.
func encodeQueued(m *Queued) []byte {
	b := make([]byte, 0, 10+len(m.From)+len(m.MID)+len(m.Msg)+4)
	b = binary.AppendVarint(b, m.TS)
	b = appendName(b, m.From)
	b = appendName(b, m.MID)
	return append(b, m.Msg...)
}

func decodeQueued(key uint64, b []byte) (Queued, error) {
	m := Queued{Key: key}
	ts, w := binary.Varint(b)
	if w <= 0 {
		return m, fmt.Errorf("queued message %d: %w", key, errBadKey)
	}
	m.TS = ts
	var err error
	if m.From, b, err = readName(b[w:]); err != nil {
		return m, fmt.Errorf("queued message %d: %w", key, err)
	}
	if m.MID, b, err = readName(b); err != nil {
		return m, fmt.Errorf("queued message %d: %w", key, err)
	}
	m.Msg = string(b)
	return m, nil
}
