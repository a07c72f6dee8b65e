// Unit tests of xinling.js against a scripted server: node --test web/test/
import { test } from "node:test";
import assert from "node:assert/strict";

import { Client, Code, checkName, checkExtra, checkDTMF, normalizeServer } from "../static/xinling.js";
import { FakeClock, FakeServer, recorder, settle } from "./fakes.mjs";

function setup(opts = {}) {
  const clock = new FakeClock();
  const srv = new FakeServer();
  const rec = recorder();
  const c = new Client("app", { server: "ws://test:1", WebSocket: srv.WebSocket, timers: clock.api(), ...opts });
  c.callbackSet(rec.cb);
  return { c, clock, srv, rec };
}

// loggedIn logs alice in and returns the socket.
async function loggedIn(t, hb = 5000) {
  t.c.login("app", "alice", "_no_need_token", 0, "dev");
  const ws = t.srv.last;
  ws.open();
  const login = ws.lastFrame("login");
  ws.push({ id: login.id, op: "res", d: { session: "s1", fd: 7, resumed: false, hb } });
  await settle();
  return ws;
}

// joined joins ch with the answer's offset off and returns the request.
async function joined(t, ws, ch, off, attrs = []) {
  t.c.channelJoin(ch);
  const req = ws.lastFrame("ch.join");
  ws.push({ op: "ch.joined", off, d: { ch, account: "alice", uid: 1 } },
    { id: req.id, op: "res", d: { ch, uid: 1, members: [{ account: "alice", uid: 1 }], attrs, off } });
  await settle();
  return req;
}

test("login sends the protocol's login frame and reports success", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  const d = ws.frames("login")[0].d;
  assert.equal(ws.url, "ws://test:1/ws");
  assert.deepEqual({ proto: d.proto, app: d.app, account: d.account, token: d.token, device: d.device },
    { proto: 1, app: "app", account: "alice", token: "_no_need_token", device: "dev" });
  assert.equal(d.resume, undefined);
  assert.deepEqual(t.rec.named("onLoginSuccess"), [["onLoginSuccess", 0, 7]]);
  assert.equal(t.c.getStatus(), 2);
  assert.ok(t.c.isOnline());
});

test("a refused login is final; 201 is retried", async () => {
  const t = setup();
  t.c.login("app", "alice", "bad", 0, "");
  t.srv.last.open();
  t.srv.last.push({ id: t.srv.last.lastFrame("login").id, op: "res", err: { code: 206, msg: "token" } });
  await settle();
  assert.deepEqual(t.rec.named("onLoginFailed"), [["onLoginFailed", 206]]);
  assert.equal(t.c.getStatus(), 0);
  t.clock.advance(60000);
  assert.equal(t.srv.sockets.length, 1, "a final refusal was retried");

  const u = setup();
  u.c.login("app", "alice", "", 0, "");
  u.srv.last.open();
  u.srv.last.push({ id: u.srv.last.lastFrame("login").id, op: "res", err: { code: 201, msg: "busy" } });
  await settle();
  assert.equal(u.rec.named("onLoginFailed").length, 0);
  u.clock.advance(1000);
  assert.equal(u.srv.sockets.length, 2, "201 was not retried");
  u.srv.last.open();
  u.srv.last.push({ id: u.srv.last.lastFrame("login").id, op: "res", d: { session: "s", fd: 2, hb: 5000 } });
  await settle();
  assert.deepEqual(u.rec.named("onLoginSuccess"), [["onLoginSuccess", 0, 2]]);
});

test("an unreachable server fails the login after retryCount attempts with 201", async () => {
  const t = setup();
  t.c.login2("app", "alice", "", 0, "", 30, 2);
  t.srv.last.drop();
  t.clock.advance(1000);
  assert.equal(t.srv.sockets.length, 2);
  t.srv.last.drop();
  await settle();
  assert.deepEqual(t.rec.named("onLoginFailed"), [["onLoginFailed", 201]]);
});

