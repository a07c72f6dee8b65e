package server

import (
	"encoding/json"
	"errors"

	"github.com/xinling/xinling/sdk/wire"
)

// Channel attributes (served where the channel is) and user attributes
// (where the account is: one's own are always here).

// errTooManyAttrs refuses a new attribute past wire.MaxAttrs: what a join
// answer carries stays bounded (256 × 8 KB values, well under the SDK's read limit).
var errTooManyAttrs = errors.New("too many attributes")

func checkAttrName(name string) *wire.Error {
	if e := wire.CheckName("attribute name", name); e != nil {
		return e
	}
	if wire.ReadOnlyAttr(name) {
		return wire.Errf(wire.GeneralWrongParam, "%s is maintained by the server and cannot be changed", name)
	}
	return nil
}

func checkBuiltinValue(name, value string) *wire.Error { return wire.CheckBuiltinValue(name, value) }

// attrChange is a channel attribute change: "update" (set), "del", "clear".
type attrChange struct {
	Channel string `json:"ch"`
	Type    string `json:"type"`
	Name    string `json:"name,omitempty"`
	Value   string `json:"value,omitempty"`
	By      string `json:"by"`
}

// check validates a change where it is asked for.
func (a *attrChange) check() *wire.Error {
	if e := wire.CheckName("channel", a.Channel); e != nil {
		return e
	}
	if a.Type == "clear" {
		return nil
	}
	if e := checkAttrName(a.Name); e != nil {
		return e
	}
	if a.Type == "del" {
		return nil
	}
	if e := wire.CheckText("attribute value", a.Value, wire.MaxValueBytes); e != nil {
		return e
	}
	return checkBuiltinValue(a.Name, a.Value)
}

func handleSetChannelAttr(r *req) {
	var p wire.ChannelAttrReq
	if r.decode(&p) {
		r.node().changeChannelAt(r.app(), attrChange{Channel: p.Channel, Type: "update", Name: p.Name, Value: p.Value, By: r.s.account}, r.done)
	}
}

func handleDelChannelAttr(r *req) {
	var p wire.ChannelAttrReq
	if r.decode(&p) {
		r.node().changeChannelAt(r.app(), attrChange{Channel: p.Channel, Type: "del", Name: p.Name, By: r.s.account}, r.done)
	}
}

func handleClearChannelAttrs(r *req) {
	var p wire.ChannelReq
	if r.decode(&p) {
		r.node().changeChannelAt(r.app(), attrChange{Channel: p.Channel, Type: "clear", By: r.s.account}, r.done)
	}
}

// changeChannelAt validates a change and applies it where the channel is served.
func (n *Node) changeChannelAt(app string, a attrChange, done func(*wire.Error)) {
	if e := a.check(); e != nil {
		done(e)
		return
	}
	n.ask(app, a.Channel, opChanAttr, a,
		func() { done(n.changeChannel(app, a)) },
		func(_ []byte, e *wire.Error) { done(e) })
}

// changeChannel applies an attribute change under the channel's lock, on the
// node serving it, durably, and tells every member. A clear is not rate
// limited per attribute.
func (n *Node) changeChannel(app string, a attrChange) *wire.Error {
	st := n.storeOf(app, a.Channel)
	var e *wire.Error
	err := n.withChannel(app, a.Channel, func(ch *Channel) {
		if a.Type != "clear" && !ch.allowAttrLocked(a.Name) {
			n.metrics.limited.Add(1)
			e = wire.Errf(wire.GeneralFailed, "rate limited: _setattr_limit allows %d changes per second to %s", ch.intAttr(wire.AttrSetAttrLimit, 0), a.Name)
			return
		}
		u := &wire.AttrUpdate{Channel: a.Channel, Name: a.Name, Value: a.Value, Type: a.Type, By: a.By}
		var err error
		switch a.Type {
		case "update":
			if _, ok := ch.attrs[a.Name]; !ok && len(ch.attrs) >= wire.MaxAttrs {
				e = wire.Errf(wire.GeneralFailed, "a channel has at most %d attributes", wire.MaxAttrs)
				return
			}
			if err = st.SetChannelAttr(app, a.Channel, a.Name, a.Value); err == nil {
				ch.attrs[a.Name] = a.Value
			}
		case "del":
			if _, err = st.DelChannelAttr(app, a.Channel, a.Name); err == nil {
				delete(ch.attrs, a.Name)
			}
		default:
			if err = st.ClearChannelAttrs(app, a.Channel); err == nil {
				clear(ch.attrs)
			}
		}
		if err != nil {
			e = internal(err)
			return
		}
		ch.changed = true
		ch.pushLocked(wire.PushAttrUpdated, u)
		ch.scheduleAutoUpdateLocked()
	})
	if err != nil {
		return internal(err)
	}
	return e
}

