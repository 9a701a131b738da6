// Connection state recovery with socket.io-client 4.8.4 against the server
// of e2e/recovery/recovery_test.go: "start"(room) joins room and streams
// "n" i (i = 0, 1, ...) to it, plus a direct "mark" i every 10th; "stop"
// (room) acks the count sent. The transport is cut mid-stream; the client
// reconnects and must be recovered (same id, socket.recovered) and have
// every broadcast exactly once, in order.
import { describe, test, before, afterEach } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

import { MODES, BASE_URL, clientOptions, once, requireURL } from "../lib.mjs";

const T = { timeout: 30_000 };

before(() => requireURL());

let sockets = [];
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets = [];
});

function waitUntil(cond, what, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what()}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

const CUTS = [
  // The client closes its Engine.IO session (what the reference's own
  // tests do); the server sees "transport close".
  { name: "engine close", cut: (socket) => socket.io.engine.close() },
  // The TCP connection is destroyed without a close frame or packet; the
  // server sees a transport error.
  {
    name: "TCP reset",
    websocketOnly: true,
    cut: (socket) => socket.io.engine.transport.ws._socket.destroy(),
  },
];

for (const mode of MODES) {
  for (const c of CUTS) {
    if (c.websocketOnly && mode.final !== "websocket") continue;
    describe(`recovery, ${mode.name}, ${c.name}`, () => {
      test("same id, rooms kept, every packet exactly once and in order", T, async () => {
        const room = `stream-${mode.name}-${c.name}`;
        const socket = io(BASE_URL, clientOptions(mode, { auth: { token: "app-token" } }));
        sockets.push(socket);
        const got = [];
        const marks = [];
        const offsets = new Set();
        socket.on("n", (i, offset) => {
          assert.equal(typeof offset, "string", "the offset is the last argument");
          assert.ok(!offsets.has(offset), `offset ${offset} seen twice`);
          offsets.add(offset);
          got.push(i);
        });
        socket.on("mark", (i) => marks.push(i));
        await once(socket, "connect");
        assert.equal(socket.recovered, false);
        const id = socket.id;
        if (mode.final === "websocket" && mode.first === "polling") {
          await waitUntil(() => socket.io.engine.transport.name === "websocket", () => "the upgrade");
        }
        socket.emit("start", room);
        await waitUntil(() => got.length >= 100, () => `100 packets (got ${got.length})`);

        const reconnected = once(socket, "connect", 10_000);
        const disconnected = once(socket, "disconnect");
        c.cut(socket);
        await disconnected;
        const cutAt = got.length;
        await reconnected;
        assert.equal(socket.recovered, true, "socket.recovered");
        assert.equal(socket.id, id, "same id");
        const me = await socket.timeout(5000).emitWithAck("whoami", null);
        assert.equal(me.recovered, true);
        assert.ok(me.rooms.includes(room), `rooms ${me.rooms} include ${room}`);

        await waitUntil(() => got.length >= cutAt + 200, () => `200 more packets (got ${got.length - cutAt})`);
        const total = await socket.timeout(5000).emitWithAck("stop", room);
        assert.ok(total > 0);
        await waitUntil(() => got.length >= total, () => `${total} packets (got ${got.length})`);
        await new Promise((r) => setTimeout(r, 200)); // nothing more may come
        assert.equal(got.length, total, "no duplicate");
        for (let i = 0; i < total; i++) {
          if (got[i] !== i) assert.fail(`packet ${i} is ${got[i]} (cut after ${cutAt})`);
        }
        const wantMarks = [];
        for (let i = 0; i < total; i += 10) wantMarks.push(i);
        assert.deepEqual(marks, wantMarks, "direct emits");
      });
    });
  }
}

test("a client that leaves is not recovered", T, async () => {
  const socket = io(BASE_URL, clientOptions(MODES[0]));
  sockets.push(socket);
  await once(socket, "connect");
  const id = socket.id;
  socket.emit("start", "leaver");
  await once(socket, "n");
  socket.disconnect(); // client namespace disconnect: not recoverable
  socket.connect();
  await once(socket, "connect");
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, id);
  await socket.timeout(5000).emitWithAck("stop", "leaver");
});