test("login checks: a bad account is 209, a second login 208", async () => {
  const t = setup();
  t.c.login("app", "al ice", "", 0, "");
  await settle();
  assert.deepEqual(t.rec.named("onLoginFailed"), [["onLoginFailed", 209]]);
  assert.equal(t.srv.sockets.length, 0);
  await loggedIn(t);
  t.c.login("app", "alice", "", 0, "");
  await settle();
  assert.deepEqual(t.rec.named("onLoginFailed").at(-1), ["onLoginFailed", 208]);
});

test("heartbeats ping with the ack; 3 × hb of silence is a dead connection", async () => {
  const t = setup();
  const ws = await loggedIn(t, 1000);
  ws.push({ op: "peer.msg", seq: 1, d: { from: "bob", msg: "hi", ts: 1 } });
  t.clock.advance(1000);
  assert.deepEqual(ws.lastFrame("ping").d, { ack: 1 });
  ws.push({ op: "pong" });
  t.clock.advance(2999);
  assert.equal(t.rec.named("onReconnecting").length, 0, "declared dead too early");
  t.clock.advance(1);
  await settle();
  assert.deepEqual(t.rec.named("onReconnecting"), [["onReconnecting", 1]]);
  assert.equal(t.c.getStatus(), 3);
  assert.ok(ws.closed);
});

test("the user stream is acknowledged at once, replays and redeliveries are dropped", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  ws.push({ op: "peer.msg", seq: 1, d: { from: "bob", msg: "one", mid: "m1", ts: 1 } },
    { op: "peer.msg", seq: 2, d: { from: "bob", msg: "two", mid: "m2", ts: 2 } });
  assert.deepEqual(ws.lastFrame("ping").d, { ack: 2 });
  assert.equal(ws.frames("ping").length, 1, "one ack per message");
  ws.push({ op: "peer.msg", seq: 2, d: { from: "bob", msg: "two", mid: "m2", ts: 2 } }); // replay
  ws.push({ op: "inv.ended", seq: 2, d: { ch: "c", peer: "bob" } }); // a replay has no mid to tell it by
  ws.push({ op: "peer.msg", seq: 1, d: { from: "bob", msg: "no mid", ts: 2 } });
  ws.push({ op: "peer.msg", seq: 3, d: { from: "bob", msg: "one", mid: "m1", ts: 1 } }); // redelivery
  await settle();
  assert.deepEqual(t.rec.named("onMessageInstantReceive"),
    [["onMessageInstantReceive", "bob", 0, "one"], ["onMessageInstantReceive", "bob", 0, "two"]]);
  assert.deepEqual(ws.lastFrame("ping").d, { ack: 3 });
});

test("a join reports the state; channel pushes count only past the answer's offset", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 100, [{ name: "_member_num", value: "1" }, { name: "topic", value: "go" }]);
  ws.push({ op: "ch.msg", off: 100, d: { ch: "lobby", from: "x", uid: 9, msg: "old" } },
    { op: "ch.msg", off: 101, d: { ch: "lobby", from: "bob", uid: 2, msg: "new" } },
    { op: "ch.msg", off: 102, d: { ch: "other", from: "bob", uid: 2, msg: "elsewhere" } },
    { op: "ch.attr", off: 102, d: { ch: "lobby", name: "topic", value: "rust", type: "update", by: "bob" } },
    { op: "ch.joined", off: 103, d: { ch: "lobby", account: "carol", uid: 3 } },
    { op: "some.future.push", d: {} });
  await settle();
  const names = t.rec.calls.map((c) => c[0]).filter((n) => n !== "onLog");
  assert.deepEqual(names.slice(names.indexOf("onChannelJoined")), ["onChannelJoined", "onChannelUserList",
    "onChannelAttrUpdated", "onChannelAttrUpdated", "onMessageChannelReceive", "onChannelAttrUpdated",
    "onChannelUserJoined"]);
  assert.deepEqual(t.rec.named("onChannelUserList")[0], ["onChannelUserList", ["alice"], [1]]);
  assert.deepEqual(t.rec.named("onMessageChannelReceive"), [["onMessageChannelReceive", "lobby", "bob", 2, "new"]]);
  assert.deepEqual(t.rec.named("onChannelAttrUpdated").at(-1), ["onChannelAttrUpdated", "lobby", "topic", "rust", "update", "bob"]);
});

