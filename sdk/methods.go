package sdk

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// maxInvokeReq bounds Invoke's JSON argument; the frame around it must stay
// under wire.MaxFrameBytes.
const maxInvokeReq = wire.MaxFrameBytes / 2

// do runs fn on the engine goroutine; a no-op once destroyed.
func (c *Client) do(fn func(e *engine)) {
	if c.destroyed.Load() {
		return
	}
	c.post(func() { fn(c.eng) })
}

// mid returns msgID, or a new unique one when it is "".
func (e *engine) mid(msgID string) string {
	if msgID != "" {
		return msgID
	}
	e.midSeq++
	return e.midPrefix + "-" + strconv.FormatUint(e.midSeq, 10)
}

// Login logs in: Login2 with retryTimeInS 30 and retryCount 3. uid is
// unused (the seed: "always 0").
func (c *Client) Login(appID, account, token string, uid uint32, deviceID string) {
	c.Login2(appID, account, token, uid, deviceID, 30, 3)
}

// maxRetryTimeS caps Login2's retryTimeInS (ten years: "for ever"), which
// in nanoseconds would overflow past 292 years and fail the login at once.
const maxRetryTimeS = 10 * 365 * 24 * 3600

// Login2 logs in, retrying an unreachable server until retryTimeInS
// seconds have passed (<= 0: 30) or retryCount attempts have failed
// (<= 0: 1), whichever comes first → onLoginFailed(201). The server's
// refusals are final at once. Success → onLoginSuccess(0, fd). While logged
// in or logging in it only reports onLoginFailed(208). An empty appID means
// the instance's.
func (c *Client) Login2(appID, account, token string, uid uint32, deviceID string, retryTimeInS, retryCount int) {
	if c.destroyed.Load() {
		return
	}
	if appID == "" {
		appID = c.appID
	}
	retryTime := time.Duration(min(retryTimeInS, maxRetryTimeS)) * time.Second
	if retryTimeInS <= 0 {
		retryTime = 30 * time.Second
	}
	cr := creds{app: appID, account: account, token: token, device: deviceID}
	badAccount := wire.CheckName("account", account)

	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.destroyed.Load(): // Destroy sets it before taking mu
	case c.status.Load() != StatusLoggedOut:
		c.post(c.eng.loginBusy)
	case badAccount != nil:
		c.post(func() { c.eng.loginInvalid(badAccount.Msg) })
	default:
		c.epoch++
		epoch := c.epoch
		c.status.Store(StatusLoggingIn)
		c.post(func() { c.eng.login(epoch, cr, retryTime, retryCount) })
	}
}

// Logout ends the session: onLogout(101) (after onChannelLeaved(ch, 603)
// when in a channel); while logging in it cancels the login
// (onLoginFailed(203)); while logged out it reports onLogout(108).
func (c *Client) Logout() {
	if c.destroyed.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroyed.Load() {
		return
	}
	prev := c.status.Load()
	c.epoch++
	c.status.Store(StatusLoggedOut)
	c.post(func() { c.eng.logout(prev) })
}

// Invoke calls the server RPC name with the JSON argument req ("" means
// {}) → onInvokeRet(callID, err, resp).
func (c *Client) Invoke(name, req, callID string) {
	c.do(func(e *engine) {
		r := &request{kind: kInvoke, method: "Invoke", op: wire.OpInvoke, callID: callID}
		if req == "" {
			req = "{}"
		}
		var bad *wire.Error
		switch {
		case len(req) > maxInvokeReq:
			bad = wire.Errf(wire.GeneralLargeParam, "req is %d bytes, the limit is %d", len(req), maxInvokeReq)
		case !json.Valid([]byte(req)):
			bad = wire.Errf(wire.GeneralWrongParam, "req is not valid JSON")
		}
		if e.invalid(r, wire.CheckName("name", name), bad) {
			return
		}
		r.d = wire.InvokeReq{Name: name, Req: json.RawMessage(req)}
		e.submit(r)
	})
}

