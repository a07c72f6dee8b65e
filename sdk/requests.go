package sdk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// reqKind is how a request's answer and failure are reported: one value per
// kind of request, so that a new kind is one type with its two methods.
type reqKind interface {
	// succeed reports the server's success answer f.
	succeed(e *engine, r *request, f *wire.Frame)
	// fail reports a failure; engine.fail has logged it already.
	fail(e *engine, r *request, x failure)
}

var (
	kPlain      reqKind = plainReq{}      // ok → nothing; failure → onError
	kSend       reqKind = sendReq{}       // onMessageSendSuccess / onMessageSendError
	kJoin       reqKind = joinReq{}       // onChannelJoined… / onChannelJoinFailed
	kRejoin     reqKind = rejoinReq{}     // the SDK's own join after a new session
	kLeave      reqKind = leaveReq{}      // onChannelLeaved(602) / onError
	kCount      reqKind = countReq{}      // onChannelQueryUserNumResult
	kGetAttr    reqKind = getAttrReq{}    // onUserAttrResult / onError
	kGetAttrAll reqKind = getAttrAllReq{} // onUserAttrAllResult / onError
	kStatus     reqKind = statusReq{}     // onQueryUserStatusResult / onError
	kInvoke     reqKind = invokeReq{}     // onInvokeRet
	kInvite     reqKind = inviteReq{}     // failure → onInviteFailed too
	kInviteEnd  reqKind = inviteEndReq{}  // ok → onInviteEndByMyself; failure → onError
	kAck        reqKind = ackReq{}        // the SDK's own acknowledgement of an invite: nothing either way
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

// succeed reports r's success answer f.
func (e *engine) succeed(r *request, f *wire.Frame) { r.kind.succeed(e, r, f) }

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

// fail reports r's failure: an onLog line, then what r's kind reports
// (onError where it applies, then the operation's own outcome callback, so
// that a caller waiting for the outcome always gets exactly one).
func (e *engine) fail(r *request, how failKind, code wire.Code, msg string) {
	e.log("%s failed: %s (%d %s)", r.describe(), msg, int(code), code)
	r.kind.fail(e, r, failure{how, code, msg})
}

// failure is a request's failure as engine.fail was told it.
type failure struct {
	how  failKind
	code wire.Code
	msg  string
}

// withError reports whether onError accompanies the failure: it does for
// every failure but the server's own outcome codes.
func (x failure) withError() bool { return x.how != failServer || x.code >= wire.General }

// outcome is the code for an operation's own failure callback: the
// server's code when it lies in [other, last], timeout for a timeout, else
// other; and whether onError goes first (not for a timeout or the
// session's end: the outcome says it all).
func (x failure) outcome(other, last, timeout wire.Code) (wire.Code, bool) {
	out, withError := other, x.withError()
	switch x.how {
	case failServer:
		if x.code >= other && x.code <= last {
			out = x.code
		}
	case failTimeout:
		out, withError = timeout, false
	case failEnded:
		withError = false
	}
	return out, withError
}

// onError reports x through onError.
func (e *engine) onError(r *request, x failure) {
	method, code, msg := r.method, int(x.code), x.msg
	e.emit(func(cb Callback) { cb.OnError(method, code, msg) })
}

// decodeAnswer decodes a success answer's payload, failing r when it is
// malformed.
func decodeAnswer[T any](e *engine, r *request, f *wire.Frame) (*T, bool) {
	v := new(T)
	if err := f.Decode(v); err != nil {
		e.badAnswer(r, err)
		return nil, false
	}
	return v, true
}

// errorOnFail is the failure of the kinds with no outcome callback of their
// own: onError, whatever the cause.
type errorOnFail struct{}

func (errorOnFail) fail(e *engine, r *request, x failure) { e.onError(r, x) }

type plainReq struct{ errorOnFail }

func (plainReq) succeed(e *engine, r *request, _ *wire.Frame) {
	switch r.op {
	case wire.OpInviteRefuse:
		e.untrackCall(r.ch, r.account) // the callee's own final outcome
	case wire.OpInviteAccept:
		if c := e.calls[callRef{r.ch, r.account}]; c != nil {
			c.answered = true
		}
	}
}

type sendReq struct{}

func (sendReq) succeed(e *engine, r *request, _ *wire.Frame) {
	mid := r.mid
	e.emit(func(cb Callback) { cb.OnMessageSendSuccess(mid) })
}

func (sendReq) fail(e *engine, r *request, x failure) {
	out, withError := x.outcome(wire.SendMessageOther, wire.QueryUserNumOther-1, wire.SendMessageTimeout)
	if withError {
		e.onError(r, x)
	}
	mid := r.mid
	e.emit(func(cb Callback) { cb.OnMessageSendError(mid, int(out)) })
}

type joinReq struct{}

func (joinReq) succeed(e *engine, r *request, f *wire.Frame) {
	if res, ok := decodeAnswer[wire.JoinRes](e, r, f); ok {
		e.joined(r.ch, res, true)
	}
}

func (joinReq) fail(e *engine, r *request, x failure) {
	if x.withError() {
		e.onError(r, x)
	}
	ch := r.ch
	e.emit(func(cb Callback) { cb.OnChannelJoinFailed(ch, int(wire.JoinChannelOther)) })
}

type rejoinReq struct{}

func (rejoinReq) succeed(e *engine, r *request, f *wire.Frame) {
	res, ok := decodeAnswer[wire.JoinRes](e, r, f)
	if !ok || e.channel != r.ch {
		return // failed, or left meanwhile
	}
	e.joined(r.ch, res, false)
}

// fail loses the channel, unless the session ended: its end reports the
// channel itself.
func (rejoinReq) fail(e *engine, r *request, x failure) {
	if x.how != failEnded && e.channel == r.ch {
		ch := r.ch
		e.channel, e.lastOff, e.chSync = "", 0, false
		e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(wire.LeaveChannelDisconn)) })
	}
}

