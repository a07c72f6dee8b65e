package sdk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/xinling/xinling/sdk/wire"
)

// phase is where the engine's session is; it mirrors GetStatus for the
// engine's epoch.
type phase int

const (
	phIdle      phase = iota // status 0
	phLogin                  // status 1: dialling / waiting for the login answer, with retries
	phOnline                 // status 2
	phReconnect              // status 3
)

// creds is what a login sends, kept for reconnecting.
type creds struct {
	app, account, token, device string
}

// engine owns all session state. Every field is touched only on the engine
// goroutine (run), which executes, one at a time, the commands posted by API
// methods and the events posted by sockets and timers. Nothing here blocks:
// dialling, reading and writing happen on other goroutines, callbacks on the
// dispatcher's.
type engine struct {
	c       *Client
	stopped bool // destroyed: do nothing but release resources

	ph    phase
	epoch uint64 // the Client epoch this session belongs to
	cred  creds

	// Login and reconnect attempts.
	maxAttempts int           // login only
	window      time.Duration // login: retryTimeInS; reconnect: cfg.reconnectWindow
	started     time.Time     // when the current login / reconnect began
	attempt     int
	gen         uint64             // generation of the current attempt / connection
	urls        []string           // the servers: the client's, then those the cluster sent us to
	cur         int                // index in urls of the current dial / connection
	tried       int                // URLs dialled in the current attempt
	home        int                // index in urls of the session's server: attempts start there
	next        int                // index in urls where the next attempt starts
	avoid       int                // index in urls of a server that sent goaway; -1: none
	redirect    int                // index in urls of the server a goaway named: the next attempt goes there at once; -1: none
	redirects   int                // redirects followed since the last login
	cancelDial  context.CancelFunc // non-nil while dialling
	cn          *conn              // current connection, nil when none
	loginID     uint64             // id of the login request awaiting its answer
	loginTimer  *time.Timer
	backoff     *time.Timer
	windowTimer *time.Timer

	// The session.
	session  string
	fd       int
	hb       time.Duration
	hbTimer  *time.Timer
	lastRecv time.Time
	lastPing time.Time
	lastSeq  uint64 // user stream: last push delivered
	// The offline queue's cursor, kept across sessions: the last queued
	// peer message delivered (its key), in which queue, for which account.
	queue        string
	queueKey     uint64
	queueAccount string
	ackedSeq     uint64                // user stream: last seq acknowledged to the server
	peerSeen     map[string]struct{}   // recent (sender, message id) pairs, across sessions
	calls        map[callRef]*callInfo // live calls, to report each one's final outcome once
	peerRing     []string
	channel      string // current channel, "" when none
	lastOff      uint64 // channel stream: last push delivered
	chSync       bool   // channel stream is live (false while rejoining after a new session)

	nextID   uint64
	pending  map[uint64]*request
	reqTimer *time.Timer // fires at the earliest pending deadline

	midPrefix string
	midSeq    uint64
}

func newEngine(c *Client, midPrefix string) *engine {
	return &engine{c: c, urls: slices.Clone(c.urls), pending: make(map[uint64]*request), midPrefix: midPrefix, avoid: -1, redirect: -1}
}

const maxRedirects = 5

// redirectTo makes url, named by a server's goaway (the node of a cluster
// that serves the account), the next attempt's server.
func (e *engine) redirectTo(raw string) {
	u, err := parseServerURL(raw)
	if err != nil {
		e.log("ignored a goaway's URL %q: %v", raw, err)
		return
	}
	i := slices.Index(e.urls, u)
	if i < 0 {
		e.urls = append(e.urls, u)
		i = len(e.urls) - 1
	}
	e.redirect = i
}

// run is the engine goroutine.
func (e *engine) run() {
	defer close(e.c.engineDone)
	var rest []item
	for !e.stopped {
		<-e.c.cmds.sig
		batch := e.c.cmds.take()
		for i, it := range batch {
			it.fn()
			if e.stopped {
				rest = batch[i+1:]
				break
			}
		}
	}
	e.c.cmds.close()
	rest = append(rest, e.c.cmds.take()...)
	for _, it := range rest {
		if it.cleanup != nil {
			it.cleanup()
		}
	}
	// Sockets are closing and dials cancelled; wait for their goroutines.
	e.c.wg.Wait()
}

// destroy is Destroy's command: end everything, quietly.
func (e *engine) destroy() {
	if e.ph != phIdle {
		e.teardown(true, false)
	}
	e.stopped = true
}

