package sdk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// reqKind selects how a request's answer and failure are reported.
type reqKind int

const (
	kPlain      reqKind = iota // ok → nothing; failure → onError
	kSend                      // onMessageSendSuccess / onMessageSendError
	kJoin                      // onChannelJoined… / onChannelJoinFailed
	kRejoin                    // the SDK's own join after a new session
	kLeave                     // onChannelLeaved(602) / onError
	kCount                     // onChannelQueryUserNumResult
	kGetAttr                   // onUserAttrResult / onError
	kGetAttrAll                // onUserAttrAllResult / onError
	kStatus                    // onQueryUserStatusResult / onError
	kInvoke                    // onInvokeRet
	kInvite                    // failure → onInviteFailed too
	kInviteEnd                 // ok → onInviteEndByMyself; failure → onError
	kAck                       // the SDK's own acknowledgement of an invite: nothing either way
)

// failKind is why a request failed.
type failKind int

const (
	failLocal   failKind = iota // refused by the SDK before sending
	failServer                  // the server's error answer
	failTimeout                 // no answer in time
	failEnded                   // the session ended first
)

// request is an operation sent to the server and awaiting its answer.
type request struct {
	kind   reqKind
	method string // the API method, for onError
	op     string
	d      any

	// What the outcome callbacks need.
	mid, ch, account, name, callID string

	ownsCall bool // an invite that started tracking its call

	id       uint64
	frame    []byte
	deadline time.Time
	sentGen  uint64 // the connection it was last written to
}

// describe names the request in log lines.
func (r *request) describe() string {
	switch {
	case r.mid != "":
		return r.method + " " + r.mid
	case r.callID != "":
		return r.method + " " + r.callID
	case r.ch != "":
		return r.method + " " + r.ch
	case r.account != "":
		return r.method + " " + r.account
	}
	return r.method
}

// invalid reports the first non-nil validation error as r's failure.
func (e *engine) invalid(r *request, errs ...*wire.Error) bool {
	for _, er := range errs {
		if er != nil {
			e.fail(r, failLocal, er.Code, er.Msg)
			return true
		}
	}
	return false
}

// loggedIn reports 1003 for r unless a session exists (status 2 or 3).
func (e *engine) loggedIn(r *request) bool {
	if e.ph == phOnline || e.ph == phReconnect {
		return true
	}
	e.fail(r, failLocal, wire.GeneralNotLogin, "not logged in")
	return false
}

// submit sends r, or queues it while reconnecting.
func (e *engine) submit(r *request) {
	if !e.loggedIn(r) {
		return
	}
	e.nextID++
	r.id = e.nextID
	b, err := wire.Encode(r.id, r.op, r.d)
	if err != nil {
		e.fail(r, failLocal, wire.GeneralWrongParam, err.Error())
		return
	}
	if len(b) > wire.MaxFrameBytes {
		e.fail(r, failLocal, wire.GeneralLargeParam,
			fmt.Sprintf("request is %d bytes, the limit is %d", len(b), wire.MaxFrameBytes))
		return
	}
	r.frame = b
	r.deadline = time.Now().Add(e.c.cfg.requestTimeout)
	e.pending[r.id] = r
	e.armRequestTimer()
	e.write(r)
}

// write sends r on the current connection if the session is up.
func (e *engine) write(r *request) {
	if e.ph == phOnline && e.cn != nil {
		e.cn.send(r.frame)
		r.sentGen = e.cn.gen
	}
}

// flushPending (re)sends, in their original order, the pending requests not
// yet written to the current connection.
func (e *engine) flushPending() {
	for _, r := range e.sortedPending() {
		if e.cn == nil || r.sentGen != e.cn.gen {
			e.write(r)
		}
	}
}

func (e *engine) sortedPending() []*request {
	rs := make([]*request, 0, len(e.pending))
	for _, r := range e.pending {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *request) int { return cmp.Compare(a.id, b.id) })
	return rs
}

// armRequestTimer makes sure a timer runs at the earliest pending deadline.
// (All requests have the same timeout, so that is the oldest request's.)
func (e *engine) armRequestTimer() {
	if e.reqTimer != nil || len(e.pending) == 0 {
		return
	}
	var next time.Time
	for _, r := range e.pending {
		if next.IsZero() || r.deadline.Before(next) {
			next = r.deadline
		}
	}
	e.arm(&e.reqTimer, time.Until(next), e.expireRequests)
}

