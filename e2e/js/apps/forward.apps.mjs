// Event forwarding with socket.io-client 4.8.4: /fwd forwards its events to
// a real HTTP backend started by e2e/apps/forward_test.go (timeout 500ms,
// at most 2 requests in flight per socket); /down's backend is unreachable.
import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { MODES, Clients, requireURL } from "../lib.mjs";

const T = { timeout: 20_000 };
const TIMEOUT = Number(process.env.SWITCHBOARD_BACKEND_TIMEOUT_MS || 500);

before(() => requireURL());

const clients = new Clients();
afterEach(() => clients.closeAll());

async function socket(mode, nsp = "/fwd") {
  return clients.connect(clients.socket(mode, nsp, { auth: { token: "alice-forward-token" } }), mode);
}

// Client-side bound well above the server's: the server must answer first.
const ack = (s, ...args) => s.timeout(TIMEOUT + 3000).emitWithAck(...args);

for (const mode of MODES) {
  describe(`forwarding (${mode.name})`, () => {
    test("the backend's JSON reply is the ack; the request carries socket, claims, event, args", T, async () => {
      const s = await socket(mode);
      const reply = await ack(s, "order", { item: "tea", qty: 2 }, "fast");
      assert.equal(reply.ok, true);
      assert.deepEqual(reply.request, {
        type: "event",
        namespace: "/fwd",
        socket_id: s.id,
        claims: { sub: "alice" },
        event: "order",
        args: [{ item: "tea", qty: 2 }, "fast"],
      });
    });
  });
}

describe("forwarding failures become error acks, never a hang", () => {
  const mode = MODES[0];

  test("slow backend: error ack once the timeout has passed", T, async () => {
    const s = await socket(mode);
    const t0 = Date.now();
    const reply = await ack(s, "slow");
    const took = Date.now() - t0;
    assert.deepEqual(reply, { error: "backend timeout" });
    assert.ok(took >= TIMEOUT - 50, `answered after ${took}ms, before the ${TIMEOUT}ms timeout`);
    assert.ok(took < TIMEOUT + 2000, `answered after ${took}ms, long after the ${TIMEOUT}ms timeout`);
  });

  test("backend 500: error ack without the backend's body", T, async () => {
    const s = await socket(mode);
    assert.deepEqual(await ack(s, "fail"), { error: "backend error (HTTP 500)" });
  });

  test("a reply that is not JSON: error ack", T, async () => {
    const s = await socket(mode);
    assert.deepEqual(await ack(s, "notjson"), { error: "backend reply is not JSON" });
  });

  test("an empty reply acknowledges with no argument", T, async () => {
    const s = await socket(mode);
    const args = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no ack")), TIMEOUT + 3000);
      s.emit("empty", (...a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    assert.deepEqual(args, []);
  });

  test("unreachable backend: error ack", T, async () => {
    const s = await socket(mode, "/down");
    assert.deepEqual(await ack(s, "order"), { error: "backend unavailable" });
  });

  test("requests past max_in_flight are refused at once; the others finish", T, async () => {
    const s = await socket(mode);
    const first = ack(s, "hang");
    const second = ack(s, "hang");
    const t0 = Date.now();
    const third = await ack(s, "order");
    assert.deepEqual(third, { error: "too many pending backend requests (max 2)" });
    assert.ok(Date.now() - t0 < TIMEOUT, "the refusal waited for the pending requests");
    assert.deepEqual(await first, { error: "backend timeout" });
    assert.deepEqual(await second, { error: "backend timeout" });
    // Slots are free again.
    assert.equal((await ack(s, "order")).ok, true);
  });

  test("events without an ack are forwarded too", T, async () => {
    const s = await socket(mode);
    s.emit("fire", "no-ack");
    // The Go test checks that the backend received it.
    assert.equal((await ack(s, "order")).ok, true);
  });
});
