package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// FuzzFrames sends arbitrary WebSocket messages from a logged-in client and
// checks that the server answers a ping after each, and keeps the other
// client's session working: nothing a client sends may crash or block it.
// `go test` runs the seeds; `go test -fuzz=FuzzFrames ./server/` explores.
func FuzzFrames(f *testing.F) {
	seeds := []string{
		`{"id":1,"op":"ch.join","d":{"ch":"lobby"}}`,
		`{"id":2,"op":"ch.send","d":{"ch":"lobby","msg":"hi","mid":"m1"}}` + "\n" + `{"id":3,"op":"ch.count","d":{"ch":"lobby"}}`,
		`{"id":4,"op":"peer.send","d":{"to":"bob","msg":"hello","mid":"m2"}}`,
		`{"id":5,"op":"ch.setattr","d":{"ch":"lobby","name":"_auto_update_num","value":"1"}}`,
		`{"id":6,"op":"ch.setattr","d":{"ch":"lobby","name":"_channel_ttl","value":"-1"}}`,
		`{"id":7,"op":"invoke","d":{"name":"io.agora.signal.channel_query_userlist_all","req":{"name":"lobby","num":-5}}}`,
		`{"id":8,"op":"user.setattr","d":{"name":"x","value":"` + strings.Repeat("é", 5000) + `"}}`,
		`{"id":9,"op":"login","d":{"proto":1,"app":"app","account":"fuzz","resume":{"session":"x"}}}`,
		`{"id":10,"op":"ch.leave","d":{"ch":"lobby"}}`,
		`{"id":11,"op":"logout"}`,
		`{"op":"ping","d":{"ack":18446744073709551615}}`,
		`{"id":12,"op":"ch.join","d":{"ch":"__agora_channel_event"}}`,
		"\n\n\n",
		`[1,2,3]`,
		`{"id":-1,"op":"res"}`,
		"\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// The fuzzer calls faster than any real client may; lift the request limit.
	// An hour's heartbeat: the clients the fuzzer leaves idle (3 × hb) stay open.
	_, url := testNode(f, Config{RequestRate: 1 << 30, Heartbeat: time.Hour})
	other := dialRaw(f, url)
	other.login("app", "bob")
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := dialRaw(t, url)
		c.login("app", "fuzz")
		// The server may close this connection (logout, bad frame), so write
		// errors are expected; it must not crash and must keep serving the
		// other client.
		_ = c.ws.WriteMessage(websocket.TextMessage, msg)
		other.t = t
		if f := other.call(wire.OpUserStatus, wire.UserAttrReq{Account: "bob"}); f.Err != nil {
			t.Fatalf("server stopped answering: %v", f.Err)
		}
		other.queue = nil
	})
}
