// xinling.js — the xinling signaling client for browsers: the Agora
// Signaling SDK v1.4.0 API (SPEC.md §2), speaking the wire protocol of
// docs/PROTOCOL.md over a WebSocket. Plain ES module, no dependencies, no
// build step.
//
//   import { newInstance } from "/app/xinling.js";
//   const c = newInstance("myapp", { server: "ws://127.0.0.1:9470/ws" });
//   c.callbackSet({ onLoginSuccess(uid, fd) { c.channelJoin("lobby"); },
//                   onMessageChannelReceive(ch, from, uid, msg) { … } });
//   c.login("myapp", "alice", "_no_need_token", 0, "");
//
// Every method returns at once. Results arrive as calls of the callback
// object's methods (those it lacks are skipped), one at a time and in
// order, never from inside the method that caused them; a callback may call
// any method.

/** The SDK's API level, 1.4.0, as GetSdkVersion encodes it (SPEC.md §3). */
export const SDK_VERSION = 1010400000;

/** GetStatus values. */
export const Status = Object.freeze({ LOGGED_OUT: 0, LOGGING_IN: 1, LOGGED_IN: 2, RECONNECTING: 3 });

/** The Agora codes of SPEC.md §3, by the seed's names. */
export const Code = Object.freeze({
  LOGOUT_E_OTHER: 100, LOGOUT_E_USER: 101, LOGOUT_E_NET: 102, LOGOUT_E_KICKED: 103,
  LOGOUT_E_PACKET: 104, LOGOUT_E_TOKENEXPIRED: 105, LOGOUT_E_OLDVERSION: 106,
  LOGOUT_E_TOKENWRONG: 107, LOGOUT_E_ALREADY_LOGOUT: 108,
  LOGIN_E_OTHER: 200, LOGIN_E_NET: 201, LOGIN_E_FAILED: 202, LOGIN_E_CANCEL: 203,
  LOGIN_E_TOKENEXPIRED: 204, LOGIN_E_OLDVERSION: 205, LOGIN_E_TOKENWRONG: 206,
  LOGIN_E_TOKEN_KICKED: 207, LOGIN_E_ALREADY_LOGIN: 208, LOGIN_E_INVALID_USER: 209,
  JOINCHANNEL_E_OTHER: 300,
  SENDMESSAGE_E_OTHER: 400, SENDMESSAGE_E_TIMEOUT: 401,
  QUERYUSERNUM_E_OTHER: 500, QUERYUSERNUM_E_TIMEOUT: 501, QUERYUSERNUM_E_BYUSER: 502,
  LEAVECHANNEL_E_OTHER: 600, LEAVECHANNEL_E_KICKED: 601, LEAVECHANNEL_E_BYUSER: 602,
  LEAVECHANNEL_E_LOGOUT: 603, LEAVECHANNEL_E_DISCONN: 604,
  INVITE_E_OTHER: 700, INVITE_E_REINVITE: 701, INVITE_E_NET: 702, INVITE_E_PEEROFFLINE: 703,
  INVITE_E_TIMEOUT: 704, INVITE_E_CANTRECV: 705,
  GENERAL_E: 1000, GENERAL_E_FAILED: 1001, GENERAL_E_UNKNOWN: 1002, GENERAL_E_NOT_LOGIN: 1003,
  GENERAL_E_WRONG_PARAM: 1004, GENERAL_E_LARGE_PARAM: 1005,
});

const codeNames = new Map(Object.entries(Code).map(([k, v]) => [v, k]));

/** codeName(103) is "LOGOUT_E_KICKED"; an unknown code is "CODE_<n>". */
export function codeName(code) {
  return codeNames.get(code) ?? `CODE_${code}`;
}

// Limits of PROTOCOL.md §14.
export const Limits = Object.freeze({
  frameBytes: 131072, // one WebSocket message, client → server
  nameBytes: 128,
  messageBytes: 8192,
  valueBytes: 8096,
  extraBytes: 8192,
});

const PROTO = 1;
const C = Code;
const utf8 = new TextEncoder();

/** UTF-8 length of s in bytes. */
export function byteLength(s) {
  return utf8.encode(s).length;
}

function wellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

// PROTOCOL.md §8 "name rule": no character with Unicode's White_Space
// property and no control character (category Cc).
const badNameChar = /[\p{White_Space}\p{Cc}]/u;

/**
 * checkName validates an account, channel or attribute name: 1–128 bytes of
 * UTF-8 without whitespace or control characters. It returns null, or
 * {code, msg} with the server's code and wording.
 */
export function checkName(what, s) {
  if (typeof s !== "string") return err(C.GENERAL_E_WRONG_PARAM, `${what} is not a string`);
  if (s === "") return err(C.GENERAL_E_WRONG_PARAM, `${what} is empty`);
  if (!wellFormed(s)) return err(C.GENERAL_E_WRONG_PARAM, `${what} is not valid UTF-8`);
  const n = byteLength(s);
  if (n > Limits.nameBytes) return err(C.GENERAL_E_WRONG_PARAM, `${what} is ${n} bytes, the limit is ${Limits.nameBytes}`);
  const m = badNameChar.exec(s);
  if (m) {
    return err(C.GENERAL_E_WRONG_PARAM,
      `${what} has whitespace or a control character at byte ${byteLength(s.slice(0, m.index))}`);
  }
  return null;
}

/** checkText validates a message or value: UTF-8, at most max bytes. */
export function checkText(what, s, max) {
  if (typeof s !== "string") return err(C.GENERAL_E_WRONG_PARAM, `${what} is not a string`);
  if (!wellFormed(s)) return err(C.GENERAL_E_WRONG_PARAM, `${what} is not valid UTF-8`);
  const n = byteLength(s);
  if (n > max) return err(C.GENERAL_E_LARGE_PARAM, `${what} is ${n} bytes, the limit is ${max}`);
  return null;
}

/** checkExtra validates an invite extra: "" or a JSON object, ≤ 8192 bytes. */
export function checkExtra(extra) {
  const bad = checkText("extra", extra, Limits.extraBytes);
  if (bad || extra === "") return bad;
  let v;
  try {
    v = JSON.parse(extra);
  } catch (e) {
    return err(C.GENERAL_E_WRONG_PARAM, `extra is not a JSON object: ${e.message}`);
  }
  // null passes as the server's decoder takes it (PROTOCOL.md §17).
  if (v !== null && (typeof v !== "object" || Array.isArray(v))) {
    return err(C.GENERAL_E_WRONG_PARAM, "extra is not a JSON object");
  }
  return null;
}

