package store

// Backend is the durable engine under a store: an ordered map of byte keys
// that applies batches atomically. It knows nothing of queues or attributes;
// the rules live above it (kv.go). Implementations are safe for concurrent
// use.
type Backend interface {
	// Get returns the value of key; ok is false when it is absent. The value
	// is the caller's.
	Get(key []byte) (value []byte, ok bool, err error)
	// Scan calls fn for every key in [from, to), in ascending order; to nil
	// means no upper bound. key and value are valid only during the call.
	// It stops at fn's first error and returns it.
	Scan(from, to []byte, fn func(key, value []byte) error) error
	// Apply makes every change of b, or none; when Persistent, they are
	// durable on return.
	Apply(b *Batch) error
	// Persistent reports whether what is applied survives the process.
	Persistent() bool
	Close() error
}

type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opDeleteRange // [key, value)
)

type op struct {
	kind       opKind
	key, value []byte
}

// Batch is an ordered list of changes, applied atomically by a Backend.
type Batch struct {
	ops   []op
	bytes int
}

// Set sets key to value. The batch keeps both slices: do not change them.
func (b *Batch) Set(key, value []byte) {
	b.ops = append(b.ops, op{opSet, key, value})
	b.bytes += len(key) + len(value)
}

// Delete deletes key.
func (b *Batch) Delete(key []byte) {
	b.ops = append(b.ops, op{kind: opDelete, key: key})
	b.bytes += len(key)
}

// DeleteRange deletes every key in [from, to).
func (b *Batch) DeleteRange(from, to []byte) {
	b.ops = append(b.ops, op{opDeleteRange, from, to})
	b.bytes += len(from) + len(to)
}

// Len is the number of changes.
func (b *Batch) Len() int { return len(b.ops) }

// Size is the number of key and value bytes in the batch.
func (b *Batch) Size() int { return b.bytes }

// Each calls fn for every change in order: set (value non-nil, possibly
// empty), delete (value nil, to nil), or delete range [key, to).
func (b *Batch) Each(fn func(kind byte, key, value []byte) error) error {
	for _, o := range b.ops {
		var k byte
		switch o.kind {
		case opSet:
			k = 's'
		case opDelete:
			k = 'd'
		case opDeleteRange:
			k = 'r'
		}
		if err := fn(k, o.key, o.value); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) reset() {
	clear(b.ops)
	b.ops = b.ops[:0]
	b.bytes = 0
}
