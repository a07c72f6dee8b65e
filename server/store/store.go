// Package store keeps the server's durable state: user and channel
// attributes, channel lifetimes, and the offline queue of peer messages.
//
// It is the storage side of the engine boundary, in two layers:
//
//   - the rules (kv.go and the files it names: queue.go, dedupe.go,
//     attrs.go, commit.go): the queue's cap, expiry and order, message-id
//     deduplication across sessions and restarts, channel expiry, and the
//     group commit that turns many writers' changes into one durable batch;
//   - a Backend (backend.go) that only gets, scans and applies batches of
//     sets and deletes: in memory (Memory), on disk with pebble (Open), or,
//     for a cluster, in JetStream (NATS).
package store

import (
	"errors"
	"time"
)

// ErrQueueFull is reported by Enqueue when the account's queue is at its cap.
var ErrQueueFull = errors.New("store: offline queue full")

// ErrDuplicate is reported by Enqueue for a message whose sender already
// had a message with the same id accepted (in this process or, within the
// dedupe window, before a restart): it was not queued again.
var ErrDuplicate = errors.New("store: duplicate message id")

// ErrClosed is returned by every operation after Close.
var ErrClosed = errors.New("store: closed")

// Queued is a peer message waiting for its recipient.
type Queued struct {
	Key  uint64 // position in the account's queue, assigned by Enqueue; increases with time
	From string // sender account
	Msg  string
	MID  string
	TS   int64 // ms since the epoch, when the server accepted it
}

// QueueLimits are the offline queue's rules, given with each Enqueue.
type QueueLimits struct {
	Max int           // messages per account; 0: no cap
	TTL time.Duration // a message older than this is dropped; 0: kept until delivered
}

// Store is every durable operation the server needs. All methods are safe
// for concurrent use. Keys are scoped by app: nothing of one app is visible
// to another.
//
// Attribute and expiry writes return once they are durable. Enqueue and
// Dequeue do not wait: Enqueue reports through done, Dequeue not at all.
// Writes are made durable in the order they were made, many at a time.
type Store interface {
	// ID names this store's data. Queue keys mean something only within
	// one ID: a client's cursor from another store is ignored.
	ID() string

	// UserAttrs returns all attributes of an account (empty map when none).
	UserAttrs(app, account string) (map[string]string, error)
	// UserAttr returns one attribute, "" when unset.
	UserAttr(app, account, name string) (string, error)
	// UserAttrCount returns how many attributes the account has.
	UserAttrCount(app, account string) (int, error)
	// SetUserAttr sets an attribute; value "" deletes it.
	SetUserAttr(app, account, name, value string) error

	// ChannelAttrs returns all attributes of a channel (empty map when none).
	ChannelAttrs(app, channel string) (map[string]string, error)
	// SetChannelAttr sets an attribute; value "" is stored as "" (channels
	// delete with DelChannelAttr).
	SetChannelAttr(app, channel, name, value string) error
	// DelChannelAttr deletes an attribute and reports whether it existed.
	DelChannelAttr(app, channel, name string) (bool, error)
	// ClearChannelAttrs deletes every attribute of the channel.
	ClearChannelAttrs(app, channel string) error

	// SetChannelExpiry records when an empty channel's attributes are to be
	// destroyed; the zero time clears it (the channel has members again).
	SetChannelExpiry(app, channel string, at time.Time) error
	// ExpireChannels destroys the attributes of every channel whose expiry is
	// at or before now and returns their (app, channel) pairs, sorted.
	ExpireChannels(now time.Time) ([][2]string, error)
	// UnexpiringChannels lists the channels that have attributes and no
	// expiry: after a crash, those that had members then (a clean shutdown
	// gives every channel its expiry).
	UnexpiringChannels() ([][2]string, error)

	// Enqueue appends m to the account's offline queue, dropping messages
	// older than lim.TTL first, and calls done once the message is durable,
	// with its key; or with ErrQueueFull, ErrDuplicate (an earlier message
	// of m.From had m.MID: not queued again), or a write error. Every done,
	// and every Then, runs in the order of the calls, after the writes made
	// before it are durable. done may run on the caller's goroutine before
	// Enqueue returns, so it must not need a lock the caller holds.
	Enqueue(app, account string, m Queued, lim QueueLimits, done func(key uint64, err error))
	// Then calls fn once every write made so far is durable, in order with
	// Enqueue's done.
	Then(fn func(err error))
	// Queue returns the account's queued messages that are durable, in
	// order, skipping any older than ttl.
	Queue(app, account string, ttl time.Duration) ([]Queued, error)
	// Dequeue deletes queued messages with key ≤ upTo. It does not wait;
	// Close makes it durable.
	Dequeue(app, account string, upTo uint64)

	// Close makes every write durable, then releases the store.
	Close() error
}
