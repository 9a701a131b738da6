// A node dies (SIGKILL) while clients of every generation, polling-only
// and upgraded, stream numbered messages in one room through haproxy in
// round-robin, with adapter.forward_sessions on:
// - clients whose session lived on the dead node are disconnected,
//   reconnect (a new session, on a live node), rejoin and go on;
// - the other clients see no disconnect and lose nothing, unless one of
//   their own connections ran through the dead node when it died (an
//   upgraded client's WebSocket, or a poll haproxy had sent there): those
//   are cut, haproxy's log shows it, and the client reconnects like the
//   first group;
// - nobody gets a message twice or out of order, binary intact, and
//   everything sent after the reconnections reaches everyone.
//
// Env: SWITCHBOARD_URL (haproxy), LB_CONTROL_URL (the Go test: POST
// /kill?node=NAME kills a node and answers once it is gone; GET /requests
// is haproxy's request log as JSON).

import { test } from "node:test";
import assert from "node:assert/strict";

import { uniqueName, toBuffer } from "../lib.mjs";
import { GENS, MODES, LBClient, blob, until, emitAck } from "./lib-lb.mjs";

const CONTROL = process.env.LB_CONTROL_URL;
const MSGS = 200;
const HALF = MSGS / 2;
const T = { timeout: 60_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("a node killed mid-stream: its clients reconnect, the others lose nothing", T, async () => {
  assert.ok(CONTROL, "LB_CONTROL_URL is not set");
  const room = uniqueName("lb-kill");
  const clients = [];
  // Eighteen clients, spread over the nodes: with round-robin, each client of
  // a live node has roughly one chance in three of a connection through
  // the dead one (its pending poll, a POST or its WebSocket went there), so
  // with a dozen or so on the live nodes, some remain untouched.
  for (let k = 0; k < 3; k++) {
    for (const mode of MODES) {
      for (const gen of GENS) {
        clients.push(
          new LBClient(gen, mode, `${gen.name}-${mode.name}-${k}`, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 }),
        );
      }
    }
  }
  try {
    for (const c of clients) {
      await c.start(room);
      c.sids = [c.socket.io.engine.id];
      c.nodes = [c.node];
      c.joined = 1;
      // Every later connection is a new session: rejoin the room.
      c.socket.on("connect", async () => {
        const n = c.connects;
        c.sids.push(c.socket.io.engine.id);
        try {
          c.nodes.push(await c.whereAmI());
          assert.deepEqual(await emitAck(c.socket, "join", room), [true]);
          c.joined = n;
        } catch (err) {
          c.events.push(`rejoin failed: ${err.message}`);
        }
      });
    }
    const victim = clients[0].node;
    const onVictim = clients.filter((c) => c.node === victim);
    console.log(`sessions: ${clients.map((c) => `${c.label}@${c.node}`).join(" ")}; killing ${victim}`);
    assert.ok(onVictim.length < clients.length, "every session on one node: nobody would survive");

    const problems = [];
    const got = clients.map(() => new Map()); // sender label -> numbers received
    clients.forEach((c, ri) => {
      c.socket.on("room-message", (msg) => {
        const list = got[ri].get(msg.from) || [];
        if (list.length && msg.n <= list[list.length - 1]) {
          problems.push(`${c.label} got #${msg.n} from ${msg.from} after #${list[list.length - 1]}`);
        }
        list.push(msg.n);
        got[ri].set(msg.from, list);
        if (msg.n % 10 === 0 && !(msg.bin && toBuffer(msg.bin).equals(blob(msg.i, msg.n)))) {
          problems.push(`${c.label}: binary of #${msg.n} from ${msg.from} damaged`);
        }
      });
    });
    const send = (c, i, from, to) =>
      (async () => {
        for (let n = from; n <= to; n++) {
          const msg = { from: c.label, i, n };
          if (n % 10 === 0) msg.bin = blob(i, n);
          c.socket.emit("to-room", room, msg);
          c.sent = n;
          if (n % 5 === 0) await sleep(20);
        }
      })();

    // Phase 1: 1..100 each; the victim dies when the first client has sent 40.
    const phase1 = Promise.all(clients.map((c, i) => send(c, i, 1, HALF)));
    await until(() => clients[0].sent >= 40, 10_000, () => "first client sending");
    const killed = await fetch(`${CONTROL}/kill?node=${victim}`, { method: "POST" });
    assert.equal(killed.status, 200, await killed.text());
    await phase1;

    // Everyone whose session is gone is back and in the room.
    await until(
      () => onVictim.every((c) => c.disconnects > 0) && clients.every((c) => c.socket.connected && c.joined === c.connects),
      20_000,
      () => `waiting for reconnections: ${clients.map(String).join(" | ")}`,
    );
    // Phase 2: 101..200 each, every client connected and in the room.
    await Promise.all(clients.map((c, i) => send(c, i, HALF + 1, MSGS)));

    const complete = () =>
      clients.every((r, ri) =>
        clients.every((s) => s === r || (got[ri].get(s.label) || []).filter((n) => n > HALF).length === HALF),
      );
    const missing = () =>
      clients.flatMap((r, ri) =>
        clients
          .filter((s) => s !== r)
          .map((s) => [s, (got[ri].get(s.label) || []).filter((n) => n > HALF).length])
          .filter(([, n]) => n !== HALF)
          .map(([s, n]) => `${r.label} has ${n} of #${HALF + 1}..#${MSGS} from ${s.label}`),
      );
    await until(complete, 20_000, () => `messages missing: ${missing().join(", ")}; ${problems.join("; ")}`);
    await sleep(300); // duplicates would arrive now
    assert.deepEqual(problems, []);

    // Which clients had a connection through the dead node when it died:
    // haproxy logs a cut WebSocket (101) or failed poll (5xx) there.
    const requests = await (await fetch(`${CONTROL}/requests`)).json();
    const cutThere = (c) =>
      requests.some((r) => r.Server === victim && c.sids.some((sid) => r.URI.includes(`sid=${encodeURIComponent(sid)}`)) && (r.Status === 101 || r.Status >= 500 || r.Status < 0));

    let untouched = 0;
    clients.forEach((r, ri) => {
      const onDead = onVictim.includes(r);
      if (onDead) {
        assert.ok(r.disconnects >= 1, `${r}`);
        assert.notEqual(r.sids[r.sids.length - 1], r.sids[0], `${r}: a new session`);
        assert.notEqual(r.nodes[r.nodes.length - 1], victim, `${r}: reconnected to the dead node?`);
      } else if (r.disconnects > 0) {
        assert.ok(cutThere(r), `${r}: disconnected, but its session was on a live node and haproxy shows no connection of it cut on ${victim}`);
      } else {
        untouched++;
        // Lose nothing: every message of every sender that stayed connected.
        for (const s of clients) {
          if (s === r || s.disconnects > 0) continue;
          assert.deepEqual(got[ri].get(s.label), Array.from({ length: MSGS }, (_, k) => k + 1), `${r.label} from ${s.label}`);
        }
      }
    });
    console.log(
      `killed ${victim}: ${onVictim.length} sessions there; ${clients.filter((c) => !onVictim.includes(c) && c.disconnects > 0).length} others cut through it; ${untouched} untouched`,
    );
    assert.ok(untouched >= 1, "no client kept its connection: nothing shows that the others lose nothing");
  } finally {
    clients.forEach((c) => c.close());
  }
});
