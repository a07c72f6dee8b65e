package wire

// The call system. A call is keyed by (app, channel, caller, callee); its
// outcome reaches both sides as user-stream pushes.
const (
	OpInvite       = "inv.invite" // InviteReq → {}; an error answer is the invite's failure
	OpInviteAck    = "inv.ack"    // InviteRef → {}; sent by the callee's SDK itself on inv.recv
	OpInviteAccept = "inv.accept" // InviteReply → {}
	OpInviteRefuse = "inv.refuse" // InviteReply → {}
	OpInviteEnd    = "inv.end"    // InviteRef → {}; the ender's SDK reports onInviteEndByMyself on success
	OpInviteDTMF   = "inv.dtmf"   // InviteDTMF → {}
)

// Call pushes, all on the user stream, all with an InviteEvent.
const (
	PushInviteRecv      = "inv.recv"      // callee: onInviteReceived(ch, peer=caller, 0, extra)
	PushInviteDelivered = "inv.delivered" // caller: onInviteReceivedByPeer(ch, peer=callee, 0)
	PushInviteAccepted  = "inv.accepted"  // caller: onInviteAcceptedByPeer(ch, peer, 0, extra)
	PushInviteRefused   = "inv.refused"   // caller: onInviteRefusedByPeer(ch, peer, 0, extra)
	PushInviteFailed    = "inv.failed"    // caller: onInviteFailed(ch, peer, 0, code, extra)
	PushInviteEnded     = "inv.ended"     // either: onInviteEndByPeer(ch, peer, 0, extra)
	PushInviteMsg       = "inv.msg"       // either: onInviteMsg(ch, peer, 0, type, data, extra)
)

// InviteReq starts a call to an account, or with Phone to a phone number
// through the server's gateway (Source: the number to show).
type InviteReq struct {
	Channel string `json:"ch"`
	To      string `json:"to"`
	Extra   string `json:"extra,omitempty"`
	Phone   bool   `json:"phone,omitempty"`
	Source  string `json:"source,omitempty"`
}

// InviteRef names a call by channel and the other party.
type InviteRef struct {
	Channel string `json:"ch"`
	Peer    string `json:"peer"`
}

// InviteReply accepts or refuses a call from Peer.
type InviteReply struct {
	Channel string `json:"ch"`
	Peer    string `json:"peer"`
	Extra   string `json:"extra,omitempty"`
}

// InviteDTMF sends digits to the other party of a call. Peer "" means the
// sender's only answered call (the deprecated MessageDTMFSend).
type InviteDTMF struct {
	Channel string `json:"ch,omitempty"`
	Peer    string `json:"peer,omitempty"`
	Digits  string `json:"digits"`
}

// InviteEvent is the payload of every call push.
type InviteEvent struct {
	Channel string `json:"ch"`
	Peer    string `json:"peer"`
	Extra   string `json:"extra,omitempty"`
	Code    Code   `json:"code,omitempty"` // inv.failed
	Type    string `json:"type,omitempty"` // inv.msg
	Data    string `json:"data,omitempty"` // inv.msg
}

// CheckDTMF accepts 1–128 of the digits 0-9, * and #.
func CheckDTMF(s string) *Error {
	if s == "" {
		return Errf(GeneralWrongParam, "dtmf is empty")
	}
	if len(s) > MaxNameBytes {
		return Errf(GeneralLargeParam, "dtmf is %d digits, the limit is %d", len(s), MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return Errf(GeneralWrongParam, "dtmf has %q at %d; only 0-9, * and # are allowed", c, i)
		}
	}
	return nil
}
