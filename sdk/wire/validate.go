package wire

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Input limits of SPEC.md §4, shared by the SDK (which checks before sending)
// and the server (which never trusts the client).
const (
	MaxNameBytes    = 128
	MaxMessageBytes = 8192
	MaxValueBytes   = 8096
	MaxExtraBytes   = 8192
	MaxAttrs        = 256 // attributes per channel and per account
)

// CheckText validates a message or attribute value: UTF-8 and at most max bytes.
func CheckText(what, s string, max int) *Error {
	if len(s) > max {
		return Errf(GeneralLargeParam, "%s is %d bytes, the limit is %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return Errf(GeneralWrongParam, "%s is not valid UTF-8", what)
	}
	return nil
}

// CheckExtra validates an invite extra: at most 8192 bytes and, when not
// empty, a JSON object.
func CheckExtra(extra string) *Error {
	if len(extra) > MaxExtraBytes {
		return Errf(GeneralLargeParam, "extra is %d bytes, the limit is %d", len(extra), MaxExtraBytes)
	}
	if extra == "" {
		return nil
	}
	if !utf8.ValidString(extra) {
		return Errf(GeneralWrongParam, "extra is not valid UTF-8")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(extra), &obj); err != nil {
		return Errf(GeneralWrongParam, "extra is not a JSON object: %v", err)
	}
	return nil
}

// IsBuiltin reports whether an attribute name is a built-in (leading '_').
func IsBuiltin(name string) bool { return len(name) > 0 && name[0] == '_' }

// Special channels (SPEC.md "Channels").
const (
	ChannelUserOnline = "__agora_user_online"
	ChannelEvents     = "__agora_channel_event"
)

// IsSpecialChannel reports whether ch is one of the server's event channels.
func IsSpecialChannel(ch string) bool { return ch == ChannelUserOnline || ch == ChannelEvents }

// Built-in channel attributes.
const (
	AttrChannelTTL      = "_channel_ttl"
	AttrMemberNum       = "_member_num"
	AttrAutoUpdateNum   = "_auto_update_num"
	AttrTotalMemberNum  = "_total_member_num"
	AttrAutoUpdateTotal = "_auto_update_total_num"
	AttrSendMsgLimit    = "_sendmsg_limit"
	AttrSetAttrLimit    = "_setattr_limit"
	AttrUserNotify      = "_userNotification"
)

// ReadOnlyAttr reports whether clients may not set or delete the attribute.
func ReadOnlyAttr(name string) bool {
	return name == AttrMemberNum || name == AttrTotalMemberNum
}

// Describe is a short form of a frame for logs.
func (f *Frame) Describe() string {
	if f.ID != 0 {
		return fmt.Sprintf("%s#%d", f.Op, f.ID)
	}
	return f.Op
}
