package server

import (
	"encoding/json"

	"github.com/xinling/xinling/sdk/wire"
)

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

// invoke runs an RPC (SPEC.md "RPC"). Its error's Msg is onInvokeRet's err:
// a short reason word, then details.
func (n *Node) invoke(s *Session, name string, raw json.RawMessage) ([]byte, *wire.Error) {
	var a invokeArgs
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, wire.Errf(wire.GeneralWrongParam, "bad_request: req must be a JSON object: %v", err)
		}
	}
	var res any
	var e *wire.Error
	switch name {
	case invokePrefix + "user_query_user_status":
		if e = wire.CheckName("account", a.Account); e == nil {
			res = map[string]int{"status": b2i(n.online(s.app, a.Account))}
		}
	case invokePrefix + "user_set_attr":
		e = n.setUserAttr(s, a.Name, a.Value)
	case invokePrefix + "user_get_attr":
		var v string
		if v, e = n.userAttr(s.app, a.Account, a.Name); e == nil {
			res = map[string]string{"value": v}
		}
	case invokePrefix + "user_get_attr_all":
		res, e = n.userAttrs(s.app, a.Account)
	case invokePrefix + "channel_query_num":
		if e = wire.CheckName("channel", a.Name); e == nil {
			res = map[string]int{"num": n.channelCount(s.app, a.Name)}
		}
	case invokePrefix + "channel_query_user_isin":
		if e = wire.CheckName("channel", a.Name); e == nil {
			if e = wire.CheckName("account", a.Account); e == nil {
				res = map[string]int{"isin": b2i(n.isMember(s.app, a.Name, a.Account))}
			}
		}
	case invokePrefix + "channel_query_userlist", invokePrefix + "channel_query_userlist_all":
		limit := 200
		if name == invokePrefix+"channel_query_userlist_all" {
			limit = 1000 * 1000
			if a.Num != nil && *a.Num >= 0 {
				limit = *a.Num
			}
		}
		if e = wire.CheckName("channel", a.Name); e == nil {
			num, list := n.userList(s.app, a.Name, limit)
			res = map[string]any{"num": num, "list": list}
		}
	case invokePrefix + "channel_set_attr":
		e = n.setChannelAttr(s, a.Channel, a.Name, a.Value)
	case invokePrefix + "channel_del_attr":
		e = n.delChannelAttr(s, a.Channel, a.Name)
	case invokePrefix + "channel_clear_attr":
		e = n.clearChannelAttrs(s, a.Channel)
	default:
		return nil, wire.Errf(wire.GeneralWrongParam, "unknown_method")
	}
	if e != nil {
		return nil, wire.Errf(e.Code, "%s: %s", invokeReason(e.Code), e.Msg)
	}
	if res == nil {
		res = struct{}{}
	}
	b, err := jsonMarshal(res)
	if err != nil {
		return nil, internal(err)
	}
	return b, nil
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

func (n *Node) isMember(app, channel, account string) bool {
	ch, ok := n.channels.get(key{app, channel})
	if !ok {
		return false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	_, in := ch.members[account]
	return in && !ch.dead
}

func (n *Node) userList(app, channel string, limit int) (int, []string) {
	ch, ok := n.channels.get(key{app, channel})
	if !ok {
		return 0, []string{}
	}
	list, num := ch.recentAccounts(limit)
	return num, list
}