test("a resume names the session, seq, channel and offset, and resends unanswered requests with their ids", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 100);
  ws.push({ op: "peer.msg", seq: 4, d: { from: "bob", msg: "x", ts: 1 } },
    { op: "ch.msg", off: 105, d: { ch: "lobby", from: "bob", uid: 2, msg: "y" } });
  t.c.messageChannelSend("lobby", "lost?", "mid-1");
  const send = ws.lastFrame("ch.send");
  ws.drop();
  await settle();
  t.c.messageInstantSend("bob", 0, "while away", "mid-2"); // queued while reconnecting
  const ws2 = t.srv.last;
  assert.notEqual(ws2, ws);
  ws2.open();
  const login = ws2.lastFrame("login");
  assert.deepEqual(login.d.resume, { session: "s1", seq: 4, ch: "lobby", off: 105 });
  ws2.push({ id: login.id, op: "res", d: { session: "s1", fd: 8, resumed: true, hb: 5000 } },
    { op: "ch.msg", off: 105, d: { ch: "lobby", from: "bob", uid: 2, msg: "y" } });
  await settle();
  assert.deepEqual(t.rec.named("onReconnected"), [["onReconnected", 8]]);
  const resent = ws2.frames("ch.send");
  assert.equal(resent.length, 1);
  assert.equal(resent[0].id, send.id, "a resent request must keep its id");
  assert.equal(ws2.frames("peer.send").length, 1);
  assert.equal(t.rec.named("onMessageChannelReceive").length, 1, "the replayed push was delivered twice");
  ws2.push({ id: send.id, op: "res", d: {} });
  await settle();
  assert.deepEqual(t.rec.named("onMessageSendSuccess"), [["onMessageSendSuccess", "mid-1"]]);
});

test("a resume the server cannot honour starts afresh and rejoins the channel", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 100);
  ws.push({ op: "peer.msg", seq: 9, d: { from: "bob", msg: "x", ts: 1 } });
  ws.drop();
  await settle();
  const ws2 = t.srv.last;
  ws2.open();
  ws2.push({ id: ws2.lastFrame("login").id, op: "res", d: { session: "s2", fd: 9, resumed: false, hb: 5000 } });
  await settle();
  assert.deepEqual(t.rec.named("onReconnected"), [["onReconnected", 9]]);
  const rejoin = ws2.lastFrame("ch.join");
  assert.deepEqual(rejoin.d, { ch: "lobby" });
  ws2.push({ op: "peer.msg", seq: 1, d: { from: "carol", msg: "fresh", ts: 2 } }); // seq restarted
  ws2.push({ id: rejoin.id, op: "res", d: { ch: "lobby", uid: 5, members: [], attrs: [], off: 500 } });
  await settle();
  assert.deepEqual(t.rec.named("onMessageInstantReceive").at(-1), ["onMessageInstantReceive", "carol", 0, "fresh"]);
  assert.equal(t.rec.named("onChannelJoined").length, 2);
});

test("a refused resume ends the session: 207 is onLogout 103", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 1);
  ws.drop();
  await settle();
  t.srv.last.open();
  t.srv.last.push({ id: t.srv.last.lastFrame("login").id, op: "res", err: { code: 207, msg: "kicked" } });
  await settle();
  assert.deepEqual(t.rec.named("onChannelLeaved"), [["onChannelLeaved", "lobby", 601]]);
  assert.deepEqual(t.rec.named("onLogout"), [["onLogout", 103]]);
  assert.equal(t.c.getStatus(), 0);
});

test("kicked ends the session without reconnecting", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 1);
  ws.push({ op: "kicked", d: { code: 103, reason: "elsewhere" } });
  ws.drop();
  await settle();
  t.clock.advance(60000);
  assert.deepEqual(t.rec.named("onChannelLeaved"), [["onChannelLeaved", "lobby", 601]]);
  assert.deepEqual(t.rec.named("onLogout"), [["onLogout", 103]]);
  assert.equal(t.srv.sockets.length, 1);
});

