// Handshake auth with socket.io-client 4.8.4 against Switchboard serving
// e2e/apps/auth_test.go's configuration. SWITCHBOARD_TOKENS maps each
// namespace to tokens made by the Go test: valid (sub alice), expired,
// wrongSig, and extra refusals with their expected codes. Every namespace
// auto-joins "user:{sub}" and relays "say" to others with the sender.
import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { MODES, Clients, once, requireURL, WAIT_MS } from "../lib.mjs";

const T = { timeout: 20_000 };
const TOKENS = JSON.parse(process.env.SWITCHBOARD_TOKENS || "{}");
const API_KEY = process.env.SWITCHBOARD_API_KEY;

before(() => {
  requireURL();
  assert.ok(Object.keys(TOKENS).length >= 6, "SWITCHBOARD_TOKENS is missing");
});

const clients = new Clients();
afterEach(() => clients.closeAll());
const mode = MODES[0];

/** Connects and resolves with the socket, or rejects with the connect_error. */
function connect(nsp, extra) {
  const socket = clients.socket(mode, nsp, extra);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect nor connect_error on ${nsp} within ${WAIT_MS}ms`)), WAIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.disconnect();
      reject(err);
    });
    socket.connect();
  });
}

async function refused(nsp, extra, message, code) {
  let err;
  try {
    const s = await connect(nsp, extra);
    assert.fail(`connected to ${nsp} (${s.id}), want connect_error "${message}"`);
  } catch (e) {
    err = e;
  }
  assert.equal(err.message, message);
  assert.deepEqual(err.data, { code });
}

async function apiEmit(body) {
  const res = await fetch(`${requireURL()}/api/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

for (const [nsp, tok] of Object.entries(TOKENS)) {
  const isStatic = nsp === "/tokens";
  describe(`auth on ${nsp}`, () => {
    test("a valid token connects; its claims reach the rules (user:{sub}, sender)", T, async () => {
      const a = await connect(nsp, { auth: { token: tok.valid } });
      const b = await connect(nsp, { auth: { token: tok.valid } });
      // Auto-joined user:alice: a backend can address the user.
      const private_ = once(a, "private");
      await apiEmit({ namespace: nsp, rooms: ["user:alice"], event: "private", args: [{ for: "alice" }] });
      assert.deepEqual(await private_, [{ for: "alice" }]);
      // The relayed event carries the verified subject.
      const got = once(b, "say");
      a.emit("say", "hello");
      assert.deepEqual(await got, ["hello", { id: a.id, sub: "alice" }]);
    });

    if (!isStatic) {
      test("an expired token is refused", T, async () => {
        await refused(nsp, { auth: { token: tok.expired } }, "unauthorized: token expired", "token_expired");
      });
    }

    test("a token with a wrong signature is refused", T, async () => {
      if (isStatic) {
        await refused(nsp, { auth: { token: tok.wrongSig } }, "unauthorized: invalid token", "invalid_token");
      } else {
        await refused(nsp, { auth: { token: tok.wrongSig } }, "unauthorized: invalid token signature", "invalid_signature");
      }
    });

    test("a missing token is refused", T, async () => {
      await refused(nsp, {}, "unauthorized: missing token", "missing_token");
      await refused(nsp, { auth: { other: 1 } }, "unauthorized: missing token", "missing_token");
      await refused(nsp, { auth: { token: 42 } }, "unauthorized: missing token", "missing_token");
    });

    for (const [name, token] of Object.entries(tok.extra || {})) {
      test(`refused: ${name}`, T, async () => {
        let err;
        try {
          await connect(nsp, { auth: { token } });
        } catch (e) {
          err = e;
        }
        assert.ok(err, `connected with "${name}"`);
        assert.match(err.message, /^unauthorized: /);
        assert.deepEqual(err.data, { code: tok.codes[name] });
      });
    }
  });
}

describe("token sources", () => {
  test("the query parameter works for clients without an auth payload", T, async () => {
    const s = await connect("/hs", { query: { token: TOKENS["/hs"].valid } });
    assert.ok(s.connected);
  });

  test('a "Bearer " prefix is accepted', T, async () => {
    const s = await connect("/hs", { auth: { token: `Bearer ${TOKENS["/hs"].valid}` } });
    assert.ok(s.connected);
  });

  test("a refused namespace does not affect another on the same connection", T, async () => {
    const manager = clients.manager(mode);
    const open = clients.track(manager.socket("/"));
    const closed = clients.track(manager.socket("/hs", { auth: { token: TOKENS["/hs"].expired } }));
    const err = once(closed, "connect_error");
    open.connect();
    closed.connect();
    await once(open, "connect");
    const [e] = await err;
    assert.equal(e.message, "unauthorized: token expired");
    assert.ok(open.connected);
  });
});
