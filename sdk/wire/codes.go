package wire

import "strconv"

// Code is one of the Agora Signaling error and status codes (SPEC.md §3).
// The values are Agora's; String returns the seed's name.
type Code int

// onLogout codes.
const (
	LogoutOther        Code = 100
	LogoutUser         Code = 101
	LogoutNet          Code = 102
	LogoutKicked       Code = 103
	LogoutPacket       Code = 104
	LogoutTokenExpired Code = 105
	LogoutOldVersion   Code = 106
	LogoutTokenWrong   Code = 107
	LogoutAlready      Code = 108
)

// onLoginFailed codes.
const (
	LoginOther        Code = 200
	LoginNet          Code = 201
	LoginFailed       Code = 202
	LoginCancel       Code = 203
	LoginTokenExpired Code = 204
	LoginOldVersion   Code = 205
	LoginTokenWrong   Code = 206
	LoginTokenKicked  Code = 207
	LoginAlready      Code = 208
	LoginInvalidUser  Code = 209
)

// onChannelJoinFailed, onMessageSendError, onChannelQueryUserNumResult,
// onChannelLeaved and onInviteFailed codes.
const (
	JoinChannelOther Code = 300

	SendMessageOther   Code = 400
	SendMessageTimeout Code = 401

	QueryUserNumOther   Code = 500
	QueryUserNumTimeout Code = 501
	QueryUserNumByUser  Code = 502

	LeaveChannelOther   Code = 600
	LeaveChannelKicked  Code = 601
	LeaveChannelByUser  Code = 602
	LeaveChannelLogout  Code = 603
	LeaveChannelDisconn Code = 604

	InviteOther       Code = 700
	InviteReinvite    Code = 701
	InviteNet         Code = 702
	InvitePeerOffline Code = 703
	InviteTimeout     Code = 704
	InviteCantRecv    Code = 705
)

// onError codes.
const (
	General           Code = 1000
	GeneralFailed     Code = 1001
	GeneralUnknown    Code = 1002
	GeneralNotLogin   Code = 1003
	GeneralWrongParam Code = 1004
	GeneralLargeParam Code = 1005
)

var codeNames = map[Code]string{
	LogoutOther:        "LOGOUT_E_OTHER",
	LogoutUser:         "LOGOUT_E_USER",
	LogoutNet:          "LOGOUT_E_NET",
	LogoutKicked:       "LOGOUT_E_KICKED",
	LogoutPacket:       "LOGOUT_E_PACKET",
	LogoutTokenExpired: "LOGOUT_E_TOKENEXPIRED",
	LogoutOldVersion:   "LOGOUT_E_OLDVERSION",
	LogoutTokenWrong:   "LOGOUT_E_TOKENWRONG",
	LogoutAlready:      "LOGOUT_E_ALREADY_LOGOUT",

	LoginOther:        "LOGIN_E_OTHER",
	LoginNet:          "LOGIN_E_NET",
	LoginFailed:       "LOGIN_E_FAILED",
	LoginCancel:       "LOGIN_E_CANCEL",
	LoginTokenExpired: "LOGIN_E_TOKENEXPIRED",
	LoginOldVersion:   "LOGIN_E_OLDVERSION",
	LoginTokenWrong:   "LOGIN_E_TOKENWRONG",
	LoginTokenKicked:  "LOGIN_E_TOKEN_KICKED",
	LoginAlready:      "LOGIN_E_ALREADY_LOGIN",
	LoginInvalidUser:  "LOGIN_E_INVALID_USER",

	JoinChannelOther: "JOINCHANNEL_E_OTHER",

	SendMessageOther:   "SENDMESSAGE_E_OTHER",
	SendMessageTimeout: "SENDMESSAGE_E_TIMEOUT",

	QueryUserNumOther:   "QUERYUSERNUM_E_OTHER",
	QueryUserNumTimeout: "QUERYUSERNUM_E_TIMEOUT",
	QueryUserNumByUser:  "QUERYUSERNUM_E_BYUSER",

	LeaveChannelOther:   "LEAVECHANNEL_E_OTHER",
	LeaveChannelKicked:  "LEAVECHANNEL_E_KICKED",
	LeaveChannelByUser:  "LEAVECHANNEL_E_BYUSER",
	LeaveChannelLogout:  "LEAVECHANNEL_E_LOGOUT",
	LeaveChannelDisconn: "LEAVECHANNEL_E_DISCONN",

	InviteOther:       "INVITE_E_OTHER",
	InviteReinvite:    "INVITE_E_REINVITE",
	InviteNet:         "INVITE_E_NET",
	InvitePeerOffline: "INVITE_E_PEEROFFLINE",
	InviteTimeout:     "INVITE_E_TIMEOUT",
	InviteCantRecv:    "INVITE_E_CANTRECV",

	General:           "GENERAL_E",
	GeneralFailed:     "GENERAL_E_FAILED",
	GeneralUnknown:    "GENERAL_E_UNKNOWN",
	GeneralNotLogin:   "GENERAL_E_NOT_LOGIN",
	GeneralWrongParam: "GENERAL_E_WRONG_PARAM",
	GeneralLargeParam: "GENERAL_E_LARGE_PARAM",
}

// String returns the seed's name of the code, or "CODE_<n>" for a value the
// seed does not define.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "CODE_" + strconv.Itoa(int(c))
}
