// Mixed generations in one room: socket.io-client 2.5.0 (Engine.IO v3), 3.1.3
// and 4.8.4 (Engine.IO v4), each over websocket-only and polling-only,
// receive each other's room broadcasts, binary attachments included. The
// server encodes each broadcast once; only the Engine.IO framing of the
// attachments differs per recipient.

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { MODES, Clients, once, requireURL, toBuffer, uniqueName, expectSilence } from "./lib.mjs";
import { GENERATIONS, GenClients, emitAck } from "./lib-legacy.mjs";

const T = { timeout: 30_000 };

before(() => {
  requireURL();
});

describe("mixed client generations in one room", () => {
  const v4 = new Clients();
  const legacy = GENERATIONS.map((g) => new GenClients(g));
  afterEach(() => {
    v4.closeAll();
    legacy.forEach((c) => c.closeAll());
  });

  test("2.x, 3.x and 4.x members, websocket and polling, get every member's broadcasts, binary included", T, async () => {
    const room = uniqueName("mixed");
    const modes = MODES.filter((m) => m.name !== MODES[2].name); // websocket-only, polling-only
    const members = [];
    for (const mode of modes) {
      legacy.forEach((c, i) => members.push({ name: `${GENERATIONS[i].name} ${mode.name}`, socket: c.socket(mode), clients: c, mode }));
      members.push({ name: `socket.io-client 4.8.4 ${mode.name}`, socket: v4.socket(mode), clients: v4, mode });
    }
    await Promise.all(members.map((m) => m.clients.connect(m.socket, m.mode)));
    for (const m of members) assert.deepEqual(await emitAck(m.socket, "join", room), [true], `${m.name} joins`);

    const blob = Buffer.from([0, 1, 2, 250, 255]);
    for (const sender of members) {
      const label = `from ${sender.name}`;
      const receivers = members.filter((m) => m !== sender);
      const got = receivers.map((r) => once(r.socket, "room-message", undefined, `room-message ${label} at ${r.name}`));
      const senderSilent = expectSilence(sender.socket, "room-message", 200, `no echo to ${sender.name}`);
      sender.socket.emit("to-room", room, label, { blob, list: [blob] }, blob);
      const all = await Promise.all(got);
      all.forEach((args, i) => {
        const who = receivers[i].name;
        assert.equal(args[0], label, who);
        assert.deepEqual(toBuffer(args[1].blob), blob, `nested binary at ${who}`);
        assert.deepEqual(toBuffer(args[1].list[0]), blob, `nested binary in a list at ${who}`);
        assert.deepEqual(toBuffer(args[2]), blob, `top-level binary at ${who}`);
      });
      await senderSilent;
    }
  });
});
