package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// TestBuiltinValuesAreBounded: every built-in channel attribute that holds
// a number takes a decimal integer from 0 to its documented maximum, written
// plainly; anything else is refused with 1004 when it is set. The first case
// is the value that made the _auto_update_num timer fire every 512 ns.
func TestBuiltinValuesAreBounded(t *testing.T) {
	_, url := testNode(t, Config{})
	c := dialRaw(t, url)
	c.login("app", "alice")
	maxima := map[string]int{
		wire.AttrChannelTTL: 2592000, wire.AttrAutoUpdateNum: 86400, wire.AttrAutoUpdateTotal: 86400,
		wire.AttrSendMsgLimit: 100000, wire.AttrSetAttrLimit: 100000, wire.AttrUserNotify: 1,
	}
	for name, max := range maxima {
		for _, v := range []string{"20211507185753197", "9223372036854775807", "99999999999999999999", strconv.Itoa(max + 1),
			"-1", "+5", "05", "00", " 5", "5 ", "5.0", "1e3", "0x10", "", "٥"} {
			f := c.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: "c", Name: name, Value: v})
			if f.Err == nil || f.Err.Code != wire.GeneralWrongParam || !strings.Contains(f.Err.Msg, name) {
				t.Errorf("%s = %q: %+v, want 1004 naming it", name, v, f.Err)
			}
		}
		for _, v := range []string{"0", strconv.Itoa(max), "1"} { // "1" last: _setattr_limit 1 then limits its own next change
			if f := c.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: "c", Name: name, Value: v}); f.Err != nil {
				t.Errorf("%s = %q refused: %v", name, v, f.Err)
			}
		}
		if f := c.call(wire.OpChannelDelAttr, wire.ChannelAttrReq{Channel: "c", Name: name}); f.Err != nil {
			t.Fatalf("del %s: %v", name, f.Err)
		}
	}
}

// TestStoredBuiltinValuesAreClamped: a value stored before the bounds (or
// by another release) cannot arm a timer that spins: the channel reads it
// as the maximum. Old code armed a 512 ns timer here on the first join.
func TestStoredBuiltinValuesAreClamped(t *testing.T) {
	st := store.Memory()
	for name, v := range map[string]string{wire.AttrAutoUpdateNum: "20211507185753197", wire.AttrChannelTTL: "9223372036854775807",
		wire.AttrSendMsgLimit: "99999999999", wire.AttrSetAttrLimit: "-7"} {
		if err := st.SetChannelAttr("app", "old", name, v); err != nil {
			t.Fatal(err)
		}
	}
	n, url := testNode(t, Config{Store: st})
	c := dialRaw(t, url)
	c.login("app", "alice")
	if f := c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "old"}); f.Err != nil {
		t.Fatalf("join: %v", f.Err)
	}
	ch, ok := n.channels.get(key{"app", "old"})
	if !ok {
		t.Fatal("no channel object after the join")
	}
	ch.mu.Lock()
	every, ttl := ch.autoEvery, ch.ttl()
	send, setattr := ch.intAttr(wire.AttrSendMsgLimit, 0), ch.intAttr(wire.AttrSetAttrLimit, 0)
	ch.mu.Unlock()
	if every != 86400*time.Second {
		t.Errorf("_auto_update_num period %v, want the maximum, 24h", every)
	}
	if ttl != 2592000*time.Second {
		t.Errorf("_channel_ttl %v, want the maximum, 720h", ttl)
	}
	if send != 100000 || setattr != 0 {
		t.Errorf("_sendmsg_limit %d, _setattr_limit %d: want 100000 and the default 0", send, setattr)
	}
}
