package wire

import (
	"unicode"
	"unicode/utf8"
)

// The name rule (docs/PROTOCOL.md §8, "Names"), shared by the SDK, which
// checks before sending, and the server, which never trusts the client. A
// name is compared byte for byte, so two names that look the same must not
// both be allowed: a name is 1–128 bytes of valid UTF-8 made only of
// letters (L), marks (M), numbers (N), punctuation (P) and symbols (S),
// except
//   - White_Space: spaces of every width, tabs, line and paragraph breaks;
//   - Default_Ignorable_Code_Point (Other_Default_Ignorable_Code_Point and
//     Variation_Selector here; the rest of it is Cf): what fonts draw as
//     nothing, such as the Hangul fillers and emoji variation selectors;
//   - Noncharacter_Code_Point;
//   - and it may not begin with a mark (M), which would join what precedes
//     it on screen.
// So every control (Cc), format character (Cf: zero-width space and
// joiners, bidi overrides, the BOM, tags), separator (Zs, Zl, Zp),
// private-use (Co) and unassigned (Cn, as of unicode.Version) code point is
// refused.

// CheckName validates an account, channel or attribute name (and an app
// id). what names the argument in the error ("account", "channel",
// "attribute name").
func CheckName(what, s string) *Error {
	if s == "" {
		return Errf(GeneralWrongParam, "%s is empty", what)
	}
	if len(s) > MaxNameBytes {
		return Errf(GeneralWrongParam, "%s is %d bytes, the limit is %d", what, len(s), MaxNameBytes)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // the common case: printable ASCII but space
			if c <= ' ' || c == 0x7f {
				return Errf(GeneralWrongParam, "%s has whitespace or a control character at byte %d", what, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return Errf(GeneralWrongParam, "%s is not valid UTF-8 (byte %d is 0x%02x)", what, i, c)
		}
		if e := checkNameRune(what, r, i); e != nil {
			return e
		}
		i += size
	}
	return nil
}

// checkNameRune applies the rule to one non-ASCII code point at byte i.
func checkNameRune(what string, r rune, i int) *Error {
	switch {
	case unicode.IsSpace(r) || unicode.IsControl(r):
		return Errf(GeneralWrongParam, "%s has whitespace or a control character at byte %d", what, i)
	case unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point):
		return Errf(GeneralWrongParam, "%s has an invisible character (U+%04X) at byte %d", what, r, i)
	case unicode.Is(unicode.Co, r):
		return Errf(GeneralWrongParam, "%s has a private-use character (U+%04X) at byte %d", what, r, i)
	case unicode.Is(unicode.Noncharacter_Code_Point, r) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
		return Errf(GeneralWrongParam, "%s has U+%04X at byte %d, which is not a character (Unicode %s)", what, r, i, unicode.Version)
	case i == 0 && unicode.Is(unicode.M, r):
		return Errf(GeneralWrongParam, "%s begins with a combining mark (U+%04X)", what, r)
	}
	return nil
}
