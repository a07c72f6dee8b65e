package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Attributes and channel expiry. Their writes are few beside messages and
// their answers promise durability, so each write waits for its batch; the
// group commit still shares the sync among every writer of the moment.

// writeWait writes what fill adds and waits until it is durable.
func (s *kvStore) writeWait(fill func(b *Batch)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.writeLocked(fill)
	if err != nil {
		return err
	}
	return s.waitLocked(t)
}

func (s *kvStore) readAttrs(tag byte, app, name, op string) (map[string]string, error) {
	out := make(map[string]string)
	g := group(tag, app, name)
	err := s.b.Scan(g, prefixEnd(g), func(k, v []byte) error {
		out[string(k[len(g):])] = string(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

func (s *kvStore) UserAttrs(app, account string) (map[string]string, error) {
	return s.readAttrs(tagUser, app, account, "user attrs")
}

func (s *kvStore) UserAttr(app, account, name string) (string, error) {
	v, _, err := s.b.Get(itemKey(tagUser, app, account, name))
	if err != nil {
		return "", fmt.Errorf("store: user attr: %w", err)
	}
	return string(v), nil
}

func (s *kvStore) UserAttrCount(app, account string) (int, error) {
	n := 0
	g := group(tagUser, app, account)
	if err := s.b.Scan(g, prefixEnd(g), func(_, _ []byte) error { n++; return nil }); err != nil {
		return 0, fmt.Errorf("store: user attr count: %w", err)
	}
	return n, nil
}

func (s *kvStore) SetUserAttr(app, account, name, value string) error {
	if err := checkAttrName("set user attr", name); err != nil {
		return err
	}
	k := itemKey(tagUser, app, account, name)
	err := s.writeWait(func(b *Batch) {
		if value == "" {
			b.Delete(k)
		} else {
			b.Set(k, []byte(value))
		}
	})
	if err != nil {
		return fmt.Errorf("store: set user attr: %w", err)
	}
	return nil
}

func (s *kvStore) ChannelAttrs(app, channel string) (map[string]string, error) {
	return s.readAttrs(tagChannel, app, channel, "channel attrs")
}

func (s *kvStore) SetChannelAttr(app, channel, name, value string) error {
	if err := checkChannel("set channel attr", channel); err != nil {
		return err
	}
	if err := checkAttrName("set channel attr", name); err != nil {
		return err
	}
	k := itemKey(tagChannel, app, channel, name)
	if err := s.writeWait(func(b *Batch) { b.Set(k, []byte(value)) }); err != nil {
		return fmt.Errorf("store: set channel attr: %w", err)
	}
	return nil
}

func (s *kvStore) DelChannelAttr(app, channel, name string) (bool, error) {
	if err := checkChannel("delete channel attr", channel); err != nil {
		return false, err
	}
	if err := checkAttrName("delete channel attr", name); err != nil {
		return false, err
	}
	k := itemKey(tagChannel, app, channel, name)
	// The server changes a channel's attributes under the channel's lock,
	// one durable write at a time, so what the backend has is current.
	_, existed, err := s.b.Get(k)
	if err != nil {
		return false, fmt.Errorf("store: delete channel attr: %w", err)
	}
	if !existed {
		return false, nil
	}
	if err := s.writeWait(func(b *Batch) { b.Delete(k) }); err != nil {
		return false, fmt.Errorf("store: delete channel attr: %w", err)
	}
	return true, nil
}

func (s *kvStore) ClearChannelAttrs(app, channel string) error {
	if err := checkChannel("clear channel attrs", channel); err != nil {
		return err
	}
	g := group(tagChannel, app, channel)
	if err := s.writeWait(func(b *Batch) { b.DeleteRange(g, prefixEnd(g)) }); err != nil {
		return fmt.Errorf("store: clear channel attrs: %w", err)
	}
	return nil
}

// pendingExpiry is a channel's expiry as last written, until that write is
// durable: the backend may not have it yet.
type pendingExpiry struct {
	at int64 // unix ms; 0: none
	t  uint64
}

// expiryLocked is the channel's expiry in unix ms, 0 when it has none.
func (s *kvStore) expiryLocked(app, channel string) (int64, error) {
	if p, ok := s.expiries[acct{app, channel}]; ok {
		return p.at, nil
	}
	v, ok, err := s.b.Get(group(tagExpiry, app, channel))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("channel %q: bad expiry record (%d bytes)", channel, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func (s *kvStore) SetChannelExpiry(app, channel string, at time.Time) error {
	if err := checkChannel("set channel expiry", channel); err != nil {
		return err
	}
	var ms int64
	if !at.IsZero() {
		ms = max(at.UnixMilli(), 1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.expiryLocked(app, channel)
	if err != nil {
		return fmt.Errorf("store: set channel expiry: %w", err)
	}
	if old == ms {
		return nil
	}
	t, err := s.writeLocked(func(b *Batch) {
		if old != 0 {
			b.Delete(expiryAtKey(old, app, channel))
		}
		if ms == 0 {
			b.Delete(group(tagExpiry, app, channel))
			return
		}
		b.Set(group(tagExpiry, app, channel), appendU64(nil, uint64(ms)))
		b.Set(expiryAtKey(ms, app, channel), []byte{})
	})
	if err != nil {
		return fmt.Errorf("store: set channel expiry: %w", err)
	}
	s.expiries[acct{app, channel}] = pendingExpiry{ms, t}
	if err := s.waitLocked(t); err != nil {
		return fmt.Errorf("store: set channel expiry: %w", err)
	}
	return nil
}

func (s *kvStore) ExpireChannels(now time.Time) ([][2]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return nil, err
	}
	type due struct {
		ms           int64
		app, channel string
	}
	var list []due
	end := appendU64([]byte{tagExpiryAt}, uint64(now.UnixMilli())+1)
	err := s.b.Scan([]byte{tagExpiryAt}, end, func(k, _ []byte) error {
		if len(k) < 9 {
			return errBadKey
		}
		d := due{ms: int64(binary.BigEndian.Uint64(k[1:9]))}
		var err error
		if d.app, d.channel, _, err = splitGroup(append([]byte{tagExpiryAt}, k[9:]...)); err != nil {
			return err
		}
		list = append(list, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: expire channels: %w", err)
	}
	var out [][2]string
	t, err := s.writeLocked(func(b *Batch) {
		for _, d := range list {
			if p, ok := s.expiries[acct{d.app, d.channel}]; ok && p.at != d.ms {
				continue // changed since: the backend's entry is stale
			}
			b.Delete(expiryAtKey(d.ms, d.app, d.channel))
			b.Delete(group(tagExpiry, d.app, d.channel))
			g := group(tagChannel, d.app, d.channel)
			b.DeleteRange(g, prefixEnd(g))
			out = append(out, [2]string{d.app, d.channel})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("store: expire channels: %w", err)
	}
	for _, c := range out {
		s.expiries[acct{c[0], c[1]}] = pendingExpiry{0, t}
	}
	if err := s.waitLocked(t); err != nil {
		return nil, fmt.Errorf("store: expire channels: %w", err)
	}
	slices.SortFunc(out, func(x, y [2]string) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	return out, nil
}

func (s *kvStore) UnexpiringChannels() ([][2]string, error) {
	var chans [][2]string
	err := s.b.Scan([]byte{tagChannel}, []byte{tagChannel + 1}, func(k, _ []byte) error {
		app, ch, _, err := splitGroup(k)
		if err != nil {
			return err
		}
		if n := len(chans); n == 0 || chans[n-1] != [2]string{app, ch} {
			chans = append(chans, [2]string{app, ch})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := [][2]string{}
	for _, c := range chans {
		ms, err := s.expiryLocked(c[0], c[1])
		if err != nil {
			return nil, fmt.Errorf("store: list channels: %w", err)
		}
		if ms == 0 {
			out = append(out, c)
		}
	}
	return out, nil
}
