// Package gateway is the boundary between the call system and the phone
// network: the server hands a phone invite to a Gateway, which places the
// call and reports what the far end does. server/sipgw is the SIP one.
package gateway

import "context"

// Call is one outgoing phone call.
type Call struct {
	App     string
	Channel string // the invite's channel
	Caller  string // the inviting account
	Number  string // the phone number to call
	Source  string // the number to show the callee (sourcesNum / srcNum); may be ""
	Extra   string // the invite's JSON extra ("" or an object)
}

// Events reports the far end of a call. A gateway calls them from any
// goroutine, in the order they happen; after Rejected, Failed or Hangup it
// calls nothing more for that call.
type Events interface {
	Ringing()                         // the far end is alerting (SIP 180/183)
	Answered(extra string)            // it answered (SIP 200 to the INVITE)
	Rejected(code int, reason string) // it refused (SIP 4xx/5xx/6xx after reaching it)
	Failed(reason string)             // the call could not be placed or was lost
	Hangup()                          // it ended an answered call (SIP BYE)
}

// Leg controls a placed call.
type Leg interface {
	// SendDTMF sends digits (0-9 * #) on an answered call (SIP INFO).
	SendDTMF(digits string) error
	// Hangup ends the call from our side: a cancel before the answer, a bye
	// after. No event follows it.
	Hangup() error
}

// Gateway places phone calls.
type Gateway interface {
	// Dial starts a call and returns at once; progress arrives on ev, never
	// before Dial has returned (the server holds a lock across the call).
	Dial(ctx context.Context, c Call, ev Events) (Leg, error)
	// Close ends every call and releases the gateway.
	Close() error
}