/** checkDTMF accepts 1–128 of the digits 0-9, * and #. */
export function checkDTMF(s) {
  if (typeof s !== "string" || s === "") return err(C.GENERAL_E_WRONG_PARAM, "dtmf is empty");
  if (s.length > Limits.nameBytes) return err(C.GENERAL_E_LARGE_PARAM, `dtmf is ${s.length} digits, the limit is ${Limits.nameBytes}`);
  const i = s.search(/[^0-9*#]/);
  if (i >= 0) return err(C.GENERAL_E_WRONG_PARAM, `dtmf has ${JSON.stringify(s[i])} at ${i}; only 0-9, * and # are allowed`);
  return null;
}

function err(code, msg) {
  return { code, msg };
}

function checkOptionalName(what, s) {
  return s === "" ? null : checkName(what, s);
}

// How a request's outcome is reported (the Go SDK's reqKind).
const K = Object.freeze({
  plain: "plain", send: "send", join: "join", rejoin: "rejoin", leave: "leave", count: "count",
  getAttr: "getAttr", getAttrAll: "getAttrAll", status: "status", invoke: "invoke",
  invite: "invite", inviteEnd: "inviteEnd", ack: "ack",
});

// Why a request failed.
const F = Object.freeze({ local: "local", server: "server", timeout: "timeout", ended: "ended" });

// Phases of the session, mirroring getStatus.
const MAX_REDIRECTS = 5;
const PH = Object.freeze({ idle: 0, login: 1, online: 2, reconnect: 3 });

const RECENT_PEER_MSGS = 4096; // received (from, mid) pairs remembered to drop redeliveries

/** Default server: the page's own host at /ws, else the SDK's default. */
function defaultServer() {
  const loc = globalThis.location;
  if (loc && (loc.protocol === "http:" || loc.protocol === "https:")) {
    return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
  }
  return "ws://127.0.0.1:9470/ws";
}

/** normalizeServer takes ws(s)://, http(s):// or host:port; adds /ws when no path. */
export function normalizeServer(u) {
  let s = String(u).trim();
  if (!/^[a-z]+:\/\//i.test(s)) s = "ws://" + s;
  s = s.replace(/^http(s?):\/\//i, "ws$1://");
  const url = new URL(s);
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error(`server URL ${u}: want ws:// or wss://`);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/ws";
  return url.toString();
}

/**
 * A Client is one instance of the SDK (createAgoraSDKInstance). Options:
 *   server              ws(s)://host:port[/path]; default: this page's host, /ws
 *   requestTimeoutMs    how long a request waits for its answer (10000)
 *   reconnectWindowMs   how long a lost session is retried (120000)
 *   heartbeatMs         ping interval; 0: what the server asks for
 *   WebSocket           the WebSocket constructor (default globalThis.WebSocket)
 *   timers              {set(fn, ms), clear(h), now()} for tests
 */
export class Client {
  constructor(appID = "", opts = {}) {
    this._appID = appID;
    this._cfg = {
      requestTimeoutMs: opts.requestTimeoutMs ?? 10000,
      reconnectWindowMs: opts.reconnectWindowMs ?? 120000,
      heartbeatMs: opts.heartbeatMs ?? 0,
      backoffBaseMs: opts.backoffBaseMs ?? 250,
      backoffCapMs: opts.backoffCapMs ?? 5000,
    };
    this._urlErr = null;
    try {
      this._url = normalizeServer(opts.server ?? defaultServer());
    } catch (e) {
      this._url = String(opts.server);
      this._urlErr = e.message;
    }
    this._home = this._url; // the configured server; a cluster's goaway may send us elsewhere
    this._redirects = 0; // goaway redirects since the last login answer
    this._WS = opts.WebSocket ?? globalThis.WebSocket;
    const t = opts.timers ?? {};
    this._timers = {
      set: t.set ?? ((fn, ms) => setTimeout(fn, ms)),
      clear: t.clear ?? ((h) => clearTimeout(h)),
      now: t.now ?? (() => Date.now()),
    };
    this._cb = {};
    this._queue = [];
    this._draining = false;
    this._destroyed = false;
    this._midPrefix = randomHex(6);
    this._midSeq = 0;
    this._peerSeen = new Set();
    this._peerRing = [];
    this._calls = new Map();
    this._pending = new Map();
    this._nextID = 0;
    this._gen = 0;
    this._timer = {}; // named timers: window, backoff, login, hb, req, dial
    this._ph = PH.idle;
    this._cred = null;
    this._resetSession();
  }

  // --- callbacks ---------------------------------------------------------

  /** callbackSet sets the object whose on… methods receive the events. */
  callbackSet(cb) {
    this._cb = cb ?? {};
  }

  callbackGet() {
    return this._cb;
  }

  _emit(name, ...args) {
    if (this._destroyed) return;
    this._queue.push([name, args]);
    if (!this._draining) {
      this._draining = true;
      queueMicrotask(() => this._drain());
    }
  }

  _drain() {
    while (this._queue.length > 0 && !this._destroyed) {
      const [name, args] = this._queue.shift();
      const fn = this._cb?.[name];
      if (typeof fn !== "function") continue;
      try {
        fn.apply(this._cb, args);
      } catch (e) {
        console.error(`xinling: callback ${name} threw`, e);
      }
    }
    this._queue.length = 0;
    this._draining = false;
  }

  _log(text) {
    this._emit("onLog", text);
  }

  // --- status ------------------------------------------------------------

  getStatus() {
    return this._ph;
  }

  isOnline() {
    return this._ph === PH.online;
  }

  getSdkVersion() {
    return SDK_VERSION;
  }

  /** destroy ends everything quietly: no callback follows. */
  destroy() {
    if (this._destroyed) return;
    if (this._ph !== PH.idle) this._teardown(true, false);
    this._destroyed = true;
    this._queue.length = 0;
  }

  // --- timers ------------------------------------------------------------

  // _arm runs fn after ms unless the slot is re-armed or stopped first.
  _arm(slot, ms, fn) {
    this._stop(slot);
    const h = this._timers.set(() => {
      if (this._timer[slot] !== h || this._destroyed) return;
      delete this._timer[slot];
      fn();
    }, Math.max(0, ms));
    this._timer[slot] = h;
  }

  _stop(slot) {
    if (this._timer[slot] !== undefined) {
      this._timers.clear(this._timer[slot]);
      delete this._timer[slot];
    }
  }

  _backoff(n) {
    let d = this._cfg.backoffBaseMs;
    for (let i = 1; i < n && d < this._cfg.backoffCapMs; i++) d *= 2;
    d = Math.min(d, this._cfg.backoffCapMs);
    return d * (0.8 + 0.4 * Math.random());
  }

  // --- login ---------------------------------------------------------------

  /** login is login2 with retryTimeInS 30 and retryCount 3. uid is unused. */
  login(appID, account, token, uid, deviceID) {
    this.login2(appID, account, token, uid, deviceID, 30, 3);
  }

  /**
   * login2 logs in, retrying an unreachable (or busy, 201) server until
   * retryTimeInS seconds passed or retryCount attempts failed → onLoginFailed(201).
   * The server's refusals are final. Success → onLoginSuccess(0, fd).
   */
  login2(appID, account, token, uid, deviceID, retryTimeInS, retryCount) {
    if (this._destroyed) return;
    if (this._ph !== PH.idle) {
      this._log("Login ignored: already logged in or logging in");
      this._emit("onLoginFailed", C.LOGIN_E_ALREADY_LOGIN);
      return;
    }
    const bad = checkName("account", account);
    if (bad) {
      this._log(`Login refused: ${bad.msg}`);
      this._emit("onLoginFailed", C.LOGIN_E_INVALID_USER);
      return;
    }
    this._resetSession();
    this._ph = PH.login;
    this._cred = { app: appID || this._appID, account, token: token ?? "", device: deviceID ?? "" };
    if (this._urlErr) {
      this._loginFail(C.LOGIN_E_NET, this._urlErr);
      return;
    }
    const windowMs = retryTimeInS > 0 ? retryTimeInS * 1000 : 30000;
    this._maxAttempts = Math.max(retryCount | 0, 1);
    this._window = windowMs;
    this._started = this._timers.now();
    this._attempt = 1;
    this._arm("window", windowMs, () => {
      if (this._ph === PH.login) this._loginFail(C.LOGIN_E_NET, `no login within ${windowMs / 1000} s`);
    });
    this._log(`logging in as ${JSON.stringify(account)} to ${this._url}`);
    this._dial();
  }

  _resetSession() {
    this._session = "";
    this._fd = 0;
    this._hb = 0;
    this._lastSeq = 0;
    this._ackedSeq = 0;
    this._lastOff = 0;
    this._channel = "";
    this._chSync = false;
  }

  // _dial opens a connection for the current login or reconnect attempt.
  _dial() {
    const gen = ++this._gen;
    let ws;
    try {
      ws = new this._WS(this._url);
    } catch (e) {
      this._attemptFailed(`cannot connect to ${this._url}: ${e.message}`);
      return;
    }
    const left = this._started + this._window - this._timers.now();
    this._ws = ws;
    this._wsOpen = false;
    this._arm("dial", Math.max(1, Math.min(this._cfg.requestTimeoutMs, left)), () => {
      if (this._gen === gen && !this._wsOpen) this._attemptFailed(`cannot connect to ${this._url}: timed out`);
    });
    ws.onopen = () => {
      if (this._gen !== gen) return;
      this._stop("dial");
      this._wsOpen = true;
      this._lastRecv = this._timers.now();
      this._sendLogin();
    };
    ws.onmessage = (ev) => {
      if (this._gen === gen) this._frames(typeof ev.data === "string" ? ev.data : "");
    };
    ws.onerror = () => {}; // onclose follows and says what happened
    ws.onclose = (ev) => {
      if (this._gen !== gen) return;
      const why = this._wsOpen
        ? `connection closed (${ev.code}${ev.reason ? " " + ev.reason : ""})`
        : `cannot connect to ${this._url}`;
      this._connLost(why);
    };
  }

  _sendLogin() {
    const d = { proto: PROTO, app: this._cred.app, account: this._cred.account, token: this._cred.token,
      device: this._cred.device, sdk: SDK_VERSION };
    if (this._ph === PH.reconnect) {
      d.resume = { session: this._session, seq: this._lastSeq, ch: this._channel, off: this._lastOff };
    }
    const id = ++this._nextID;
    this._loginID = id;
    this._write(JSON.stringify({ id, op: "login", d }));
    const gen = this._gen;
    this._arm("login", this._cfg.requestTimeoutMs, () => {
      if (this._gen === gen && this._loginID === id) this._attemptFailed("no answer to the login request");
    });
  }

  _write(text) {
    const ws = this._ws;
    if (!ws || !this._wsOpen) return false;
    try {
      ws.send(text);
      return true;
    } catch (e) {
      this._log(`send failed: ${e.message}`);
      return false;
    }
  }

  // _dropConn abandons the current connection or dial.
  _dropConn() {
    const ws = this._ws;
    this._ws = null;
    this._wsOpen = false;
    this._gen++;
    this._loginID = 0;
    this._stop("dial");
    this._stop("login");
    this._stop("hb");
    if (ws) {
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
  }

  _attemptFailed(why) {
    this._dropConn();
    // A node we were sent to may be gone: the next attempt asks the
    // configured server again, which knows where the account is now.
    this._url = this._home;
    if (this._ph === PH.login) {
      this._log(`login attempt ${this._attempt} failed: ${why}`);
      if (this._attempt >= this._maxAttempts) {
        this._loginFail(C.LOGIN_E_NET, `${this._attempt} attempt(s) failed`);
        return;
      }
      const left = this._window - (this._timers.now() - this._started);
      if (left <= 0) {
        this._loginFail(C.LOGIN_E_NET, `no connection within ${this._window / 1000} s`);
        return;
      }
      this._arm("backoff", Math.min(this._backoff(this._attempt), left), () => {
        if (this._ph !== PH.login) return;
        this._attempt++;
        this._dial();
      });
    } else if (this._ph === PH.reconnect) {
      this._log(`reconnect attempt ${this._attempt} failed: ${why}`);
      this._reconnectNext();
    }
  }

  _loginFail(code, why) {
    this._teardown(false, true);
    this._log(`login failed: ${why} (${code} ${codeName(code)})`);
    this._emit("onLoginFailed", code);
  }

  _loginAnswer(f) {
    this._loginID = 0;
    this._stop("login");
    if (f.err) {
      if (f.err.code === C.LOGIN_E_NET) {
        // Busy, not refused (PROTOCOL.md §5): try again like an unreachable server.
        this._attemptFailed(`the server asks to try again: ${f.err.msg}`);
        return;
      }
      this._loginRefused(f.err);
      return;
    }
    const res = f.d ?? {};
    this._redirects = 0;
    this._stop("window");
    this._stop("backoff");
    const was = this._ph;
    this._ph = PH.online;
    this._session = res.session ?? "";
    this._fd = res.fd ?? 0;
    this._hb = this._cfg.heartbeatMs || res.hb || 5000;
    this._lastPing = this._timers.now();
    this._scheduleHeartbeat();
    const fd = this._fd;
    if (was === PH.login) {
      this._log(`logged in as ${JSON.stringify(this._cred.account)} (fd ${fd})`);
      this._emit("onLoginSuccess", 0, fd);
      return;
    }
    if (res.resumed) {
      this._log(`reconnected: session resumed (fd ${fd})`);
      this._emit("onReconnected", fd);
    } else {
      this._log(`reconnected: the server started a new session (fd ${fd})`);
      this._emit("onReconnected", fd);
      this._endCalls(false); // they ended with the old session
      this._lastSeq = 0;
      this._ackedSeq = 0;
      this._lastOff = 0;
      if (this._channel !== "") {
        this._chSync = false;
        this._rejoin(this._channel);
      }
    }
    this._flushPending();
  }

  _loginRefused(e) {
    let code = e.code;
    if (this._ph === PH.login) {
      if (code < C.LOGIN_E_OTHER || code > C.LOGIN_E_INVALID_USER) code = C.LOGIN_E_OTHER;
      this._loginFail(code, `the server refused: ${e.msg}`);
      return;
    }
    // A refused resume ends the session with the matching onLogout code.
    let out = C.LOGOUT_E_NET;
    let leave = C.LEAVECHANNEL_E_DISCONN;
    switch (code) {
      case C.LOGIN_E_TOKENEXPIRED: out = C.LOGOUT_E_TOKENEXPIRED; break;
      case C.LOGIN_E_TOKENWRONG: out = C.LOGOUT_E_TOKENWRONG; break;
      case C.LOGIN_E_OLDVERSION: out = C.LOGOUT_E_OLDVERSION; break;
      case C.LOGIN_E_TOKEN_KICKED: out = C.LOGOUT_E_KICKED; leave = C.LEAVECHANNEL_E_KICKED; break;
    }
    this._endSession(leave, out, `the server refused to restore the session: ${e.msg} (${e.code})`);
  }

  // --- logout and the end of a session -------------------------------------

  /**
   * logout ends the session → onLogout(101), after onChannelLeaved(ch, 603)
   * when in a channel; while logging in it cancels (onLoginFailed(203));
   * while logged out → onLogout(108).
   */
  logout() {
    if (this._destroyed) return;
    switch (this._ph) {
      case PH.login:
        this._teardown(true, true);
        this._log("login cancelled");
        this._emit("onLoginFailed", C.LOGIN_E_CANCEL);
        break;
      case PH.online:
      case PH.reconnect: {
        const ch = this._channel;
        this._teardown(true, true);
        this._endCalls(true);
        this._log("logged out");
        if (ch !== "") this._emit("onChannelLeaved", ch, C.LEAVECHANNEL_E_LOGOUT);
        this._emit("onLogout", C.LOGOUT_E_USER);
        break;
      }
      default:
        this._emit("onLogout", C.LOGOUT_E_ALREADY_LOGOUT);
    }
  }

  _endSession(leave, out, why) {
    const ch = this._channel;
    this._teardown(false, true);
    this._endCalls(false);
    this._log(`session ended: ${why}`);
    if (ch !== "") this._emit("onChannelLeaved", ch, leave);
    this._emit("onLogout", out);
  }

  // _teardown releases the session: timers, connection (after a logout
  // frame carrying the last ack when sayBye), pending requests (failed
  // with their outcome callbacks when failPending).
  _teardown(sayBye, failPending) {
    this._stop("window");
    this._stop("backoff");
    if (sayBye && this._ws && this._wsOpen && this._ph === PH.online) {
      this._write(JSON.stringify({ id: ++this._nextID, op: "logout", d: { ack: this._lastSeq } }));
    }
    this._dropConn(); // close() sends what was queued before it
    this._stop("req");
    const reqs = this._sortedPending();
    this._pending.clear();
    this._ph = PH.idle;
    if (failPending) for (const r of reqs) this._fail(r, F.ended, C.GENERAL_E_FAILED, "session ended");
    this._resetSession();
  }

  // --- connection loss and reconnect -----------------------------------------

  _connLost(why) {
    switch (this._ph) {
      case PH.login:
      case PH.reconnect:
        this._attemptFailed(why);
        break;
      case PH.online:
        this._dropConn();
        this._log(`connection lost: ${why}; reconnecting`);
        this._ph = PH.reconnect;
        this._started = this._timers.now();
        this._window = this._cfg.reconnectWindowMs;
        this._attempt = 0;
        this._arm("window", this._window, () => {
          if (this._ph === PH.reconnect) {
            this._endSession(C.LEAVECHANNEL_E_DISCONN, C.LOGOUT_E_NET,
              `could not reconnect within ${this._window / 1000} s`);
          }
        });
        this._reconnectNext();
        break;
    }
  }

  _reconnectNext() {
    const n = ++this._attempt;
    this._emit("onReconnecting", n);
    if (n === 1) {
      this._dial();
      return;
    }
    this._arm("backoff", this._backoff(n - 1), () => {
      if (this._ph === PH.reconnect && !this._ws) this._dial();
    });
  }

  // --- heartbeat (the server never pings: PROTOCOL.md §6) ---------------------

  _scheduleHeartbeat() {
    const now = this._timers.now();
    const next = Math.min(this._lastPing + this._hb, this._lastRecv + 3 * this._hb);
    const gen = this._gen;
    this._arm("hb", next - now, () => {
      if (this._gen === gen) this._heartbeat();
    });
  }

  _heartbeat() {
    if (this._ph !== PH.online) return;
    const now = this._timers.now();
    const silent = now - this._lastRecv;
    if (silent >= 3 * this._hb) {
      this._connLost(`nothing received for ${silent} ms`);
      return;
    }
    if (now - this._lastPing >= this._hb) {
      this._ping();
      this._lastPing = now;
    }
    this._scheduleHeartbeat();
  }

  _ping() {
    this._ackedSeq = this._lastSeq;
    this._write(JSON.stringify({ op: "ping", d: { ack: this._lastSeq } }));
  }

  // --- incoming frames ----------------------------------------------------------

  _frames(text) {
    this._lastRecv = this._timers.now();
    const gen = this._gen;
    for (const line of text.split("\n")) {
      const s = line.trim();
      if (s === "") continue;
      let f;
      try {
        f = JSON.parse(s);
      } catch (e) {
        this._log(`ignored a malformed frame from the server: ${e.message}`);
        continue;
      }
      if (f === null || typeof f !== "object" || typeof f.op !== "string") {
        this._log("ignored a frame without op from the server");
        continue;
      }
      this._frame(f);
      if (this._gen !== gen) return; // that frame ended this connection
    }
    // Acknowledge the user stream at once (PROTOCOL.md §4).
    if (this._ph === PH.online && this._lastSeq > this._ackedSeq) this._ping();
  }

  // _userSeq records a user-stream push and reports whether it is new.
  _userSeq(f) {
    const seq = f.seq ?? 0;
    if (seq > 0) {
      if (seq <= this._lastSeq) return false; // replayed after a resume: seen already
      this._lastSeq = seq;
    }
    return true;
  }

  // _channelPush reports whether a channel-stream push is for the current
  // channel and new, recording its offset.
  _channelPush(ch, off) {
    if (!ch || ch !== this._channel || !this._chSync) return false;
    if (off > 0) {
      if (off <= this._lastOff) return false;
      this._lastOff = off;
    }
    return true;
  }

  _frame(f) {
    const d = f.d && typeof f.d === "object" ? f.d : {};
    switch (f.op) {
      case "res":
        if (this._loginID !== 0 && f.id === this._loginID) this._loginAnswer(f);
        else if (this._ph === PH.online) this._answer(f);
        else if (!f.id && f.err) this._log(`the server reports: ${f.err.msg} (${f.err.code})`);
        return;
      case "pong":
        return;
      case "peer.msg": {
        if (!this._userSeq(f)) return;
        const from = str(d.from);
        if (d.mid && this._seenPeerMsg(from, d.mid)) {
          this._log(`dropped a redelivered message ${JSON.stringify(d.mid)} from ${JSON.stringify(from)}`);
          return;
        }
        this._emit("onMessageInstantReceive", from, 0, str(d.msg));
        return;
      }
      case "inv.recv": case "inv.delivered": case "inv.accepted": case "inv.refused":
      case "inv.failed": case "inv.ended": case "inv.msg":
        if (this._userSeq(f)) this._invitePush(f.op, d);
        return;
      case "ch.msg":
        if (this._channelPush(d.ch, f.off ?? 0)) {
          this._emit("onMessageChannelReceive", d.ch, str(d.from), d.uid ?? 0, str(d.msg));
        }
        return;
      case "ch.joined":
        if (this._channelPush(d.ch, f.off ?? 0)) this._emit("onChannelUserJoined", str(d.account), d.uid ?? 0);
        return;
      case "ch.left":
        if (this._channelPush(d.ch, f.off ?? 0)) this._emit("onChannelUserLeaved", str(d.account), d.uid ?? 0);
        return;
      case "ch.attr":
        if (this._channelPush(d.ch, f.off ?? 0)) {
          this._emit("onChannelAttrUpdated", d.ch, str(d.name), str(d.value), str(d.type), str(d.by));
        }
        return;
      case "ch.gone": {
        if (!d.ch || d.ch !== this._channel) return;
        let code = d.code;
        if (!(code >= C.LEAVECHANNEL_E_OTHER && code <= C.LEAVECHANNEL_E_DISCONN)) code = C.LEAVECHANNEL_E_OTHER;
        this._leftChannel();
        this._log(`the server took this session out of channel ${JSON.stringify(d.ch)} (${code} ${codeName(code)})`);
        this._emit("onChannelLeaved", d.ch, code);
        return;
      }
      case "ch.snap":
        if (d.ch && d.ch === this._channel) this._joined(d.ch, d, false);
        return;
      case "log":
        this._emit("onLog", str(d.text));
        return;
      case "kicked": {
        let code = d.code;
        if (!(code >= C.LOGOUT_E_OTHER && code <= C.LOGOUT_E_ALREADY_LOGOUT)) code = C.LOGOUT_E_KICKED;
        const why = "kicked by the server" + (d.reason ? `: ${d.reason}` : "");
        if (this._ph === PH.login) this._loginFail(C.LOGIN_E_TOKEN_KICKED, why);
        else if (this._ph !== PH.idle) this._endSession(C.LEAVECHANNEL_E_KICKED, code, why);
        return;
      }
      case "goaway":
        if (this._redirect(d)) return;
        this._connLost(`the server is going away: ${str(d.reason)}`);
        return;
      default:
        this._log(`ignored an unknown frame from the server: ${f.op}`);
    }
  }

  // _redirect follows a cluster's goaway that names the node serving the
  // account (PROTOCOL.md §6): at once, without backoff, at most
  // MAX_REDIRECTS in a row. False when the goaway names no usable node.
  _redirect(d) {
    if (!d.url || this._redirects >= MAX_REDIRECTS) return false;
    let to;
    try {
      to = normalizeServer(str(d.url));
    } catch (e) {
      this._log(`ignored a goaway to ${JSON.stringify(d.url)}: ${e.message}`);
      return false;
    }
    this._redirects++;
    this._url = to;
    this._log(`the account is served at ${to}: ${str(d.reason)}`);
    switch (this._ph) {
      case PH.login:
      case PH.reconnect:
        this._dropConn();
        this._dial();
        return true;
      case PH.online:
        this._connLost(`the account moved to ${to}`);
        return true;
    }
    return false;
  }

  _seenPeerMsg(from, mid) {
    const k = from + "\u0000" + mid;
    if (this._peerSeen.has(k)) return true;
    this._peerSeen.add(k);
    this._peerRing.push(k);
    if (this._peerRing.length > RECENT_PEER_MSGS) this._peerSeen.delete(this._peerRing.shift());
    return false;
  }

  _leftChannel() {
    this._channel = "";
    this._lastOff = 0;
    this._chSync = false;
  }

  // --- requests ---------------------------------------------------------------

  _mid(msgID) {
    if (msgID) return msgID;
    return `${this._midPrefix}-${++this._midSeq}`;
  }

  // _request validates and submits a request: checks are {code,msg}|null.
  _request(r, ...checks) {
    if (this._destroyed) return;
    for (const bad of checks) {
      if (bad) {
        this._fail(r, F.local, bad.code, bad.msg);
        return;
      }
    }
    this._submit(r);
  }

  _submit(r) {
    if (this._ph !== PH.online && this._ph !== PH.reconnect) {
      this._fail(r, F.local, C.GENERAL_E_NOT_LOGIN, "not logged in");
      return;
    }
    r.id = ++this._nextID;
    r.frame = JSON.stringify({ id: r.id, op: r.op, d: r.d });
    const n = byteLength(r.frame);
    if (n > Limits.frameBytes) {
      this._fail(r, F.local, C.GENERAL_E_LARGE_PARAM, `request is ${n} bytes, the limit is ${Limits.frameBytes}`);
      return;
    }
    r.deadline = this._timers.now() + this._cfg.requestTimeoutMs;
    this._pending.set(r.id, r);
    this._armRequestTimer();
    this._writeRequest(r);
  }

  _writeRequest(r) {
    if (this._ph === PH.online && this._write(r.frame)) r.sentGen = this._gen;
  }

  // _flushPending resends, oldest first and with their ids, the requests
  // not yet written to the current connection (PROTOCOL.md §3 rule 7).
  _flushPending() {
    for (const r of this._sortedPending()) if (r.sentGen !== this._gen) this._writeRequest(r);
  }

  _sortedPending() {
    return [...this._pending.values()].sort((a, b) => a.id - b.id);
  }

  _armRequestTimer() {
    if (this._timer.req !== undefined || this._pending.size === 0) return;
    let next = Infinity;
    for (const r of this._pending.values()) next = Math.min(next, r.deadline);
    this._arm("req", next - this._timers.now(), () => this._expireRequests());
  }

  _expireRequests() {
    const now = this._timers.now();
    for (const r of this._sortedPending()) {
      if (r.deadline > now) break;
      this._pending.delete(r.id);
      this._fail(r, F.timeout, C.GENERAL_E_FAILED, "timeout");
    }
    this._armRequestTimer();
  }

  _answer(f) {
    const r = this._pending.get(f.id);
    if (!r) return; // timed out already, or not ours
    this._pending.delete(f.id);
    if (f.err) this._fail(r, F.server, f.err.code, str(f.err.msg));
    else this._succeed(r, f.d && typeof f.d === "object" ? f.d : {});
  }

  _succeed(r, d) {
    switch (r.kind) {
      case K.send:
        this._emit("onMessageSendSuccess", r.mid);
        break;
      case K.join:
      case K.rejoin:
        if (r.kind === K.rejoin && this._channel !== r.ch) return; // left meanwhile
        this._joined(r.ch, d, r.kind === K.join);
        break;
      case K.leave:
        if (this._channel === r.ch) this._leftChannel();
        this._emit("onChannelLeaved", r.ch, C.LEAVECHANNEL_E_BYUSER);
        break;
      case K.count:
        this._emit("onChannelQueryUserNumResult", r.ch, 0, d.num ?? 0);
        break;
      case K.getAttr:
        this._emit("onUserAttrResult", r.account, r.name, str(d.value));
        break;
      case K.getAttrAll: {
        const attrs = d.attrs ?? {};
        const sorted = {};
        for (const k of Object.keys(attrs).sort()) sorted[k] = attrs[k];
        this._emit("onUserAttrAllResult", r.account, JSON.stringify(sorted));
        break;
      }
      case K.status:
        this._emit("onQueryUserStatusResult", r.account, d.online ? "1" : "0");
        break;
      case K.invoke: {
        const resp = d.resp === undefined || d.resp === null ? "{}" : JSON.stringify(d.resp);
        this._emit("onInvokeRet", r.callID, "", resp);
        break;
      }
      case K.inviteEnd:
        if (this._untrackCall(r.ch, r.account)) this._emit("onInviteEndByMyself", r.ch, r.account, 0);
        break;
      case K.plain:
        if (r.op === "inv.refuse") this._untrackCall(r.ch, r.account); // the callee's own final outcome
        if (r.op === "inv.accept") {
          const c = this._calls.get(callKey(r.ch, r.account));
          if (c) c.answered = true;
        }
        break;
    }
  }

  // _joined reports a channel's state: a join answer (withLeft: the channel
  // it left for this one first) or a snapshot after a resume or rejoin.
  _joined(ch, res, withLeft) {
    if (res.ch) ch = res.ch;
    if (withLeft) {
      let left = res.left ?? "";
      if (left === "" && this._channel !== "" && this._channel !== ch) left = this._channel;
      if (left !== "") this._emit("onChannelLeaved", left, C.LEAVECHANNEL_E_BYUSER);
    }
    this._channel = ch;
    this._lastOff = res.off ?? 0;
    this._chSync = true;
    const members = Array.isArray(res.members) ? res.members : [];
    this._emit("onChannelJoined", ch);
    this._emit("onChannelUserList", members.map((m) => str(m.account)), members.map((m) => m.uid ?? 0));
    for (const a of Array.isArray(res.attrs) ? res.attrs : []) {
      this._emit("onChannelAttrUpdated", ch, str(a.name), str(a.value), "update", "");
    }
  }

  _rejoin(ch) {
    for (const r of this._pending.values()) if (r.kind === K.rejoin && r.ch === ch) return;
    this._submit({ kind: K.rejoin, method: "ChannelJoin", op: "ch.join", d: { ch }, ch });
  }

  // _fail reports a request's failure: an onLog line, onError where it
  // applies, then the operation's own outcome callback, so that a caller
  // waiting for an outcome always gets exactly one (SPEC.md §4).
  _fail(r, how, code, msg) {
    this._log(`${r.method} failed: ${msg} (${code} ${codeName(code)})`);
    const onError = () => this._emit("onError", r.method, code, msg);
    // onError goes with every failure but the server's own outcome codes.
    let withError = how !== F.server || code >= C.GENERAL_E;
    switch (r.kind) {
      case K.send: {
        let out = C.SENDMESSAGE_E_OTHER;
        if (how === F.server && code >= 400 && code < 500) out = code;
        if (how === F.timeout) {
          out = C.SENDMESSAGE_E_TIMEOUT;
          withError = false;
        }
        if (how === F.ended) withError = false;
        if (withError) onError();
        this._emit("onMessageSendError", r.mid, out);
        break;
      }
      case K.count: {
        let out = C.QUERYUSERNUM_E_OTHER;
        if (how === F.server && code >= 500 && code <= 502) out = code;
        if (how === F.timeout) {
          out = C.QUERYUSERNUM_E_TIMEOUT;
          withError = false;
        }
        if (how === F.ended) withError = false;
        if (withError) onError();
        this._emit("onChannelQueryUserNumResult", r.ch, out, 0);
        break;
      }
      case K.join:
        if (withError) onError();
        this._emit("onChannelJoinFailed", r.ch, C.JOINCHANNEL_E_OTHER);
        break;
      case K.rejoin:
        // The session's end reports the channel itself; otherwise it is lost.
        if (how !== F.ended && this._channel === r.ch) {
          this._leftChannel();
          this._emit("onChannelLeaved", r.ch, C.LEAVECHANNEL_E_DISCONN);
        }
        break;
      case K.invoke: {
        let reason = msg;
        if (how === F.server) {
          withError = false; // the reason goes to onInvokeRet
          if (reason === "") reason = codeName(code);
        } else if (how === F.timeout) reason = "timeout";
        else if (how === F.ended) reason = "session_ended";
        else if (code === C.GENERAL_E_NOT_LOGIN) reason = "not_logged_in";
        else if (code === C.GENERAL_E_LARGE_PARAM) reason = "too_large";
        else reason = "bad_request";
        if (withError) onError();
        this._emit("onInvokeRet", r.callID, reason, "{}");
        break;
      }
      case K.invite: {
        let out = C.INVITE_E_OTHER;
        if (how === F.server && code >= 700 && code <= 705) out = code; // 701, 703: the server's outcome
        if (how === F.timeout) out = C.INVITE_E_NET;
        if (withError && how !== F.ended) onError();
        if (r.ownsCall) this._untrackCall(r.ch, r.account);
        if (how === F.timeout && r.ownsCall) {
          // The server may have made the call: end it, so nothing follows the 702.
          this._submit({ kind: K.ack, method: "ChannelInviteEnd", op: "inv.end",
            d: { ch: r.ch, peer: r.account }, ch: r.ch, account: r.account });
        }
        this._emit("onInviteFailed", r.ch, r.account, 0, out, "");
        break;
      }
      case K.ack:
        break;
      default:
        onError();
    }
  }

  // --- the call system ----------------------------------------------------------

  _invitePush(op, d) {
    const ch = str(d.ch);
    const peer = str(d.peer);
    const extra = str(d.extra);
    // A push about a call whose final outcome was reported is dropped.
    switch (op) {
      case "inv.recv":
        break;
      case "inv.refused": case "inv.failed": case "inv.ended":
        if (!this._untrackCall(ch, peer)) return;
        break;
      default: {
        const c = this._calls.get(callKey(ch, peer));
        if (!c) return;
        if (op === "inv.accepted") c.answered = true;
      }
    }
    switch (op) {
      case "inv.recv":
        this._calls.set(callKey(ch, peer), { ch, peer, outgoing: false, answered: false });
        this._emit("onInviteReceived", ch, peer, 0, extra);
        this._submit({ kind: K.ack, method: "ChannelInviteAck", op: "inv.ack", d: { ch, peer }, ch, account: peer });
        break;
      case "inv.delivered":
        this._emit("onInviteReceivedByPeer", ch, peer, 0);
        break;
      case "inv.accepted":
        this._emit("onInviteAcceptedByPeer", ch, peer, 0, extra);
        break;
      case "inv.refused":
        this._emit("onInviteRefusedByPeer", ch, peer, 0, extra);
        break;
      case "inv.failed": {
        let code = d.code;
        if (!(code >= C.INVITE_E_OTHER && code <= C.INVITE_E_CANTRECV)) code = C.INVITE_E_OTHER;
        this._emit("onInviteFailed", ch, peer, 0, code, extra);
        break;
      }
      case "inv.ended":
        this._emit("onInviteEndByPeer", ch, peer, 0, extra);
        break;
      case "inv.msg":
        this._emit("onInviteMsg", ch, peer, 0, str(d.type), str(d.data), extra);
        break;
    }
  }

  _untrackCall(ch, peer) {
    return this._calls.delete(callKey(ch, peer));
  }

  // _endCalls gives every live call its final outcome when its session is
  // over: the user's logout ends them (onInviteEndByMyself); a lost session
  // fails an unanswered invite of ours (702) and ends the rest.
  _endCalls(byMe) {
    const calls = [...this._calls.values()].sort((a, b) => (a.ch + "\0" + a.peer < b.ch + "\0" + b.peer ? -1 : 1));
    this._calls.clear();
    for (const c of calls) {
      if (byMe) this._emit("onInviteEndByMyself", c.ch, c.peer, 0);
      else if (c.outgoing && !c.answered) this._emit("onInviteFailed", c.ch, c.peer, 0, C.INVITE_E_NET, "");
      else this._emit("onInviteEndByPeer", c.ch, c.peer, 0, "");
    }
  }

  _invite(method, ch, to, extra, source, phone) {
    const r = { kind: K.invite, method, op: "inv.invite", ch, account: to };
    const bad = [checkName("channel", ch), checkName(phone ? "phone number" : "account", to),
      checkOptionalName("source number", source), checkExtra(extra)].find(Boolean);
    if (!bad) {
      r.d = { ch, to };
      if (extra) r.d.extra = extra;
      if (phone) r.d.phone = true;
      if (source) r.d.source = source;
      const k = callKey(ch, to);
      if (!this._calls.has(k) && (this._ph === PH.online || this._ph === PH.reconnect)) {
        this._calls.set(k, { ch, peer: to, outgoing: true, answered: false });
        r.ownsCall = true; // a reinvite (701) must not forget the live call
      }
    }
    this._request(r, bad);
  }

  channelInviteUser(channelID, account, uid) {
    this._invite("ChannelInviteUser", channelID, account, "", "", false);
  }

  /** channelInviteUser2 invites with a JSON extra (_require_peer_online, _timeout, …). */
  channelInviteUser2(channelID, account, extra) {
    this._invite("ChannelInviteUser2", channelID, account, extra ?? "", "", false);
  }

  channelInvitePhone(channelID, phoneNum, uid) {
    this._invite("ChannelInvitePhone", channelID, phoneNum, "", "", true);
  }

  channelInvitePhone2(channelID, phoneNum, sourcesNum) {
    this._invite("ChannelInvitePhone2", channelID, phoneNum, "", sourcesNum ?? "", true);
  }

  channelInvitePhone3(channelID, phoneNum, sourcesNum, extra) {
    this._invite("ChannelInvitePhone3", channelID, phoneNum, extra ?? "", sourcesNum ?? "", true);
  }

  channelInviteAccept(channelID, account, uid, extra) {
    this._reply("ChannelInviteAccept", "inv.accept", channelID, account, extra ?? "");
  }

  channelInviteRefuse(channelID, account, uid, extra) {
    this._reply("ChannelInviteRefuse", "inv.refuse", channelID, account, extra ?? "");
  }

  _reply(method, op, ch, account, extra) {
    const d = { ch, peer: account };
    if (extra) d.extra = extra;
    this._request({ kind: K.plain, method, op, ch, account, d },
      checkName("channel", ch), checkName("account", account), checkExtra(extra));
  }

  /** channelInviteEnd ends a call by either side → onInviteEndByMyself here. */
  channelInviteEnd(channelID, account, uid) {
    this._request({ kind: K.inviteEnd, method: "ChannelInviteEnd", op: "inv.end", ch: channelID, account,
      d: { ch: channelID, peer: account } }, checkName("channel", channelID), checkName("account", account));
  }

  channelInviteDTMF(channelID, phoneNum, dtmf) {
    this._request({ kind: K.plain, method: "ChannelInviteDTMF", op: "inv.dtmf", ch: channelID, account: phoneNum,
      d: { ch: channelID, peer: phoneNum, digits: dtmf } },
    checkName("channel", channelID), checkName("phone number", phoneNum), checkDTMF(dtmf));
  }

  /** messageDTMFSend (deprecated) sends digits on the one answered call. */
  messageDTMFSend(uid, msg, msgID) {
    const mid = this._mid(msgID);
    this._request({ kind: K.send, method: "MessageDTMFSend", op: "inv.dtmf", mid, d: { digits: msg } },
      checkDTMF(msg), checkText("message id", mid, Limits.nameBytes));
  }

  // --- messages, channels, attributes, queries -------------------------------------

  /** messageInstantSend sends a peer message → onMessageSendSuccess(id) once stored. */
  messageInstantSend(account, uid, msg, msgID) {
    const mid = this._mid(msgID);
    this._request({ kind: K.send, method: "MessageInstantSend", op: "peer.send", mid,
      d: { to: account, msg, mid } },
    checkName("account", account), checkText("message", msg, Limits.messageBytes),
    checkText("message id", mid, Limits.nameBytes));
  }

  messageChannelSend(channelID, msg, msgID) {
    this._channelSend("MessageChannelSend", channelID, msg, msgID, false);
  }

  messageChannelSendForce(channelID, msg, msgID) {
    this._channelSend("MessageChannelSendForce", channelID, msg, msgID, true);
  }

  _channelSend(method, ch, msg, msgID, force) {
    const mid = this._mid(msgID);
    const d = { ch, msg, mid };
    if (force) d.force = true;
    this._request({ kind: K.send, method, op: "ch.send", ch, mid, d },
      checkName("channel", ch), checkText("message", msg, Limits.messageBytes),
      checkText("message id", mid, Limits.nameBytes));
  }

  _channelOp(kind, method, op, ch) {
    this._request({ kind, method, op, ch, d: { ch } }, checkName("channel", ch));
  }

  /** channelJoin → onChannelJoined, onChannelUserList, one onChannelAttrUpdated per attribute. */
  channelJoin(channelID) {
    this._channelOp(K.join, "ChannelJoin", "ch.join", channelID);
  }

  channelLeave(channelID) {
    this._channelOp(K.leave, "ChannelLeave", "ch.leave", channelID);
  }

  channelQueryUserNum(channelID) {
    this._channelOp(K.count, "ChannelQueryUserNum", "ch.count", channelID);
  }

  channelClearAttr(channelID) {
    this._channelOp(K.plain, "ChannelClearAttr", "ch.clearattr", channelID);
  }

  channelSetAttr(channelID, name, value) {
    this._request({ kind: K.plain, method: "ChannelSetAttr", op: "ch.setattr", ch: channelID, name,
      d: { ch: channelID, name, value } },
    checkName("channel", channelID), checkName("attribute name", name),
    checkText("attribute value", value, Limits.valueBytes));
  }

  channelDelAttr(channelID, name) {
    this._request({ kind: K.plain, method: "ChannelDelAttr", op: "ch.delattr", ch: channelID, name,
      d: { ch: channelID, name } }, checkName("channel", channelID), checkName("attribute name", name));
  }

  /** setAttr sets one of the user's own attributes; "" deletes it. */
  setAttr(name, value) {
    this._request({ kind: K.plain, method: "SetAttr", op: "user.setattr", name, d: { name, value } },
      checkName("attribute name", name), checkText("attribute value", value, Limits.valueBytes));
  }

  getAttr(name) {
    this._getUserAttr("GetAttr", this._cred?.account ?? "", name, false);
  }

  getAttrAll() {
    this._getUserAttrAll("GetAttrAll", this._cred?.account ?? "", false);
  }

  getUserAttr(account, name) {
    this._getUserAttr("GetUserAttr", account, name, true);
  }

  getUserAttrAll(account) {
    this._getUserAttrAll("GetUserAttrAll", account, true);
  }

  _getUserAttr(method, account, name, checkAccount) {
    this._request({ kind: K.getAttr, method, op: "user.getattr", account, name, d: { account, name } },
      checkAccount ? checkName("account", account) : null, checkName("attribute name", name));
  }

  _getUserAttrAll(method, account, checkAccount) {
    this._request({ kind: K.getAttrAll, method, op: "user.getattrall", account, d: { account } },
      checkAccount ? checkName("account", account) : null);
  }

  /** queryUserStatus → onQueryUserStatusResult(account, "1" | "0"). */
  queryUserStatus(account) {
    this._request({ kind: K.status, method: "QueryUserStatus", op: "user.status", account, d: { account } },
      checkName("account", account));
  }

  /** invoke calls an RPC with a JSON argument ("" is {}) → onInvokeRet(callID, err, resp). */
  invoke(name, req, callID) {
    let parsed;
    let bad = checkName("name", name);
    if (!bad) {
      try {
        parsed = JSON.parse(req === "" || req == null ? "{}" : req);
      } catch {
        bad = err(C.GENERAL_E_WRONG_PARAM, "req is not valid JSON");
      }
    }
    // Re-encoded, so a pretty-printed req cannot split the frame.
    this._request({ kind: K.invoke, method: "Invoke", op: "invoke", callID, d: { name, req: parsed } }, bad);
  }
}

function callKey(ch, peer) {
  return ch + "\u0000" + peer;
}

function str(v) {
  return typeof v === "string" ? v : "";
}

function randomHex(n) {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** newInstance makes a new, independent instance (createAgoraSDKInstance). */
export function newInstance(appID, opts) {
  return new Client(appID, opts);
}

let shared = null;

/** getInstance returns the page's one shared instance, made on first use. */
export function getInstance(appID, opts) {
  shared ??= new Client(appID, opts);
  return shared;
}
