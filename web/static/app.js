// The /app page: the TUI's three jobs in a browser — chat, calls, and the
// channel's attributes — on top of xinling.js. User data only ever reaches
// the page as textContent, never as HTML.
import { Client, Status, checkName, codeName, normalizeServer } from "./xinling.js";

const $ = (id) => document.getElementById(id);

const state = {
  me: "",
  channel: "",
  members: new Map(), // account → uid
  attrs: new Map(), // name → {value, by}
  calls: new Map(), // ch \0 peer → {ch, peer, dir, state, el}
  sends: new Map(), // mid → {input, text, to}
  lastFailure: "", // the library's last "… failed: why" log line, to explain an outcome
};

// One client per login form submission: the server URL is an instance's
// option, as in the Go SDK.
let client = new Client("xinling", { server: defaultServer() });
window.xinling = { get client() { return client; }, state }; // for the console, and for tests

function defaultServer() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

// --- errors and the log ---------------------------------------------------

function showError(text) {
  const el = $("error");
  el.textContent = text;
  el.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// failure explains an outcome code with the reason the library logged.
function failure(what, code) {
  const why = state.lastFailure ? `: ${state.lastFailure}` : "";
  state.lastFailure = "";
  return `${what} (${code} ${codeName(code)})${why}`;
}

function log(text) {
  const li = document.createElement("li");
  li.textContent = text;
  const ol = $("log");
  ol.append(li);
  while (ol.children.length > 300) ol.firstChild.remove();
  const m = /^\w+ failed: (.*) \(\d+ [A-Z_0-9]+\)$/.exec(text);
  if (m) state.lastFailure = m[1];
}

// invalid marks an input bad and says why; its text stays for correcting.
function invalid(input, msg) {
  input.setAttribute("aria-invalid", "true");
  input.focus();
  showError(msg);
  return true;
}

function check(input, what) {
  input.removeAttribute("aria-invalid");
  const bad = checkName(what, input.value.trim());
  return bad ? invalid(input, bad.msg) : false;
}

// --- status -----------------------------------------------------------------

function setStatus(text) {
  const el = $("status");
  el.textContent = text;
  el.dataset.status = String(client.getStatus());
}

function showMain(on) {
  $("main").hidden = !on;
  $("login").hidden = on;
  $("logout").hidden = !on;
}

// --- chat ---------------------------------------------------------------------

function addMessage(kind, from, text) {
  const li = document.createElement("li");
  li.dataset.kind = kind;
  if (from !== null) {
    const who = document.createElement("span");
    who.className = "from";
    who.textContent = from;
    li.append(who);
  }
  li.append(document.createTextNode(text));
  const ol = $("messages");
  ol.append(li);
  while (ol.children.length > 500) ol.firstChild.remove();
  ol.scrollTop = ol.scrollHeight;
}

function renderMembers() {
  const ul = $("members");
  ul.replaceChildren(...[...state.members].map(([account, uid]) => {
    const li = document.createElement("li");
    li.textContent = account;
    li.title = `uid ${uid}`;
    li.dataset.account = account;
    return li;
  }));
  $("current-channel").textContent = state.channel
    ? `${state.channel} · ${state.members.size} here` : "(no channel)";
}

// --- attributes ---------------------------------------------------------------

function renderAttrs(changed) {
  const rows = [...state.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, a]) => {
    const tr = document.createElement("tr");
    tr.dataset.name = name;
    for (const [cls, text] of [["name", name], ["value", a.value], ["by", a.by]]) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    if (name === changed) tr.classList.add("changed");
    tr.addEventListener("click", () => {
      $("attr-name").value = name;
      $("attr-value").value = a.value;
    });
    return tr;
  });
  $("attrs").replaceChildren(...rows);
}

// --- calls ----------------------------------------------------------------------

const callKey = (ch, peer) => `${ch}\u0000${peer}`;
const finalStates = new Set(["refused", "failed", "ended"]);

function setCall(ch, peer, dir, st, note = "") {
  const k = callKey(ch, peer);
  let c = state.calls.get(k);
  if (!c || dir) {
    c?.el.remove();
    c = { ch, peer, dir: dir || c?.dir || "out", el: document.createElement("li") };
    c.el.className = "call";
    while ($("calls").children.length >= 30) { // keep the recent ones
      const old = $("calls").lastChild;
      state.calls.delete(callKey(old.dataset.ch, old.dataset.peer));
      old.remove();
    }
    c.el.dataset.ch = ch;
    c.el.dataset.peer = peer;
    $("calls").prepend(c.el);
    state.calls.set(k, c);
  }
  c.state = st;
  c.el.dataset.state = st;
  c.el.dataset.dir = c.dir;
  const title = document.createElement("strong");
  title.textContent = `${c.dir === "in" ? "from" : "to"} ${peer}`;
  const where = document.createElement("span");
  where.className = "muted";
  where.textContent = ` on ${ch}`;
  const s = document.createElement("span");
  s.className = "state";
  s.textContent = note ? `${st}: ${note}` : st;
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  const button = (cls, label, fn) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", fn);
    buttons.append(b);
  };
  if (st === "incoming") {
    button("accept", "Accept", () => answer(ch, peer, true));
    button("refuse", "Refuse", () => answer(ch, peer, false));
  }
  if (!finalStates.has(st) && st !== "incoming") button("end", c.dir === "out" && st !== "accepted" ? "Cancel" : "Hang up",
    () => client.channelInviteEnd(ch, peer, 0));
  c.el.replaceChildren(title, where, s, buttons);
}