func (e *engine) emit(ev event) {
	if !e.stopped {
		e.c.disp.emit(ev)
	}
}

func (e *engine) log(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	e.emit(func(cb Callback) { cb.OnLog(text) })
}

// logFor logs text if cn is the current connection.
func (e *engine) logFor(cn *conn, text string) {
	if cn == e.cn && !e.stopped {
		e.emit(func(cb Callback) { cb.OnLog(text) })
	}
}

// arm sets the timer in slot to run fn on the engine goroutine after d,
// replacing the one there. fn runs only if the timer is still the one in
// the slot then: a timer stopped or replaced after it fired does nothing.
func (e *engine) arm(slot **time.Timer, d time.Duration, fn func()) {
	stopTimer(slot)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		e.c.post(func() {
			if *slot == t && !e.stopped {
				*slot = nil
				fn()
			}
		})
	})
	*slot = t
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// backoffDelay is the wait before retry n (n >= 1): base·2^(n-1), capped,
// ±20% jitter.
func (e *engine) backoffDelay(n int) time.Duration {
	d := e.c.cfg.backoffBase
	for i := 1; i < n && d < e.c.cfg.backoffCap; i++ {
		d *= 2
	}
	d = min(d, e.c.cfg.backoffCap)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// --- login -------------------------------------------------------------

// loginBusy answers a Login made while logged in or logging in.
func (e *engine) loginBusy() {
	e.log("Login ignored: already logged in or logging in")
	e.emit(func(cb Callback) { cb.OnLoginFailed(int(wire.LoginAlready)) })
}

// loginInvalid answers a Login with a bad account.
func (e *engine) loginInvalid(why string) {
	e.log("Login refused: %s", why)
	e.emit(func(cb Callback) { cb.OnLoginFailed(int(wire.LoginInvalidUser)) })
}

// login is Login2's command; the status is already 1.
func (e *engine) login(epoch uint64, cr creds, retryTime time.Duration, retryCount int) {
	if e.ph != phIdle { // cannot happen: Logout's command comes first
		e.teardown(true, false)
	}
	e.resetSession()
	e.ph, e.epoch, e.cred = phLogin, epoch, cr
	if err := e.c.urlErr; err != nil {
		e.loginFail(wire.LoginNet, err.Error())
		return
	}
	e.home, e.next, e.avoid = 0, 0, -1 // a login starts with the first URL
	e.maxAttempts = max(retryCount, 1)
	e.window = retryTime
	e.started = time.Now()
	e.attempt = 0
	e.arm(&e.windowTimer, retryTime, func() {
		if e.ph == phLogin && e.epoch == epoch {
			e.loginFail(wire.LoginNet, fmt.Sprintf("no login within %v", retryTime))
		}
	})
	e.log("logging in as %q to %s", cr.account, strings.Join(e.urls, ", then "))
	e.attempt++
	e.startAttempt()
}

func (e *engine) resetSession() {
	e.session, e.fd, e.hb = "", 0, 0
	e.lastSeq, e.ackedSeq, e.lastOff, e.channel, e.chSync = 0, 0, 0, "", false
}

// startAttempt starts the current login or reconnect attempt: it dials
// the URL where attempts start (e.next, or the one after it when that is
// the server that sent goaway); a failed dial moves on to the next URL at
// once (see dialDone), and the attempt fails when every URL failed.
func (e *engine) startAttempt() {
	n := len(e.urls)
	s := e.next % n
	if n > 1 && s == e.avoid {
		s = (s + 1) % n
	}
	e.cur, e.tried = s, 0
	e.dialCur()
}

// dialCur dials the URL e.cur.
func (e *engine) dialCur() {
	e.gen++
	gen := e.gen
	timeout := e.c.cfg.requestTimeout
	if left := time.Until(e.started.Add(e.window)); left < timeout {
		timeout = max(left, time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	e.cancelDial = cancel
	e.c.dial(ctx, e.urls[e.cur], func(ws *websocket.Conn, err error) { e.dialDone(gen, ws, err) })
}

func (e *engine) dialDone(gen uint64, ws *websocket.Conn, err error) {
	if gen != e.gen || e.cancelDial == nil || e.stopped {
		if ws != nil {
			ws.Close()
		}
		return
	}
	e.cancelDial()
	e.cancelDial = nil
	if err != nil {
		why := fmt.Sprintf("cannot connect to %s: %v", e.urls[e.cur], err)
		if e.tried++; e.tried < len(e.urls) {
			// Another server of the cluster, at once: a dead node costs
			// one failed dial, not a backoff.
			e.cur = (e.cur + 1) % len(e.urls)
			e.log("%s; trying %s", why, e.urls[e.cur])
			e.dialCur()
			return
		}
		e.attemptFailed(why)
		return
	}
	cn := e.c.startConn(gen, ws)
	e.cn = cn
	e.lastRecv = time.Now()
	req := wire.LoginReq{
		Proto:   wire.Version,
		App:     e.cred.app,
		Account: e.cred.account,
		Token:   e.cred.token,
		Device:  e.cred.device,
		SDK:     Version,
	}
	if e.ph == phReconnect {
		req.Resume = &wire.Resume{Session: e.session, Seq: e.lastSeq, Channel: e.channel, Off: e.lastOff}
	}
	if e.queueKey > 0 && e.queueAccount == e.cred.account {
		// A new session must not deliver again what this one delivered,
		// even if the server never heard the acknowledgement (it crashed).
		req.Cursor = &wire.Cursor{Queue: e.queue, Key: e.queueKey}
	}
	e.nextID++
	id := e.nextID
	e.loginID = id
	cn.send(wire.MustEncode(id, wire.OpLogin, req))
	e.arm(&e.loginTimer, e.c.cfg.requestTimeout, func() {
		if e.cn == cn && e.loginID == id {
			e.attemptFailed("no answer to the login request")
		}
	})
}

// attemptFailed ends the current login or reconnect attempt and schedules
// the next, or gives up.
func (e *engine) attemptFailed(why string) {
	if e.redirect >= 0 && e.redirects < maxRedirects {
		// Sent to the node that serves the account: go there now, not
		// after a backoff, and keep it as home. (Nodes that disagree about
		// who serves it while it moves could send us back and forth: a few
		// times, then the usual backoff.)
		e.next, e.home, e.avoid = e.redirect, e.redirect, -1
		e.redirect = -1
		e.redirects++
		e.dropConn()
		e.log("%s; going to %s", why, e.urls[e.next])
		if e.ph == phLogin || e.ph == phReconnect {
			e.startAttempt()
		}
		return
	}
	if n := len(e.urls); e.cn != nil && n > 1 {
		// Connected, then failed there (no or a busy answer, lost): the
		// next attempt starts with another server.
		e.next = (e.cur + 1) % n
	} else {
		e.next = e.home
	}
	e.dropConn()
	switch e.ph {
	case phLogin:
		e.log("login attempt %d failed: %s", e.attempt, why)
		if e.attempt >= e.maxAttempts {
			e.loginFail(wire.LoginNet, fmt.Sprintf("%d attempt(s) failed", e.attempt))
			return
		}
		d := e.backoffDelay(e.attempt)
		left := e.window - time.Since(e.started)
		if left <= 0 {
			e.loginFail(wire.LoginNet, fmt.Sprintf("no connection within %v", e.window))
			return
		}
		d = min(d, left) // the window's last moment still gets its attempt
		e.scheduleAttempt(d, func() { e.attempt++; e.startAttempt() })
	case phReconnect:
		e.log("reconnect attempt %d failed: %s", e.attempt, why)
		e.reconnectNext()
	}
}

func (e *engine) scheduleAttempt(d time.Duration, fn func()) {
	gen, epoch, ph := e.gen, e.epoch, e.ph
	e.arm(&e.backoff, d, func() {
		if e.gen == gen && e.epoch == epoch && e.ph == ph && e.cn == nil && e.cancelDial == nil {
			fn()
		}
	})
}

// dropConn abandons the current attempt's dial or connection.
func (e *engine) dropConn() {
	if e.cancelDial != nil {
		e.cancelDial()
		e.cancelDial = nil
	}
	if e.cn != nil {
		e.cn.abort()
		e.cn = nil
	}
	e.gen++ // events of what was dropped are now stale
	e.loginID = 0
	stopTimer(&e.loginTimer)
	stopTimer(&e.hbTimer)
}

// loginFail ends a login that never succeeded.
func (e *engine) loginFail(code wire.Code, why string) {
	if !e.c.transition(e.epoch, StatusLoggedOut) {
		return // a Logout is queued and will end it
	}
	e.teardown(false, true)
	e.log("login failed: %s (%d %s)", why, int(code), code)
	e.emit(func(cb Callback) { cb.OnLoginFailed(int(code)) })
}

// loginAnswer handles the answer to the login request on the current
// connection, for a first login or a reconnect.
func (e *engine) loginAnswer(f *wire.Frame) {
	e.loginID = 0
	stopTimer(&e.loginTimer)
	if f.Err != nil {
		if f.Err.Code == wire.LoginNet {
			// The server is busy (its login rate): try again, like an
			// unreachable server, within the same retry window.
			e.attemptFailed("the server asks to try again: " + f.Err.Msg)
			return
		}
		e.loginRefused(f.Err)
		return
	}
	var res wire.LoginRes
	if err := f.Decode(&res); err != nil {
		e.attemptFailed(err.Error())
		return
	}
	if !e.c.transition(e.epoch, StatusLoggedIn) {
		return
	}
	stopTimer(&e.windowTimer)
	stopTimer(&e.backoff)
	was := e.ph
	e.ph = phOnline
	e.redirect, e.redirects = -1, 0
	e.home, e.next, e.avoid = e.cur, e.cur, -1
	e.session, e.fd = res.Session, res.Fd
	if res.Queue != e.queue || e.queueAccount != e.cred.account {
		e.queue, e.queueKey, e.queueAccount = res.Queue, 0, e.cred.account
	}
	e.hb = e.c.cfg.heartbeat
	if e.hb <= 0 {
		e.hb = time.Duration(res.Heartbeat) * time.Millisecond
	}
	if e.hb <= 0 {
		e.hb = 5 * time.Second
	}
	e.lastPing = time.Now()
	e.scheduleHeartbeat()
	fd := res.Fd
	url := e.urls[e.cur]
	if was == phLogin {
		e.log("logged in as %q on %s (fd %d)", e.cred.account, url, fd)
		e.emit(func(cb Callback) { cb.OnLoginSuccess(0, fd) })
		return
	}
	if res.Resumed {
		e.log("reconnected to %s: session resumed (fd %d)", url, fd)
		e.emit(func(cb Callback) { cb.OnReconnected(fd) })
	} else {
		e.log("reconnected to %s: the server started a new session (fd %d)", url, fd)
		e.emit(func(cb Callback) { cb.OnReconnected(fd) })
		e.endCalls(false) // they ended with the old session
		e.lastSeq, e.ackedSeq, e.lastOff = 0, 0, 0
		if e.channel != "" {
			e.chSync = false
			e.rejoin(e.channel)
		}
	}
	e.flushPending()
}

// loginRefused handles a server error answer to a login: final at once.
func (e *engine) loginRefused(er *wire.Error) {
	code := er.Code
	if e.ph == phLogin {
		if code < wire.LoginOther || code > wire.LoginInvalidUser {
			code = wire.LoginOther
		}
		e.loginFail(code, "the server refused: "+er.Msg)
		return
	}
	var out, leave wire.Code
	switch code {
	case wire.LoginTokenExpired, wire.LogoutTokenExpired:
		out, leave = wire.LogoutTokenExpired, wire.LeaveChannelDisconn
	case wire.LoginTokenWrong, wire.LogoutTokenWrong:
		out, leave = wire.LogoutTokenWrong, wire.LeaveChannelDisconn
	case wire.LoginOldVersion, wire.LogoutOldVersion:
		out, leave = wire.LogoutOldVersion, wire.LeaveChannelDisconn
	case wire.LoginTokenKicked, wire.LogoutKicked:
		out, leave = wire.LogoutKicked, wire.LeaveChannelKicked
	default:
		out, leave = wire.LogoutNet, wire.LeaveChannelDisconn
	}
	e.endSession(leave, out, fmt.Sprintf("the server refused to restore the session: %s (%d)", er.Msg, int(er.Code)))
}

// --- logout and the end of a session -----------------------------------

// logout is Logout's command; prev is the status Logout saw (it set 0).
func (e *engine) logout(prev int32) {
	switch prev {
	case StatusLoggingIn:
		e.teardown(true, true)
		e.log("login cancelled")
		e.emit(func(cb Callback) { cb.OnLoginFailed(int(wire.LoginCancel)) })
	case StatusLoggedIn, StatusReconnecting:
		ch := e.channel
		e.teardown(true, true)
		e.endCalls(true)
		e.log("logged out")
		if ch != "" {
			e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(wire.LeaveChannelLogout)) })
		}
		e.emit(func(cb Callback) { cb.OnLogout(int(wire.LogoutUser)) })
	default:
		if e.ph != phIdle {
			e.teardown(true, true)
		}
		e.emit(func(cb Callback) { cb.OnLogout(int(wire.LogoutAlready)) })
	}
}

