// A mixed cluster behind haproxy, run by e2e/lb/mixed_test.go: Switchboard
// nodes (sb1, sb2) and Node.js socket.io 4.8 nodes (js1, js2, see
// mixed-server.mjs) on one Redis stream (@socket.io/redis-streams-adapter
// 0.3.1 and Switchboard's redis-streams adapter), connection state
// recovery on. npm socket.io-client 4.x clients spread over the four nodes
// share a room; a sender on each node streams numbered messages (every
// fifth with binary) to the others. Then, by MIXED_SCENARIO:
// - stop-sb / stop-js: a node of that kind stops gracefully (SIGTERM);
// - cut: clients on one node of each kind have their transport closed;
// - redis: redis-server stops and restarts, empty, while each sender
//   sends a message: it arrives everywhere once Redis is back.
// A cut client reconnects through haproxy; until it lands on a node of the
// other kind (haproxy's X-LB-Server, from the handshake), its transport is
// closed again (with affinity, under a new X-LB-Client header). Each time
// it must be recovered: same id, rooms and data. Every client gets every
// number of every sender exactly once, in order, binary intact.
//
// Env: SWITCHBOARD_URL (haproxy), LB_CONTROL_URL (see mixed_test.go),
// MIXED_SCENARIO.

import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

import { requireURL, toBuffer, uniqueName, within } from "../lib.mjs";
import { blob, until } from "./lib-lb.mjs";

const CONTROL = process.env.LB_CONTROL_URL;
const SCENARIO = process.env.MIXED_SCENARIO;
const ROUND_ROBIN = SCENARIO !== "stop-sb"; // stop-sb runs with affinity
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kind = (node) => node.replace(/\d+$/, ""); // "sb" or "js"
// While quiet.n > 0 a client is reconnecting: the senders wait. Once
// the test ends (done), the clients' loops stop.
const quiet = { n: 0, done: false };

async function control(path) {
  const res = await fetch(CONTROL + path, { method: "POST" });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

class Client {
  constructor(label, transports) {
    this.label = label;
    this.got = new Map(); // sender label -> numbers received
    this.problems = [];
    this.moves = []; // "node->node recovered"
    this.offsets = new Map(); // sender label -> offset of the last message
    this.socket = io(requireURL(), {
      forceNew: true,
      transports,
      extraHeaders: { "x-lb-client": label },
      // The test reconnects it itself (see moveToOtherKind).
      reconnection: false,
    });
    this.socket.on("room-message", (msg, offset) => {
      const list = this.got.get(msg.from) || [];
      const last = list.length ? list[list.length - 1] : 0;
      if (msg.n !== last + 1) {
        this.problems.push(`${label} got #${msg.n} (offset ${offset}) from ${msg.from} after #${last} (offset ${this.offsets.get(msg.from)}), moves ${this.moves}`);
      }
      this.offsets.set(msg.from, offset);
      if (typeof offset !== "string") this.problems.push(`${label}: #${msg.n} from ${msg.from} without offset`);
      if (msg.n % 5 === 0 && !(msg.bin && toBuffer(msg.bin).equals(blob(msg.i, msg.n)))) {
        this.problems.push(`${label}: binary of #${msg.n} from ${msg.from} damaged`);
      }
      list.push(msg.n);
      this.got.set(msg.from, list);
    });
  }

  async start(room) {
    await new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", reject);
    });
    this.id = this.socket.id;
    this.node = await this.whereAmI();
    this.home = this.node;
    assert.equal(await this.socket.emitWithAck("set-data", { label: this.label, home: this.node }), true);
    assert.equal(await this.socket.emitWithAck("join", room), true);
    this.room = room;
    return this;
  }

  async whereAmI() {
    const hs = await this.socket.timeout(5000).emitWithAck("handshake");
    assert.ok(hs.headers["x-lb-server"], `${this.label}: no x-lb-server header`);
    return hs.headers["x-lb-server"];
  }

  // moveToOtherKind cuts the client (by how(), else by closing its
  // transport), lets it miss messages, reconnects it and checks that it
  // was recovered, until it is on a node of the other kind than its first.
  // Its reconnection is quiet (no message sent meanwhile): a Node.js node
  // restoring a session reads the stream to its end, then the socket joins
  // its rooms; an entry appended in between is lost or comes twice
  // (@socket.io/redis-streams-adapter 0.3.1). Switchboard has no such gap.
  async moveToOtherKind(how) {
    for (let attempt = 1; !quiet.done; attempt++) {
      const from = this.node;
      const disconnected = new Promise((r) => this.socket.once("disconnect", r));
      let stopped;
      if (attempt === 1 && how) {
        stopped = how();
      } else {
        this.socket.io.engine.close();
        // With affinity, a new header value is a new place in haproxy's
        // hash, for the next connection: a new object, since the closing
        // transport's requests (its close packet) must reach its node.
        this.socket.io.opts.extraHeaders = { "x-lb-client": `${this.label}-${attempt}` };
      }
      await within(disconnected, 10_000, `${this.label}: disconnect from ${from}`);
      await stopped;
      await sleep(300); // messages it misses
      quiet.n++;
      try {
        await sleep(100); // those in flight arrive
        for (let k = 0; ; k++) {
          const connected = new Promise((resolve, reject) => {
            this.socket.once("connect", resolve);
            this.socket.once("connect_error", reject);
          });
          this.socket.connect();
          try {
            await within(connected, 5000, `${this.label}: reconnection from ${from}`);
            break;
          } catch (err) {
            assert.ok(k < 10 && !quiet.done, `${this.label}: ${err.message}`);
            await sleep(200);
          }
        }
        this.node = await this.whereAmI();
        assert.equal(this.socket.recovered, true, `${this.label}: not recovered on ${this.node} (from ${from})`);
        assert.equal(this.socket.id, this.id, `${this.label}: id`);
        this.moves.push(`${from}->${this.node}`);
        const who = await this.socket.timeout(5000).emitWithAck("whoami");
        assert.equal(who.id, this.id);
        assert.ok(who.rooms.includes(this.room), `${this.label} on ${this.node}: rooms ${JSON.stringify(who.rooms)}`);
        assert.deepEqual(who.data, { label: this.label, home: this.home }, `${this.label} on ${this.node}: data`);
        await sleep(200); // the missed messages arrive
      } finally {
        quiet.n--;
      }
      if (kind(this.node) !== kind(this.home)) return;
      assert.ok(attempt < 8, `${this.label}: still on ${kind(this.home)} nodes after ${this.moves.join(", ")}`);
    }
  }
}

