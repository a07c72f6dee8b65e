package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeTakesStringsByteExact(t *testing.T) {
	for _, tc := range []struct{ d, want string }{
		{`{"ch":"` + "\xc3\x28" + `"}`, `"ch" is not valid UTF-8`},
		{`{"ch":"\ud800"}`, `"ch" has \ud800, half a surrogate pair`},
		{`{"ch":"\uDFFF"}`, `"ch" has \uDFFF, half a surrogate pair`},
		{`{"ch":"\ud800\u0041"}`, `"ch" has \ud800`},
		{`{"ch":"\ud800\ud800\udc00"}`, `"ch" has \ud800`},
		{`{"ch":"ok","x":{"y":["` + "\xff" + `"]}}`, `a string in "x" is not valid UTF-8`},
		{`{"c\u0068":"` + "\xff" + `"}`, `"ch" is not valid UTF-8`},
		{`{"` + "\xff" + `":1}`, `a key is not valid UTF-8`},
		{`["` + "\xff" + `"]`, `a string is not valid UTF-8`},
	} {
		f := Frame{Op: OpChannelJoin, D: json.RawMessage(tc.d)}
		var req ChannelReq
		err := f.Decode(&req)
		var te *TextError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a TextError saying %s", tc.d, err, tc.want)
		}
	}
	for _, d := range []string{`{"ch":"\ud83d\ude00"}`, `{"ch":"\ufffd"}`, `{"ch":"` + "\ufffd" + `"}`, `{"ch":"\\ud800"}`, `{"ch":"é\"\\"}`} {
		f := Frame{Op: OpChannelJoin, D: json.RawMessage(d)}
		var req ChannelReq
		if err := f.Decode(&req); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestLoginDecodeError(t *testing.T) {
	for _, tc := range []struct {
		d    string
		want Code
	}{
		{`{"proto":1,"account":"` + "a\xff" + `"}`, LoginInvalidUser},
		{`{"proto":1,"ACCOUNT":"a\udc00"}`, LoginInvalidUser},
		{`{"proto":1,"app":"` + "\xff" + `"}`, LoginFailed},
		{`{"proto":1,"resume":{"account":"` + "\xff" + `"}}`, LoginFailed},
		{`{"proto":"1"}`, LoginFailed},
	} {
		f := Frame{Op: OpLogin, D: json.RawMessage(tc.d)}
		var req LoginReq
		err := f.Decode(&req)
		if err == nil {
			t.Fatalf("%s decoded", tc.d)
		}
		if got := LoginDecodeError(err); got.Code != tc.want {
			t.Errorf("%s: %v, want %d", tc.d, got, tc.want)
		}
	}
}

// FuzzCheckText: checkText refuses exactly what encoding/json would repair.
// Without escapes that is invalid UTF-8; with them, a decoded U+FFFD must
// have been written in the input (as itself or as \ufffd).
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"` + "\xff" + `"}`, `["\\ud800"]`,
		`{"a":"\ud800\\"}`, `{"a":[1,{"b":"\udc00x"}]}`, `"\u00e9"`, `{"a":"\uD800\uDC00"}`, `{"\ud800":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		te := checkText(d)
		if !json.Valid(d) {
			return
		}
		if !bytes.Contains(d, []byte{'\\'}) && (te == nil) != utf8.Valid(d) {
			t.Fatalf("%q: checkText %v, utf8.Valid %v", d, te, utf8.Valid(d))
		}
		if te != nil {
			return
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber() // a number past float64 is valid JSON too
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if hasReplacement(v) && !bytes.Contains(d, []byte("\ufffd")) && !bytes.Contains(bytes.ToLower(d), []byte(`fffd`)) {
			t.Fatalf("%q: encoding/json repaired a string that checkText let through: %q", d, v)
		}
	})
}

func hasReplacement(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, utf8.RuneError)
	case []any:
		for _, e := range x {
			if hasReplacement(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if hasReplacement(k) || hasReplacement(e) {
				return true
			}
		}
	}
	return false
}
