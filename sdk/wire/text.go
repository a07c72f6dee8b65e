package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Strings arrive byte-exact or not at all. encoding/json turns bytes that
// are not UTF-8, and an escaped half of a surrogate pair ("\ud800" alone),
// into U+FFFD without a word, so "\xc3\x28" would become the channel "\ufffd("
// and "a\xff" and "a\xfe" one account. Payloads are checked for both before
// encoding/json decodes them; the fast way (fast.go) takes neither.

// TextError is a string of a payload that cannot be taken as it is.
type TextError struct {
	Field string // the top-level key it is the value of, or nested in
	Key   bool   // it is a key
	Top   bool   // it is the value of Field itself
	Why   string // "is not valid UTF-8", `has \ud800, half a surrogate pair`
}

func (e *TextError) Error() string {
	switch {
	case e.Key:
		return "a key " + e.Why
	case e.Field == "":
		return "a string " + e.Why
	case e.Top:
		return fmt.Sprintf("%q %s", e.Field, e.Why)
	}
	return fmt.Sprintf("a string in %q %s", e.Field, e.Why)
}

// checkText finds the first string of the JSON text d that is not valid
// UTF-8 or escapes a lone surrogate. Malformed JSON is left to
// encoding/json, which says what is wrong with it.
func checkText(d []byte) *TextError {
	depth, field := 0, ""
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			end, why := scanString(d, i+1)
			if end < 0 {
				return nil
			}
			j := end + 1
			for j < len(d) && (d[j] == ' ' || d[j] == '\t' || d[j] == '\n' || d[j] == '\r') {
				j++
			}
			key := j < len(d) && d[j] == ':'
			if why != "" {
				return &TextError{Field: field, Key: key, Top: depth == 1, Why: why}
			}
			if key && depth == 1 {
				field = unquote(d[i : end+1])
			}
			i = end
		}
	}
	return nil
}

// scanString reads the string whose first byte is d[i] up to its closing
// quote, returning that quote's index (-1: not a JSON string) and, if the
// string cannot be taken byte-exact, why.
func scanString(d []byte, i int) (int, string) {
	why := ""
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return i, why
		case c < 0x20:
			return -1, ""
		case c == '\\':
			if i+1 >= len(d) {
				return -1, ""
			}
			if d[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hex4(d, i+2)
			if !ok {
				return -1, ""
			}
			switch {
			case r >= 0xd800 && r < 0xdc00:
				if r2, ok := hex4(d, i+8); ok && d[i+6] == '\\' && d[i+7] == 'u' && r2 >= 0xdc00 && r2 < 0xe000 {
					i += 12 // a whole pair: one character
					continue
				}
				fallthrough
			case r >= 0xdc00 && r < 0xe000:
				if why == "" {
					why = fmt.Sprintf(`has \%s, half a surrogate pair`, d[i+1:i+6])
				}
			}
			i += 6
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 && why == "" {
				why = "is not valid UTF-8"
			}
			i += size
		}
	}
	return -1, ""
}

// hex4 reads the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, h := range d[i : i+4] {
		switch {
		case '0' <= h && h <= '9':
			r = r<<4 | rune(h-'0')
		case 'a' <= h && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		case 'A' <= h && h <= 'F':
			r = r<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unquote decodes a JSON string already checked by scanString.
func unquote(q []byte) string {
	var s string
	if json.Unmarshal(q, &s) != nil {
		return strings.Trim(string(q), `"`)
	}
	return s
}

// LoginDecodeError is the answer to a login whose payload does not decode:
// 209 (an invalid user) when the account is what cannot be taken as it is,
// else 202.
func LoginDecodeError(err error) *Error {
	var te *TextError
	if errors.As(err, &te) && !te.Key && strings.EqualFold(te.Field, "account") {
		return Errf(LoginInvalidUser, "%v", err)
	}
	return Errf(LoginFailed, "%v", err)
}
