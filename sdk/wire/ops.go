package wire

import "encoding/json"

// Requests (client → server). Each carries a non-zero id and gets one OpResult.
const (
	OpLogin          = "login"           // LoginReq → LoginRes
	OpLogout         = "logout"          // {} → {}
	OpPeerSend       = "peer.send"       // PeerSendReq → {}
	OpChannelJoin    = "ch.join"         // ChannelReq → JoinRes
	OpChannelLeave   = "ch.leave"        // ChannelReq → {}
	OpChannelCount   = "ch.count"        // ChannelReq → CountRes
	OpChannelSend    = "ch.send"         // ChannelSendReq → {}
	OpChannelSetAttr = "ch.setattr"      // ChannelAttrReq → {}
	OpChannelDelAttr = "ch.delattr"      // ChannelAttrReq → {}
	OpChannelClear   = "ch.clearattr"    // ChannelReq → {}
	OpUserSetAttr    = "user.setattr"    // UserAttrReq → {}
	OpUserGetAttr    = "user.getattr"    // UserAttrReq → UserAttrRes
	OpUserGetAttrAll = "user.getattrall" // UserAttrReq → UserAttrAllRes
	OpUserStatus     = "user.status"     // UserAttrReq (account) → StatusRes
	OpInvoke         = "invoke"          // InvokeReq → InvokeRes
)

// Frames without an id.
const (
	OpResult = "res"  // server → client: the answer to request id
	OpPing   = "ping" // client → server: PingReq; acknowledges the user stream
	OpPong   = "pong" // server → client: answer to a ping
)

// Pushes (server → client). User-stream pushes carry Seq, channel-stream
// pushes carry Off; the others carry neither.
const (
	PushPeerMsg     = "peer.msg"  // user stream: PeerMsg
	PushChannelMsg  = "ch.msg"    // channel stream: ChannelMsg
	PushUserJoined  = "ch.joined" // channel stream: ChannelUser
	PushUserLeft    = "ch.left"   // channel stream: ChannelUser
	PushAttrUpdated = "ch.attr"   // channel stream: AttrUpdate
	PushChannelGone = "ch.gone"   // ChannelGone: the server took the session out of its channel
	PushKicked      = "kicked"    // Kicked: the session is over; the server closes the socket
	PushGoAway      = "goaway"    // GoAway: the server is shutting down; reconnect
	PushLog         = "log"       // LogLine: something the application should see in onLog
	PushChannelSnap = "ch.snap"   // JoinRes: channel state after a resume that could not replay
)

// LoginReq opens a session, or resumes one when Resume is set.
type LoginReq struct {
	Proto   int     `json:"proto"`
	App     string  `json:"app"`
	Account string  `json:"account"`
	Token   string  `json:"token"`
	Device  string  `json:"device,omitempty"`
	SDK     int     `json:"sdk,omitempty"` // GetSdkVersion of the client
	Resume  *Resume `json:"resume,omitempty"`
	// Cursor says which queued peer messages the client already delivered,
	// so that a new session does not deliver them again (see PeerMsg.Key).
	Cursor *Cursor `json:"cursor,omitempty"`
}

// Cursor is the last peer message a client delivered to its application.
type Cursor struct {
	Queue string `json:"queue"` // LoginRes.Queue of the session that delivered it
	Key   uint64 `json:"key"`   // its PeerMsg.Key
}

// Resume names the session to take over and what the client has already seen.
type Resume struct {
	Session string `json:"session"`
	Seq     uint64 `json:"seq"`          // last user-stream push processed
	Channel string `json:"ch,omitempty"` // the channel the client believes it is in
	Off     uint64 `json:"off"`          // last channel-stream push processed
}

// LoginRes answers a login.
type LoginRes struct {
	Session string `json:"session"`
	Fd      int    `json:"fd"`
	// Resumed is true when Resume named a live session: the server then
	// replays what the client missed. When false the client starts afresh.
	Resumed bool `json:"resumed"`
	// Heartbeat is the ping interval the server expects, in milliseconds.
	Heartbeat int `json:"hb"`
	// Queue names the server's offline queue (its durable store): peer
	// message keys, and so cursors, mean something only within one.
	Queue string `json:"queue,omitempty"`
}

// PingReq is the client's heartbeat.
type PingReq struct {
	Ack uint64 `json:"ack"` // last user-stream seq processed
}

// PeerSendReq sends a peer message.
type PeerSendReq struct {
	To  string `json:"to"`
	Msg string `json:"msg"`
	MID string `json:"mid"`
}

