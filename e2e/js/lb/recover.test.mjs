// Connection state recovery through haproxy (round-robin, no affinity) on
// a cluster of three Switchboard nodes on the Redis Streams adapter, with
// adapter.forward_sessions on. A sender connected straight to one node
// streams numbered messages to a room; receivers (socket.io-client 4.x,
// polling-only and upgrading) joined it through haproxy. Midway, another
// node dies (SIGKILL) or is stopped (SIGTERM). Every receiver must end
// connected with its first socket id, recovered (socket.recovered) if it
// was cut, having got every message exactly once and in order: those
// whose session was on that node, and those whose pending poll, POST or
// WebSocket went through it.
//
// Env: SWITCHBOARD_URL (haproxy), LB_CONTROL_URL (the Go test: POST
// /kill?node=NAME or /stop?node=NAME), LB_SENDER_URL and LB_SENDER_NODE
// (the node the sender uses, never the victim), LB_ACTION (kill | stop).

import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

import { uniqueName, transportOf, waitTransport } from "../lib.mjs";
import { until, emitAck } from "./lib-lb.mjs";

const URL = process.env.SWITCHBOARD_URL;
const CONTROL = process.env.LB_CONTROL_URL;
const SENDER_URL = process.env.LB_SENDER_URL;
const SENDER_NODE = process.env.LB_SENDER_NODE;
const ACTION = process.env.LB_ACTION || "kill";
const RECEIVERS = 12;
const MSGS = 300;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test(`a node ${ACTION === "kill" ? "killed" : "stopped"} mid-stream: every client recovers, nothing lost or repeated`, { timeout: 90_000 }, async () => {
  assert.ok(CONTROL && SENDER_URL && SENDER_NODE, "LB_CONTROL_URL, LB_SENDER_URL, LB_SENDER_NODE must be set");
  const room = uniqueName("lb-recover");
  const receivers = [];
  const sockets = [];
  try {
    for (let k = 0; k < RECEIVERS; k++) {
      const polling = k % 2 === 0;
      const socket = io(URL, {
        forceNew: true,
        transports: polling ? ["polling"] : ["polling", "websocket"],
        reconnectionDelay: 100,
        reconnectionDelayMax: 300,
      });
      sockets.push(socket);
      const r = { label: `${polling ? "polling" : "upgrade"}-${k}`, socket, got: [], problems: [], log: [], disconnects: 0 };
      receivers.push(r);
      const t0 = Date.now();
      socket.on("connect", () => r.log.push(`+${Date.now() - t0}ms connect ${socket.id} recovered=${socket.recovered} via ${transportOf(socket)}`));
      socket.on("disconnect", (reason) => {
        r.disconnects++;
        r.log.push(`+${Date.now() - t0}ms disconnect: ${reason}`);
      });
      socket.on("room-message", (msg) => {
        const last = r.got[r.got.length - 1] || 0;
        if (msg.n !== last + 1) r.problems.push(`#${msg.n} after #${last}`);
        r.got.push(msg.n);
      });
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      r.id = socket.id;
      const [hs] = await emitAck(socket, "handshake");
      r.node = hs.headers["x-lb-server"];
      assert.deepEqual(await emitAck(socket, "join", room), [true]);
      if (!polling) await waitTransport(socket, "websocket", 10_000);
    }
    const sender = io(SENDER_URL, { forceNew: true, transports: ["websocket"] });
    sockets.push(sender);
    await new Promise((resolve) => sender.once("connect", resolve));

    // The victim: the node, other than the sender's, with most sessions.
    const count = {};
    for (const r of receivers) if (r.node !== SENDER_NODE) count[r.node] = (count[r.node] || 0) + 1;
    const victim = Object.keys(count).sort((a, b) => count[b] - count[a])[0];
    assert.ok(victim, `every session on the sender's node: ${receivers.map((r) => r.node)}`);
    console.log(`sessions: ${receivers.map((r) => `${r.label}@${r.node}`).join(" ")}; ${ACTION} ${victim}`);

    let sent = 0;
    const sending = (async () => {
      for (let n = 1; n <= MSGS; n++) {
        sender.emit("to-room", room, { n });
        sent = n;
        if (n % 2 === 0) await sleep(20);
      }
    })();
    await until(() => sent >= MSGS / 3, 10_000, () => "sending");
    const res = await fetch(`${CONTROL}/${ACTION}?node=${victim}`, { method: "POST" });
    assert.equal(res.status, 200, await res.text());
    await sending;

    const state = () => receivers.map((r) => `${r.label}@${r.node} got ${r.got.length} ${r.problems.join(",")} [${r.log.join("; ")}]`).join(" | ");
    await until(() => receivers.every((r) => r.got.length >= MSGS && r.socket.connected), 30_000, state);
    await sleep(500); // duplicates would arrive now
    const cut = receivers.filter((r) => r.disconnects > 0);
    console.log(`${ACTION} ${victim}: ${receivers.filter((r) => r.node === victim).length} sessions there, ${cut.length} clients cut and recovered: ${cut.map((r) => r.label).join(" ")}`);
    for (const r of receivers) {
      assert.deepEqual(r.problems, [], `${r.label}: ${r.log.join("; ")}`);
      assert.equal(r.got.length, MSGS, `${r.label}: ${r.got.length} messages`);
      assert.ok(r.socket.connected, r.label);
      assert.equal(r.socket.id, r.id, `${r.label}: same socket id (${r.log.join("; ")})`);
      if (r.disconnects > 0) assert.equal(r.socket.recovered, true, `${r.label}: recovered (${r.log.join("; ")})`);
      if (r.node === victim) assert.ok(r.disconnects > 0, `${r.label}: its node is gone, yet no disconnect`);
    }
    assert.ok(receivers.some((r) => r.node === victim), "no session on the victim");
  } finally {
    sockets.forEach((s) => s.disconnect());
  }
});
