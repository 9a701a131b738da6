// Interop tests: the official socket.io-client 4.8 (Engine.IO v4 / Socket.IO v5)
// against a Switchboard server running the "conformance" app.
//
//   SWITCHBOARD_URL=http://127.0.0.1:3000 node --test
//
// Conformance app profile (namespaces "/" and "/custom"):
//   on connect                 -> emits "auth" with the handshake auth object
//   "message" (...args)        -> emits "message-back" (...args) to the sender
//   "message-with-ack" (...a)  -> acks with (...a)
//   "join" (room)              -> joins room, acks true
//   "to-room" (room, ...args)  -> "room-message" (...args) to the room, sender excluded
//   "request-ack" (...any)     -> emits "server-ack-request" with an ack callback, then
//                                 "server-ack-result" with the client's answer as args
//
// Every behaviour is checked under each transport mode: websocket-only,
// polling-only and the default (polling, then upgrade to websocket).

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import {
  MODES,
  WAIT_MS,
  Clients,
  collect,
  expectSilence,
  once,
  requireURL,
  toBuffer,
  transportOf,
  uniqueName,
  waitConnect,
  waitTransport,
  within,
} from "./lib.mjs";

const T = { timeout: 20_000 }; // hard bound per test; waits inside are bounded by WAIT_MS

before(() => {
  requireURL();
});