// PeerMsg is a received peer message.
type PeerMsg struct {
	From string `json:"from"`
	Msg  string `json:"msg"`
	MID  string `json:"mid,omitempty"` // the sender's message id: a client may drop a redelivery with one it has seen
	TS   int64  `json:"ts"`            // ms since the epoch, when the server accepted it
	// Key is the message's place in the recipient's queue: it only grows,
	// across sessions and restarts of the server. A client drops a message
	// whose key is not above the last it delivered, and names that one in
	// its next login's Cursor.
	Key uint64 `json:"key,omitempty"`
}

// ChannelReq names a channel.
type ChannelReq struct {
	Channel string `json:"ch"`
}

// Member is one channel member.
type Member struct {
	Account string `json:"account"`
	UID     uint32 `json:"uid"`
}

// Attr is one name/value pair, in an ordered list.
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// JoinRes answers a join: the members (at most 200, most recent first, the
// joiner included), the attributes sorted by name, and the channel-stream
// offset the joiner starts after.
type JoinRes struct {
	Channel string   `json:"ch"`
	Left    string   `json:"left,omitempty"` // the channel left to join this one (onChannelLeaved 602 first)
	UID     uint32   `json:"uid"`
	Members []Member `json:"members"`
	Attrs   []Attr   `json:"attrs"`
	Off     uint64   `json:"off"`
}

// CountRes answers ch.count.
type CountRes struct {
	Num int `json:"num"`
}

// ChannelSendReq sends a channel message.
type ChannelSendReq struct {
	Channel string `json:"ch"`
	Msg     string `json:"msg"`
	MID     string `json:"mid"`
	Force   bool   `json:"force,omitempty"`
}

// ChannelMsg is a received channel message. From is "" for the server's own
// messages on the special channels.
type ChannelMsg struct {
	Channel string `json:"ch"`
	From    string `json:"from"`
	UID     uint32 `json:"uid"`
	Msg     string `json:"msg"`
}

// ChannelUser is a member joining or leaving.
type ChannelUser struct {
	Channel string `json:"ch"`
	Account string `json:"account"`
	UID     uint32 `json:"uid"`
}

// ChannelAttrReq sets or deletes a channel attribute.
type ChannelAttrReq struct {
	Channel string `json:"ch"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

// AttrUpdate is a channel attribute change; Type is "update", "del" or "clear".
type AttrUpdate struct {
	Channel string `json:"ch"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Type    string `json:"type"`
	By      string `json:"by,omitempty"` // the account that made the change; "" for the server's own
}

// ChannelGone tells a session it is no longer in Channel, with an onChannelLeaved code.
type ChannelGone struct {
	Channel string `json:"ch"`
	Code    Code   `json:"code"`
}

// UserAttrReq addresses a user attribute. For user.setattr Account is ignored
// (one sets one's own); for user.getattrall and user.status Name is ignored.
type UserAttrReq struct {
	Account string `json:"account,omitempty"`
	Name    string `json:"name,omitempty"`
	Value   string `json:"value,omitempty"`
}

// UserAttrRes answers user.getattr; Value is "" when unset.
type UserAttrRes struct {
	Value string `json:"value"`
}

// UserAttrAllRes answers user.getattrall with every attribute of the account.
type UserAttrAllRes struct {
	Attrs map[string]string `json:"attrs"`
}

// StatusRes answers user.status.
type StatusRes struct {
	Online bool `json:"online"`
}

// InvokeReq is an RPC: Name as in SPEC.md "RPC", Req its JSON argument.
type InvokeReq struct {
	Name string          `json:"name"`
	Req  json.RawMessage `json:"req,omitempty"`
}

// InvokeRes carries the RPC's JSON result. An RPC that fails is answered
// with an Error whose Msg is onInvokeRet's err string.
type InvokeRes struct {
	Resp json.RawMessage `json:"resp"`
}

// Kicked ends a session; Code is the onLogout code (103 for a login elsewhere).
type Kicked struct {
	Code   Code   `json:"code"`
	Reason string `json:"reason"`
}

// GoAway announces a server shutdown.
type GoAway struct {
	Reason string `json:"reason"`
	// URL, when set, is where to connect next: the node of a cluster that
	// serves the account (a login elsewhere is sent there).
	URL string `json:"url,omitempty"`
}

// LogLine is a line for the application's onLog.
type LogLine struct {
	Text string `json:"text"`
}
