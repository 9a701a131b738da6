// Interop tests: the legacy npm client generations against a Switchboard
// server running the "conformance" app (same profile as v4.test.mjs):
//
//   socket.io-client 2.5.0  (Engine.IO v3, Socket.IO protocol v4)
//   socket.io-client 3.1.3  (Engine.IO v4, Socket.IO protocol v5)
//
// × websocket-only / polling-only / default (polling + upgrade)
// × connect, auth (2.x: the namespace query), emit/echo, acks both ways,
//   room broadcast, custom namespace, binary both ways, reconnect.

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import {
  MODES,
  WAIT_MS,
  expectSilence,
  once,
  requireURL,
  toBuffer,
  transportOf,
  uniqueName,
  waitTransport,
} from "./lib.mjs";
import { GENERATIONS, GenClients, emitAck } from "./lib-legacy.mjs";

const T = { timeout: 20_000 };

before(() => {
  requireURL();
});

for (const gen of GENERATIONS) {
  for (const mode of MODES) {
    describe(`${gen.name}, transport: ${mode.name}`, () => {
      const clients = new GenClients(gen);
      afterEach(() => clients.closeAll());

      test("connects with the expected protocol, transport and socket id", T, async () => {
        assert.equal(gen.version, gen.wantVersion, "wrong client package installed");
        assert.equal(gen.io.protocol, gen.protocol, "wrong client package installed");
        const socket = clients.socket(mode);
        await clients.connect(socket, mode);
        const engine = socket.io.engine;
        assert.equal(String(engine.transport.query.EIO), gen.eio);
        await waitTransport(socket, mode.final);
        if (gen.protocol === 4) {
          // The reference names a v4 socket after its Engine.IO session.
          assert.equal(socket.id, engine.id);
        } else {
          assert.equal(typeof socket.id, "string");
          assert.notEqual(socket.id, engine.id);
        }
        if (mode.final === "polling") {
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(transportOf(socket), "polling");
        }
      });

      test("handshake data: auth (3.x) or namespace query (2.x) reaches the handler", T, async () => {
        const root = clients.socket(mode);
        const rootAuth = once(root, "auth");
        await clients.connect(root, mode);
        assert.deepEqual(await rootAuth, [{}]);

        const extra = gen.hasAuth ? { auth: { token: "t0k", n: 2 } } : { query: { token: "t0k", n: "2" } };
        const custom = clients.socket(mode, "/custom", extra);
        const customAuth = once(custom, "auth");
        await clients.connect(custom, mode);
        assert.deepEqual(await customAuth, [gen.hasAuth ? { token: "t0k", n: 2 } : { token: "t0k", n: "2" }]);
      });

      test("emit 'message' is echoed as 'message-back' with the same args", T, async () => {
        const socket = clients.socket(mode);
        await clients.connect(socket, mode);
        for (const args of [["hello"], [1, "two", { three: [3] }, null, true, 4.5], ["unicode ✓ 日本語 😀 \"q\" \\ \n"], []]) {
          const got = once(socket, "message-back", WAIT_MS, `message-back for ${JSON.stringify(args)}`);
          socket.emit("message", ...args);
          assert.deepEqual(await got, args);
        }
      });

      test("acks both ways", T, async () => {
        const socket = clients.socket(mode);
        socket.on("server-ack-request", (...args) => args.pop()("answer", { n: 42 }));
        await clients.connect(socket, mode);
        assert.deepEqual(await emitAck(socket, "message-with-ack", 1, "two", [3]), [1, "two", [3]]);
        const many = await Promise.all(Array.from({ length: 20 }, (_, i) => emitAck(socket, "message-with-ack", i)));
        assert.deepEqual(many, Array.from({ length: 20 }, (_, i) => [i]));
        const result = once(socket, "server-ack-result");
        socket.emit("request-ack", "please");
        assert.deepEqual(await result, ["answer", { n: 42 }]);
      });

      test("room broadcast reaches the other member only", T, async () => {
        const room = uniqueName("legacy-room");
        const [alice, bob, carol] = [clients.socket(mode), clients.socket(mode), clients.socket(mode)];
        await Promise.all([alice, bob, carol].map((s) => clients.connect(s, mode)));
        assert.deepEqual(await emitAck(alice, "join", room), [true]);
        assert.deepEqual(await emitAck(bob, "join", room), [true]);
        const bobGot = once(bob, "room-message");
        const silent = [
          expectSilence(alice, "room-message", 400, "no room-message at the sender"),
          expectSilence(carol, "room-message", 400, "no room-message outside the room"),
        ];
        alice.emit("to-room", room, "hi", { n: 1 });
        assert.deepEqual(await bobGot, ["hi", { n: 1 }]);
        await Promise.all(silent);
      });

      test("custom namespace '/custom': echo and ack; unknown namespace refused", T, async () => {
        const socket = clients.socket(mode, "/custom");
        await clients.connect(socket, mode);
        if (gen.protocol === 4) assert.equal(socket.id, `/custom#${socket.io.engine.id}`);
        const echoed = once(socket, "message-back");
        socket.emit("message", "in custom", 7);
        assert.deepEqual(await echoed, ["in custom", 7]);
        assert.deepEqual(await emitAck(socket, "message-with-ack", "c-ack"), ["c-ack"]);

        const nope = clients.socket(mode, "/does-not-exist");
        // 2.x reports a namespace refusal as "error", 3.x as "connect_error".
        const refused = once(nope, gen.protocol === 4 ? "error" : "connect_error");
        nope.connect();
        const [err] = await refused;
        assert.equal(err.message, "Invalid namespace");
      });

      test("a middleware's refusal: CONNECT_ERROR (a string for 2.x)", T, async () => {
        const extra = gen.hasAuth ? { auth: { reject: "go away" } } : { query: { reject: "go away" } };
        const socket = clients.socket(mode, "/custom", extra);
        const refused = once(socket, gen.protocol === 4 ? "error" : "connect_error");
        socket.connect();
        const [err] = await refused;
        if (gen.protocol === 4) assert.equal(err, "go away");
        else assert.equal(err.message, "go away");
      });

      test("binary: Buffers both ways, top level and nested, in events and acks", T, async () => {
        const socket = clients.socket(mode);
        await clients.connect(socket, mode);
        const small = Buffer.from([0, 1, 2, 3, 254, 255]);
        const big = Buffer.alloc(64 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;

        let got = once(socket, "message-back");
        socket.emit("message", small);
        assert.deepEqual(toBuffer((await got)[0]), small);

        got = once(socket, "message-back");
        socket.emit("message", "label", { data: big, list: [small] }, 99);
        const [label, obj, n] = await got;
        assert.equal(label, "label");
        assert.equal(n, 99);
        assert.deepEqual(toBuffer(obj.data), big);
        assert.deepEqual(toBuffer(obj.list[0]), small);

        const [acked] = await emitAck(socket, "message-with-ack", { bin: small });
        assert.deepEqual(toBuffer(acked.bin), small);

        const answered = once(socket, "server-ack-result");
        socket.once("server-ack-request", (...args) => args.pop()({ bin: big }));
        socket.emit("request-ack");
        const [ans] = await answered;
        assert.deepEqual(toBuffer(ans.bin), big);
      });

      test("reconnect after transport close", T, async () => {
        const socket = clients.socket(mode);
        await clients.connect(socket, mode);
        await waitTransport(socket, mode.final);
        const firstEngine = socket.io.engine;
        const disconnected = once(socket, "disconnect");
        const reconnected = once(socket.io, "reconnect", WAIT_MS * 2, "manager reconnect");
        firstEngine.close();
        await disconnected;
        // Listen only now: the first connection's "auth" event may still
        // be on its way, and the manager's "reconnect" (the new engine is
        // open) comes before the socket's own connect.
        const connectedAgain = once(socket, "connect", WAIT_MS * 2, "socket connect after reconnect");
        const authAgain = once(socket, "auth", WAIT_MS * 2, "auth after reconnect");
        await reconnected;
        await connectedAgain;
        await authAgain;
        assert.ok(socket.connected);
        assert.notEqual(socket.io.engine, firstEngine);
        await waitTransport(socket, mode.final);
        const echoed = once(socket, "message-back");
        socket.emit("message", "after-reconnect");
        assert.deepEqual(await echoed, ["after-reconnect"]);
      });
    });
  }
}
