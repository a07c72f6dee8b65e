package sdk

// The call system (invites, DTMF, phone gateway) is not implemented yet:
// these methods validate their arguments and the session like every other
// method, then report onError(method, 1001, "not implemented yet") and,
// where the operation has an outcome callback, onInviteFailed(…, 700).
// The call-system work replaces this file.

import (
	"strings"

	"github.com/xinling/xinling/sdk/wire"
)

// notImplemented reports r after validation and the session check.
func (e *engine) notImplemented(r *request, errs ...*wire.Error) {
	if e.invalid(r, errs...) || !e.loggedIn(r) {
		return
	}
	e.fail(r, failLocal, wire.GeneralFailed, "not implemented yet")
}

func inviteReq(method, ch, account string) *request {
	return &request{kind: kInvite, method: method, ch: ch, account: account}
}

func plainReq(method, ch, account string) *request {
	return &request{kind: kPlain, method: method, ch: ch, account: account}
}

// checkDTMF accepts the digits 0-9, * and #.
func checkDTMF(s string) *wire.Error {
	if s == "" {
		return wire.Errf(wire.GeneralWrongParam, "dtmf is empty")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789*#", r) }); i >= 0 {
		return wire.Errf(wire.GeneralWrongParam, "dtmf has %q at byte %d; only 0-9, * and # are allowed", s[i], i)
	}
	return nil
}

// ChannelInviteUser invites account to channelID: ChannelInviteUser2 with
// extra "".
func (c *Client) ChannelInviteUser(channelID, account string, uid uint32) {
	c.do(func(e *engine) {
		e.notImplemented(inviteReq("ChannelInviteUser", channelID, account),
			wire.CheckName("channel", channelID), wire.CheckName("account", account))
	})
}

// ChannelInviteUser2 invites account to channelID with a JSON extra.
func (c *Client) ChannelInviteUser2(channelID, account, extra string) {
	c.do(func(e *engine) {
		e.notImplemented(inviteReq("ChannelInviteUser2", channelID, account),
			wire.CheckName("channel", channelID), wire.CheckName("account", account), wire.CheckExtra(extra))
	})
}

// ChannelInviteDTMF sends DTMF digits to the peer of a call.
func (c *Client) ChannelInviteDTMF(channelID, phoneNum, dtmf string) {
	c.do(func(e *engine) {
		e.notImplemented(plainReq("ChannelInviteDTMF", channelID, phoneNum),
			wire.CheckName("channel", channelID), wire.CheckName("phone number", phoneNum), checkDTMF(dtmf))
	})
}

// ChannelInviteAccept accepts an invite.
func (c *Client) ChannelInviteAccept(channelID, account string, uid uint32, extra string) {
	c.do(func(e *engine) {
		e.notImplemented(plainReq("ChannelInviteAccept", channelID, account),
			wire.CheckName("channel", channelID), wire.CheckName("account", account), wire.CheckExtra(extra))
	})
}

// ChannelInviteRefuse refuses an invite.
func (c *Client) ChannelInviteRefuse(channelID, account string, uid uint32, extra string) {
	c.do(func(e *engine) {
		e.notImplemented(plainReq("ChannelInviteRefuse", channelID, account),
			wire.CheckName("channel", channelID), wire.CheckName("account", account), wire.CheckExtra(extra))
	})
}

// ChannelInviteEnd ends an invite or call.
func (c *Client) ChannelInviteEnd(channelID, account string, uid uint32) {
	c.do(func(e *engine) {
		e.notImplemented(plainReq("ChannelInviteEnd", channelID, account),
			wire.CheckName("channel", channelID), wire.CheckName("account", account))
	})
}

// MessageDTMFSend is deprecated in the seed.
func (c *Client) MessageDTMFSend(uid uint32, msg, msgID string) {
	c.do(func(e *engine) {
		e.notImplemented(plainReq("MessageDTMFSend", "", ""), checkDTMF(msg), checkMID(msgID))
	})
}

// ChannelInvitePhone invites a phone number (deprecated in the seed).
func (c *Client) ChannelInvitePhone(channelID, phoneNum string, uid uint32) {
	c.do(func(e *engine) {
		e.notImplemented(inviteReq("ChannelInvitePhone", channelID, phoneNum),
			wire.CheckName("channel", channelID), wire.CheckName("phone number", phoneNum))
	})
}

// ChannelInvitePhone2 invites a phone number showing sourcesNum.
func (c *Client) ChannelInvitePhone2(channelID, phoneNum, sourcesNum string) {
	c.do(func(e *engine) {
		e.notImplemented(inviteReq("ChannelInvitePhone2", channelID, phoneNum),
			wire.CheckName("channel", channelID), wire.CheckName("phone number", phoneNum),
			checkOptionalName("source number", sourcesNum))
	})
}

// ChannelInvitePhone3 invites a phone number showing sourcesNum, with extra.
func (c *Client) ChannelInvitePhone3(channelID, phoneNum, sourcesNum, extra string) {
	c.do(func(e *engine) {
		e.notImplemented(inviteReq("ChannelInvitePhone3", channelID, phoneNum),
			wire.CheckName("channel", channelID), wire.CheckName("phone number", phoneNum),
			checkOptionalName("source number", sourcesNum), wire.CheckExtra(extra))
	})
}

func checkOptionalName(what, s string) *wire.Error {
	if s == "" {
		return nil
	}
	return wire.CheckName(what, s)
}
