// Connection state recovery across Switchboard nodes on Redis Streams,
// with npm socket.io-client 4.x, run by the Go test e2e/streams: a client
// on node A is cut while node C broadcasts, and reconnects to node B;
// then a client on node A reconnects to B after A shut down.
//
// env: SB_A, SB_B, SB_C. Prints "ok" and exits 0, or the failure and 1.
import { io as connect } from "socket.io-client";

const fail = (msg) => {
  console.log("FAIL: " + msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 30000).unref();
const { SB_A, SB_B, SB_C } = process.env;

function client(url, name) {
  const s = connect(url, { transports: ["websocket"], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  s.got = [];
  s.on("m", (...args) => s.got.push(args));
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

const onC = await client(SB_C, "onC");

// moved sends the missed broadcasts from C while s is away, then checks
// that s, reconnected to B, got its socket back and each packet once, in
// order, then the live one.
async function moved(s, tag, cutIt) {
  const id = s.id;
  const disconnected = new Promise((r) => s.once("disconnect", r));
  s.io.uri = SB_B;
  await cutIt();
  await disconnected;
  s.got = [];
  const reconnected = new Promise((r) => s.once("connect", r));
  for (let i = 1; i <= 3; i++) await onC.emitWithAck("bcast", "r", "m", tag + i);
  await onC.emitWithAck("bcast", "elsewhere", "m", "not-for-it");
  await reconnected;
  if (!s.recovered) fail(`${s.name} not recovered`);
  eq(s.id, id, s.name + " id");
  await until(tag + " missed packets", () => s.got.length >= 3);
  await onC.emitWithAck("bcast", "r", "m", tag + "-live");
  await until(tag + " live", () => s.got.length >= 4);
  await new Promise((r) => setTimeout(r, 200));
  eq(s.got.map((a) => a[0]), [tag + "1", tag + "2", tag + "3", tag + "-live"], s.name + " packets");
  for (const a of s.got) if (a.length !== 2 || !/^\d+-\d+$/.test(a[1])) fail(`${s.name}: no offset in ${JSON.stringify(a)}`);
  const who = await s.emitWithAck("whoami");
  eq(who.data, { side: "sb" }, s.name + " data");
  if (!who.rooms.includes("r")) fail(`${s.name} rooms: ${JSON.stringify(who.rooms)}`);
}

// The transport cut (the server sees "transport close").
const cut = await client(SB_A, "cut");
await cut.emitWithAck("join", "r");
await onC.emitWithAck("bcast", "r", "m", "first");
await until("first", () => cut.got.length === 1);
await moved(cut, "a", async () => cut.io.engine.close());

// Node A shuts down.
const stopped = await client(SB_A, "stopped");
await stopped.emitWithAck("join", "r");
await onC.emitWithAck("bcast", "r", "m", "first");
await until("first", () => stopped.got.length === 1);
await moved(stopped, "b", async () => stopped.emit("shutdown"));

console.log("ok");
for (const s of [onC, cut, stopped]) s.close();
process.exit(0);