// QueryUserStatus → onQueryUserStatusResult(account, "1" online | "0").
func (c *Client) QueryUserStatus(account string) {
	c.do(func(e *engine) {
		r := &request{kind: kStatus, method: "QueryUserStatus", op: wire.OpUserStatus, account: account}
		if e.invalid(r, wire.CheckName("account", account)) {
			return
		}
		r.d = wire.UserAttrReq{Account: account}
		e.submit(r)
	})
}

// SetAttr sets one of the user's own attributes; value "" deletes it.
func (c *Client) SetAttr(name, value string) {
	c.do(func(e *engine) {
		r := &request{kind: kPlain, method: "SetAttr", op: wire.OpUserSetAttr, name: name}
		if e.invalid(r, wire.CheckName("attribute name", name),
			wire.CheckText("attribute value", value, wire.MaxValueBytes)) {
			return
		}
		r.d = wire.UserAttrReq{Name: name, Value: value}
		e.submit(r)
	})
}

// GetAttr → onUserAttrResult(own account, name, value).
func (c *Client) GetAttr(name string) {
	c.do(func(e *engine) { e.getUserAttr("GetAttr", e.cred.account, name, false) })
}

// GetAttrAll → onUserAttrAllResult(own account, JSON object of all).
func (c *Client) GetAttrAll() {
	c.do(func(e *engine) { e.getUserAttrAll("GetAttrAll", e.cred.account, false) })
}

// GetUserAttr → onUserAttrResult(account, name, value).
func (c *Client) GetUserAttr(account, name string) {
	c.do(func(e *engine) { e.getUserAttr("GetUserAttr", account, name, true) })
}

// GetUserAttrAll → onUserAttrAllResult(account, JSON object of all).
func (c *Client) GetUserAttrAll(account string) {
	c.do(func(e *engine) { e.getUserAttrAll("GetUserAttrAll", account, true) })
}

func (e *engine) getUserAttr(method, account, name string, checkAccount bool) {
	r := &request{kind: kGetAttr, method: method, op: wire.OpUserGetAttr, account: account, name: name}
	var bad *wire.Error
	if checkAccount {
		bad = wire.CheckName("account", account)
	}
	if e.invalid(r, bad, wire.CheckName("attribute name", name)) {
		return
	}
	r.d = wire.UserAttrReq{Account: account, Name: name}
	e.submit(r)
}

func (e *engine) getUserAttrAll(method, account string, checkAccount bool) {
	r := &request{kind: kGetAttrAll, method: method, op: wire.OpUserGetAttrAll, account: account}
	if checkAccount && e.invalid(r, wire.CheckName("account", account)) {
		return
	}
	r.d = wire.UserAttrReq{Account: account}
	e.submit(r)
}

// MessageInstantSend sends msg to account → onMessageSendSuccess(msgID)
// once the server stored it, or onMessageSendError(msgID, code). msgID ""
// → the SDK makes a unique one. uid is unused.
func (c *Client) MessageInstantSend(account string, uid uint32, msg, msgID string) {
	c.do(func(e *engine) {
		r := &request{kind: kSend, method: "MessageInstantSend", op: wire.OpPeerSend, mid: e.mid(msgID)}
		if e.invalid(r, wire.CheckName("account", account),
			wire.CheckText("message", msg, wire.MaxMessageBytes), checkMID(r.mid)) {
			return
		}
		r.d = wire.PeerSendReq{To: account, Msg: msg, MID: r.mid}
		e.submit(r)
	})
}

// checkMID bounds a caller's message ID like a name (the server keeps it
// to deduplicate), without the character rule.
func checkMID(mid string) *wire.Error {
	return wire.CheckText("message id", mid, wire.MaxNameBytes)
}

