// limits.max_namespaces_per_client (100 in e2e/conformance/conformance.yaml, the
// default): one connection (one Manager) joining more namespaces gets, on the
// socket past the cap, the refusal every client generation knows for a
// namespace it may not join (connect_error; 2.x: "error" with the message),
// and its other namespaces stay connected.

import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";

import { Manager } from "socket.io-client";
import { once, requireURL, BASE_URL, WAIT_MS } from "./lib.mjs";
import { GENERATIONS, emitAck, waitConnected } from "./lib-legacy.mjs";

const CAP = 100;
const T = { timeout: 60_000 };

before(() => {
  requireURL();
});

const gens = [
  ...GENERATIONS.map((g) => ({ ...g, manager: (opts) => new g.io.Manager(BASE_URL, opts) })),
  { name: "socket.io-client 4.8.4", protocol: 5, manager: (opts) => new Manager(BASE_URL, opts) },
];

for (const gen of gens) {
  describe(`namespaces per connection, ${gen.name}`, () => {
    let mgr;
    after(() => mgr && mgr.engine && mgr.engine.close());

    test("the namespace past the cap is refused; the others stay", T, async () => {
      mgr = gen.manager({ transports: ["websocket"], reconnection: false, autoConnect: false, timeout: WAIT_MS });
      const base = 1000 + Math.floor(Math.random() * 1e6);
      // 2.x joins "/" on its own: it counts too.
      const joined = gen.protocol === 4 ? CAP - 1 : CAP;
      const sockets = [];
      for (let i = 0; i < joined; i++) {
        const s = mgr.socket(`/dynamic-${base + i}`);
        s.connect();
        await waitConnected(s);
        sockets.push(s);
      }
      // Past the CONNECT rate's burst (also 100) too: let a token come back,
      // so that the cap is what refuses.
      await new Promise((r) => setTimeout(r, 300));
      const over = mgr.socket(`/dynamic-${base + joined}`);
      const refused = once(over, gen.protocol === 4 ? "error" : "connect_error");
      over.connect();
      const [err] = await refused;
      assert.equal(gen.protocol === 4 ? err : err.message, "too many namespaces");
      assert.equal(over.connected, false);

      const s = sockets[sockets.length - 1];
      assert.equal(s.connected, true);
      assert.deepEqual(await emitAck(s, "message-with-ack", "still here"), ["still here"]);
    });
  });
}
