package wire

import (
	"strconv"
)

// BuiltinMax is the largest value of each built-in channel attribute that
// holds a number (docs/PROTOCOL.md §10). Each bound keeps what the server
// builds from the value sane: a period or lifetime in seconds must not
// overflow time.Duration (20211507185753197 s wrapped to a 512 ns timer that
// re-armed itself under the channel's lock), and a rate must stay a number a
// limiter means.
var BuiltinMax = map[string]int{
	AttrChannelTTL:      30 * 24 * 3600, // 30 days: attributes outlive the channel's last member at most this long
	AttrAutoUpdateNum:   24 * 3600,      // a day: a longer period is no different from none
	AttrAutoUpdateTotal: 24 * 3600,      // the seed gives it the same meaning as _auto_update_num
	AttrSendMsgLimit:    100000,         // messages per second for the whole channel
	AttrSetAttrLimit:    100000,         // changes per second to one attribute
	AttrUserNotify:      1,              // a switch: 0 off, 1 on
}

// CheckBuiltinValue validates the value of a built-in attribute: one that
// holds a number takes a decimal integer from 0 to its maximum, written
// plainly (digits only: no sign, space or leading zero), so that each value
// has one spelling. Other names pass.
func CheckBuiltinValue(name, value string) *Error {
	max, ok := BuiltinMax[name]
	if !ok {
		return nil
	}
	if v, ok := plainUint(value); !ok || v > uint64(max) {
		return Errf(GeneralWrongParam, "%s takes a whole number from 0 to %d, written in digits, not %q", name, max, value)
	}
	return nil
}

// BuiltinValue reads a stored built-in attribute as the server uses it:
// def when absent or not a number, and clamped to [0, its maximum], so a
// value stored before the bounds existed cannot overflow what is built from
// it.
func BuiltinValue(name, stored string, present bool, def int) int {
	if !present {
		return def
	}
	v, err := strconv.Atoi(stored)
	if err != nil || v < 0 {
		return def
	}
	if max, ok := BuiltinMax[name]; ok && v > max {
		return max
	}
	return v
}

// plainUint reads a non-negative decimal integer without sign or leading
// zero (other than "0" itself).
func plainUint(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}
