package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// dbFile is the name of the database file inside the data directory.
const dbFile = "xinling.db"

// lockTimeout bounds how long Open waits for another process's file lock.
const lockTimeout = 2 * time.Second

// Bucket layout. Every app has one top-level bucket, named appPrefix+app (the
// prefix keeps the name non-empty for app "" and leaves room for other
// top-level buckets later). Inside it, all sub-buckets are siblings:
//
//	"uattr/<account>"  attribute name → value; deleted when it becomes empty
//	"cattr/<channel>"  attribute name → value (may be ""); deleted when empty
//	"cexp"             channel → expiry, 8-byte big-endian unix ms
//	"queue/<account>"  8-byte big-endian key → JSON Queued. Keys come from the
//	                   bucket's NextSequence, so the bucket is never deleted
//	                   (that would reset the sequence and reuse keys).
const (
	appPrefix   = "app/"
	uattrPrefix = "uattr/"
	cattrPrefix = "cattr/"
	queuePrefix = "queue/"
	cexpBucket  = "cexp"
)

type boltStore struct {
	db *bolt.DB
}

// Open opens (creating if needed) the bbolt database dir/xinling.db. It fails
// after about two seconds when another process holds the database.
func Open(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: database is locked by another process (gave up after %v): %w", path, lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func (s *boltStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// sub returns the app's sub-bucket, or nil when it (or the app) does not exist.
func sub(tx *bolt.Tx, app, name string) *bolt.Bucket {
	a := tx.Bucket([]byte(appPrefix + app))
	if a == nil {
		return nil
	}
	return a.Bucket([]byte(name))
}

// subCreate returns the app's sub-bucket, creating it and the app as needed.
func subCreate(tx *bolt.Tx, app, name string) (*bolt.Bucket, error) {
	a, err := tx.CreateBucketIfNotExists([]byte(appPrefix + app))
	if err != nil {
		return nil, err
	}
	return a.CreateBucketIfNotExists([]byte(name))
}

// dropIfEmpty deletes the app's sub-bucket when it holds no keys.
func dropIfEmpty(tx *bolt.Tx, app, name string, b *bolt.Bucket) error {
	if k, _ := b.Cursor().First(); k != nil {
		return nil
	}
	return tx.Bucket([]byte(appPrefix + app)).DeleteBucket([]byte(name))
}

// has reports whether key exists in b (Get cannot tell a missing key from an
// empty value reliably).
func has(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}

func (s *boltStore) attrs(app, bucket, op string) (map[string]string, error) {
	out := make(map[string]string)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, app, bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

func (s *boltStore) UserAttrs(app, account string) (map[string]string, error) {
	return s.attrs(app, uattrPrefix+account, "user attrs")
}

func (s *boltStore) UserAttrCount(app, account string) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := sub(tx, app, uattrPrefix+account); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: user attr count: %w", err)
	}
	return n, nil
}

func (s *boltStore) UserAttr(app, account, name string) (string, error) {
	var val string
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := sub(tx, app, uattrPrefix+account); b != nil {
			val = string(b.Get([]byte(name)))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: user attr: %w", err)
	}
	return val, nil
}

func (s *boltStore) SetUserAttr(app, account, name, value string) error {
	if err := checkAttrName("set user attr", name); err != nil {
		return err
	}
	bucket := uattrPrefix + account
	err := s.db.Update(func(tx *bolt.Tx) error {
		if value == "" {
			b := sub(tx, app, bucket)
			if b == nil {
				return nil
			}
			if err := b.Delete([]byte(name)); err != nil {
				return err
			}
			return dropIfEmpty(tx, app, bucket, b)
		}
		b, err := subCreate(tx, app, bucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("store: set user attr: %w", err)
	}
	return nil
}

func (s *boltStore) ChannelAttrs(app, channel string) (map[string]string, error) {
	return s.attrs(app, cattrPrefix+channel, "channel attrs")
}

func (s *boltStore) SetChannelAttr(app, channel, name, value string) error {
	if err := checkChannel("set channel attr", channel); err != nil {
		return err
	}
	if err := checkAttrName("set channel attr", name); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := subCreate(tx, app, cattrPrefix+channel)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("store: set channel attr: %w", err)
	}
	return nil
}

func (s *boltStore) DelChannelAttr(app, channel, name string) (bool, error) {
	if err := checkChannel("delete channel attr", channel); err != nil {
		return false, err
	}
	if err := checkAttrName("delete channel attr", name); err != nil {
		return false, err
	}
	bucket := cattrPrefix + channel
	var existed bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := sub(tx, app, bucket)
		if b == nil || !has(b, []byte(name)) {
			return nil
		}
		existed = true
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		return dropIfEmpty(tx, app, bucket, b)
	})
	if err != nil {
		return false, fmt.Errorf("store: delete channel attr: %w", err)
	}
	return existed, nil
}

