package wire

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestCheckNameRefusesInvisibleCharacters: the name rule of docs/PROTOCOL.md
// §8. Every refused class has a member here; each must be refused with 1004
// and a reason that names the character and its byte offset.
func TestCheckNameRefusesInvisibleCharacters(t *testing.T) {
	refused := []struct{ name, why string }{
		{"", "empty"},
		{strings.Repeat("a", MaxNameBytes+1), "129 bytes"},
		{"a b", "whitespace"},           // Zs
		{"a\tb", "whitespace"},          // Cc, White_Space
		{"a\x00b", "control"},           // Cc
		{"a\x7fb", "control"},           // DEL, Cc
		{"a\u0085b", "whitespace"},      // NEL: Cc and White_Space
		{"a\u00a0b", "whitespace"},      // no-break space, Zs
		{"a\u3000b", "whitespace"},      // ideographic space, Zs
		{"a\u2028b", "whitespace"},      // line separator, Zl
		{"a\u2029b", "whitespace"},      // paragraph separator, Zp
		{"a\u200bb", "U+200B"},          // zero-width space, Cf
		{"a\u200cb", "U+200C"},          // zero-width non-joiner, Cf
		{"a\u200db", "U+200D"},          // zero-width joiner, Cf
		{"a\u2060b", "U+2060"},          // word joiner, Cf
		{"\ufeffab", "U+FEFF"},          // byte order mark, Cf
		{"a\u00adb", "U+00AD"},          // soft hyphen, Cf
		{"a\u202eb", "U+202E"},          // right-to-left override, Cf
		{"a\u2066b", "U+2066"},          // left-to-right isolate, Cf
		{"a\u061cb", "U+061C"},          // Arabic letter mark, Cf
		{"a\u180eb", "U+180E"},          // Mongolian vowel separator, Cf
		{"a\U000e0041b", "U+E0041"},     // tag latin capital A, Cf
		{"a\u034fb", "U+034F"},          // combining grapheme joiner, default ignorable
		{"\u2764\ufe0f", "U+FE0F"},      // variation selector 16: "❤️" next to "❤"
		{"a\U000e0100b", "U+E0100"},     // variation selector 17
		{"\u3164", "U+3164"},            // Hangul filler: a letter that draws nothing
		{"a\u115fb", "U+115F"},          // Hangul choseong filler
		{"a\uffa0b", "U+FFA0"},          // halfwidth Hangul filler
		{"a\ue000b", "U+E000"},          // private use, Co
		{"a\U000f0000b", "U+F0000"},     // supplementary private use, Co
		{"a\u0378b", "U+0378"},          // unassigned, Cn
		{"a\ufdd0b", "U+FDD0"},          // noncharacter
		{"a\uffffb", "U+FFFF"},          // noncharacter
		{"\u0301a", "combining mark"},   // a mark with nothing to combine with
		{"\xc3\x28", "not valid UTF-8"}, // invalid UTF-8
		{"a\xff\xfe", "not valid UTF-8"},
		{"\xed\xa0\x80", "not valid UTF-8"}, // an encoded surrogate
	}
	for _, tc := range refused {
		e := CheckName("channel", tc.name)
		if e == nil {
			t.Errorf("%+q accepted", tc.name)
			continue
		}
		if e.Code != GeneralWrongParam || !strings.Contains(e.Msg, tc.why) || !strings.HasPrefix(e.Msg, "channel ") {
			t.Errorf("%+q: %v, want 1004 saying %q", tc.name, e, tc.why)
		}
	}
	accepted := []string{
		"lobby", "a", strings.Repeat("z", MaxNameBytes), "room-1_2.3@x:y/z", "鲍勃", "Ελένη", "café", "cafe\u0301",
		"\u2764", "😀", "王\u0301", "עברית", "العربية", "हिन्दी", "한국어", "\ufffd(", "~!#$%^&*()+=[]{}|;'\",<>?`",
	}
	for _, s := range accepted {
		if e := CheckName("channel", s); e != nil {
			t.Errorf("%+q refused: %v", s, e)
		}
	}
}

// TestCheckNameMatchesItsDefinition walks every code point: the fast ASCII
// way and the general one agree with the rule as PROTOCOL.md states it.
func TestCheckNameMatchesItsDefinition(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		want := (unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)) &&
			!unicode.In(r, unicode.White_Space, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point, unicode.Noncharacter_Code_Point)
		got := CheckName("name", "x"+string(r)) == nil
		if got != want {
			t.Fatalf("U+%04X: accepted %v, want %v", r, got, want)
		}
	}
}
