// Package sdk is the xinling client library: a Go re-creation of the Agora
// Signaling SDK v1.4.0 API (SPEC.md §2) speaking the xinling wire protocol
// (package wire) to a xinling server.
//
// Every method of an instance is safe for concurrent use and returns at
// once; the work happens on the instance's own goroutines. Results arrive
// as calls on the instance's Callback, one at a time, in order, on a
// goroutine dedicated to that instance. A callback may call any method.
package sdk

import "github.com/xinling/xinling/sdk/wire"

// API is the seed's method set (createAgoraSDKInstanceWin's IAgoraAPI),
// with the explicit size arguments dropped. *Client implements it.
type API interface {
	Destroy()
	CallbackSet(cb Callback)
	CallbackGet() Callback
	Login(appID, account, token string, uid uint32, deviceID string)
	Login2(appID, account, token string, uid uint32, deviceID string, retryTimeInS, retryCount int)
	Logout()
	Invoke(name, req, callID string)
	QueryUserStatus(account string)
	SetAttr(name, value string)
	GetAttr(name string)
	GetAttrAll()
	GetUserAttr(account, name string)
	GetUserAttrAll(account string)
	MessageInstantSend(account string, uid uint32, msg, msgID string)
	ChannelJoin(channelID string)
	ChannelLeave(channelID string)
	ChannelQueryUserNum(channelID string)
	ChannelSetAttr(channelID, name, value string)
	ChannelDelAttr(channelID, name string)
	ChannelClearAttr(channelID string)
	MessageChannelSend(channelID, msg, msgID string)
	MessageChannelSendForce(channelID, msg, msgID string)
	ChannelInviteUser(channelID, account string, uid uint32)
	ChannelInviteUser2(channelID, account, extra string)
	ChannelInviteDTMF(channelID, phoneNum, dtmf string)
	ChannelInviteAccept(channelID, account string, uid uint32, extra string)
	ChannelInviteRefuse(channelID, account string, uid uint32, extra string)
	ChannelInviteEnd(channelID, account string, uid uint32)
	GetStatus() int
	GetSdkVersion() int
	// Deprecated in the seed, still implemented.
	MessageDTMFSend(uid uint32, msg, msgID string)
	ChannelInvitePhone(channelID, phoneNum string, uid uint32)
	ChannelInvitePhone2(channelID, phoneNum, sourcesNum string)
	ChannelInvitePhone3(channelID, phoneNum, sourcesNum, extra string)
	IsOnline() bool
}

// Callback receives an instance's events (the seed's ICallBack). Embed
// BaseCallback to implement only the methods you need.
type Callback interface {
	OnReconnecting(nretry uint32)
	OnReconnected(fd int)
	OnLoginSuccess(uid uint32, fd int)
	OnLogout(ecode int)
	OnLoginFailed(ecode int)
	OnError(name string, ecode int, desc string)
	OnLog(txt string)
	OnInvokeRet(callID, err, resp string)
	OnQueryUserStatusResult(name, status string)
	OnUserAttrResult(account, name, value string)
	OnUserAttrAllResult(account, value string)
	OnMessageSendError(messageID string, ecode int)
	OnMessageSendSuccess(messageID string)
	OnMessageInstantReceive(account string, uid uint32, msg string)
	OnMessageChannelReceive(channelID, account string, uid uint32, msg string)
	OnChannelJoined(channelID string)
	OnChannelJoinFailed(channelID string, ecode int)
	OnChannelLeaved(channelID string, ecode int)
	OnChannelUserJoined(account string, uid uint32)
	OnChannelUserLeaved(account string, uid uint32)
	OnChannelUserList(accounts []string, uids []uint32)
	OnChannelQueryUserNumResult(channelID string, ecode, num int)
	OnChannelAttrUpdated(channelID, name, value, typ string)
	OnInviteReceived(channelID, account string, uid uint32, extra string)
	OnInviteReceivedByPeer(channelID, account string, uid uint32)
	OnInviteAcceptedByPeer(channelID, account string, uid uint32, extra string)
	OnInviteRefusedByPeer(channelID, account string, uid uint32, extra string)
	OnInviteFailed(channelID, account string, uid uint32, ecode int, extra string)
	OnInviteEndByPeer(channelID, account string, uid uint32, extra string)
	OnInviteEndByMyself(channelID, account string, uid uint32)
	OnInviteMsg(channelID, account string, uid uint32, msgType, msgData, extra string)
}

// BaseCallback implements every Callback method as a no-op, for embedding.
type BaseCallback struct{}

// AttrAuthorCallback is an optional extension of Callback, beyond the seed:
// when the callback set also implements it, each channel attribute change
// pushed by the server is followed, right after its onChannelAttrUpdated,
// by the account that made it ("" for the server's own, such as
// _member_num). Attribute snapshots on join carry no author.
type AttrAuthorCallback interface {
	OnChannelAttrChangedBy(channelID, name, typ, by string)
}

var _ Callback = BaseCallback{}

