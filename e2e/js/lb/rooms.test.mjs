// Clients of every generation (2.x, 3.x, 4.x), polling-only or upgrading to
// WebSocket, connected through haproxy to a cluster of Switchboard nodes,
// share a room: every message a member sends reaches every other member
// exactly once and in order, wherever their sessions live, binary
// payloads intact; acknowledgements round-trip both ways; no client sees a
// disconnect or an error. The Go test (e2e/lb) runs this behind haproxy
// with affinity, and round-robin without it.
//
// Env: SWITCHBOARD_URL (haproxy), LB_MSGS (messages per client, default 200).

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";

import { uniqueName, toBuffer, once } from "../lib.mjs";
import { GENS, MODES, LBClient, blob, until, emitAck, within, WAIT_MS } from "./lib-lb.mjs";

const MSGS = Number(process.env.LB_MSGS || 200);
const PER_GEN = 2;
const T = { timeout: 60_000 };

describe("one room across the nodes behind haproxy", () => {
  let clients = [];
  afterEach(() => {
    clients.forEach((c) => c.close());
    clients = [];
  });

  for (const mode of MODES) {
    test(`v2, v3, v4 clients (${mode.name}): messages, binary, acks`, T, async () => {
      const room = uniqueName(`lb-${mode.name}`);
      for (const gen of GENS) {
        for (let k = 0; k < PER_GEN; k++) clients.push(new LBClient(gen, mode, `${gen.name}-${mode.name}-${k}`));
      }
      // One at a time, so that round-robin spreads the handshakes evenly.
      for (const c of clients) await c.start(room);
      const nodes = new Set(clients.map((c) => c.node));
      console.log(`sessions: ${clients.map((c) => `${c.label}@${c.node}`).join(" ")}`);
      assert.ok(nodes.size >= 2, `every session on one node (${[...nodes]}): the test would not cross nodes`);

      // Each receiver checks, per sender: the next number, binary intact.
      const problems = [];
      const got = clients.map(() => new Map());
      clients.forEach((c, ri) => {
        c.socket.on("room-message", (msg) => {
          const last = got[ri].get(msg.from) || 0;
          if (msg.n !== last + 1) problems.push(`${c.label} got #${msg.n} from ${msg.from} after #${last}`);
          got[ri].set(msg.from, msg.n);
          if (msg.n % 10 === 0) {
            const want = blob(msg.i, msg.n);
            if (!msg.bin || !toBuffer(msg.bin).equals(want)) problems.push(`${c.label}: binary of #${msg.n} from ${msg.from} damaged`);
          }
        });
      });
      const total = () => got.reduce((s, m) => s + [...m.values()].reduce((a, b) => a + b, 0), 0);
      const want = clients.length * (clients.length - 1) * MSGS;

      await Promise.all(
        clients.map(async (c, i) => {
          for (let n = 1; n <= MSGS; n++) {
            const msg = { from: c.label, i, n };
            if (n % 10 === 0) msg.bin = blob(i, n);
            c.socket.emit("to-room", room, msg);
            if (n % 20 === 0) await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      await until(() => total() >= want || problems.length > 0, 30_000, () => `${total()} of ${want} messages arrived`);
      // Nothing more (duplicates) trickles in.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(problems, []);
      clients.forEach((c, ri) => {
        for (const s of clients) if (s !== c) assert.equal(got[ri].get(s.label), MSGS, `${c.label} from ${s.label}`);
        assert.equal(got[ri].has(c.label), false, `${c.label} got its own messages`);
      });

      // Acks, client -> server and server -> client, with binary.
      await Promise.all(
        clients.map(async (c, i) => {
          const acks = await Promise.all(
            Array.from({ length: 10 }, (_, k) => emitAck(c.socket, "message-with-ack", c.label, k, blob(i, k))),
          );
          acks.forEach((a, k) => {
            assert.equal(a[0], c.label);
            assert.equal(a[1], k);
            assert.ok(toBuffer(a[2]).equals(blob(i, k)), `${c.label}: ack ${k} binary`);
          });
          c.socket.on("server-ack-request", (...args) => {
            const cb = args.pop();
            cb(`pong-${c.label}`, blob(i, 999));
          });
          const result = once(c.socket, "server-ack-result", WAIT_MS, `${c.label}: server-ack-result`);
          c.socket.emit("request-ack", "ping");
          const [answer, bin] = await result;
          assert.equal(answer, `pong-${c.label}`);
          assert.ok(toBuffer(bin).equals(blob(i, 999)), `${c.label}: server ack binary`);
        }),
      );

      for (const c of clients) {
        assert.equal(c.disconnects, 0, `${c}`);
        assert.deepEqual(c.events.filter((e) => /error/.test(e)), [], `${c}`);
        assert.equal(c.connects, 1, `${c}`);
        assert.equal(c.socket.io.engine.transport.name, mode.final, `${c}`);
      }
    });
  }
});
