// socket.io-client 4.8.4 with socket.io-msgpack-parser against Switchboard
// serving e2e/apps/msgpack_test.go's configuration (socketio.parser:
// msgpack):
//   /, /custom  the conformance app (handlers/conformance.go)
//   /relay      drawing -> others
import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import msgpackParser from "socket.io-msgpack-parser";

import { MODES, Clients, expectSilence, once, requireURL, toBuffer, uniqueName } from "../lib.mjs";

const T = { timeout: 20_000 };
const QUIET = 300;

before(() => requireURL());

const clients = new Clients();
afterEach(() => clients.closeAll());

const open = (mode, nsp = "/", extra = {}) => clients.connect(clients.socket(mode, nsp, { parser: msgpackParser, ...extra }), mode);
// ack resolves with all the acknowledgement's arguments (emitWithAck gives
// only the first).
const ack = (socket, ...args) =>
  new Promise((resolve, reject) =>
    socket.timeout(5000).emit(...args, (err, ...res) => (err ? reject(err) : resolve(res))),
  );

// Every MessagePack format notepack picks, nested.
const VALUES = {
  ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER],
  negatives: [-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -Number.MAX_SAFE_INTEGER],
  // Not integral numbers past 2^53: notepack 2.x (the parser's codec)
  // garbles those on the client already.
  floats: [1.5, -0.25, 0.1, 123456789.125, -1e-300, 3.0, 5e-324],
  strings: ["", "a", "x".repeat(31), "y".repeat(32), "z".repeat(300), "w".repeat(70_000), "é✓😀\n\"\\", "\u0000"],
  nothing: null,
  yes: true,
  no: false,
  nested: { a: { b: { c: [1, [2, [3, { d: "deep" }]]] } }, "key with spaces": 1, "ключ": "значение" },
  empty: { object: {}, array: [] },
};

for (const mode of MODES) {
  describe(`msgpack parser (${mode.name})`, () => {
    test("echo: every kind of value survives the round trip", T, async () => {
      const s = await open(mode);
      const back = once(s, "message-back");
      s.emit("message", VALUES, 42, "two", [null, false]);
      const got = await back;
      for (const [k, v] of Object.entries(VALUES)) {
        if (Array.isArray(v)) v.forEach((x, i) => assert.deepEqual(got[0][k][i], x, `${k}[${i}]`));
        assert.deepEqual(got[0][k], v, k);
      }
      assert.deepEqual(got, [VALUES, 42, "two", [null, false]]);
    });

    test("binary at the top level and nested, both ways", T, async () => {
      const s = await open(mode);
      const top = Buffer.from([0, 1, 2, 253, 254, 255]);
      const nested = { file: { name: "f.bin", data: Buffer.from("hello") }, list: [Buffer.alloc(0), Buffer.alloc(70_000, 7)] };
      const back = once(s, "message-back");
      // notepack 2.x sends typed arrays and ArrayBuffers as ext type 0
      // (as browsers send all binary), Buffers as bin.
      s.emit("message", top, nested, new Uint8Array([9, 8, 7]), new Uint8Array([4, 5]).buffer, new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 5)));
      const [gotTop, gotNested, gotTyped, gotArrayBuffer, gotDate] = await back;
      assert.deepEqual(toBuffer(gotArrayBuffer), Buffer.from([4, 5]));
      assert.equal(gotDate, "2024-02-29T12:00:00.005Z"); // as JSON would carry it
      assert.deepEqual(toBuffer(gotTop), top);
      assert.equal(gotNested.file.name, "f.bin");
      assert.deepEqual(toBuffer(gotNested.file.data), Buffer.from("hello"));
      assert.equal(toBuffer(gotNested.list[0]).length, 0);
      assert.deepEqual(toBuffer(gotNested.list[1]), Buffer.alloc(70_000, 7));
      assert.deepEqual(toBuffer(gotTyped), Buffer.from([9, 8, 7]));
    });

    test("client -> server ack with values and binary", T, async () => {
      const s = await open(mode);
      const got = await ack(s, "message-with-ack", { n: -7, f: 2.5 }, Buffer.from([1, 2]), "é");
      assert.deepEqual(got[0], { n: -7, f: 2.5 });
      assert.deepEqual(toBuffer(got[1]), Buffer.from([1, 2]));
      assert.equal(got[2], "é");
    });

    test("server -> client ack: the client's answer reaches the server", T, async () => {
      const s = await open(mode);
      s.on("server-ack-request", (...args) => {
        const cb = args.pop();
        cb({ answer: args[0], bin: Buffer.from([5, 6]) });
      });
      const result = once(s, "server-ack-result");
      s.emit("request-ack", { q: "ping" });
      const [r] = await result;
      assert.deepEqual(r.answer, { q: "ping" });
      assert.deepEqual(toBuffer(r.bin), Buffer.from([5, 6]));
    });

    test("room broadcast reaches the other members, encoded for msgpack", T, async () => {
      const room = uniqueName("mp-room");
      const [a, b, c] = [await open(mode), await open(mode), await open(mode)];
      const outsider = await open(mode);
      for (const s of [a, b, c]) assert.equal((await ack(s, "join", room))[0], true);
      const gotB = once(b, "room-message");
      const gotC = once(c, "room-message");
      const notA = expectSilence(a, "room-message", QUIET);
      const notOut = expectSilence(outsider, "room-message", QUIET);
      a.emit("to-room", room, { big: 2 ** 40, neg: -1.5 }, Buffer.from([7, 7]));
      for (const got of [await gotB, await gotC]) {
        assert.deepEqual(got[0], { big: 2 ** 40, neg: -1.5 });
        assert.deepEqual(toBuffer(got[1]), Buffer.from([7, 7]));
      }
      await notA;
      await notOut;
    });

    test("custom namespace: auth reaches the server, events flow", T, async () => {
      const s = clients.socket(mode, "/custom", { parser: msgpackParser, auth: { token: "t", n: 3 } });
      const auth = once(s, "auth");
      await clients.connect(s, mode);
      assert.deepEqual(await auth, [{ token: "t", n: 3 }]);
      assert.deepEqual(await ack(s, "message-with-ack", "hi"), ["hi"]);
    });

    test("relay rules forward msgpack arguments unchanged", T, async () => {
      const [a, b] = [await open(mode, "/relay"), await open(mode, "/relay")];
      const got = once(b, "drawing");
      a.emit("drawing", { x: 0.5, pts: [1, 2] }, Buffer.from([3]));
      const [v, bin] = await got;
      assert.deepEqual(v, { x: 0.5, pts: [1, 2] });
      assert.deepEqual(toBuffer(bin), Buffer.from([3]));
    });

    test("CONNECT_ERROR from a middleware and for an unknown namespace", T, async () => {
      const refused = clients.socket(mode, "/", { parser: msgpackParser, auth: { reject: "go away" }, reconnection: false });
      const err = once(refused, "connect_error");
      refused.connect();
      const [e] = await err;
      assert.equal(e.message, "go away");

      const unknown = clients.socket(mode, "/nope", { parser: msgpackParser, reconnection: false });
      const err2 = once(unknown, "connect_error");
      unknown.connect();
      const [e2] = await err2;
      assert.equal(e2.message, "Invalid namespace");
    });

    test("a client with the default parser does not connect", T, async () => {
      const s = clients.socket(mode, "/", { reconnection: false });
      const never = expectSilence(s, "connect", 1000);
      s.connect();
      await never;
      assert.equal(s.connected, false);
    });
  });
}