// answer accepts or refuses an incoming call. The callee's own answer has
// no success callback (an error comes as onError), so it shows at once.
function answer(ch, peer, yes) {
  if (yes) {
    client.channelInviteAccept(ch, peer, 0, "");
    setCall(ch, peer, "", "accepted");
  } else {
    client.channelInviteRefuse(ch, peer, 0, "");
    setCall(ch, peer, "", "refused", "by you");
  }
}

// --- the callbacks ------------------------------------------------------------------

const callbacks = {
  onLog: log,
  onLoginSuccess() {
    clearError();
    setStatus(`online as ${state.me}`);
    showMain(true);
    $("channel").focus();
  },
  onLoginFailed(code) {
    setStatus("logged out");
    showMain(false);
    const why = {
      201: "the server could not be reached or is busy", 202: "the server refused this app",
      203: "cancelled", 204: "the token has expired", 205: "this server speaks another protocol version",
      206: "the token is not valid for this app and account", 207: "the account logged in elsewhere",
      208: "already logged in", 209: "the account name is not valid",
    }[code] ?? "refused";
    showError(failure(`Login failed: ${why}`, code));
  },
  onLogout(code) {
    setStatus("logged out");
    showMain(false);
    state.channel = "";
    state.members.clear();
    state.attrs.clear();
    renderMembers();
    renderAttrs();
    const why = { 101: "", 103: "the account logged in elsewhere", 102: "the connection could not be restored",
      105: "the token expired", 106: "protocol version", 107: "the token is not valid" }[code];
    if (code !== 101 && code !== 108) showError(`Logged out (${code} ${codeName(code)})${why ? ": " + why : ""}`);
  },
  onReconnecting(n) {
    setStatus(`reconnecting (attempt ${n})`);
  },
  onReconnected() {
    setStatus(`online as ${state.me}`);
    addMessage("system", null, "reconnected");
  },
  onError(name, code, desc) {
    showError(`${name}: ${desc} (${code} ${codeName(code)})`);
    state.lastFailure = "";
  },

  onChannelJoined(ch) {
    clearError();
    state.channel = ch;
    state.members.clear();
    state.attrs.clear();
    renderAttrs();
    addMessage("system", null, `joined ${ch}`);
  },
  onChannelJoinFailed(ch, code) {
    if (!$("error").hidden) return; // onError already said why
    showError(failure(`Could not join ${ch}`, code));
  },
  onChannelLeaved(ch, code) {
    if (state.channel === ch) {
      state.channel = "";
      state.members.clear();
      state.attrs.clear();
      renderMembers();
      renderAttrs();
    }
    addMessage("system", null, `left ${ch}${code === 602 ? "" : ` (${code} ${codeName(code)})`}`);
  },
  onChannelUserList(accounts, uids) {
    state.members = new Map(accounts.map((a, i) => [a, uids[i]]));
    renderMembers();
  },
  onChannelUserJoined(account, uid) {
    state.members.set(account, uid);
    renderMembers();
    addMessage("system", null, `${account} joined`);
  },
  onChannelUserLeaved(account) {
    state.members.delete(account);
    renderMembers();
    addMessage("system", null, `${account} left`);
  },
  onChannelAttrUpdated(ch, name, value, type, by) {
    if (ch !== state.channel) return;
    if (type === "clear") state.attrs.clear();
    else if (type === "del") state.attrs.delete(name);
    else state.attrs.set(name, { value, by: by ?? "" });
    renderAttrs(name);
  },

  onMessageChannelReceive(ch, from, uid, msg) {
    addMessage("channel", from === "" ? "server" : from, msg);
  },
  onMessageInstantReceive(from, uid, msg) {
    addMessage("peer", `${from} → you`, msg);
  },
  onMessageSendSuccess(mid) {
    const s = state.sends.get(mid);
    state.sends.delete(mid);
    if (!s) return;
    if (s.to) addMessage("peer", `you → ${s.to}`, s.text); // peer messages are not echoed back
    if (s.input.value === s.text) s.input.value = ""; // sent: the draft may go
  },
  onMessageSendError(mid, code) {
    const s = state.sends.get(mid);
    state.sends.delete(mid);
    // A local check came with onError, which said why (and cleared
    // lastFailure); a refusal by the server left its reason in lastFailure.
    if ($("error").hidden || state.lastFailure) {
      showError(failure(`Message not sent${s?.to ? " to " + s.to : ""}; it is still in the box`, code));
    }
  },

  onInviteReceived(ch, from) {
    setCall(ch, from, "in", "incoming");
  },
  onInviteReceivedByPeer(ch, peer) {
    setCall(ch, peer, "", "ringing");
  },
  onInviteAcceptedByPeer(ch, peer) {
    setCall(ch, peer, "", "accepted");
  },
  onInviteRefusedByPeer(ch, peer) {
    setCall(ch, peer, "", "refused");
  },
  onInviteFailed(ch, peer, uid, code) {
    setCall(ch, peer, "", "failed", `${code} ${codeName(code)}`);
  },
  onInviteEndByPeer(ch, peer) {
    setCall(ch, peer, "", "ended", `by ${peer}`);
  },
  onInviteEndByMyself(ch, peer) {
    setCall(ch, peer, "", "ended", "by you");
  },
  onInviteMsg(ch, peer, uid, type, data) {
    setCall(ch, peer, "", state.calls.get(callKey(ch, peer))?.state ?? "accepted", `${type} ${data}`);
  },
};
client.callbackSet(callbacks);

