// One node of three is stopped gracefully (SIGTERM) while users of the
// built-in chat are on all of them, behind haproxy round-robin: its users
// (Socket.IO and raw WebSocket) leave the others' lists at once, not when
// their Redis entry would expire, and the others keep chatting, every
// message once and in order. Users elsewhere whose requests went through
// the stopped node may be cut: like the page (static/app.js) they
// reconnect and say their name again.
//
// Env: SWITCHBOARD_URL (haproxy), LB_NODE_TAGS, LB_CONTROL_URL (POST
// /stop?node=<name> stops that node and answers once it has exited).

import { test, after } from "node:test";
import assert from "node:assert/strict";

import { ChatUser, RawUser, POLLING, UPGRADE, until, sorted, sleep } from "./lib-chat.mjs";

const CONTROL = process.env.LB_CONTROL_URL;
const M = 5;
const all = [];
after(() => all.forEach((c) => c.close()));

test("a node stopped gracefully: its users leave every list at once", { timeout: 45_000 }, async () => {
  assert.ok(CONTROL, "LB_CONTROL_URL not set");
  const users = [];
  const raws = [];
  for (let k = 0; k < 6; k++) {
    const u = new ChatUser("v4", `u${k}`, k % 2 ? UPGRADE : POLLING, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
    all.push(u);
    await u.enter();
    // As the page does: name itself again on every reconnection.
    u.socket.on("connect", () => u.socket.emit("add user", u.name));
    // For the failure message: the engine sessions and what arrived.
    u.socket.io.on("open", () => u.log.push(`open ${u.socket.io.engine.id} ${u.socket.io.engine.transport.name}`));
    u.socket.io.on("reconnect", () => u.log.push(`reconnect`));
    u.socket.onAny((ev, ...a) => ["login", "room users"].includes(ev) && u.log.push(`${ev} ${JSON.stringify(a).slice(0, 120)}`));
    users.push(u);
    const r = new RawUser(`raw${k}`);
    all.push(r);
    if (k < 3) {
      await r.open();
      r.name = `guest-${k + 1}`;
      raws.push(r);
      await until(() => users[0].joined.includes(r.name) || k === 0, 5000, () => `${r.name} not announced`);
    } else {
      r.close();
    }
  }
  await Promise.all(users.map((u) => u.waitTransport()));
  const everyone = sorted([...users.map((u) => u.name), ...raws.map((r) => r.name)]);
  await until(() => users.every((u) => JSON.stringify(u.roomUsers.general) === JSON.stringify(everyone)), 5000, () => users.map((u) => `${u.name}: ${u.roomUsers.general}`).join("\n"));

  // The victim: a node with users, while other nodes have some too.
  const byNode = new Map();
  for (const u of users) byNode.set(u.node(), [...(byNode.get(u.node()) || []), u]);
  assert.ok(byNode.size >= 2, `all users on one node: ${[...byNode.keys()]}`);
  const victim = [...byNode.keys()][0];
  const gone = byNode.get(victim);
  gone.forEach((u) => u.socket.io.reconnection(false));
  const stay = users.filter((u) => !gone.includes(u));
  console.log(`sessions: ${users.map((u) => `${u.name}@${u.node()}`).join(" ")}; stopping ${victim}`);

  const t0 = Date.now();
  const res = await fetch(`${CONTROL}/stop?node=${victim}`, { method: "POST" });
  assert.equal(res.status, 200, await res.text());
  console.log(`node ${victim} stopped in ${Date.now() - t0}ms`);
  await sleep(200);
  const rawStay = raws.filter((r) => !r.closed);
  const rawGone = raws.filter((r) => r.closed);
  const survivors = sorted([...stay.map((u) => u.name), ...rawStay.map((r) => r.name)]);
  console.log(`gone: ${[...gone.map((u) => u.name), ...rawGone.map((r) => r.name)]}; staying: ${survivors}`);
  // At once: well within the 30 s a dead node's entry lives in Redis.
  await until(
    () => stay.every((u) => u.socket.connected && JSON.stringify(u.roomUsers.general) === JSON.stringify(survivors) && u.numUsers === survivors.length),
    5000,
    () => stay.map((u) => `${u}: general ${u.roomUsers.general} numUsers ${u.numUsers} left ${u.left}`).join("\n"),
  );
  console.log(`lists settled ${Date.now() - t0}ms after the stop began`);
  // Its own users notice too: a polling one whose next poll went to
  // another node, to be forwarded to the stopped one, only when that
  // request fails (the forwarding node's request_timeout).
  await until(() => gone.every((u) => !u.socket.connected), 10_000, () => `still connected: ${gone.filter((u) => u.socket.connected).join("\n")}`);
  console.log(`its own users disconnected ${Date.now() - t0}ms after the stop began`);

  // The others keep chatting.
  for (const u of stay) u.messages = [];
  rawStay.forEach((r) => (r.frames = []));
  const disc = stay.map((u) => u.disconnects);
  await Promise.all([
    ...stay.map(async (u) => {
      for (let n = 1; n <= M; n++) u.socket.emit("new message", `${u.name} after ${n}`);
    }),
    ...rawStay.map(async (r) => {
      for (let n = 1; n <= M; n++) r.send(`${r.name} after ${n}`);
    }),
  ]);
  const want = (survivors.length - 1) * M;
  await until(() => stay.every((u) => u.messages.length >= want) && rawStay.every((r) => r.frames.length >= survivors.length * M), 10_000, () => stay.map((u) => `${u.name} ${u.messages.length}/${want}`).join(" ") + "\n" + stay.join("\n"));
  await sleep(300);
  for (const u of stay) {
    for (const who of survivors) {
      const got = u.from(who).map((m) => m.message);
      assert.deepEqual(got, who === u.name ? [] : Array.from({ length: M }, (_, k) => `${who} after ${k + 1}`), `${u}: from ${who}`);
    }
  }
  for (const r of rawStay) assert.equal(r.frames.length, survivors.length * M, `${r.name}: frames`);
  stay.forEach((u, i) => assert.equal(u.disconnects, disc[i], `${u}: cut while chatting`));
});