test("goaway reconnects", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  ws.push({ op: "goaway", d: { reason: "server shutting down" } });
  await settle();
  assert.deepEqual(t.rec.named("onReconnecting"), [["onReconnecting", 1]]);
  assert.equal(t.srv.sockets.length, 2);
});

test("a goaway naming a node is followed there at once, at most 5 in a row; a failure goes home", async () => {
  const t = setup();
  t.c.login("app", "alice", "_no_need_token", 0, "dev");
  let ws = t.srv.last;
  ws.open();
  ws.push({ op: "goaway", d: { reason: "the account is served by another node", url: "ws://node2:9470" } },
    { id: ws.lastFrame("login").id, op: "res", err: { code: 201, msg: "alice is served by ws://node2:9470" } });
  await settle();
  assert.equal(t.srv.sockets.length, 2, "not redirected at once");
  ws = t.srv.last;
  assert.equal(ws.url, "ws://node2:9470/ws");
  ws.open();
  ws.push({ id: ws.lastFrame("login").id, op: "res", d: { session: "s1", fd: 7, resumed: false, hb: 5000 } });
  await settle();
  assert.deepEqual(t.rec.named("onLoginSuccess"), [["onLoginSuccess", 0, 7]]);
  assert.deepEqual(t.rec.named("onLoginFailed"), []);

  // Online: the shard moves; the session resumes at the new node.
  ws.push({ op: "goaway", d: { reason: "the account moved", url: "ws://node3:9470/ws" } });
  await settle();
  ws = t.srv.last;
  assert.equal(ws.url, "ws://node3:9470/ws");
  ws.open();
  assert.equal(ws.lastFrame("login").d.resume.session, "s1");

  // Nodes that keep sending it on: followed 5 times, then backoff from home.
  for (let i = 0; i < 5; i++) {
    ws.push({ op: "goaway", d: { reason: "elsewhere", url: `ws://hop${i}:1` } });
    await settle();
    ws = t.srv.last;
    ws.open();
  }
  const before = t.srv.sockets.length;
  ws.push({ op: "goaway", d: { reason: "elsewhere", url: "ws://hop5:1" } });
  await settle();
  assert.equal(t.srv.sockets.length, before, "a sixth redirect in a row was followed at once");
  t.clock.advance(10000);
  assert.equal(t.srv.last.url, "ws://test:1/ws", "after a failed attempt the client did not go home");
});

test("a goaway with an unusable url is a plain goaway", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  ws.push({ op: "goaway", d: { reason: "elsewhere", url: "ftp://node2" } });
  await settle();
  assert.deepEqual(t.rec.named("onReconnecting"), [["onReconnecting", 1]]);
  assert.equal(t.srv.last.url, "ws://test:1/ws");
});

test("logout carries the ack and reports 603 then 101; again 108", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  await joined(t, ws, "lobby", 1);
  ws.push({ op: "peer.msg", seq: 3, d: { from: "bob", msg: "x", ts: 1 } });
  t.c.logout();
  await settle();
  assert.deepEqual(ws.lastFrame("logout").d, { ack: 3 });
  assert.ok(ws.closed);
  assert.deepEqual(t.rec.named("onChannelLeaved"), [["onChannelLeaved", "lobby", 603]]);
  assert.deepEqual(t.rec.named("onLogout"), [["onLogout", 101]]);
  t.c.logout();
  await settle();
  assert.deepEqual(t.rec.named("onLogout").at(-1), ["onLogout", 108]);
  t.c.login("app", "alice", "", 0, ""); // right away: a new login proceeds
  assert.equal(t.c.getStatus(), 1);
  assert.equal(t.srv.sockets.length, 2);
});

