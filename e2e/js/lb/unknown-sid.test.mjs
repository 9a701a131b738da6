// Round-robin without affinity and without adapter.forward_sessions: the
// requests of one Engine.IO session reach nodes that do not hold it, which
// answer 400 {"code":1,"message":"Session ID unknown"}, as the Node.js
// reference does (its documentation: sticky sessions are required). This
// proves the load balancer really spreads one session's requests.
//
// Env: SWITCHBOARD_URL (haproxy in round-robin).

import { test } from "node:test";
import assert from "node:assert/strict";

import { requireURL, once } from "../lib.mjs";
import { GENS, MODES, LBClient, WAIT_MS } from "./lib-lb.mjs";

const T = { timeout: 30_000 };

test("a session's requests answered 400 Session ID unknown by the other nodes", T, async () => {
  const base = requireURL();
  // The header the clients send: with affinity it would keep every request
  // on one node.
  const headers = { "x-lb-client": "raw" };
  const hs = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers });
  assert.equal(hs.status, 200);
  const body = await hs.text();
  const { sid } = JSON.parse(body.slice(1));
  // Three polls one after another: round-robin over three nodes sends two
  // of them elsewhere (the session's own node holds its poll until the
  // next ping, 2 s at most).
  const answers = [];
  for (let k = 0; k < 3; k++) {
    const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { headers });
    answers.push([res.status, await res.text()]);
  }
  const unknown = answers.filter(([s, b]) => s === 400 && JSON.parse(b).message === "Session ID unknown");
  assert.ok(unknown.length >= 2, `want two 400 Session ID unknown, got ${JSON.stringify(answers)}`);
});

test("socket.io-client 4.x, polling-only, cannot connect: connect_error with status 400", T, async () => {
  const c = new LBClient(GENS[2], MODES[0], "v4-unknown-sid");
  try {
    const err = once(c.socket, "connect_error", WAIT_MS);
    c.socket.connect();
    const [e] = await err;
    assert.equal(e.description, 400, `${e.message} ${e.description}`);
    assert.equal(c.connects, 0);
  } finally {
    c.close();
  }
});