for (const mode of MODES) {
  describe(`transport: ${mode.name}`, () => {
    const clients = new Clients();
    afterEach(() => clients.closeAll());

    test("connects on the expected transport(s)", T, async () => {
      const socket = clients.socket(mode, "/", { auth: { probe: mode.name } });
      await clients.connect(socket, mode);
      assert.equal(typeof socket.id, "string");
      assert.ok(socket.id.length > 0, "socket.id is empty");
      await waitTransport(socket, mode.final);
      if (mode.final === "polling") {
        // Stays on polling: give a would-be upgrade a moment to (wrongly) happen.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(transportOf(socket), "polling");
      }
    });

    if (mode.name.startsWith("default")) {
      test("starts on polling and upgrades to websocket", T, async () => {
        const socket = clients.socket(mode);
        socket.connect();
        // The engine is created synchronously by connect(): the first transport is visible now.
        assert.equal(transportOf(socket), "polling", "default mode must start with polling");
        const upgraded = once(socket.io.engine, "upgrade", WAIT_MS * 2, "the engine upgrade event");
        await waitConnect(socket);
        const [transport] = await upgraded;
        assert.equal(transport.name, "websocket");
        assert.equal(transportOf(socket), "websocket");
        // Still usable after the upgrade.
        const echoed = once(socket, "message-back");
        socket.emit("message", "after-upgrade");
        assert.deepEqual(await echoed, ["after-upgrade"]);
      });
    }

    test("connect with auth: receives 'auth' with the same object", T, async () => {
      const auth = { token: "s3cr3t", user: { id: 42, name: "zoë" }, tags: ["a", "b"], n: 1.5, ok: true, nil: null };
      const socket = clients.socket(mode, "/", { auth });
      const got = once(socket, "auth");
      await clients.connect(socket, mode);
      assert.deepEqual(await got, [auth]);
    });

    test("connect without auth: receives 'auth' with an empty object", T, async () => {
      const socket = clients.socket(mode);
      const got = once(socket, "auth");
      await clients.connect(socket, mode);
      assert.deepEqual(await got, [{}]);
    });

    test("emit 'message' is echoed as 'message-back' with the same args", T, async () => {
      const socket = clients.socket(mode);
      await clients.connect(socket, mode);
      const cases = [
        ["hello"],
        [1, "two", { three: [3] }, null, true, 4.5],
        [{ deep: { er: { est: ["x", { y: "z" }] } } }],
        ["unicode ✓ 日本語 \"quotes\" \\ backslash \n newline"],
        [],
      ];
      for (const args of cases) {
        const got = once(socket, "message-back", WAIT_MS, `message-back for ${JSON.stringify(args)}`);
        socket.emit("message", ...args);
        assert.deepEqual(await got, args);
      }
    });

    test("ack client->server: 'message-with-ack' acks with its args", T, async () => {
      const socket = clients.socket(mode);
      await clients.connect(socket, mode);

      // emitWithAck resolves with the first ack argument.
      const one = await socket.timeout(WAIT_MS).emitWithAck("message-with-ack", { hello: "world" });
      assert.deepEqual(one, { hello: "world" });

      // Callback form sees every ack argument.
      const all = await within(
        new Promise((resolve, reject) => {
          socket.timeout(WAIT_MS).emit("message-with-ack", 1, "two", [3], (err, ...res) =>
            err ? reject(err) : resolve(res),
          );
        }),
        WAIT_MS + 1000,
        "multi-arg ack",
      );
      assert.deepEqual(all, [1, "two", [3]]);

      // Several acks in flight at once are matched to the right emits.
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => socket.timeout(WAIT_MS).emitWithAck("message-with-ack", i)),
      );
      assert.deepEqual(many, Array.from({ length: 20 }, (_, i) => i));
    });

    test("ack server->client: 'server-ack-request' answered, 'server-ack-result' echoes the answer", T, async () => {
      const socket = clients.socket(mode);
      const answer = ["answer", 42, { nested: { ok: true } }];
      let requestArgs;
      socket.on("server-ack-request", (...args) => {
        const ack = args.pop();
        assert.equal(typeof ack, "function", "server-ack-request must carry an ack callback");
        requestArgs = args;
        ack(...answer);
      });
      await clients.connect(socket, mode);
      const result = once(socket, "server-ack-result");
      socket.emit("request-ack", "please", 1);
      assert.deepEqual(await result, answer);
      assert.ok(Array.isArray(requestArgs), "server-ack-request was not received");
    });

    test("room broadcast: 'to-room' reaches the other member, not the sender nor outsiders", T, async () => {
      const room = uniqueName("room");
      const alice = clients.socket(mode);
      const bob = clients.socket(mode);
      const carol = clients.socket(mode); // not in the room
      await Promise.all([clients.connect(alice, mode), clients.connect(bob, mode), clients.connect(carol, mode)]);

      assert.equal(await alice.timeout(WAIT_MS).emitWithAck("join", room), true);
      assert.equal(await bob.timeout(WAIT_MS).emitWithAck("join", room), true);

      const args = ["hi room", { from: "alice", n: 1 }, [1, 2, 3]];
      const bobGot = once(bob, "room-message", WAIT_MS, "room-message at bob");
      const aliceSilent = expectSilence(alice, "room-message", 500, "no room-message at the sender");
      const carolSilent = expectSilence(carol, "room-message", 500, "no room-message outside the room");
      alice.emit("to-room", room, ...args);
      assert.deepEqual(await bobGot, args);
      await Promise.all([aliceSilent, carolSilent]);

      // And the other way round.
      const aliceGot = once(alice, "room-message", WAIT_MS, "room-message at alice");
      const bobSilent = expectSilence(bob, "room-message", 300, "no room-message at the sender");
      bob.emit("to-room", room, "reply");
      assert.deepEqual(await aliceGot, ["reply"]);
      await bobSilent;
    });

    test("custom namespace '/custom': auth, echo and ack", T, async () => {
      const auth = { nsp: "custom", token: "c" };
      const socket = clients.socket(mode, "/custom", { auth });
      const gotAuth = once(socket, "auth");
      await clients.connect(socket, mode);
      assert.equal(socket.nsp, "/custom");
      assert.deepEqual(await gotAuth, [auth]);

      const echoed = once(socket, "message-back");
      socket.emit("message", "in custom", 7);
      assert.deepEqual(await echoed, ["in custom", 7]);
      assert.deepEqual(await socket.timeout(WAIT_MS).emitWithAck("message-with-ack", "c-ack"), "c-ack");
    });

    test("multiplexing: '/' and '/custom' over one connection, each with its own auth", T, async () => {
      const manager = clients.manager(mode);
      const root = clients.track(manager.socket("/", { auth: { which: "root" } }));
      const custom = clients.track(manager.socket("/custom", { auth: { which: "custom" } }));
      const rootAuth = once(root, "auth");
      const customAuth = once(custom, "auth");
      root.connect();
      custom.connect();
      await Promise.all([waitConnect(root), waitConnect(custom)]);
      assert.deepEqual(await rootAuth, [{ which: "root" }]);
      assert.deepEqual(await customAuth, [{ which: "custom" }]);
      assert.equal(root.io, custom.io, "both sockets share one Manager");

      const r = once(root, "message-back");
      const c = once(custom, "message-back");
      const rootLeak = expectSilence(root, "message-back", 300, "no cross-namespace echo");
      custom.emit("message", "only-custom");
      assert.deepEqual(await c, ["only-custom"]);
      await rootLeak;
      root.emit("message", "only-root");
      assert.deepEqual(await r, ["only-root"]);
    });

    test("binary: Buffers both ways, top-level and nested, in events and acks", T, async () => {
      const socket = clients.socket(mode);
      await clients.connect(socket, mode);

      const small = Buffer.from([0, 1, 2, 3, 254, 255]);
      const big = Buffer.alloc(64 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const empty = Buffer.alloc(0);

      // top-level
      let got = once(socket, "message-back");
      socket.emit("message", small);
      let [b] = await got;
      assert.deepEqual(toBuffer(b), small);

      // nested in an object together with plain data, several attachments
      got = once(socket, "message-back");
      socket.emit("message", "label", { meta: { name: "blob" }, data: big, list: [small, { inner: empty }] }, 99);
      const [label, obj, n] = await got;
      assert.equal(label, "label");
      assert.equal(n, 99);
      assert.deepEqual(obj.meta, { name: "blob" });
      assert.deepEqual(toBuffer(obj.data), big);
      assert.deepEqual(toBuffer(obj.list[0]), small);
      assert.deepEqual(toBuffer(obj.list[1].inner), empty);

      // binary in an ack (BINARY_ACK)
      const acked = await socket.timeout(WAIT_MS).emitWithAck("message-with-ack", { bin: small, n: 1 });
      assert.deepEqual(toBuffer(acked.bin), small);
      assert.equal(acked.n, 1);

      // binary in the client's answer to a server ack request
      const answered = once(socket, "server-ack-result");
      socket.once("server-ack-request", (...args) => args.pop()({ bin: big }, small));
      socket.emit("request-ack");
      const [ans, ans2] = await answered;
      assert.deepEqual(toBuffer(ans.bin), big);
      assert.deepEqual(toBuffer(ans2), small);
    });

    test("1,000 emits arrive complete and in order", T, async () => {
      const socket = clients.socket(mode);
      await clients.connect(socket, mode);
      const N = 1000;
      const all = collect(socket, "message-back", N, 15_000);
      for (let i = 0; i < N; i++) socket.emit("message", i, `payload-${i}`);
      const got = await all;
      assert.equal(got.length, N);
      for (let i = 0; i < N; i++) {
        assert.deepEqual(got[i], [i, `payload-${i}`], `message #${i} out of order or altered`);
      }
    });

    test("reconnect after transport close: new connect, new session, works again", T, async () => {
      const auth = { token: "re" };
      const socket = clients.socket(mode, "/", { auth });
      await clients.connect(socket, mode);
      await waitTransport(socket, mode.final);
      const firstId = socket.id;
      const firstEngine = socket.io.engine;

      const disconnected = once(socket, "disconnect", WAIT_MS, "disconnect after engine.close()");
      const reconnected = once(socket.io, "reconnect", WAIT_MS * 2, "manager reconnect");
      const reconnectedConnect = once(socket, "connect", WAIT_MS * 2, "second connect");
      const authAgain = once(socket, "auth", WAIT_MS * 2, "auth after reconnect");
      firstEngine.close(); // transport close, as if the network dropped

      const [reason] = await disconnected;
      assert.ok(typeof reason === "string" && reason.length > 0, `disconnect reason: ${reason}`);
      await reconnected;
      await reconnectedConnect;
      assert.ok(socket.connected, "socket not connected after reconnect");
      assert.notEqual(socket.io.engine, firstEngine, "expected a new engine after reconnect");
      assert.notEqual(socket.id, firstId, "expected a new socket id after reconnect");
      assert.deepEqual(await authAgain, [auth]);
      await waitTransport(socket, mode.final);

      const echoed = once(socket, "message-back");
      socket.emit("message", "after-reconnect");
      assert.deepEqual(await echoed, ["after-reconnect"]);
    });
  });
}
