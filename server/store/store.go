// Package store keeps the server's durable state: user and channel
// attributes, channel lifetimes, and the offline queue of peer messages.
// It is the storage side of the engine boundary; Open picks bbolt under a
// data directory, Memory keeps everything in the process, NATS keeps it in
// JetStream streams that several clustered nodes can share.
package store

import (
	"errors"
	"time"
)

// ErrQueueFull is returned by Enqueue when the account's queue is at its cap.
var ErrQueueFull = errors.New("store: offline queue full")

// Queued is a peer message waiting for its recipient.
type Queued struct {
	Key  uint64 `json:"-"`    // position in the account's queue, assigned by Enqueue
	From string `json:"from"` // sender account
	Msg  string `json:"msg"`
	MID  string `json:"mid"`
	TS   int64  `json:"ts"` // ms since the epoch, when the server accepted it
}

// Store is every durable operation the server needs. All methods are safe for
// concurrent use. Keys are scoped by app: nothing of one app is visible to another.
type Store interface {
	// UserAttrs returns all attributes of an account (empty map when none).
	UserAttrs(app, account string) (map[string]string, error)
	// UserAttr returns one attribute, "" when unset.
	UserAttr(app, account, name string) (string, error)
	// UserAttrCount returns how many attributes the account has, without
	// reading them (the server checks the per-account cap on every new one).
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
	// at or before now and returns their (app, channel) pairs.
	ExpireChannels(now time.Time) ([][2]string, error)

	// Enqueue appends a message to the account's offline queue, dropping
	// messages older than ttl first; with max messages already queued it
	// returns ErrQueueFull. It returns the message's key.
	Enqueue(app, account string, m Queued, max int, ttl time.Duration) (uint64, error)
	// Queue returns the account's queued messages in order, skipping any
	// older than ttl.
	Queue(app, account string, ttl time.Duration) ([]Queued, error)
	// Dequeue deletes queued messages with key ≤ upTo.
	Dequeue(app, account string, upTo uint64) error

	Close() error
}
