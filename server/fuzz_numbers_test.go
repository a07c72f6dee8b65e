package server

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xinling/xinling/sdk/wire"
)

// numberTargets are the requests that take a number or a duration, each
// with the fuzzed text put where the number goes. Built-in attribute
// values are strings (sent with their bytes as they are); the others are
// JSON numbers, so the text goes in raw and may make the frame invalid.
var numberTargets = []string{
	wire.AttrChannelTTL, wire.AttrAutoUpdateNum, wire.AttrAutoUpdateTotal,
	wire.AttrSendMsgLimit, wire.AttrSetAttrLimit, wire.AttrUserNotify,
	"_timeout", "_require_peer_online", "num", "ack", "id",
}

var plainDigits = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// FuzzBuiltinAttrs sends every built-in attribute's value and every request
// that takes a number or a duration (an invite's _timeout and
// _require_peer_online, channel_query_userlist_all's num, a ping's ack, a
// frame's id) with arbitrary text, and checks: a built-in value is taken
// exactly when it is plain digits within its maximum; an accepted _timeout
// is 0–30 s; refusals are 1004/1005, never a server error; no timer the
// channel arms is shorter than a second; and another client's round trip
// still works. `go test` runs the seeds; CI runs
// `go test -run '^$' -fuzz FuzzBuiltinAttrs -fuzztime 30s ./server`.
func FuzzBuiltinAttrs(f *testing.F) {
	for i := range numberTargets {
		for _, v := range []string{"0", "1", "30", "86400", "2592000", "20211507185753197", "9223372036854775807",
			"-1", "+5", "05", "1e3", "0.5", "\"15\"", "1e400", "NaN", "\xff", "\u0661", "", " 7", "0 "} {
			f.Add(uint8(i), v)
		}
	}
	// An hour's heartbeat: a client the fuzzer leaves idle (while it picks
	// other targets, or minimizes) must not be closed as silent (3 × hb).
	n, url := testNode(f, Config{RequestRate: 1 << 30, UserRate: 1 << 30, Heartbeat: time.Hour})
	other := dialRaw(f, url)
	other.login("app", "bob")
	c := dialRaw(f, url)
	c.login("app", "fuzz")
	ids := dialRaw(f, url) // frames whose id is fuzzed: they must not meet c's
	ids.login("app", "fuzzids")
	var id uint64 = 1 << 40 // above the ids c.call uses
	f.Fuzz(func(t *testing.T, which uint8, v string) {
		c.t, ids.t, other.t = t, t, t
		target := numberTargets[int(which)%len(numberTargets)]
		if !builtin(target) && (!json.Valid([]byte(v)) || strings.ContainsAny(v, "\n\r")) {
			// Where the text goes in raw it must be one JSON value, or it
			// could end the frame and write another (FuzzFrames covers
			// frames of any shape).
			return
		}
		id++
		var frame string
		switch target {
		case "_timeout", "_require_peer_online":
			extra := `{"` + target + `":` + v + `}`
			d, _ := json.Marshal(wire.InviteReq{Channel: "fzc", To: "bob", Extra: extra})
			frame = fmt.Sprintf(`{"id":%d,"op":"inv.invite","d":%s}`, id, d)
		case "num":
			frame = fmt.Sprintf(`{"id":%d,"op":"invoke","d":{"name":"io.agora.signal.channel_query_userlist_all","req":{"name":"fz","num":%s}}}`, id, v)
		case "ack":
			frame = `{"op":"ping","d":{"ack":` + v + `}}`
		case "id":
			frame = `{"id":` + v + `,"op":"ch.count","d":{"ch":"fz"}}`
		default:
			ch := "fz"
			if target == wire.AttrSetAttrLimit {
				ch = "fzl"
			}
			frame = fmt.Sprintf(`{"id":%d,"op":"ch.setattr","d":{"ch":%q,"name":%q,"value":%s}}`, id, ch, target, rawString(v))
		}
		var res wire.Frame
		switch target {
		case "ack", "id":
			// Not necessarily answered by id: the ping after it is (a
			// fuzzed ping, a valid frame, gets its own pong first).
			ids.write([]byte(frame + "\n" + `{"op":"ping"}`))
			pongs := 1
			if target == "ack" {
				pongs = 2
			}
			for range pongs {
				ids.push(wire.OpPong)
			}
			ids.queue = nil
		default:
			c.write([]byte(frame))
			res = c.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == id })
			c.queue = nil
		}
		if res.Err != nil && res.Err.Code != wire.GeneralWrongParam && res.Err.Code != wire.GeneralLargeParam {
			t.Fatalf("%s = %q: %v, want a success or 1004/1005", target, v, res.Err)
		}
		switch target {
		case "_timeout", "_require_peer_online":
			if res.Err == nil {
				// End the call first: a failure here must not leave it
				// live for the next input (701).
				end, _ := json.Marshal(wire.InviteRef{Channel: "fzc", Peer: "bob"})
				id++
				c.write(fmt.Appendf(nil, `{"id":%d,"op":"inv.end","d":%s}`, id, end))
				if f := c.waitFor(func(f wire.Frame) bool { return f.ID == id }); f.Err != nil {
					t.Fatalf("ending the call: %v", f.Err)
				}
				c.queue = nil
				x := strings.TrimSpace(v)
				if u, err := strconv.Unquote(x); err == nil {
					x = u
				}
				if target == "_timeout" && !timeoutInRange(x) {
					t.Fatalf("_timeout %q accepted", v)
				}
				if target == "_require_peer_online" && x != "0" && x != "1" && x != "-0" {
					t.Fatalf("_require_peer_online %q accepted", v)
				}
			}
		case "num", "ack", "id":
		default:
			want := utf8.ValidString(v) && plainDigits.MatchString(v) && atMost(v, wire.BuiltinMax[target])
			if got := res.Err == nil; got != want {
				t.Fatalf("%s = %q: accepted %v, want %v (%v)", target, v, got, want, res.Err)
			}
			if target == wire.AttrSetAttrLimit && want {
				// A small limit would refuse the next change (1001);
				// clearing is not limited.
				id++
				c.write(fmt.Appendf(nil, `{"id":%d,"op":"ch.clearattr","d":{"ch":"fzl"}}`, id))
				if f := c.waitFor(func(f wire.Frame) bool { return f.ID == id }); f.Err != nil {
					t.Fatalf("clear: %v", f.Err)
				}
				c.queue = nil
			}
		}
		checkChannelTimers(t, n, "fz")
		if f := other.call(wire.OpUserStatus, wire.UserAttrReq{Account: "bob"}); f.Err != nil {
			t.Fatalf("server stopped answering: %v", f.Err)
		}
		other.queue = nil
	})
}

func builtin(target string) bool { _, ok := wire.BuiltinMax[target]; return ok }

// checkChannelTimers: whatever the channel's attributes, what it builds from
// them is sane.
func checkChannelTimers(t *testing.T, n *Node, name string) {
	t.Helper()
	ch, ok := n.channels.get(key{"app", name})
	if !ok {
		return
	}
	ch.mu.Lock()
	every, ttl := ch.autoEvery, ch.ttl()
	ch.mu.Unlock()
	if every != 0 && (every < time.Second || every > 24*time.Hour) {
		t.Fatalf("_auto_update_num period %v", every)
	}
	if ttl < 0 || ttl > 30*24*time.Hour {
		t.Fatalf("_channel_ttl %v", ttl)
	}
}

// rawString writes v as a JSON string keeping its bytes, invalid UTF-8
// included: json.Marshal would repair them before the server saw them.
func rawString(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func atMost(digits string, max int) bool {
	v, ok := new(big.Int).SetString(digits, 10)
	return ok && v.Cmp(big.NewInt(int64(max))) <= 0
}

// timeoutInRange reads _timeout's number (unquoted).
func timeoutInRange(v string) bool {
	x, err := strconv.ParseFloat(v, 64)
	return err == nil && x >= 0 && x <= 30
}