test("an invite received is acknowledged by the client; each call has one final outcome", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  ws.push({ op: "inv.recv", seq: 1, d: { ch: "call", peer: "bob", extra: "{\"v\":1}" } });
  await settle();
  assert.deepEqual(t.rec.named("onInviteReceived"), [["onInviteReceived", "call", "bob", 0, "{\"v\":1}"]]);
  assert.deepEqual(ws.lastFrame("inv.ack").d, { ch: "call", peer: "bob" });
  ws.push({ op: "inv.ended", seq: 2, d: { ch: "call", peer: "bob" } },
    { op: "inv.ended", seq: 3, d: { ch: "call", peer: "bob" } });
  await settle();
  assert.equal(t.rec.named("onInviteEndByPeer").length, 1);

  t.c.channelInviteUser2("call2", "bob", "{\"_timeout\":5}");
  const inv = ws.lastFrame("inv.invite");
  assert.deepEqual(inv.d, { ch: "call2", to: "bob", extra: "{\"_timeout\":5}" });
  ws.push({ id: inv.id, op: "res", d: {} }, { op: "inv.accepted", seq: 4, d: { ch: "call2", peer: "bob", extra: "{}" } });
  await settle();
  assert.deepEqual(t.rec.named("onInviteAcceptedByPeer"), [["onInviteAcceptedByPeer", "call2", "bob", 0, "{}"]]);
  t.c.channelInviteEnd("call2", "bob", 0);
  const end = ws.lastFrame("inv.end");
  ws.push({ id: end.id, op: "res", d: {} }, { op: "inv.ended", seq: 5, d: { ch: "call2", peer: "bob" } });
  await settle();
  assert.deepEqual(t.rec.named("onInviteEndByMyself"), [["onInviteEndByMyself", "call2", "bob", 0]]);
  assert.equal(t.rec.named("onInviteEndByPeer").length, 1, "a second outcome for one call");
});

test("an invite without an answer fails with 702 and is ended on the server", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  t.c.channelInviteUser("c", "bob", 0);
  t.clock.advance(10000);
  await settle();
  assert.deepEqual(t.rec.named("onInviteFailed"), [["onInviteFailed", "c", "bob", 0, 702, ""]]);
  assert.deepEqual(ws.lastFrame("inv.end").d, { ch: "c", peer: "bob" });
});

test("bad input never reaches the server and gets both onError and the outcome", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  const before = ws.sent.length;
  t.c.messageChannelSend("bad channel", "hi", "m1");
  t.c.channelJoin("");
  t.c.channelInviteUser2("c", "bob", "[1]");
  t.c.messageInstantSend("bob", 0, "x".repeat(8193), "m2");
  await settle();
  assert.equal(ws.sent.length, before);
  assert.deepEqual(t.rec.named("onError").map((c) => [c[1], c[2]]),
    [["MessageChannelSend", 1004], ["ChannelJoin", 1004], ["ChannelInviteUser2", 1004], ["MessageInstantSend", 1005]]);
  assert.deepEqual(t.rec.named("onMessageSendError"), [["onMessageSendError", "m1", 400], ["onMessageSendError", "m2", 400]]);
  assert.deepEqual(t.rec.named("onChannelJoinFailed"), [["onChannelJoinFailed", "", 300]]);
  assert.deepEqual(t.rec.named("onInviteFailed"), [["onInviteFailed", "c", "bob", 0, 700, ""]]);
});

