package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCommit is why the store on disk is pebble: one op = one queue
// put and one delete of an acknowledged message, over 2,000 accounts, in
// batches of 300 (a loaded server's group commit), each batch one durable
// commit. bbolt is what --data used before (it rewrites B+tree pages and
// syncs twice per commit); pebble appends to a log synced once. Compare
// ns/op and commit-ms.
func BenchmarkCommit(b *testing.B) {
	const accounts, batch = 2000, 300
	msg := make([]byte, 120)
	b.Run("bbolt", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "x.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		seqs, low := make([]uint64, accounts), make([]uint64, accounts)
		commits := 0
		for done := 0; done < b.N; done += batch {
			err := db.Update(func(tx *bolt.Tx) error {
				a, err := tx.CreateBucketIfNotExists([]byte("app/bench"))
				if err != nil {
					return err
				}
				for range min(batch, b.N-done) {
					ac := rand.IntN(accounts)
					q, err := a.CreateBucketIfNotExists(fmt.Appendf(nil, "queue/p%d", ac))
					if err != nil {
						return err
					}
					seqs[ac]++
					if err := q.Put(binary.BigEndian.AppendUint64(nil, seqs[ac]), msg); err != nil {
						return err
					}
					if d := rand.IntN(accounts); low[d] < seqs[d] {
						low[d]++
						if qb := a.Bucket(fmt.Appendf(nil, "queue/p%d", d)); qb != nil {
							if err := qb.Delete(binary.BigEndian.AppendUint64(nil, low[d])); err != nil {
								return err
							}
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			commits++
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(commits), "commit-ms")
	})
	b.Run("pebble", func(b *testing.B) {
		be, err := OpenPebble(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer be.Close()
		seqs, low := make([]uint64, accounts), make([]uint64, accounts)
		commits := 0
		for done := 0; done < b.N; done += batch {
			var bt Batch
			for range min(batch, b.N-done) {
				ac := rand.IntN(accounts)
				seqs[ac]++
				bt.Set(queueKey("bench", fmt.Sprint("p", ac), seqs[ac]), msg)
				if d := rand.IntN(accounts); low[d] < seqs[d] {
					low[d]++
					bt.Delete(queueKey("bench", fmt.Sprint("p", d), low[d]))
				}
			}
			if err := be.Apply(&bt); err != nil {
				b.Fatal(err)
			}
			commits++
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(commits), "commit-ms")
	})
}
