// Dynamic namespaces: e2e/conformance/conformance.yaml declares
// `pattern: /dynamic-\d+` (app conformance). Every client generation can
// connect to any matching name; each namespace has rooms of its own; other
// names are refused.

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { Clients, MODES, expectSilence, once, requireURL, uniqueName } from "./lib.mjs";
import { GENERATIONS, GenClients, emitAck } from "./lib-legacy.mjs";

const T = { timeout: 20_000 };
const mode = MODES[2]; // default: polling, then upgrade

before(() => {
  requireURL();
});

const v4 = { name: "socket.io-client 4.8.4", protocol: 5, clients: () => new Clients() };
const gens = [...GENERATIONS.map((g) => ({ ...g, clients: () => new GenClients(g) })), v4];

for (const gen of gens) {
  describe(`dynamic namespaces, ${gen.name}`, () => {
    const clients = gen.clients();
    afterEach(() => clients.closeAll());

    test("a matching name is a namespace with the pattern's app and its own rooms", T, async () => {
      const n = 1000 + Math.floor(Math.random() * 1e6);
      const [a, b] = [`/dynamic-${n}`, `/dynamic-${n + 1}`];
      const a1 = clients.socket(mode, a);
      const a2 = clients.socket(mode, a);
      const b1 = clients.socket(mode, b);
      await Promise.all([a1, a2, b1].map((s) => clients.connect(s, mode)));
      assert.equal(a1.nsp, a);

      const echoed = once(a1, "message-back");
      a1.emit("message", "in", a);
      assert.deepEqual(await echoed, ["in", a]);

      const room = uniqueName("dyn");
      for (const s of [a1, a2, b1]) assert.deepEqual(await emitAck(s, "join", room), [true]);
      const got = once(a2, "room-message");
      const other = expectSilence(b1, "room-message", 400, `no room-message in ${b} (same room name, other namespace)`);
      a1.emit("to-room", room, "hello");
      assert.deepEqual(await got, ["hello"]);
      await other;
    });

    test("a name the pattern does not match is refused", T, async () => {
      const s = clients.socket(mode, "/dynamic-x");
      const refused = once(s, gen.protocol === 4 ? "error" : "connect_error");
      s.connect();
      const [err] = await refused;
      assert.equal(err.message, "Invalid namespace");
    });
  });
}