// expireRequests fails, oldest first, the requests whose deadline passed.
func (e *engine) expireRequests() {
	now := time.Now()
	for _, r := range e.sortedPending() {
		if r.deadline.After(now) {
			break
		}
		delete(e.pending, r.id)
		e.fail(r, failTimeout, wire.GeneralFailed, "timeout")
	}
	e.armRequestTimer()
}

// answer handles the server's answer to a request.
func (e *engine) answer(f *wire.Frame) {
	r := e.pending[f.ID]
	if r == nil {
		return // timed out already, or not ours
	}
	delete(e.pending, f.ID)
	if f.Err != nil {
		e.fail(r, failServer, f.Err.Code, f.Err.Msg)
		return
	}
	e.succeed(r, f)
}

func (e *engine) badAnswer(r *request, err error) {
	e.fail(r, failServer, wire.GeneralUnknown, "malformed answer from the server: "+err.Error())
}

func (e *engine) succeed(r *request, f *wire.Frame) {
	switch r.kind {
	case kSend:
		mid := r.mid
		e.emit(func(cb Callback) { cb.OnMessageSendSuccess(mid) })
	case kJoin, kRejoin:
		var res wire.JoinRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		if r.kind == kRejoin && e.channel != r.ch {
			return // left meanwhile
		}
		e.joined(r.ch, &res, r.kind == kJoin)
	case kLeave:
		ch := r.ch
		if e.channel == ch {
			e.channel, e.lastOff, e.chSync = "", 0, false
		}
		e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(wire.LeaveChannelByUser)) })
	case kCount:
		var res wire.CountRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		ch := r.ch
		e.emit(func(cb Callback) { cb.OnChannelQueryUserNumResult(ch, 0, res.Num) })
	case kGetAttr:
		var res wire.UserAttrRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		account, name := r.account, r.name
		e.emit(func(cb Callback) { cb.OnUserAttrResult(account, name, res.Value) })
	case kGetAttrAll:
		var res wire.UserAttrAllRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		value := "{}"
		if len(res.Attrs) > 0 {
			b, _ := json.Marshal(res.Attrs) // keys sorted
			value = string(b)
		}
		account := r.account
		e.emit(func(cb Callback) { cb.OnUserAttrAllResult(account, value) })
	case kStatus:
		var res wire.StatusRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		account, status := r.account, "0"
		if res.Online {
			status = "1"
		}
		e.emit(func(cb Callback) { cb.OnQueryUserStatusResult(account, status) })
	case kInvoke:
		var res wire.InvokeRes
		if err := f.Decode(&res); err != nil {
			e.badAnswer(r, err)
			return
		}
		resp := string(res.Resp)
		if len(res.Resp) == 0 || resp == "null" {
			resp = "{}"
		}
		callID := r.callID
		e.emit(func(cb Callback) { cb.OnInvokeRet(callID, "", resp) })
	case kInviteEnd:
		ch, account := r.ch, r.account
		if e.untrackCall(ch, account) {
			e.emit(func(cb Callback) { cb.OnInviteEndByMyself(ch, account, 0) })
		}
	case kPlain:
		switch r.op {
		case wire.OpInviteRefuse:
			e.untrackCall(r.ch, r.account) // the callee's own final outcome
		case wire.OpInviteAccept:
			if c := e.calls[callRef{r.ch, r.account}]; c != nil {
				c.answered = true
			}
		}
	}
}

// joined reports a channel's state: a join answer (withLeft: the channel
// left for it first) or a snapshot after a resume or rejoin.
func (e *engine) joined(ch string, res *wire.JoinRes, withLeft bool) {
	if res.Channel != "" {
		ch = res.Channel
	}
	if withLeft {
		left := res.Left
		if left == "" && e.channel != "" && e.channel != ch {
			left = e.channel // one channel at a time, whatever the server says
		}
		if left != "" {
			e.emit(func(cb Callback) { cb.OnChannelLeaved(left, int(wire.LeaveChannelByUser)) })
		}
	}
	e.channel, e.lastOff, e.chSync = ch, res.Off, true
	accounts := make([]string, len(res.Members))
	uids := make([]uint32, len(res.Members))
	for i, m := range res.Members {
		accounts[i], uids[i] = m.Account, m.UID
	}
	attrs := slices.Clone(res.Attrs)
	e.emit(func(cb Callback) { cb.OnChannelJoined(ch) })
	e.emit(func(cb Callback) { cb.OnChannelUserList(accounts, uids) })
	for _, a := range attrs {
		e.emit(func(cb Callback) { cb.OnChannelAttrUpdated(ch, a.Name, a.Value, "update") })
	}
}

