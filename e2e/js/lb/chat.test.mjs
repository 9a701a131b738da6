// The built-in chat, as a user sees it: socket.io-client 2.x, 3.x and 4.x
// users (polling only, and upgrading to WebSocket) and plain WebSocket
// clients of the raw bridge, against one URL. This script is the spec of
// "one chat": the Go test (e2e/lb) runs it against one node with the
// shipped config.yaml, and through haproxy round-robin (no affinity) in
// front of three nodes sharing the chat through Redis; the same
// assertions must hold both ways. Users see the same participant counts,
// room lists and room members; every message arrives exactly once, in
// order; users who join late, wherever, get the same history.
//
// Env: SWITCHBOARD_URL; LB_NODE_TAGS (cluster: session-id tag -> node).

import { test, after } from "node:test";
import assert from "node:assert/strict";

import { ChatUser, RawUser, POLLING, UPGRADE, NODE_TAGS, until, emitAck, roomList, sorted, sleep } from "./lib-chat.mjs";

const M = 15; // messages per sender in the burst
const SETTLE = 5000; // how long announcements may take to arrive

const all = [];
after(() => all.forEach((c) => c.close()));

/** Waits until every user's last view is want(user), then compares it. */
async function settle(users, what, got, want) {
  await until(
    () => users.every((u) => JSON.stringify(got(u)) === JSON.stringify(want(u))),
    SETTLE,
    () => users.map((u) => `${u.name}: ${what} ${JSON.stringify(got(u))}, want ${JSON.stringify(want(u))}`).join("\n"),
  ).catch((e) => assert.fail(e.message));
}