// endSession ends a session the user did not end (kicked, refused on
// reconnect, reconnect window over): onChannelLeaved(leave) if in a
// channel, then onLogout(out).
func (e *engine) endSession(leave, out wire.Code, why string) {
	if !e.c.transition(e.epoch, StatusLoggedOut) {
		return
	}
	ch := e.channel
	e.teardown(false, true)
	e.endCalls(false)
	e.log("session ended: %s", why)
	if ch != "" {
		e.emit(func(cb Callback) { cb.OnChannelLeaved(ch, int(leave)) })
	}
	e.emit(func(cb Callback) { cb.OnLogout(int(out)) })
}

// teardown releases everything of the session: timers, dial, connection
// (after a best-effort logout frame when sayBye), and the pending requests,
// which get their failure outcome when failPending. The engine is idle after.
func (e *engine) teardown(sayBye, failPending bool) {
	stopTimer(&e.windowTimer)
	stopTimer(&e.backoff)
	if e.cn != nil && sayBye {
		cn := e.cn
		e.cn = nil
		e.nextID++
		cn.send(wire.MustEncode(e.nextID, wire.OpLogout, wire.PingReq{Ack: e.lastSeq}))
		cn.closeGraceful(e.c.cfg.closeWait)
	}
	e.dropConn()
	stopTimer(&e.reqTimer)
	reqs := e.sortedPending()
	clear(e.pending)
	for _, r := range reqs {
		if failPending {
			e.fail(r, failEnded, wire.GeneralFailed, "session ended")
		}
	}
	e.ph = phIdle
	e.resetSession()
}

