// Handshake data for every client generation: the handler sees the
// connection's query string, its HTTP headers (extraHeaders, sent by Node.js
// clients on every transport) and the auth (3.x/4.x: the auth option; 2.x:
// the namespace's query string).

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { Clients, MODES, requireURL } from "./lib.mjs";
import { GENERATIONS, GenClients, emitAck } from "./lib-legacy.mjs";

const T = { timeout: 20_000 };

before(() => {
  requireURL();
});

const gens = [
  ...GENERATIONS.map((g) => ({ ...g, clients: () => new GenClients(g) })),
  { name: "socket.io-client 4.8.4", protocol: 5, hasAuth: true, clients: () => new Clients() },
];

for (const gen of gens) {
  for (const mode of MODES) {
    describe(`handshake data, ${gen.name}, ${mode.name}`, () => {
      const clients = gen.clients();
      afterEach(() => clients.closeAll());

      test("query, extraHeaders and auth reach the handler", T, async () => {
        const extra = {
          query: { room: "lobby", v: "1" },
          extraHeaders: { "x-switchboard-test": "hdr-value" },
          ...(gen.hasAuth ? { auth: { token: "abc" } } : {}),
        };
        const socket = clients.socket(mode, "/custom", extra);
        await clients.connect(socket, mode);
        const [hs] = await emitAck(socket, "handshake");
        assert.equal(hs.query.room, "lobby");
        assert.equal(hs.query.v, "1");
        assert.equal(hs.query.EIO, gen.protocol === 4 ? "3" : "4");
        assert.equal(hs.headers["x-switchboard-test"], "hdr-value");
        // 2.x sends the namespace's query as its auth.
        assert.deepEqual(hs.auth, gen.hasAuth ? { token: "abc" } : { room: "lobby", v: "1" });
      });
    });
  }
}