test("server errors reach the outcome callbacks", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  t.c.messageChannelSend("lobby", "hi", "m1");
  ws.push({ id: ws.lastFrame("ch.send").id, op: "res", err: { code: 400, msg: "not in channel lobby" } });
  t.c.channelQueryUserNum("lobby");
  ws.push({ id: ws.lastFrame("ch.count").id, op: "res", d: { num: 3 } });
  t.c.invoke("io.agora.signal.channel_query_num", "{\n  \"name\": \"lobby\"\n}", "call-1");
  const inv = ws.lastFrame("invoke");
  assert.deepEqual(inv.d, { name: "io.agora.signal.channel_query_num", req: { name: "lobby" } });
  ws.push({ id: inv.id, op: "res", err: { code: 1004, msg: "unknown_method" } });
  t.c.getUserAttrAll("bob");
  ws.push({ id: ws.lastFrame("user.getattrall").id, op: "res", d: { attrs: { z: "1", a: "2" } } });
  t.c.queryUserStatus("bob");
  ws.push({ id: ws.lastFrame("user.status").id, op: "res", d: { online: true } });
  await settle();
  assert.deepEqual(t.rec.named("onMessageSendError"), [["onMessageSendError", "m1", 400]]);
  assert.equal(t.rec.named("onError").length, 0, "400 is the send's own outcome, not onError");
  assert.deepEqual(t.rec.named("onChannelQueryUserNumResult"), [["onChannelQueryUserNumResult", "lobby", 0, 3]]);
  assert.deepEqual(t.rec.named("onInvokeRet"), [["onInvokeRet", "call-1", "unknown_method", "{}"]]);
  assert.deepEqual(t.rec.named("onUserAttrAllResult"), [["onUserAttrAllResult", "bob", "{\"a\":\"2\",\"z\":\"1\"}"]]);
  assert.deepEqual(t.rec.named("onQueryUserStatusResult"), [["onQueryUserStatusResult", "bob", "1"]]);
});

test("requests before login fail with 1003", async () => {
  const t = setup();
  t.c.channelJoin("lobby");
  await settle();
  assert.deepEqual(t.rec.named("onError"), [["onError", "ChannelJoin", 1003, "not logged in"]]);
  assert.deepEqual(t.rec.named("onChannelJoinFailed"), [["onChannelJoinFailed", "lobby", 300]]);
});

test("a message with several frames, blank lines and a bad line", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  ws.push({ op: "peer.msg", seq: 1, d: { from: "a", msg: "1", ts: 1 } }, "", "not json",
    { op: "peer.msg", seq: 2, d: { from: "a", msg: "2", ts: 1 } });
  await settle();
  assert.equal(t.rec.named("onMessageInstantReceive").length, 2);
});

test("callbacks never run inside the method that caused them", async () => {
  const t = setup();
  const ws = await loggedIn(t);
  let inside = true;
  let ranInside = false;
  t.c.callbackSet({ onError() { ranInside = inside; } });
  t.c.channelJoin("bad name");
  inside = false;
  await settle();
  assert.equal(ranInside, false);
  assert.ok(ws);
});

test("validation mirrors the server's name rule", () => {
  assert.equal(checkName("channel", "lobby"), null);
  assert.equal(checkName("channel", "大厅"), null);
  assert.deepEqual(checkName("channel", ""), { code: Code.GENERAL_E_WRONG_PARAM, msg: "channel is empty" });
  assert.equal(checkName("channel", "大厅 x").msg, "channel has whitespace or a control character at byte 6");
  assert.ok(checkName("account", "a\u00a0b"), "NBSP is whitespace");
  assert.ok(checkName("account", "a\u3000b"), "ideographic space is whitespace");
  assert.ok(checkName("account", "a\u0085b"), "NEL is whitespace");
  assert.ok(checkName("account", "a\u007fb"), "DEL is a control character");
  assert.equal(checkName("account", "é".repeat(64)), null);
  assert.equal(checkName("account", "é".repeat(65)).msg, "account is 130 bytes, the limit is 128");
  assert.equal(checkName("account", "a\ud800").msg, "account is not valid UTF-8");
  assert.equal(checkExtra(""), null);
  assert.equal(checkExtra("{\"a\":1}"), null);
  assert.equal(checkExtra("[1]").code, 1004);
  assert.equal(checkExtra("{").code, 1004);
  assert.equal(checkExtra("{\"a\":\"" + "x".repeat(8200) + "\"}").code, 1005);
  assert.equal(checkDTMF("12*#"), null);
  assert.equal(checkDTMF("12a").msg, "dtmf has \"a\" at 2; only 0-9, * and # are allowed");
  assert.equal(normalizeServer("127.0.0.1:9470"), "ws://127.0.0.1:9470/ws");
  assert.equal(normalizeServer("https://example.test/sig"), "wss://example.test/sig");
});
