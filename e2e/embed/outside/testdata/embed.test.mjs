// The npm socket.io-client against two nodes of the outside application
// (URL_A, URL_B), which share rooms through Redis. Run by outside_test.go.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(process.env.JS_DIR + "/");
const { io } = require("socket.io-client");

const A = process.env.URL_A;
const B = process.env.URL_B;

function connect(url, opts = {}) {
  return io(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
}

function once(s, ev) {
  return new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
}

async function connected(url, opts) {
  const s = connect(url, opts);
  const [err] = await Promise.race([once(s, "connect"), once(s, "connect_error")]);
  if (err) throw err;
  return s;
}

async function get(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return res.json();
}

for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
  describe(`transports ${transports}`, () => {
    const opts = (token) => ({ transports, auth: token ? { token } : {} });

    test("middleware refuses with ConnectError data", async () => {
      const s = connect(A, opts(""));
      const [err] = await once(s, "connect_error");
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "no token" });
      s.close();
    });

    test("typed handlers and acknowledgements", async () => {
      const s = await connected(A, opts("ann"));
      try {
        assert.equal(await s.timeout(3000).emitWithAck("echo", "hi"), "hi");
        assert.equal(await s.timeout(3000).emitWithAck("add", 2, 3), 5);
        assert.deepEqual(await s.timeout(3000).emitWithAck("add", -1, 3), { message: "negative", data: [-1, 3] });
        assert.equal(await s.timeout(3000).emitWithAck("join", "r"), undefined);
      } finally {
        s.close();
      }
    });

    test("binary", async () => {
      const s = await connected(A, opts("ann"));
      try {
        const got = await s.timeout(3000).emitWithAck("reverse", Buffer.from([1, 2, 3, 250]));
        assert.deepEqual([...got], [250, 3, 2, 1]);
      } finally {
        s.close();
      }
    });

    test("server acknowledgements with a timeout", async () => {
      const s = await connected(A, opts("ann"));
      try {
        s.on("question", (q, cb) => cb(`${q}: 42`));
        let verdict = once(s, "verdict");
        s.emit("quiz", "life");
        assert.deepEqual(await verdict, ["answer: life: 42"]);
        s.off("question");
        s.on("question", () => {}); // never answers
        verdict = once(s, "verdict");
        s.emit("quiz", "life");
        assert.deepEqual(await verdict, ["no answer: true"]);
      } finally {
        s.close();
      }
    });

    test("namespaces, static and dynamic", async () => {
      const chat = connect(A + "/chat", opts("ann"));
      assert.deepEqual(await once(chat, "welcome"), ["/chat"]);
      chat.close();
      const team = connect(B + "/team-red", opts("ann"));
      assert.deepEqual(await once(team, "team"), ["/team-red"]);
      team.close();
      const none = connect(A + "/nope", opts("ann"));
      const [err] = await once(none, "connect_error");
      assert.equal(err.message, "Invalid namespace");
      none.close();
    });

    test("rooms, broadcasts and fetchSockets across two nodes", async () => {
      const room = "room-" + transports.join("-");
      const ann = await connected(A, opts("ann"));
      const bob = await connected(B, opts("bob"));
      const eve = await connected(B, opts("eve"));
      try {
        await ann.timeout(3000).emitWithAck("join", room);
        await bob.timeout(3000).emitWithAck("join", room);
        let eveHeard = false;
        eve.on("said", () => (eveHeard = true));
        const heard = once(ann, "said");
        bob.emit("say", room, "hello from B");
        assert.deepEqual(await heard, ["bob", "hello from B"]);

        const news = once(ann, "news");
        const res = await fetch(`${B}/api/broadcast?room=${room}&text=extra`, { method: "POST" });
        assert.equal(res.status, 204);
        assert.deepEqual(await news, ["extra"]);
        assert.equal(eveHeard, false);

        const socks = await get(`${A}/api/sockets`);
        const byId = Object.fromEntries(socks.map((s) => [s.id, s]));
        for (const [s, name] of [[ann, "ann"], [bob, "bob"], [eve, "eve"]]) {
          assert.ok(byId[s.id], `${name} (${s.id}) missing from ${JSON.stringify(socks)}`);
          assert.deepEqual(byId[s.id].data, { user: name });
        }
        assert.ok(byId[bob.id].rooms.includes(room));
      } finally {
        ann.close();
        bob.close();
        eve.close();
      }
    });
  });
}

test("Admin UI login", async () => {
  const bad = connect(A + "/admin", { auth: { username: "admin", password: "wrong" } });
  const [err] = await once(bad, "connect_error");
  assert.equal(err.message, "invalid credentials");
  bad.close();

  const adm = connect(A + "/admin", { auth: { username: "admin", password: process.env.ADMIN_PASSWORD } });
  const session = once(adm, "session");
  const [config] = await once(adm, "config");
  assert.ok(config.supportedFeatures.includes("EMIT"), JSON.stringify(config));
  assert.equal(typeof (await session)[0], "string");
  const [stats] = await once(adm, "server_stats");
  assert.ok(stats.namespaces.some((n) => n.name === "/chat"), JSON.stringify(stats));
  adm.close();
});
