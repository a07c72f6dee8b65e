package server

import (
	"encoding/json"

	"github.com/xinling/xinling/sdk/wire"
)

// Queries: who is online, and the RPCs of the seed (Invoke).

const (
	opUserStatus = 'o'
)

func handleUserStatus(r *req) {
	var p wire.UserAttrReq
	if r.decode(&p) && r.check(wire.CheckName("account", p.Account)) {
		r.node().onlineAt(r.app(), p.Account, func(on bool, e *wire.Error) { r.answer(wire.StatusRes{Online: on}, e) })
	}
}

// onlineAt asks where the account is served whether it has a session.
func (n *Node) onlineAt(app, account string, done func(bool, *wire.Error)) {
	n.ask(app, account, opUserStatus, userAttrReq{Account: account},
		func() { done(n.online(app, account), nil) },
		func(raw []byte, e *wire.Error) {
			var on bool
			if e == nil && json.Unmarshal(raw, &on) != nil {
				e = wire.Errf(wire.General, "bad status from the account's server")
			}
			done(on, e)
		})
}

func (n *Node) online(app, account string) bool {
	_, ok := n.sessions.get(key{app, account})
	return ok
}

// invokePrefix starts every RPC name of the seed.
const invokePrefix = "io.agora.signal."

// invokeArgs holds every field any RPC takes.
type invokeArgs struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Channel string `json:"channel"`
	Num     *int   `json:"num"`
}

// rpc runs one RPC; it calls done once with the result (nil: {}) or an error.
type rpc func(n *Node, s *Session, a *invokeArgs, done func(res any, e *wire.Error))

var rpcs = map[string]rpc{
	"user_query_user_status": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		if e := wire.CheckName("account", a.Account); e != nil {
			done(nil, e)
			return
		}
		n.onlineAt(s.app, a.Account, func(on bool, e *wire.Error) { done(map[string]int{"status": b2i(on)}, e) })
	},
	"user_set_attr": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		done(nil, n.setUserAttr(s, a.Name, a.Value))
	},
	"user_get_attr": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		n.userAttrAt(s.app, a.Account, a.Name, func(v string, e *wire.Error) { done(map[string]string{"value": v}, e) })
	},
	"user_get_attr_all": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		n.userAttrsAt(s.app, a.Account, func(all map[string]string, e *wire.Error) { done(all, e) })
	},
	"channel_query_num": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		if e := wire.CheckName("channel", a.Name); e != nil {
			done(nil, e)
			return
		}
		n.channelCountAt(s.app, a.Name, func(num int, e *wire.Error) { done(map[string]int{"num": num}, e) })
	},
	"channel_query_user_isin": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		if e := wire.CheckName("channel", a.Name); e != nil {
			done(nil, e)
			return
		}
		if e := wire.CheckName("account", a.Account); e != nil {
			done(nil, e)
			return
		}
		n.userListAt(s.app, a.Name, a.Account, 0, func(l userList, e *wire.Error) { done(map[string]int{"isin": b2i(l.IsIn)}, e) })
	},
	"channel_query_userlist":     queryUserList(false),
	"channel_query_userlist_all": queryUserList(true),
	"channel_set_attr": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		n.changeChannelAt(s.app, attrChange{Channel: a.Channel, Type: "update", Name: a.Name, Value: a.Value, By: s.account}, func(e *wire.Error) { done(nil, e) })
	},
	"channel_del_attr": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		n.changeChannelAt(s.app, attrChange{Channel: a.Channel, Type: "del", Name: a.Name, By: s.account}, func(e *wire.Error) { done(nil, e) })
	},
	"channel_clear_attr": func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		n.changeChannelAt(s.app, attrChange{Channel: a.Channel, Type: "clear", By: s.account}, func(e *wire.Error) { done(nil, e) })
	},
}

func queryUserList(all bool) rpc {
	return func(n *Node, s *Session, a *invokeArgs, done func(any, *wire.Error)) {
		limit := 200
		if all {
			limit = 1000 * 1000
			if a.Num != nil && *a.Num >= 0 {
				limit = *a.Num
			}
		}
		if e := wire.CheckName("channel", a.Name); e != nil {
			done(nil, e)
			return
		}
		n.userListAt(s.app, a.Name, "", limit, func(l userList, e *wire.Error) {
			done(map[string]any{"num": l.Num, "list": l.List}, e)
		})
	}
}

// handleInvoke runs an RPC (SPEC.md "RPC"). Its error's Msg is onInvokeRet's
// err: a short reason word, then details.
func handleInvoke(r *req) {
	var p wire.InvokeReq
	if !r.decode(&p) {
		return
	}
	var a invokeArgs
	if len(p.Req) > 0 {
		if err := json.Unmarshal(p.Req, &a); err != nil {
			r.fail(wire.Errf(wire.GeneralWrongParam, "bad_request: req must be a JSON object: %v", err))
			return
		}
	}
	name, ok := cutPrefix(p.Name, invokePrefix)
	fn := rpcs[name]
	if !ok || fn == nil {
		r.fail(wire.Errf(wire.GeneralWrongParam, "unknown_method"))
		return
	}
	fn(r.node(), r.s, &a, func(res any, e *wire.Error) {
		if e != nil {
			r.fail(wire.Errf(e.Code, "%s: %s", invokeReason(e.Code), e.Msg))
			return
		}
		if res == nil {
			res = struct{}{}
		}
		b, err := jsonMarshal(res)
		if err != nil {
			r.fail(internal(err))
			return
		}
		r.ok(wire.InvokeRes{Resp: b})
	})
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

func invokeReason(c wire.Code) string {
	switch c {
	case wire.GeneralWrongParam:
		return "bad_request"
	case wire.GeneralLargeParam:
		return "too_large"
	default:
		return "failed"
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// userList is a channel's members, as the RPCs see them.
type userList struct {
	Num  int      `json:"num"`
	List []string `json:"list"`
	IsIn bool     `json:"isin"`
}

type userListReq struct {
	Channel string `json:"ch"`
	Account string `json:"account,omitempty"` // whose membership IsIn tells
	Limit   int    `json:"limit"`
}

// userListAt lists a channel's most recent members (up to limit), and
// whether account is one, where the channel is served.
func (n *Node) userListAt(app, channel, account string, limit int, done func(userList, *wire.Error)) {
	n.ask(app, channel, opChanList, userListReq{Channel: channel, Account: account, Limit: limit},
		func() { done(n.userList(app, channel, account, limit), nil) },
		func(raw []byte, e *wire.Error) {
			var l userList
			if e == nil && json.Unmarshal(raw, &l) != nil {
				e = wire.Errf(wire.General, "bad member list from the channel's server")
			}
			done(l, e)
		})
}

func (n *Node) userList(app, channel, account string, limit int) userList {
	out := userList{List: []string{}}
	ch, ok := n.channels.get(key{app, channel})
	if !ok {
		return out
	}
	out.List, out.Num = ch.recentAccounts(limit)
	if account != "" {
		ch.mu.Lock()
		_, in := ch.members[account]
		out.IsIn = in && !ch.dead
		ch.mu.Unlock()
	}
	return out
}

func init() {
	remoteOps[opUserStatus] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p userAttrReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.online(app, p.Account), nil)
	}
	remoteOps[opChanList] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p userListReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.userList(app, p.Channel, p.Account, p.Limit), nil)
	}
}