// --- the forms --------------------------------------------------------------------

function onSubmit(id, fn) {
  $(id).addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearError();
    fn();
  });
}

onSubmit("login", () => {
  if (client.getStatus() !== Status.LOGGED_OUT) return; // a login is under way
  if (check($("account"), "account") || check($("app"), "app id")) return;
  let server;
  try {
    $("server").removeAttribute("aria-invalid");
    server = normalizeServer($("server").value);
  } catch (e) {
    invalid($("server"), `server: ${e.message}`);
    return;
  }
  const app = $("app").value.trim();
  client.destroy();
  client = new Client(app, { server });
  client.callbackSet(callbacks);
  state.me = $("account").value.trim();
  client.login2(app, state.me, $("token").value, 0, "web", 30, 3);
  setStatus("logging in…");
});

$("logout").addEventListener("click", () => client.logout());

onSubmit("join-form", () => {
  if (check($("channel"), "channel")) return;
  client.channelJoin($("channel").value.trim());
});

$("leave").addEventListener("click", () => {
  clearError();
  if (!state.channel) {
    showError("You are in no channel");
    return;
  }
  client.channelLeave(state.channel);
});

onSubmit("send-form", () => {
  const text = $("text").value;
  if (text === "") return;
  const to = $("to").value.trim();
  const mid = `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  if (to !== "") {
    if (check($("to"), "account")) return;
    state.sends.set(mid, { input: $("text"), text, to });
    client.messageInstantSend(to, 0, text, mid);
    return;
  }
  if (!state.channel) {
    invalid($("to"), "Join a channel first, or name an account to send to");
    return;
  }
  state.sends.set(mid, { input: $("text"), text, to: "" });
  client.messageChannelSend(state.channel, text, mid);
});

onSubmit("invite-form", () => {
  if (check($("invite-to"), "account")) return;
  const ch = $("invite-ch").value.trim() || state.channel;
  if (ch === "") {
    invalid($("invite-ch"), "Name the call, or join a channel to use its name");
    return;
  }
  $("invite-ch").removeAttribute("aria-invalid");
  if (checkName("call name", ch)) return invalid($("invite-ch"), checkName("call name", ch).msg);
  const peer = $("invite-to").value.trim();
  setCall(ch, peer, "out", "calling");
  client.channelInviteUser(ch, peer, 0);
});

function attrTarget() {
  if (state.channel) return state.channel;
  showError("Join a channel to change its attributes");
  return "";
}

onSubmit("attr-form", () => {
  const ch = attrTarget();
  if (!ch || check($("attr-name"), "attribute name")) return;
  client.channelSetAttr(ch, $("attr-name").value.trim(), $("attr-value").value);
});

$("attr-del").addEventListener("click", () => {
  clearError();
  const ch = attrTarget();
  if (!ch || check($("attr-name"), "attribute name")) return;
  client.channelDelAttr(ch, $("attr-name").value.trim());
});

$("attr-clear").addEventListener("click", () => {
  clearError();
  const ch = attrTarget();
  if (ch) client.channelClearAttr(ch);
});

// An input marked bad is unmarked as soon as it is edited.
document.addEventListener("input", (ev) => ev.target.removeAttribute?.("aria-invalid"));

$("server").value = defaultServer();
const params = new URLSearchParams(location.search);
if (params.get("account")) $("account").value = params.get("account");
setStatus(client.getStatus() === Status.LOGGED_OUT ? "logged out" : "…");
