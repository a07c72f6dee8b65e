// Test doubles for xinling.js: a WebSocket the test plays the server of,
// and a clock the test moves by hand.

export class FakeClock {
  constructor() {
    this.t = 1_000_000;
    this.timers = [];
    this.seq = 0;
  }

  now() {
    return this.t;
  }

  set(fn, ms) {
    const h = ++this.seq;
    this.timers.push({ h, at: this.t + ms, fn });
    return h;
  }

  clear(h) {
    this.timers = this.timers.filter((x) => x.h !== h);
  }

  // advance moves the clock by ms, running each timer that falls due, in order.
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.h - b.h);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  api() {
    return { set: (fn, ms) => this.set(fn, ms), clear: (h) => this.clear(h), now: () => this.now() };
  }
}

// FakeServer hands out FakeSockets and records them.
export class FakeServer {
  constructor() {
    this.sockets = [];
    const server = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url) {
        super(url);
        server.sockets.push(this);
      }
    };
  }

  get last() {
    return this.sockets[this.sockets.length - 1];
  }
}

export class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
  }

  send(text) {
    if (this.closed) throw new Error("send on a closed socket");
    if (text.includes("\n")) throw new Error("a frame with a raw newline");
    this.sent.push(JSON.parse(text));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.onclose?.({ code: 1000, reason: "" }));
  }

  // What the test does as the server.
  open() {
    this.onopen?.();
  }

  push(...frames) {
    this.onmessage?.({ data: frames.map((f) => (typeof f === "string" ? f : JSON.stringify(f))).join("\n") });
  }

  drop(code = 1006) {
    this.closed = true;
    this.onclose?.({ code, reason: "" });
  }

  // frames returns what the client sent with op, oldest first.
  frames(op) {
    return this.sent.filter((f) => f.op === op);
  }

  lastFrame(op) {
    const fs = this.frames(op);
    return fs[fs.length - 1];
  }
}

// Recorder is a callback object that records every call as [name, ...args].
export function recorder() {
  const calls = [];
  const cb = new Proxy({}, {
    get(_, name) {
      if (name === "then" || typeof name !== "string" || !name.startsWith("on")) return undefined;
      return (...args) => calls.push([name, ...args]);
    },
  });
  return { cb, calls, named: (n) => calls.filter((c) => c[0] === n) };
}

// settle lets queued callbacks run.
export async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
