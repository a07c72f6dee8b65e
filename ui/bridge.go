package ui

import "github.com/xinling/xinling/sdk"

// Bridge is the SDK Callback (and AttrAuthorCallback) of the client: each
// callback becomes an Event in the queue, so the SDK's callback goroutine
// never waits for the UI.
type Bridge struct {
	sdk.BaseCallback
	Q *Queue
}

var (
	_ sdk.Callback           = (*Bridge)(nil)
	_ sdk.AttrAuthorCallback = (*Bridge)(nil)
)

func (b *Bridge) push(e Event) { b.Q.Push(e) }

func (b *Bridge) OnReconnecting(n uint32) { b.push(Event{Name: "Reconnecting", Num: int(n)}) }
func (b *Bridge) OnReconnected(fd int)    { b.push(Event{Name: "Reconnected"}) }
func (b *Bridge) OnLoginSuccess(uid uint32, fd int) {
	b.push(Event{Name: "LoginSuccess", UID: uid})
}
func (b *Bridge) OnLogout(code int)      { b.push(Event{Name: "Logout", Code: code}) }
func (b *Bridge) OnLoginFailed(code int) { b.push(Event{Name: "LoginFailed", Code: code}) }
func (b *Bridge) OnError(name string, code int, desc string) {
	b.push(Event{Name: "Error", Attr: name, Code: code, Typ: desc})
}
func (b *Bridge) OnLog(txt string) { b.push(Event{Name: "Log", Value: txt}) }
func (b *Bridge) OnInvokeRet(callID, err, resp string) {
	b.push(Event{Name: "InvokeRet", MsgID: callID, Typ: err, Value: resp})
}
func (b *Bridge) OnQueryUserStatusResult(name, status string) {
	b.push(Event{Name: "QueryUserStatusResult", Account: name, Value: status})
}
func (b *Bridge) OnUserAttrResult(account, name, value string) {
	b.push(Event{Name: "UserAttrResult", Account: account, Attr: name, Value: value})
}
func (b *Bridge) OnUserAttrAllResult(account, value string) {
	b.push(Event{Name: "UserAttrAllResult", Account: account, Value: value})
}
func (b *Bridge) OnMessageSendError(id string, code int) {
	b.push(Event{Name: "MessageSendError", MsgID: id, Code: code})
}
func (b *Bridge) OnMessageSendSuccess(id string) {
	b.push(Event{Name: "MessageSendSuccess", MsgID: id})
}
func (b *Bridge) OnMessageInstantReceive(account string, uid uint32, msg string) {
	b.push(Event{Name: "MessageInstantReceive", Account: account, UID: uid, Value: msg})
}
func (b *Bridge) OnMessageChannelReceive(ch, account string, uid uint32, msg string) {
	b.push(Event{Name: "MessageChannelReceive", Channel: ch, Account: account, UID: uid, Value: msg})
}
func (b *Bridge) OnChannelJoined(ch string) { b.push(Event{Name: "ChannelJoined", Channel: ch}) }
func (b *Bridge) OnChannelJoinFailed(ch string, code int) {
	b.push(Event{Name: "ChannelJoinFailed", Channel: ch, Code: code})
}
func (b *Bridge) OnChannelLeaved(ch string, code int) {
	b.push(Event{Name: "ChannelLeaved", Channel: ch, Code: code})
}
func (b *Bridge) OnChannelUserJoined(account string, uid uint32) {
	b.push(Event{Name: "ChannelUserJoined", Account: account, UID: uid})
}
func (b *Bridge) OnChannelUserLeaved(account string, uid uint32) {
	b.push(Event{Name: "ChannelUserLeaved", Account: account, UID: uid})
}
func (b *Bridge) OnChannelUserList(accounts []string, uids []uint32) {
	b.push(Event{Name: "ChannelUserList", Accounts: append([]string{}, accounts...)})
}
func (b *Bridge) OnChannelQueryUserNumResult(ch string, code, num int) {
	b.push(Event{Name: "ChannelQueryUserNumResult", Channel: ch, Code: code, Num: num})
}
func (b *Bridge) OnChannelAttrUpdated(ch, name, value, typ string) {
	b.push(Event{Name: "ChannelAttrUpdated", Channel: ch, Attr: name, Value: value, Typ: typ})
}
func (b *Bridge) OnChannelAttrChangedBy(ch, name, typ, by string) {
	b.push(Event{Name: "ChannelAttrChangedBy", Channel: ch, Attr: name, Typ: typ, Account: by})
}
func (b *Bridge) OnInviteReceived(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteReceived", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteReceivedByPeer(ch, account string, uid uint32) {
	b.push(Event{Name: "InviteReceivedByPeer", Channel: ch, Account: account, UID: uid})
}
func (b *Bridge) OnInviteAcceptedByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteAcceptedByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteRefusedByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteRefusedByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteFailed(ch, account string, uid uint32, code int, extra string) {
	b.push(Event{Name: "InviteFailed", Channel: ch, Account: account, UID: uid, Code: code, Extra: extra})
}
func (b *Bridge) OnInviteEndByPeer(ch, account string, uid uint32, extra string) {
	b.push(Event{Name: "InviteEndByPeer", Channel: ch, Account: account, UID: uid, Extra: extra})
}
func (b *Bridge) OnInviteEndByMyself(ch, account string, uid uint32) {
	b.push(Event{Name: "InviteEndByMyself", Channel: ch, Account: account, UID: uid})
}
func (b *Bridge) OnInviteMsg(ch, account string, uid uint32, typ, data, extra string) {
	b.push(Event{Name: "InviteMsg", Channel: ch, Account: account, UID: uid, Typ: typ, Value: data, Extra: extra})
}