test("one chat, as on one node", { timeout: 50_000 }, async () => {
  const specs = [
    ["ann", "v4", POLLING],
    ["ben", "v4", UPGRADE],
    ["cid", "v3", POLLING],
    ["dee", "v3", UPGRADE],
    ["eve", "v2", POLLING],
    ["fay", "v2", UPGRADE],
  ];
  const users = [];
  // One at a time: each login counts everyone before, and round-robin
  // spreads the sessions over the nodes.
  for (const [name, gen, opts] of specs) {
    const u = new ChatUser(gen, name, opts);
    all.push(u);
    const login = await u.enter();
    users.push(u);
    assert.equal(login.numUsers, users.length, `${u}: login numUsers`);
    assert.equal(login.room, "general");
    assert.deepEqual(login.rooms, [{ name: "general", count: users.length }], `${u}: login rooms`);
    assert.deepEqual(login.history, [], `${u}: login history`);
  }
  console.log(`sessions: ${users.map((u) => `${u.name}@${u.node()}`).join(" ")}`);
  if (NODE_TAGS) {
    const nodes = new Set(users.map((u) => u.node()));
    assert.ok(nodes.size >= 2, `every session on one node (${[...nodes]}): the test would not cross nodes`);
  }

  // Two raw WebSocket clients join as guest-1 and guest-2.
  const raws = [];
  for (let k = 0; k < 2; k++) {
    const r = new RawUser(`raw${k}`);
    all.push(r);
    await r.open();
    raws.push(r);
    r.name = `guest-${k + 1}`;
    await until(() => users.every((u) => u.joined.includes(r.name)), SETTLE, () => `${r.name} not announced: ${users.map((u) => `${u.name} ${u.joined}`)}`);
  }
  const everyone = sorted([...users.map((u) => u.name), ...raws.map((r) => r.name)]);
  await settle(users, "numUsers", (u) => u.numUsers, () => everyone.length);
  await settle(users, "rooms", (u) => u.rooms, () => roomList({ general: everyone.length }));
  await settle(users, "general users", (u) => u.roomUsers.general, () => everyone);
  for (const u of users) {
    assert.deepEqual(await emitAck(u.socket, "list rooms"), [roomList({ general: everyone.length })], `${u}: list rooms`);
    // Each user was told of the later ones exactly once.
    assert.deepEqual(u.joined, everyone.filter((n) => !users.slice(0, users.indexOf(u) + 1).some((v) => v.name === n)).sort((a, b) => order(a) - order(b)), `${u}: user joined`);
  }
  await Promise.all(users.map((u) => u.waitTransport()));

  // A burst in the lobby from every user and guest at once.
  await Promise.all([
    ...users.map(async (u) => {
      for (let n = 1; n <= M; n++) {
        u.socket.emit("new message", `${u.name} #${n}`);
        if (n % 5 === 0) await sleep(10);
      }
    }),
    ...raws.map(async (r) => {
      for (let n = 1; n <= M; n++) {
        r.send(`${r.name} #${n}`);
        if (n % 5 === 0) await sleep(10);
      }
    }),
  ]);
  const seq = (who) => Array.from({ length: M }, (_, k) => `${who} #${k + 1}`);
  const wantPerUser = (everyone.length - 1) * M;
  await until(
    () => users.every((u) => u.messages.length >= wantPerUser) && raws.every((r) => r.frames.length >= everyone.length * M),
    15_000,
    () => `messages: ${users.map((u) => `${u.name} ${u.messages.length}/${wantPerUser}`)} ${raws.map((r) => `${r.name} ${r.frames.length}/${everyone.length * M}`)}`,
  );
  await sleep(300); // duplicates would arrive meanwhile
  for (const u of users) {
    assert.equal(u.messages.length, wantPerUser, `${u}: messages`);
    for (const who of everyone) {
      const got = u.from(who).map((m) => m.message);
      assert.deepEqual(got, who === u.name ? [] : seq(who), `${u}: messages from ${who}`);
    }
    assert.ok(u.messages.every((m) => m.room === "general" && typeof m.time === "number"));
  }
  for (const r of raws) {
    assert.equal(r.frames.length, everyone.length * M, `${r.name}: frames`);
    for (const who of everyone) {
      const isGuest = who.startsWith("guest-");
      const got = r.frames.filter((f) => (isGuest ? f.startsWith(`${who} #`) : f.startsWith(`${who}: `)));
      assert.deepEqual(got, isGuest ? seq(who) : seq(who).map((m) => `${who}: ${m}`), `${r.name}: frames from ${who}`);
    }
  }

  // Then one message at a time, each seen by all before the next: a total
  // order every history must end with.
  const tail = [];
  for (let k = 0; k < 10; k++) {
    const u = users[k % users.length];
    const text = `${u.name} tail ${k}`;
    tail.push({ username: u.name, message: text });
    u.socket.emit("new message", text);
    await until(() => users.every((v) => v === u || v.messages.some((m) => m.message === text)), SETTLE, () => `${text} not everywhere`);
  }

  // Typing reaches the room's others once each.
  users[0].socket.emit("typing");
  users[0].socket.emit("stop typing");
  await until(() => users.slice(1).every((u) => u.typing.length >= 2), SETTLE, () => "typing not everywhere");
  await sleep(200);
  for (const u of users.slice(1)) assert.deepEqual(u.typing, ["typing ann general", "stop typing ann general"], `${u}: typing`);
  assert.deepEqual(users[0].typing, []);

  // Rooms: cid and dee move to "side".
  const [cid, dee] = [users[2], users[3]];
  assert.deepEqual(await emitAck(cid.socket, "join room", "side"), [{ room: "side", users: ["cid"], history: [] }]);
  assert.deepEqual(await emitAck(dee.socket, "join room", "side"), [{ room: "side", users: ["cid", "dee"], history: [] }]);
  const inGeneral = everyone.filter((n) => n !== "cid" && n !== "dee");
  const rooms = roomList({ general: inGeneral.length, side: 2 });
  await settle(users, "rooms", (u) => u.rooms, () => rooms);
  await settle(users, "own room's users", (u) => u.roomUsers[u === cid || u === dee ? "side" : "general"], (u) => (u === cid || u === dee ? ["cid", "dee"] : inGeneral));
  for (const u of users) assert.deepEqual(await emitAck(u.socket, "list rooms"), [rooms], `${u}: list rooms`);
  const before = users.map((u) => u.messages.length);
  const sideMsgs = [];
  for (let k = 0; k < 3; k++) {
    const s = k === 1 ? dee : cid;
    const text = `${s.name} side ${k}`;
    s.socket.emit("new message", text);
    sideMsgs.push({ username: s.name, message: text, room: "side" });
    const other = s === cid ? dee : cid;
    await until(() => other.messages.some((m) => m.message === text), SETTLE, () => `${text} not at ${other.name}`);
  }
  await sleep(200);
  users.forEach((u, i) => {
    const got = u.messages.slice(before[i]).map((m) => m.message);
    const want = u === cid || u === dee ? sideMsgs.filter((m) => m.username !== u.name).map((m) => m.message) : [];
    assert.deepEqual(got, want, `${u}: messages in side`);
  });

  // Latecomers, one per generation (round-robin puts them on different
  // nodes), get the same lobby history: the last 50 messages, the burst's
  // in each sender's order, ending with the tail.
  const lates = [];
  const histories = [];
  for (const [name, gen, opts] of [["late4", "v4", UPGRADE], ["late3", "v3", POLLING], ["late2", "v2", POLLING]]) {
    const u = new ChatUser(gen, name, opts);
    all.push(u);
    const login = await u.enter();
    lates.push(u);
    histories.push(login.history);
    assert.equal(login.numUsers, everyone.length + lates.length, `${u}: numUsers`);
    const side = await emitAck(u.socket, "join room", "side");
    assert.deepEqual(side[0].history.map(({ username, message, room }) => ({ username, message, room })), sideMsgs, `${u}: side history`);
    assert.deepEqual(side[0].users, sorted(["cid", "dee", ...lates.map((l) => l.name)]));
  }
  console.log(`latecomers: ${lates.map((u) => `${u.name}@${u.node()}`).join(" ")}`);
  for (const h of histories) assert.deepEqual(h, histories[0], "latecomers' histories differ");
  const h = histories[0];
  assert.equal(h.length, 50, "history length");
  assert.deepEqual(h.slice(-tail.length).map(({ username, message }) => ({ username, message })), tail, "history ends with the tail");
  for (const who of everyone) {
    const mine = h.slice(0, -tail.length).filter((m) => m.username === who).map((m) => m.message);
    const s = seq(who);
    assert.deepEqual(mine, s.slice(s.length - mine.length), `history: ${who}'s burst messages are the last ones, in order`);
  }
  assert.ok(h.every((m) => m.room === "general"));

  // Leaving: eve and guest-2 go; the others see them go, once.
  users[4].close();
  raws[1].close();
  const stay = [...users.filter((u) => u.name !== "eve")];
  const left = ["eve", "guest-2"];
  await until(() => stay.every((u) => left.every((n) => u.left.includes(n))), SETTLE, () => "departures not announced");
  const generalNow = inGeneral.filter((n) => !left.includes(n));
  const sideNow = sorted(["cid", "dee", ...lates.map((l) => l.name)]);
  await settle([...stay, ...lates], "rooms", (u) => u.rooms, () => roomList({ general: generalNow.length, side: sideNow.length }));
  await settle([...stay, ...lates], "numUsers", (u) => u.numUsers, () => generalNow.length + sideNow.length);
  await settle(stay, "own room's users", (u) => u.roomUsers[u === cid || u === dee ? "side" : "general"], (u) => (u === cid || u === dee ? sideNow : generalNow));
  await sleep(200);
  for (const u of stay) assert.deepEqual(sorted(u.left), left, `${u}: user left`);

  for (const u of [...users, ...lates]) {
    assert.deepEqual(u.errors, [], `${u}`);
    assert.equal(u.disconnects, u === users[4] ? 1 : 0, `${u}`);
  }
  assert.equal(raws[0].closed, false);
});

// order ranks names by arrival: the users in their order, then guests.
function order(name) {
  const names = ["ann", "ben", "cid", "dee", "eve", "fay", "guest-1", "guest-2"];
  return names.indexOf(name);
}
