package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Before the pebble store, --data held a bbolt database, dir/xinling.db.
// Open imports it once and renames it xinling.db.migrated, kept as it was.
//
// Its layout: a top-level bucket "app/<app>" per app, holding sub-buckets
// "uattr/<account>" and "cattr/<channel>" (name → value), "cexp" (channel →
// 8-byte big-endian unix ms) and "queue/<account>" (8-byte sequence → a
// JSON message).
const (
	boltFile     = "xinling.db"
	boltMigrated = "xinling.db.migrated"
)

func migrateBolt(dir string, b Backend) error {
	path := filepath.Join(dir, boltFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: import %s: %w", path, err)
	}
	var batch Batch
	var hw uint64
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, a *bolt.Bucket) error {
			app, ok := bytes.CutPrefix(name, []byte("app/"))
			if !ok {
				return nil
			}
			return a.ForEach(func(sub, v []byte) error {
				if v != nil {
					return nil // not a bucket
				}
				return importBucket(&batch, string(app), string(sub), a.Bucket(sub), &hw)
			})
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: import %s: %w", path, err)
	}
	if hw > 0 {
		batch.Set(keyHW, appendU64(nil, hw))
	}
	if err := b.Apply(&batch); err != nil {
		return fmt.Errorf("store: import %s: %w", path, err)
	}
	if err := os.Rename(path, filepath.Join(dir, boltMigrated)); err != nil {
		return fmt.Errorf("store: imported %s but could not rename it: %w", path, err)
	}
	return nil
}

func importBucket(batch *Batch, app, sub string, bk *bolt.Bucket, hw *uint64) error {
	switch {
	case sub == "cexp":
		return bk.ForEach(func(ch, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("channel %q: bad expiry record", ch)
			}
			ms := binary.BigEndian.Uint64(v)
			batch.Set(group(tagExpiry, app, string(ch)), appendU64(nil, ms))
			batch.Set(expiryAtKey(int64(ms), app, string(ch)), []byte{})
			return nil
		})
	case len(sub) > 6 && sub[:6] == "uattr/":
		return bk.ForEach(func(k, v []byte) error {
			batch.Set(itemKey(tagUser, app, sub[6:], string(k)), bytes.Clone(v))
			return nil
		})
	case len(sub) > 6 && sub[:6] == "cattr/":
		return bk.ForEach(func(k, v []byte) error {
			batch.Set(itemKey(tagChannel, app, sub[6:], string(k)), bytes.Clone(v))
			return nil
		})
	case len(sub) > 6 && sub[:6] == "queue/":
		// New keys are the messages' times in µs, counting up within the
		// account, as Enqueue would have given them.
		var last uint64
		return bk.ForEach(func(k, v []byte) error {
			var m struct {
				From string `json:"from"`
				Msg  string `json:"msg"`
				MID  string `json:"mid"`
				TS   int64  `json:"ts"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("queue of %q, message %x: %w", sub[6:], k, err)
			}
			key := max(last+1, uint64(max(m.TS, 0))*1000)
			last = key
			*hw = max(*hw, key)
			q := Queued{Key: key, From: m.From, Msg: m.Msg, MID: m.MID, TS: m.TS}
			batch.Set(queueKey(app, sub[6:], key), encodeQueued(&q))
			return nil
		})
	}
	return nil
}