// ChannelJoin joins channelID, leaving the current channel first (one
// channel at a time) → onChannelJoined, onChannelUserList, one
// onChannelAttrUpdated per attribute; or onChannelJoinFailed.
func (c *Client) ChannelJoin(channelID string) {
	c.channelOp(kJoin, "ChannelJoin", wire.OpChannelJoin, channelID)
}

// ChannelLeave leaves channelID → onChannelLeaved(channelID, 602).
func (c *Client) ChannelLeave(channelID string) {
	c.channelOp(kLeave, "ChannelLeave", wire.OpChannelLeave, channelID)
}

// ChannelQueryUserNum → onChannelQueryUserNumResult(channelID, 0, n).
func (c *Client) ChannelQueryUserNum(channelID string) {
	c.channelOp(kCount, "ChannelQueryUserNum", wire.OpChannelCount, channelID)
}

// ChannelSetAttr sets a channel attribute; members get
// onChannelAttrUpdated(…, "update").
func (c *Client) ChannelSetAttr(channelID, name, value string) {
	c.do(func(e *engine) {
		r := &request{kind: kPlain, method: "ChannelSetAttr", op: wire.OpChannelSetAttr, ch: channelID, name: name}
		if e.invalid(r, wire.CheckName("channel", channelID), wire.CheckName("attribute name", name),
			wire.CheckText("attribute value", value, wire.MaxValueBytes)) {
			return
		}
		r.d = wire.ChannelAttrReq{Channel: channelID, Name: name, Value: value}
		e.submit(r)
	})
}

// ChannelDelAttr deletes a channel attribute; members get
// onChannelAttrUpdated(…, "del").
func (c *Client) ChannelDelAttr(channelID, name string) {
	c.do(func(e *engine) {
		r := &request{kind: kPlain, method: "ChannelDelAttr", op: wire.OpChannelDelAttr, ch: channelID, name: name}
		if e.invalid(r, wire.CheckName("channel", channelID), wire.CheckName("attribute name", name)) {
			return
		}
		r.d = wire.ChannelAttrReq{Channel: channelID, Name: name}
		e.submit(r)
	})
}

// ChannelClearAttr deletes every attribute of a channel; members get
// onChannelAttrUpdated(ch, "", "", "clear").
func (c *Client) ChannelClearAttr(channelID string) {
	c.channelOp(kPlain, "ChannelClearAttr", wire.OpChannelClear, channelID)
}

// channelOp submits a request that names only a channel.
func (c *Client) channelOp(kind reqKind, method, op, ch string) {
	c.do(func(e *engine) {
		r := &request{kind: kind, method: method, op: op, ch: ch}
		if e.invalid(r, wire.CheckName("channel", ch)) {
			return
		}
		r.d = wire.ChannelReq{Channel: ch}
		e.submit(r)
	})
}

// MessageChannelSend sends msg to the members of channelID, the sender
// included; the sender must be a member.
func (c *Client) MessageChannelSend(channelID, msg, msgID string) {
	c.do(func(e *engine) { e.channelSend("MessageChannelSend", channelID, msg, msgID, false) })
}

// MessageChannelSendForce is MessageChannelSend without the membership
// requirement.
func (c *Client) MessageChannelSendForce(channelID, msg, msgID string) {
	c.do(func(e *engine) { e.channelSend("MessageChannelSendForce", channelID, msg, msgID, true) })
}

func (e *engine) channelSend(method, ch, msg, msgID string, force bool) {
	r := &request{kind: kSend, method: method, op: wire.OpChannelSend, ch: ch, mid: e.mid(msgID)}
	if e.invalid(r, wire.CheckName("channel", ch),
		wire.CheckText("message", msg, wire.MaxMessageBytes), checkMID(r.mid)) {
		return
	}
	r.d = wire.ChannelSendReq{Channel: ch, Msg: msg, MID: r.mid, Force: force}
	e.submit(r)
}

// String describes the instance for logs.
func (c *Client) String() string {
	return fmt.Sprintf("sdk.Client(%s, status %d)", c.url, c.GetStatus())
}