// rejoin joins ch again after the server started a new session, unless a
// rejoin from an earlier reconnect is still pending (it is resent).
func (e *engine) rejoin(ch string) {
	for _, r := range e.pending {
		if r.kind == kRejoin && r.ch == ch {
			return
		}
	}
	e.submit(&request{kind: kRejoin, method: "ChannelJoin", op: wire.OpChannelJoin,
		d: wire.ChannelReq{Channel: ch}, ch: ch})
}

// fail reports r's failure: an onLog line, onError where it applies, then
// the operation's own outcome callback, so that a caller waiting for the
// outcome always gets exactly one.
func (e *engine) fail(r *request, how failKind, code wire.Code, msg string) {
	e.log("%s failed: %s (%d %s)", r.describe(), msg, int(code), code)
	method := r.method
	onError := func() { e.emit(func(cb Callback) { cb.OnError(method, int(code), msg) }) }
	// onError accompanies every failure but the server's own outcome codes.
	withError := how != failServer || code >= wire.General
	switch r.kind {
	case kSend:
		out := wire.SendMessageOther
		switch how {
		case failServer:
			if code >= wire.SendMessageOther && code < wire.QueryUserNumOther {
				out = code
			}
		case failTimeout:
			out, withError = wire.SendMessageTimeout, false
		case failEnded:
			withError = false
		}
		if withError {
			onError()
		}
		mid := r.mid
		e.emit(func(cb Callback) { cb.OnMessageSendError(mid, int(out)) })
	case kCount:
		out := wire.QueryUserNumOther
		switch how {
		case failServer:
			if code >= wire.QueryUserNumOther && code <= wire.QueryUserNumByUser {
				out = code
			}
		case failTimeout:
			out, withError = wire.QueryUserNumTimeout, false
		case failEnded:
			withError = false
		}
		if withError {
			onError()
		}
		ch := r.ch
		e.emit(func(cb Callback) { cb.OnChannelQueryUserNumResult(ch, int(out), 0) })
	case kJoin:
		if withError {
			onError()
		}
		ch := r.ch
		e.emit(func(cb Callback) { cb.OnChannelJoinFailed(ch, int(wire.JoinChannelOther)) })
	case kRejoin:
		// The session's end reports the channel itself; otherwise the
		// channel is lost.
		if how != failEnded && e.channel == r.ch {
			ch := r.ch
			e.channel, e.lastOff, e.chSync = "", 0, false
			e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(wire.LeaveChannelDisconn)) })
		}
	case kInvoke:
		reason := msg
		switch {
		case how == failServer:
			withError = false // the reason goes to onInvokeRet
			if reason == "" {
				reason = code.String()
			}
		case how == failTimeout:
			reason = "timeout"
		case how == failEnded:
			reason = "session_ended"
		case code == wire.GeneralNotLogin:
			reason = "not_logged_in"
		case code == wire.GeneralLargeParam:
			reason = "too_large"
		default:
			reason = "bad_request"
		}
		if withError {
			onError()
		}
		callID := r.callID
		e.emit(func(cb Callback) { cb.OnInvokeRet(callID, reason, "{}") })
	case kInvite:
		out := wire.InviteOther
		if how == failServer && code >= wire.InviteOther && code <= wire.InviteCantRecv {
			out = code // the server's own outcome (701 reinvite, 703 peer offline)
		}
		if how == failTimeout {
			out = wire.InviteNet
		}
		if withError && how != failEnded {
			onError()
		}
		ch, account := r.ch, r.account
		if r.ownsCall {
			e.untrackCall(ch, account)
		}
		if how == failTimeout && r.ownsCall {
			// The server may have the call: end it there, so that nothing
			// follows the 702 reported here (later pushes are dropped anyway).
			e.submit(&request{kind: kAck, method: "ChannelInviteEnd", op: wire.OpInviteEnd,
				d: wire.InviteRef{Channel: ch, Peer: account}, ch: ch, account: account})
		}
		e.emit(func(cb Callback) { cb.OnInviteFailed(ch, account, 0, int(out), "") })
	case kAck:
	default:
		onError()
	}
}