func (BaseCallback) OnReconnecting(nretry uint32)                                   {}
func (BaseCallback) OnReconnected(fd int)                                           {}
func (BaseCallback) OnLoginSuccess(uid uint32, fd int)                              {}
func (BaseCallback) OnLogout(ecode int)                                             {}
func (BaseCallback) OnLoginFailed(ecode int)                                        {}
func (BaseCallback) OnError(name string, ecode int, desc string)                    {}
func (BaseCallback) OnLog(txt string)                                               {}
func (BaseCallback) OnInvokeRet(callID, err, resp string)                           {}
func (BaseCallback) OnQueryUserStatusResult(name, status string)                    {}
func (BaseCallback) OnUserAttrResult(account, name, value string)                   {}
func (BaseCallback) OnUserAttrAllResult(account, value string)                      {}
func (BaseCallback) OnMessageSendError(messageID string, ecode int)                 {}
func (BaseCallback) OnMessageSendSuccess(messageID string)                          {}
func (BaseCallback) OnMessageInstantReceive(account string, uid uint32, msg string) {}
func (BaseCallback) OnMessageChannelReceive(channelID, account string, uid uint32, msg string) {
}
func (BaseCallback) OnChannelJoined(channelID string)                             {}
func (BaseCallback) OnChannelJoinFailed(channelID string, ecode int)              {}
func (BaseCallback) OnChannelLeaved(channelID string, ecode int)                  {}
func (BaseCallback) OnChannelUserJoined(account string, uid uint32)               {}
func (BaseCallback) OnChannelUserLeaved(account string, uid uint32)               {}
func (BaseCallback) OnChannelUserList(accounts []string, uids []uint32)           {}
func (BaseCallback) OnChannelQueryUserNumResult(channelID string, ecode, num int) {}
func (BaseCallback) OnChannelAttrUpdated(channelID, name, value, typ string)      {}
func (BaseCallback) OnInviteReceived(channelID, account string, uid uint32, extra string) {
}
func (BaseCallback) OnInviteReceivedByPeer(channelID, account string, uid uint32) {}
func (BaseCallback) OnInviteAcceptedByPeer(channelID, account string, uid uint32, extra string) {
}
func (BaseCallback) OnInviteRefusedByPeer(channelID, account string, uid uint32, extra string) {
}
func (BaseCallback) OnInviteFailed(channelID, account string, uid uint32, ecode int, extra string) {
}
func (BaseCallback) OnInviteEndByPeer(channelID, account string, uid uint32, extra string) {
}
func (BaseCallback) OnInviteEndByMyself(channelID, account string, uid uint32) {}
func (BaseCallback) OnInviteMsg(channelID, account string, uid uint32, msgType, msgData, extra string) {
}

// Code is an Agora Signaling code (SPEC.md §3); String returns the seed's
// name, e.g. LogoutKicked.String() == "LOGOUT_E_KICKED".
type Code = wire.Code

// onLogout codes.
const (
	LogoutOther        = wire.LogoutOther
	LogoutUser         = wire.LogoutUser
	LogoutNet          = wire.LogoutNet
	LogoutKicked       = wire.LogoutKicked
	LogoutPacket       = wire.LogoutPacket
	LogoutTokenExpired = wire.LogoutTokenExpired
	LogoutOldVersion   = wire.LogoutOldVersion
	LogoutTokenWrong   = wire.LogoutTokenWrong
	LogoutAlready      = wire.LogoutAlready
)

// onLoginFailed codes.
const (
	LoginOther        = wire.LoginOther
	LoginNet          = wire.LoginNet
	LoginFailed       = wire.LoginFailed
	LoginCancel       = wire.LoginCancel
	LoginTokenExpired = wire.LoginTokenExpired
	LoginOldVersion   = wire.LoginOldVersion
	LoginTokenWrong   = wire.LoginTokenWrong
	LoginTokenKicked  = wire.LoginTokenKicked
	LoginAlready      = wire.LoginAlready
	LoginInvalidUser  = wire.LoginInvalidUser
)

// onChannelJoinFailed, onMessageSendError, onChannelQueryUserNumResult,
// onChannelLeaved and onInviteFailed codes.
const (
	JoinChannelOther = wire.JoinChannelOther

	SendMessageOther   = wire.SendMessageOther
	SendMessageTimeout = wire.SendMessageTimeout

	QueryUserNumOther   = wire.QueryUserNumOther
	QueryUserNumTimeout = wire.QueryUserNumTimeout
	QueryUserNumByUser  = wire.QueryUserNumByUser

	LeaveChannelOther   = wire.LeaveChannelOther
	LeaveChannelKicked  = wire.LeaveChannelKicked
	LeaveChannelByUser  = wire.LeaveChannelByUser
	LeaveChannelLogout  = wire.LeaveChannelLogout
	LeaveChannelDisconn = wire.LeaveChannelDisconn

	InviteOther       = wire.InviteOther
	InviteReinvite    = wire.InviteReinvite
	InviteNet         = wire.InviteNet
	InvitePeerOffline = wire.InvitePeerOffline
	InviteTimeout     = wire.InviteTimeout
	InviteCantRecv    = wire.InviteCantRecv
)

// onError codes.
const (
	General           = wire.General
	GeneralFailed     = wire.GeneralFailed
	GeneralUnknown    = wire.GeneralUnknown
	GeneralNotLogin   = wire.GeneralNotLogin
	GeneralWrongParam = wire.GeneralWrongParam
	GeneralLargeParam = wire.GeneralLargeParam
)

// GetStatus values.
const (
	StatusLoggedOut    = 0
	StatusLoggingIn    = 1
	StatusLoggedIn     = 2
	StatusReconnecting = 3
)