// --- connection loss and reconnect -------------------------------------

// connLost handles the loss of connection cn.
func (e *engine) connLost(cn *conn, why string) {
	if cn != e.cn || e.stopped {
		return
	}
	switch e.ph {
	case phLogin, phReconnect:
		e.attemptFailed(why)
	case phOnline:
		if !e.c.transition(e.epoch, StatusReconnecting) {
			e.dropConn()
			return
		}
		e.dropConn()
		e.log("connection lost: %s; reconnecting", why)
		e.ph = phReconnect
		e.next = e.home // the URL in use first, then the others in turn
		e.started = time.Now()
		e.window = e.c.cfg.reconnectWindow
		e.attempt = 0
		epoch := e.epoch
		e.arm(&e.windowTimer, e.window, func() {
			if e.ph == phReconnect && e.epoch == epoch {
				e.endSession(wire.LeaveChannelDisconn, wire.LogoutNet,
					fmt.Sprintf("could not reconnect within %v", e.window))
			}
		})
		e.reconnectNext()
	}
}

// reconnectNext starts reconnect attempt n+1: onReconnecting(n+1), backoff
// (none before the first), dial.
func (e *engine) reconnectNext() {
	e.attempt++
	n := uint32(e.attempt)
	e.emit(func(cb Callback) { cb.OnReconnecting(n) })
	if n == 1 {
		e.startAttempt()
		return
	}
	e.scheduleAttempt(e.backoffDelay(e.attempt-1), e.startAttempt)
}

// --- heartbeat ----------------------------------------------------------

// scheduleHeartbeat arms the timer for the next ping or liveness check.
func (e *engine) scheduleHeartbeat() {
	cn := e.cn
	next := e.lastPing.Add(e.hb)
	if dead := e.lastRecv.Add(3 * e.hb); dead.Before(next) {
		next = dead
	}
	e.arm(&e.hbTimer, time.Until(next), func() { e.heartbeat(cn) })
}

func (e *engine) heartbeat(cn *conn) {
	if cn != e.cn || e.ph != phOnline {
		return
	}
	now := time.Now()
	if silent := now.Sub(e.lastRecv); silent >= 3*e.hb {
		e.connLost(cn, fmt.Sprintf("nothing received for %v", silent.Round(time.Millisecond)))
		return
	}
	if now.Sub(e.lastPing) >= e.hb {
		cn.send(wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: e.lastSeq}))
		e.lastPing = now
	}
	e.scheduleHeartbeat()
}
