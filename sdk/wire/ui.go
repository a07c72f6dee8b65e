package wire

import "time"

// Call timings of SPEC.md §4 that a client shows (the time left to ring).
const (
	// InviteExpiry is how long an invite without _timeout rings before it
	// expires (the server's --invite-expiry default).
	InviteExpiry = 60 * time.Second
	// MaxInviteTimeout is the largest _timeout an invite's extra may ask for.
	MaxInviteTimeout = 30 * time.Second
)