test(`mixed cluster: ${SCENARIO}`, { timeout: 50_000 }, async () => {
  assert.ok(CONTROL, "LB_CONTROL_URL is not set");
  const room = uniqueName("mixed");
  const clients = [];
  try {
    // Twelve clients: round-robin puts three on each node; with affinity
    // half of them poll and half upgrade, spread by their header's hash.
    for (let k = 0; k < 12; k++) {
      const transports = ROUND_ROBIN ? ["websocket"] : k % 2 ? ["polling"] : ["polling", "websocket"];
      clients.push(await new Client(`c${k}-${transports.join("+")}`, transports).start(room));
    }
    const on = (node) => clients.filter((c) => c.home === node);
    console.log(`sessions: ${clients.map((c) => `${c.label}@${c.node}`).join(" ")}`);

    // Who is cut, and who sends (one sender on each node that stays up).
    let victims, cutHow;
    if (SCENARIO === "stop-sb" || SCENARIO === "stop-js") {
      const node = ["1", "2"].map((i) => SCENARIO.slice(5) + i).find((n) => on(n).length > 0);
      assert.ok(node, `no client on a ${SCENARIO.slice(5)} node`);
      victims = on(node);
      let stopping;
      cutHow = () => (stopping ||= control(`/stop?node=${node}`));
    } else if (SCENARIO === "cut") {
      victims = ["sb1", "js1"].map((n) => on(n)[0]);
      assert.ok(victims.every(Boolean), "no client on sb1 or js1");
    } else {
      victims = [];
    }
    const senders = [...new Set(clients.map((c) => c.home))]
      .map((n) => on(n).find((c) => !victims.includes(c)))
      .filter(Boolean);
    assert.ok(new Set(senders.map((s) => kind(s.home))).size === 2, `senders on one kind of node only: ${senders.map((s) => s.home)}`);

    const send = async (s, i, from, to) => {
      for (let n = from; n <= to; n++) {
        const msg = { from: s.label, i, n };
        if (n % 5 === 0) msg.bin = blob(i, n);
        while (quiet.n > 0 && !quiet.done) await sleep(10);
        if (quiet.done) return;
        s.socket.emit("to-room", room, msg);
        s.sent = n;
        await sleep(15);
      }
    };
    const complete = (upTo) => () =>
      clients.every((r) => senders.every((s) => s === r || (r.got.get(s.label) || []).length === upTo));
    const missing = (upTo) => () =>
      clients
        .flatMap((r) => senders.filter((s) => s !== r).map((s) => [r, s, (r.got.get(s.label) || []).length]))
        .filter(([, , n]) => n !== upTo)
        .map(([r, s, n]) => `${r.label}@${r.node} has ${n}/${upTo} from ${s.label}@${s.node}`)
        .join(", ") + ` ${clients.flatMap((c) => c.problems).join("; ")}`;

    if (SCENARIO !== "redis") {
      // Phase 1: 1..40 from each sender; the victims are cut while they
      // stream, and move to the other kind of node.
      const phase1 = Promise.all(senders.map((s, i) => send(s, i, 1, 40)));
      await until(() => senders[0].sent >= 10, 10_000, () => "senders");
      await Promise.all(victims.map((v) => v.moveToOtherKind(cutHow)));
      await phase1;
      // Phase 2: 41..60, everyone back.
      await Promise.all(senders.map((s, i) => send(s, i, 41, 60)));
      await until(complete(60), 15_000, missing(60));
      console.log(`moves: ${victims.map((v) => `${v.label}: ${v.moves.join(", ")}`).join("; ")}`);
    } else {
      await Promise.all(senders.map((s, i) => send(s, i, 1, 10)));
      await until(complete(10), 10_000, missing(10));
      // While Redis is down, each sender sends #11: every node, of both
      // kinds, holds it (Node's Redis client queues the XADD, Switchboard
      // its entry) and appends it once Redis is back; with recovery on,
      // even the sender's node delivers it only then, from the stream.
      await control("/redis/stop");
      await sleep(500);
      await Promise.all(senders.map((s, i) => send(s, i, 11, 11)));
      await sleep(1000);
      const early = clients.filter((r) => senders.some((s) => s !== r && (r.got.get(s.label) || []).includes(11)));
      assert.deepEqual(early.map((r) => r.label), [], "#11 delivered while Redis was down");
      await control("/redis/start");
      await until(complete(11), 10_000, missing(11));
      // Then nothing is lost either.
      await Promise.all(senders.map((s, i) => send(s, i, 12, 31)));
      await until(complete(31), 15_000, missing(31));
    }
    await sleep(300); // duplicates would arrive now
    assert.deepEqual(clients.flatMap((c) => c.problems), []);
    for (const c of clients) assert.ok(c.socket.connected, `${c.label} disconnected`);
  } finally {
    quiet.done = true;
    clients.forEach((c) => c.socket.disconnect());
  }
});