type leaveReq struct{ errorOnFail }

func (leaveReq) succeed(e *engine, r *request, _ *wire.Frame) {
	ch := r.ch
	if e.channel == ch {
		e.channel, e.lastOff, e.chSync = "", 0, false
	}
	e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(wire.LeaveChannelByUser)) })
}

type countReq struct{}

func (countReq) succeed(e *engine, r *request, f *wire.Frame) {
	if res, ok := decodeAnswer[wire.CountRes](e, r, f); ok {
		ch := r.ch
		e.emit(func(cb Callback) { cb.OnChannelQueryUserNumResult(ch, 0, res.Num) })
	}
}

func (countReq) fail(e *engine, r *request, x failure) {
	out, withError := x.outcome(wire.QueryUserNumOther, wire.QueryUserNumByUser, wire.QueryUserNumTimeout)
	if withError {
		e.onError(r, x)
	}
	ch := r.ch
	e.emit(func(cb Callback) { cb.OnChannelQueryUserNumResult(ch, int(out), 0) })
}

type getAttrReq struct{ errorOnFail }

func (getAttrReq) succeed(e *engine, r *request, f *wire.Frame) {
	if res, ok := decodeAnswer[wire.UserAttrRes](e, r, f); ok {
		account, name := r.account, r.name
		e.emit(func(cb Callback) { cb.OnUserAttrResult(account, name, res.Value) })
	}
}

type getAttrAllReq struct{ errorOnFail }

func (getAttrAllReq) succeed(e *engine, r *request, f *wire.Frame) {
	res, ok := decodeAnswer[wire.UserAttrAllRes](e, r, f)
	if !ok {
		return
	}
	value := "{}"
	if len(res.Attrs) > 0 {
		b, _ := json.Marshal(res.Attrs) // keys sorted
		value = string(b)
	}
	account := r.account
	e.emit(func(cb Callback) { cb.OnUserAttrAllResult(account, value) })
}

type statusReq struct{ errorOnFail }

func (statusReq) succeed(e *engine, r *request, f *wire.Frame) {
	res, ok := decodeAnswer[wire.StatusRes](e, r, f)
	if !ok {
		return
	}
	account, status := r.account, "0"
	if res.Online {
		status = "1"
	}
	e.emit(func(cb Callback) { cb.OnQueryUserStatusResult(account, status) })
}

type invokeReq struct{}

func (invokeReq) succeed(e *engine, r *request, f *wire.Frame) {
	res, ok := decodeAnswer[wire.InvokeRes](e, r, f)
	if !ok {
		return
	}
	resp := string(res.Resp)
	if len(res.Resp) == 0 || resp == "null" {
		resp = "{}"
	}
	callID := r.callID
	e.emit(func(cb Callback) { cb.OnInvokeRet(callID, "", resp) })
}

// fail reports the reason to onInvokeRet; the server's reason goes there
// alone, without onError.
func (invokeReq) fail(e *engine, r *request, x failure) {
	reason := x.msg
	switch {
	case x.how == failServer:
		if reason == "" {
			reason = x.code.String()
		}
	case x.how == failTimeout:
		reason = "timeout"
	case x.how == failEnded:
		reason = "session_ended"
	case x.code == wire.GeneralNotLogin:
		reason = "not_logged_in"
	case x.code == wire.GeneralLargeParam:
		reason = "too_large"
	default:
		reason = "bad_request"
	}
	if x.how != failServer {
		e.onError(r, x)
	}
	callID := r.callID
	e.emit(func(cb Callback) { cb.OnInvokeRet(callID, reason, "{}") })
}

type inviteReq struct{}

// succeed reports nothing: the call's pushes report its progress.
func (inviteReq) succeed(*engine, *request, *wire.Frame) {}

func (inviteReq) fail(e *engine, r *request, x failure) {
	out := wire.InviteOther
	if x.how == failServer && x.code >= wire.InviteOther && x.code <= wire.InviteCantRecv {
		out = x.code // the server's own outcome (701 reinvite, 703 peer offline)
	}
	if x.how == failTimeout {
		out = wire.InviteNet
	}
	if x.withError() && x.how != failEnded {
		e.onError(r, x)
	}
	ch, account := r.ch, r.account
	if r.ownsCall {
		e.untrackCall(ch, account)
	}
	if x.how == failTimeout && r.ownsCall {
		// The server may have the call: end it there, so that nothing
		// follows the 702 reported here (later pushes are dropped anyway).
		e.submit(&request{kind: kAck, method: "ChannelInviteEnd", op: wire.OpInviteEnd,
			d: wire.InviteRef{Channel: ch, Peer: account}, ch: ch, account: account})
	}
	e.emit(func(cb Callback) { cb.OnInviteFailed(ch, account, 0, int(out), "") })
}

type inviteEndReq struct{ errorOnFail }

func (inviteEndReq) succeed(e *engine, r *request, _ *wire.Frame) {
	ch, account := r.ch, r.account
	if e.untrackCall(ch, account) {
		e.emit(func(cb Callback) { cb.OnInviteEndByMyself(ch, account, 0) })
	}
}

type ackReq struct{}

func (ackReq) succeed(*engine, *request, *wire.Frame) {}
func (ackReq) fail(*engine, *request, failure)        {}
