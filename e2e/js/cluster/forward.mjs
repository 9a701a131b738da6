// socket.io-client 4.8.4 through a round-robin proxy with no affinity in
// front of three Switchboard nodes with adapter.forward_sessions on (the
// server of e2e/cluster/forward_test.go): every request of a session may
// reach any node. SWITCHBOARD_URL is the proxy; PEER_URL one node, where a
// second client joins the same room directly.
import { describe, test, before, afterEach } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

import { MODES, clientOptions, once, requireURL, toBuffer, waitConnect, waitTransport } from "../lib.mjs";

const T = { timeout: 30_000 };
const PEER_URL = process.env.PEER_URL;

before(() => {
  requireURL();
  assert.ok(PEER_URL, "PEER_URL is not set");
});

let sockets = [];
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets = [];
});

function connect(url, mode) {
  const s = io(url, clientOptions(mode, { reconnection: false }));
  sockets.push(s);
  return s;
}

for (const mode of MODES.filter((m) => m.first === "polling")) {
  describe(mode.name, () => {
    test("room, events, acks and binary with a client of another node", T, async () => {
      const room = `fwd-${mode.final}-${Date.now()}`;
      const a = connect(requireURL(), mode);
      await Promise.all([waitConnect(a), once(a, "auth")]);
      const b = connect(PEER_URL, MODES[0]);
      await waitConnect(b);
      assert.equal(await a.timeout(5000).emitWithAck("join", room), true);
      assert.equal(await b.timeout(5000).emitWithAck("join", room), true);
      if (mode.final === "websocket") await waitTransport(a, "websocket");

      for (let i = 0; i < 10; i++) {
        // a -> b through the room, with binary.
        const atB = once(b, "room-message");
        a.emit("to-room", room, `from a ${i}`, Buffer.from([i, 1, 2]));
        const [text, bin] = await atB;
        assert.equal(text, `from a ${i}`);
        assert.deepEqual([...toBuffer(bin)], [i, 1, 2]);

        // b -> a.
        const atA = once(a, "room-message");
        b.emit("to-room", room, `from b ${i}`, Buffer.from([9, i]));
        const [text2, bin2] = await atA;
        assert.equal(text2, `from b ${i}`);
        assert.deepEqual([...toBuffer(bin2)], [9, i]);

        // An ack with binary, answered by a's owner.
        const [echo, echoBin] = await new Promise((resolve, reject) =>
          a.timeout(5000).emit("message-with-ack", `ack ${i}`, Buffer.from("xyz"), (err, ...args) => (err ? reject(err) : resolve(args))),
        );
        assert.equal(echo, `ack ${i}`);
        assert.equal(toBuffer(echoBin).toString(), "xyz");

        // A server-to-client ack.
        a.once("server-ack-request", (arg, cb) => cb(`answer ${arg}`));
        const result = once(a, "server-ack-result");
        a.emit("request-ack", i);
        assert.deepEqual(await result, [`answer ${i}`]);
      }
      assert.equal(a.io.engine.transport.name, mode.final);
      assert.ok(a.connected, "a is still connected");
    });
  });
}

// Six sessions upgrade, so that some upgrades surely reach a node other
// than the session's: each works on the WebSocket afterwards.
test("upgrades through any node", T, async () => {
  const mode = MODES.find((m) => m.final === "websocket" && m.first === "polling");
  for (let i = 0; i < 6; i++) {
    const s = connect(requireURL(), mode);
    await Promise.all([waitConnect(s), once(s, "auth")]);
    await waitTransport(s, "websocket");
    const [echo] = await new Promise((resolve, reject) =>
      s.timeout(5000).emit("message-with-ack", `up ${i}`, (err, ...args) => (err ? reject(err) : resolve(args))),
    );
    assert.equal(echo, `up ${i}`);
  }
});
