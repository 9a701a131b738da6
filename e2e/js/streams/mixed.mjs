// A mixed cluster on Redis Streams, run by the Go test e2e/streams: a
// Node.js socket.io 4.8 server with @socket.io/redis-streams-adapter 0.3.1
// and connectionStateRecovery, and a Switchboard node (SB_URL) on the same
// stream. npm socket.io-client 4.x clients check broadcasts both ways, and
// that a client cut from one kind of node recovers on the other.
//
// env: REDIS_URL, SB_URL. Prints "ok" and exits 0, or the failure and 1.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-streams-adapter";

const fail = (msg) => {
  console.log("FAIL: " + msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 30000).unref();

const redis = createClient({ url: process.env.REDIS_URL });
redis.on("error", () => {});
await redis.connect();
const http = createServer();
const io = new Server(http, {
  adapter: createAdapter(redis),
  connectionStateRecovery: { maxDisconnectionDuration: 60000 },
});
io.on("connection", (socket) => {
  if (!socket.recovered) socket.data = { side: "node" };
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb("ok");
  });
  socket.on("bcast", (room, ev, arg, cb) => {
    io.to(room).emit(ev, arg);
    cb("ok");
  });
  socket.on("bcastbin", (room, ev, cb) => {
    io.to(room).emit(ev, Buffer.from([1, 2, 3]));
    cb("ok");
  });
  socket.on("whoami", (cb) => cb({ data: socket.data, rooms: [...socket.rooms] }));
});
io.on("ping", (cb) => cb("pong-node"));
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const nodeURL = `http://127.0.0.1:${http.address().port}`;
const sbURL = process.env.SB_URL;
await new Promise((r) => setTimeout(r, 300)); // the adapter's reader starts

function client(url, name) {
  const s = connect(url, { transports: ["websocket"], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  s.got = [];
  s.on("m", (...args) => s.got.push(args));
  s.on("ask", (cb) => cb("answer-" + name));
  s.name = name;
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}
const until = async (what, cond) => {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  fail("waiting for " + what);
};
const eq = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) fail(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
};
// Binary arguments compare as "bin:1,2,3".
const show = (v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? "bin:" + [...new Uint8Array(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v)].join(",") : v);
const values = (s) => s.got.map((a) => show(a[0]));

const onNode = await client(nodeURL, "onNode");
const onSB = await client(sbURL, "onSB");
await onNode.emitWithAck("join", "r");
await onSB.emitWithAck("join", "r");

// Broadcasts both ways, each with its stream offset (recovery is on).
await onSB.emitWithAck("bcast", "r", "m", "from-sb");
await onNode.emitWithAck("bcast", "r", "m", "from-node");
await until("broadcasts", () => onNode.got.length === 2 && onSB.got.length === 2);
// Binary data: base64 MessagePack in the stream, both ways.
await onSB.emitWithAck("bcastbin", "r", "m");
await until("binary from sb", () => onNode.got.length === 3 && onSB.got.length === 3);
await onNode.emitWithAck("bcastbin", "r", "m");
await until("binary from node", () => onNode.got.length === 4 && onSB.got.length === 4);
for (const s of [onNode, onSB]) {
  eq(values(s), ["from-sb", "from-node", "bin:1,2,3", "bin:1,2,3"], s.name + " broadcasts");
  for (const a of s.got) if (a.length !== 2 || !/^\d+-\d+$/.test(a[1])) fail(`${s.name}: no offset in ${JSON.stringify(a)}`);
}

// Requests and answers over pub/sub, from Node to Switchboard...
const socks = await io.fetchSockets();
eq(socks.length, 2, "fetchSockets from Node");
eq(socks.map((s) => s.data).sort((a, b) => a.side.localeCompare(b.side)), [{ side: "node" }, { side: "sb" }], "sockets' data");
eq(await io.serverSideEmitWithAck("ping"), ["pong-sb"], "serverSideEmitWithAck from Node");
eq((await io.timeout(3000).to("r").emitWithAck("ask")).sort(), ["answer-onNode", "answer-onSB"], "acks from Node");
// ... and from Switchboard to Node.
const check = new Promise((r) => onSB.once("sbcheck", r));
onSB.emit("sbcheck");
const res = await check;
eq([res.sockets, res.fetchErr, res.otherData], [2, "", { side: "node" }], "fetchSockets from Switchboard");
eq([res.pongs, res.pingErr], [["pong-node"], ""], "serverSideEmitWithAck from Switchboard");
eq([res.acks.sort(), res.askErr], [["answer-onNode", "answer-onSB"], ""], "acks from Switchboard");

// cut moves client s to url: its transport is closed (the server sees
// "transport close"), the missed broadcasts are sent (bcast: on the node s
// left, through client other when given, else by the Node server itself),
// and it reconnects to url.
async function cut(s, other, url, tag) {
  const bcast = other
    ? (ev, arg) => (arg === "bin" ? other.emitWithAck("bcastbin", "r", ev) : other.emitWithAck("bcast", "r", ev, arg))
    : async (ev, arg) => io.to("r").emit(ev, arg === "bin" ? Buffer.from([1, 2, 3]) : arg);
  const elsewhere = other ? () => other.emitWithAck("bcast", "elsewhere", "m", "not-for-it") : async () => io.to("elsewhere").emit("m", "not-for-it");
  const id = s.id;
  s.got = [];
  const disconnected = new Promise((r) => s.once("disconnect", r));
  s.io.uri = url;
  s.io.engine.close();
  await disconnected;
  await new Promise((r) => setTimeout(r, 10));
  const reconnected = new Promise((r) => s.once("connect", r));
  await bcast("m", tag + 1);
  await bcast("m", "bin");
  await elsewhere();
  await bcast("m", tag + 3);
  await reconnected;
  if (!s.recovered) fail(`${s.name} not recovered on ${url}`);
  eq(s.id, id, s.name + " id");
  await until(tag + " missed packets", () => s.got.length >= 3);
  await bcast("m", tag + "-live");
  await until(tag + " live", () => s.got.length >= 4);
  await new Promise((r) => setTimeout(r, 200));
  eq(values(s), [tag + "1", "bin:1,2,3", tag + "3", tag + "-live"], s.name + " packets");
  for (const a of s.got) if (a.length !== 2 || !/^\d+-\d+$/.test(a[1])) fail(`${s.name}: no offset in ${JSON.stringify(a)}`);
  return await s.emitWithAck("whoami");
}

// Node -> Switchboard: the Node server appends what the client misses,
// Switchboard replays it.
let who = await cut(onNode, null, sbURL, "a");
eq(who.data, { side: "node" }, "data recovered on Switchboard");
if (!who.rooms.includes("r")) fail("rooms on Switchboard: " + JSON.stringify(who.rooms));
// Switchboard -> Node: Switchboard appends, Node replays.
who = await cut(onSB, onNode, nodeURL, "b");
eq(who.data, { side: "sb" }, "data recovered on Node");
if (!who.rooms.includes("r")) fail("rooms on Node: " + JSON.stringify(who.rooms));

console.log("ok");
onNode.close();
onSB.close();
io.close();
await redis.quit().catch(() => {});
process.exit(0);