func (s *boltStore) ClearChannelAttrs(app, channel string) error {
	if err := checkChannel("clear channel attrs", channel); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return deleteSub(tx.Bucket([]byte(appPrefix+app)), cattrPrefix+channel)
	})
	if err != nil {
		return fmt.Errorf("store: clear channel attrs: %w", err)
	}
	return nil
}

// deleteSub deletes sub-bucket name of a, if both exist.
func deleteSub(a *bolt.Bucket, name string) error {
	if a == nil {
		return nil
	}
	err := a.DeleteBucket([]byte(name))
	if errors.Is(err, berrors.ErrBucketNotFound) {
		return nil
	}
	return err
}

func (s *boltStore) SetChannelExpiry(app, channel string, at time.Time) error {
	if err := checkChannel("set channel expiry", channel); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if at.IsZero() {
			if b := sub(tx, app, cexpBucket); b != nil {
				return b.Delete([]byte(channel))
			}
			return nil
		}
		b, err := subCreate(tx, app, cexpBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(channel), binary.BigEndian.AppendUint64(nil, uint64(at.UnixMilli())))
	})
	if err != nil {
		return fmt.Errorf("store: set channel expiry: %w", err)
	}
	return nil
}

func (s *boltStore) ExpireChannels(now time.Time) ([][2]string, error) {
	nowMs := now.UnixMilli()
	var out [][2]string
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = nil
		// Collect the apps first; the root is not modified below, but this
		// keeps the iteration independent of any writes.
		var apps []string
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if app, ok := bytes.CutPrefix(name, []byte(appPrefix)); ok {
				apps = append(apps, string(app))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, app := range apps {
			a := tx.Bucket([]byte(appPrefix + app))
			exp := a.Bucket([]byte(cexpBucket))
			if exp == nil {
				continue
			}
			var due []string
			err := exp.ForEach(func(k, v []byte) error {
				if len(v) != 8 {
					return fmt.Errorf("app %q channel %q: bad expiry record (%d bytes)", app, k, len(v))
				}
				if int64(binary.BigEndian.Uint64(v)) <= nowMs {
					due = append(due, string(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, ch := range due {
				if err := exp.Delete([]byte(ch)); err != nil {
					return err
				}
				if err := deleteSub(a, cattrPrefix+ch); err != nil {
					return err
				}
				out = append(out, [2]string{app, ch})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: expire channels: %w", err)
	}
	return out, nil
}

// queueKey encodes a queue key; big-endian so byte order is numeric order.
func queueKey(k uint64) []byte { return binary.BigEndian.AppendUint64(nil, k) }

// tsOnly decodes just the timestamp of a stored Queued.
type tsOnly struct {
	TS int64 `json:"ts"`
}

func (s *boltStore) Enqueue(app, account string, m Queued, max int, ttl time.Duration) (uint64, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	cut, expires := cutoff(time.Now(), ttl)
	var key uint64
	var full bool
	err = s.db.Update(func(tx *bolt.Tx) error {
		q, err := subCreate(tx, app, queuePrefix+account)
		if err != nil {
			return err
		}
		var stale [][]byte
		n := 0
		c := q.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if expires {
				var old tsOnly
				if err := json.Unmarshal(v, &old); err != nil {
					return fmt.Errorf("decode message %x: %w", k, err)
				}
				if old.TS < cut {
					stale = append(stale, bytes.Clone(k))
					continue
				}
			}
			n++
		}
		// Delete after the scan: deleting under a live cursor can skip keys.
		for _, k := range stale {
			if err := q.Delete(k); err != nil {
				return err
			}
		}
		if max > 0 && n >= max {
			full = true // still commit the drops
			return nil
		}
		key, err = q.NextSequence()
		if err != nil {
			return err
		}
		return q.Put(queueKey(key), data)
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	if full {
		return 0, ErrQueueFull
	}
	return key, nil
}

func (s *boltStore) Queue(app, account string, ttl time.Duration) ([]Queued, error) {
	cut, expires := cutoff(time.Now(), ttl)
	out := []Queued{}
	err := s.db.View(func(tx *bolt.Tx) error {
		q := sub(tx, app, queuePrefix+account)
		if q == nil {
			return nil
		}
		return q.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("bad queue key %x", k)
			}
			var m Queued
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			if expires && m.TS < cut {
				return nil
			}
			m.Key = binary.BigEndian.Uint64(k)
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	return out, nil
}

func (s *boltStore) Dequeue(app, account string, upTo uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		q := sub(tx, app, queuePrefix+account)
		if q == nil {
			return nil
		}
		limit := queueKey(upTo)
		var done [][]byte
		c := q.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, limit) <= 0; k, _ = c.Next() {
			done = append(done, bytes.Clone(k))
		}
		for _, k := range done {
			if err := q.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: dequeue: %w", err)
	}
	return nil
}
