package server

import (
	"strings"
	"testing"

	"github.com/xinling/xinling/sdk/wire"
)

// TestStringsAreTakenByteExact: a string that is not valid UTF-8, or that
// escapes half a surrogate pair, is refused with the field's name — never
// repaired to U+FFFD, which would make different byte strings one name.
func TestStringsAreTakenByteExact(t *testing.T) {
	_, url := testNode(t, Config{})
	c := dialRaw(t, url)
	c.login("app", "alice")
	bad := []struct {
		frame string
		why   string
	}{
		{`{"id":1001,"op":"ch.join","d":{"ch":"` + "\xc3\x28" + `"}}`, `"ch" is not valid UTF-8`},
		{`{"id":1002,"op":"ch.join","d":{"ch":"a\ud800b"}}`, `"ch" has \ud800`},
		{`{"id":1003,"op":"ch.join","d":{"ch":"a\udc00"}}`, `"ch" has \udc00`},
		{`{"id":1004,"op":"peer.send","d":{"to":"bob","msg":"` + "hi \xff" + `"}}`, `"msg" is not valid UTF-8`},
		{`{"id":1005,"op":"ch.send","d":{"ch":"c","msg":"\udbff\u0041","force":true}}`, `"msg" has \udbff`},
		{`{"id":1006,"op":"user.setattr","d":{"name":"n","value":"` + "\xe2\x82" + `"}}`, `"value" is not valid UTF-8`},
		{`{"id":1007,"op":"invoke","d":{"name":"io.agora.signal.channel_query_num","req":{"name":"` + "\xff" + `"}}}`, `a string in "req" is not valid UTF-8`},
		{`{"id":1008,"op":"inv.invite","d":{"ch":"c","to":"bob","extra":"{\"k\":\"` + "\xc0\xaf" + `\"}"}}`, `"extra" is not valid UTF-8`},
		{`{"id":1009,"op":"ch.join","d":{"ch":"x","junk":["` + "\xff" + `"]}}`, `a string in "junk" is not valid UTF-8`},
		{`{"id":1010,"op":"ch.join","d":{"` + "c\xff" + `":"x"}}`, `a key is not valid UTF-8`},
	}
	for _, b := range bad {
		c.write([]byte(b.frame))
	}
	for i, b := range bad {
		id := uint64(1001 + i)
		f := c.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == id })
		if f.Err == nil || f.Err.Code != wire.GeneralWrongParam || !strings.Contains(f.Err.Msg, b.why) {
			t.Errorf("%q: got %+v %s, want 1004 saying %s", b.frame, f.Err, f.D, b.why)
		}
	}
	// A surrogate pair escaped whole is a character, and U+FFFD written as
	// itself is a name like any other.
	for _, ch := range []string{`"\ud83d\ude00"`, `"\ufffd("`, `"` + "\ufffd(" + `"`} {
		c.write([]byte(`{"id":100,"op":"ch.count","d":{"ch":` + ch + `}}`))
		if f := c.waitFor(func(f wire.Frame) bool { return f.ID == 100 }); f.Err != nil {
			t.Errorf("ch.count %s: %v", ch, f.Err)
		}
		c.nextID = 100
		c.queue = nil
	}
}

// TestLoginRefusesAnInvalidAccountByteExact: an account that is not valid
// UTF-8 is an invalid user (209), not a login as "a\ufffd\ufffd".
func TestLoginRefusesAnInvalidAccountByteExact(t *testing.T) {
	_, url := testNode(t, Config{})
	for _, tc := range []struct {
		login string
		want  wire.Code
	}{
		{`{"id":1,"op":"login","d":{"proto":1,"app":"app","account":"` + "a\xff\xfe" + `"}}`, wire.LoginInvalidUser},
		{`{"id":1,"op":"login","d":{"proto":1,"app":"app","Account":"a\udfff"}}`, wire.LoginInvalidUser},
		{`{"id":1,"op":"login","d":{"proto":1,"app":"app","account":"a\u200bb"}}`, wire.LoginInvalidUser},
		{`{"id":1,"op":"login","d":{"proto":1,"app":"` + "\xff" + `","account":"a"}}`, wire.LoginFailed},
		{`{"id":1,"op":"login","d":{"proto":1,"app":"app","account":"a","device":"` + "\xff" + `"}}`, wire.LoginFailed},
	} {
		c := dialRaw(t, url)
		c.write([]byte(tc.login))
		f := c.waitFor(func(f wire.Frame) bool { return f.ID == 1 })
		if f.Err == nil || f.Err.Code != tc.want {
			t.Errorf("%q: got %+v %s, want %d", tc.login, f.Err, f.D, tc.want)
		}
	}
}

// TestInvisibleNamesAreRefused: the name rule reaches the server's
// answers: a channel, an account, an attribute name with a zero-width
// space are refused with 1004 and a reason.
func TestInvisibleNamesAreRefused(t *testing.T) {
	_, url := testNode(t, Config{})
	c := dialRaw(t, url)
	c.login("app", "alice")
	for _, req := range []struct {
		op string
		d  any
	}{
		{wire.OpChannelJoin, wire.ChannelReq{Channel: "lob\u200bby"}},
		{wire.OpPeerSend, wire.PeerSendReq{To: "bob\u2060", Msg: "hi"}},
		{wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: "c", Name: "to\u00adpic", Value: "v"}},
		{wire.OpUserStatus, wire.UserAttrReq{Account: "\u3164"}},
		{wire.OpChannelJoin, wire.ChannelReq{Channel: "\u2764\ufe0f"}},
	} {
		f := c.call(req.op, req.d)
		if f.Err == nil || f.Err.Code != wire.GeneralWrongParam || !strings.Contains(f.Err.Msg, "invisible character") {
			t.Errorf("%s %+v: %+v, want 1004 for an invisible character", req.op, req.d, f.Err)
		}
	}
}
