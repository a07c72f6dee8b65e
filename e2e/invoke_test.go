package e2e

import (
	"testing"

	"github.com/xinling/xinling/server"
)

func TestInvokeEveryName(t *testing.T) {
	s := startServer(t, server.Config{})
	alice := login(t, s, "alice")
	alice.join(t, "room")
	bob := login(t, s, "bob")
	bob.join(t, "room")
	const p = "io.agora.signal."
	steps := []struct{ name, req, want string }{
		{"user_query_user_status", `{"account":"alice"}`, `{"status":1}`},
		{"user_query_user_status", `{"account":"nobody"}`, `{"status":0}`},
		{"user_set_attr", `{"name":"mood","value":"happy"}`, `{}`},
		{"user_get_attr", `{"account":"bob","name":"mood"}`, `{"value":"happy"}`},
		{"user_get_attr_all", `{"account":"bob"}`, `{"mood":"happy"}`},
		{"channel_query_num", `{"name":"room"}`, `{"num":2}`},
		{"channel_query_num", `{"name":"empty"}`, `{"num":0}`},
		{"channel_query_user_isin", `{"name":"room","account":"alice"}`, `{"isin":1}`},
		{"channel_query_user_isin", `{"name":"room","account":"carol"}`, `{"isin":0}`},
		{"channel_query_userlist", `{"name":"room"}`, `{"list":["bob","alice"],"num":2}`},
		{"channel_query_userlist_all", `{"name":"room","num":1}`, `{"list":["bob"],"num":2}`},
		{"channel_set_attr", `{"channel":"room","name":"k","value":"v"}`, `{}`},
		{"channel_del_attr", `{"channel":"room","name":"k"}`, `{}`},
		{"channel_clear_attr", `{"channel":"room"}`, `{}`},
	}
	for _, st := range steps {
		bob.Invoke(p+st.name, st.req, st.name)
		bob.wait(t, "OnInvokeRet("+st.name+",,"+st.want+")")
	}
	// The channel attribute RPCs reached the members like the methods do.
	alice.wait(t, "OnChannelAttrUpdated(room,k,v,update)")
	alice.wait(t, "OnChannelAttrUpdated(room,k,,del)")
	alice.wait(t, "OnChannelAttrUpdated(room,,,clear)")

	bob.Invoke(p+"no_such_method", `{}`, "u")
	bob.wait(t, "OnInvokeRet(u,unknown_method,{})")
	bob.Invoke(p+"channel_set_attr", `{"channel":"room","name":"_member_num","value":"1"}`, "ro")
	e := string(bob.wait(t, "OnInvokeRet(ro,"))
	if e == "OnInvokeRet(ro,,{})" {
		t.Fatalf("read-only attribute set through invoke: %s", e)
	}
}
