// Relay rules with socket.io-client 4.8.4 against Switchboard serving
// e2e/apps/relay_test.go's configuration (no Go handlers):
//   /        drawing -> others
//   /rooms   say -> rooms (with the sender attached), to-room -> room
//            (members only), shout -> room (public:* for anyone);
//            rooms joinable by request: game:*, public:*, at most 2
//   /chat    the Go chat app plus drawing -> others
import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { MODES, Clients, expectSilence, once, requireURL, toBuffer } from "../lib.mjs";

const T = { timeout: 20_000 };
const QUIET = 300; // how long "nothing arrives" is watched

before(() => requireURL());

const clients = new Clients();
afterEach(() => clients.closeAll());

async function connected(mode, nsp, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await clients.connect(clients.socket(mode, nsp), mode));
  return out;
}

const ack = (socket, ...args) => socket.timeout(5000).emitWithAck(...args);

for (const mode of MODES) {
  describe(`drawing -> others (${mode.name})`, () => {
    test("reaches everyone else, not the sender, arguments unchanged", T, async () => {
      const [a, b, c] = await connected(mode, "/", 3);
      const stroke = { x0: 0.1, y0: 0.2, x1: 0.3, y1: 0.4, color: "red" };
      const gotB = once(b, "drawing");
      const gotC = once(c, "drawing");
      const notA = expectSilence(a, "drawing", QUIET);
      a.emit("drawing", stroke);
      assert.deepEqual(await gotB, [stroke]);
      assert.deepEqual(await gotC, [stroke]);
      await notA;
    });
  });
}

describe("relay rules", () => {
  const mode = MODES[0];

  test("binary arguments are relayed as binary", T, async () => {
    const [a, b] = await connected(mode, "/", 2);
    const got = once(b, "drawing");
    a.emit("drawing", { color: "blue", blob: Buffer.from([1, 2, 3, 255]) }, Buffer.from("xyz"));
    const [first, second] = await got;
    assert.equal(first.color, "blue");
    assert.deepEqual([...toBuffer(first.blob)], [1, 2, 3, 255]);
    assert.equal(toBuffer(second).toString(), "xyz");
  });

  test("an acknowledged relay answers {ok: true}", T, async () => {
    const [a, b] = await connected(mode, "/", 2);
    const got = once(b, "drawing");
    assert.deepEqual(await ack(a, "drawing", 1), { ok: true });
    assert.deepEqual(await got, [1]);
  });

  test("an event without a rule is dropped, and an ack says so", T, async () => {
    const [a, b] = await connected(mode, "/", 2);
    const silent = expectSilence(b, "chat message", QUIET);
    a.emit("chat message", "hello");
    assert.deepEqual(await ack(a, "chat message", "hello"), { error: "no rule for event chat message" });
    await silent;
  });

  test("join and leave by request, within the patterns and the limit", T, async () => {
    const [a] = await connected(mode, "/rooms", 1);
    assert.deepEqual(await ack(a, "join", "game:1"), { ok: true, room: "game:1" });
    assert.deepEqual(await ack(a, "join", "game:1"), { ok: true, room: "game:1" }, "joining twice is idempotent");
    assert.deepEqual(await ack(a, "join", "public:x"), { ok: true, room: "public:x" });
    assert.deepEqual(await ack(a, "join", "game:3"), { error: "room limit reached (2)" });
    assert.deepEqual(await ack(a, "join", "secret"), { error: "not allowed to join room secret" });
    assert.deepEqual(await ack(a, "join", a.id), { error: `not allowed to join room ${a.id}` });
    assert.deepEqual(await ack(a, "join", 42), { error: "first argument must be a room name" });
    assert.deepEqual(await ack(a, "leave", "game:9"), { error: "not in room game:9 by request" });
    assert.deepEqual(await ack(a, "leave", "public:x"), { ok: true, room: "public:x" });
    assert.deepEqual(await ack(a, "join", "game:3"), { ok: true, room: "game:3" }, "a left room frees a slot");
  });

  test("to: rooms reaches the others in the sender's rooms, with the sender attached", T, async () => {
    const [a, b, c, d] = await connected(mode, "/rooms", 4);
    await ack(a, "join", "game:1");
    await ack(b, "join", "game:1");
    await ack(c, "join", "game:2");
    await ack(a, "join", "game:2");
    const gotB = once(b, "say");
    const gotC = once(c, "say");
    const quiet = [expectSilence(a, "say", QUIET), expectSilence(d, "say", QUIET)];
    a.emit("say", "hi", 7);
    assert.deepEqual(await gotB, ["hi", 7, { id: a.id }]);
    assert.deepEqual(await gotC, ["hi", 7, { id: a.id }]);
    await Promise.all(quiet);

    // Once b has left, it no longer hears game:1.
    await ack(b, "leave", "game:1");
    const quietB = expectSilence(b, "say", QUIET);
    const gotC2 = once(c, "say");
    a.emit("say", "again");
    assert.deepEqual(await gotC2, ["again", { id: a.id }]);
    await quietB;

    // In no room: nobody hears it, and that is not an error.
    assert.deepEqual(await ack(d, "say", "alone"), { ok: true });
  });

  test("to: room reaches the named room without the room argument; members only", T, async () => {
    const [a, b, c] = await connected(mode, "/rooms", 3);
    await ack(a, "join", "game:1");
    await ack(b, "join", "game:1");
    const got = once(b, "to-room");
    const notA = expectSilence(a, "to-room", QUIET);
    a.emit("to-room", "game:1", "x", { n: 2 });
    assert.deepEqual(await got, ["x", { n: 2 }]);
    await notA;

    const quiet = expectSilence(b, "to-room", QUIET);
    assert.deepEqual(await ack(c, "to-room", "game:1", "intruder"), { error: "not allowed to send to room game:1" });
    assert.deepEqual(await ack(c, "to-room", b.id, "private"), { error: `not allowed to send to room ${b.id}` });
    assert.deepEqual(await ack(c, "to-room"), { error: "first argument must be a room name" });
    await quiet;
  });

  test("to: room with patterns lets non-members send to matching rooms", T, async () => {
    const [a, b] = await connected(mode, "/rooms", 2);
    await ack(a, "join", "public:lobby");
    const got = once(a, "shout");
    assert.deepEqual(await ack(b, "shout", "public:lobby", "hey"), { ok: true });
    assert.deepEqual(await got, ["hey"]);
    assert.deepEqual(await ack(b, "shout", "game:1", "no"), { error: "not allowed to send to room game:1" });
  });

  test("rules beside a Go app: the app's events work, the rule relays, the rest is dropped", T, async () => {
    const [a, b] = await connected(mode, "/chat", 2);
    const login = once(a, "login");
    a.emit("add user", "alice");
    const [info] = await login;
    assert.equal(info.room, "general");
    const got = once(b, "drawing");
    a.emit("drawing", { x0: 0 });
    assert.deepEqual(await got, [{ x0: 0 }]);
    assert.deepEqual(await ack(a, "bogus"), { error: "no rule for event bogus" });
  });
});