func handleSetUserAttr(r *req) {
	var p wire.UserAttrReq
	if r.decode(&p) {
		r.done(r.node().setUserAttr(r.s, p.Name, p.Value))
	}
}

// setUserAttr sets one of the session's own attributes (its account is
// served here).
func (n *Node) setUserAttr(s *Session, name, value string) *wire.Error {
	if e := wire.CheckName("attribute name", name); e != nil {
		return e
	}
	if e := wire.CheckText("attribute value", value, wire.MaxValueBytes); e != nil {
		return e
	}
	st := n.storeOf(s.app, s.account)
	if st == nil {
		return wire.Errf(wire.General, "this server no longer serves %s: log in again", s.account)
	}
	if value != "" {
		count, err := st.UserAttrCount(s.app, s.account)
		if err != nil {
			return internal(err)
		}
		if count >= wire.MaxAttrs {
			// At the cap only an existing attribute may change.
			old, err := st.UserAttr(s.app, s.account, name)
			if err != nil {
				return internal(err)
			}
			if old == "" {
				return wire.Errf(wire.GeneralFailed, "an account has at most %d attributes", wire.MaxAttrs)
			}
		}
	}
	if err := st.SetUserAttr(s.app, s.account, name, value); err != nil {
		return internal(err)
	}
	return nil
}

func handleGetUserAttr(r *req) {
	var p wire.UserAttrReq
	if r.decode(&p) {
		r.node().userAttrAt(r.app(), p.Account, p.Name, func(v string, e *wire.Error) { r.answer(wire.UserAttrRes{Value: v}, e) })
	}
}

func handleGetUserAttrs(r *req) {
	var p wire.UserAttrReq
	if r.decode(&p) {
		r.node().userAttrsAt(r.app(), p.Account, func(all map[string]string, e *wire.Error) { r.answer(wire.UserAttrAllRes{Attrs: all}, e) })
	}
}

type userAttrReq struct {
	Account string `json:"account"`
	Name    string `json:"name,omitempty"`
}

// userAttrAt reads an account's attribute where the account is served.
func (n *Node) userAttrAt(app, account, name string, done func(string, *wire.Error)) {
	if e := wire.CheckName("account", account); e != nil {
		done("", e)
		return
	}
	if e := wire.CheckName("attribute name", name); e != nil {
		done("", e)
		return
	}
	n.ask(app, account, opUserAttr, userAttrReq{Account: account, Name: name},
		func() { done(n.userAttr(app, account, name)) },
		func(raw []byte, e *wire.Error) {
			var v string
			if e == nil && json.Unmarshal(raw, &v) != nil {
				e = wire.Errf(wire.General, "bad attribute from the account's server")
			}
			done(v, e)
		})
}

func (n *Node) userAttr(app, account, name string) (string, *wire.Error) {
	st := n.storeOf(app, account)
	if st == nil {
		return "", errNotHere
	}
	v, err := st.UserAttr(app, account, name)
	if err != nil {
		return "", internal(err)
	}
	return v, nil
}

// userAttrsAt reads all of an account's attributes where it is served.
func (n *Node) userAttrsAt(app, account string, done func(map[string]string, *wire.Error)) {
	if e := wire.CheckName("account", account); e != nil {
		done(nil, e)
		return
	}
	n.ask(app, account, opUserAttrs, userAttrReq{Account: account},
		func() { done(n.userAttrs(app, account)) },
		func(raw []byte, e *wire.Error) {
			var all map[string]string
			if e == nil && json.Unmarshal(raw, &all) != nil {
				e = wire.Errf(wire.General, "bad attributes from the account's server")
			}
			done(all, e)
		})
}

func (n *Node) userAttrs(app, account string) (map[string]string, *wire.Error) {
	st := n.storeOf(app, account)
	if st == nil {
		return nil, errNotHere
	}
	all, err := st.UserAttrs(app, account)
	if err != nil {
		return nil, internal(err)
	}
	return all, nil
}

const (
	opUserAttr  = 'a'
	opUserAttrs = 'A'
)

func init() {
	remoteOps[opChanAttr] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var a attrChange
		if e := decodeJSON(b, &a); e != nil {
			answer(nil, e)
			return
		}
		if e := a.check(); e != nil {
			answer(nil, e)
			return
		}
		answer(nil, n.changeChannel(app, a))
	}
	remoteOps[opUserAttr] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p userAttrReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.userAttr(app, p.Account, p.Name))
	}
	remoteOps[opUserAttrs] = func(n *Node, from, app string, b []byte, answer func(any, *wire.Error)) {
		var p userAttrReq
		if e := decodeJSON(b, &p); e != nil {
			answer(nil, e)
			return
		}
		answer(n.userAttrs(app, p.Account))
	}
}
