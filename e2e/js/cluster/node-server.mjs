// A Node.js socket.io 4.8 server with @socket.io/redis-adapter 8.x, driven
// by the Go mixed-cluster tests (e2e/cluster) through JSON lines: commands
// on stdin, replies and observed events on stdout. Binary values travel as
// {"$bin": "<base64>"} in both directions.
//
// env: REDIS_URL, KEY (channel prefix)
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-adapter";

const out = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");

function enc(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
}
function dec(v) {
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x)]));
  }
  return v;
}

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
pub.on("error", () => {});
sub.on("error", () => {});
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub, { key: process.env.KEY || "socket.io" }) });
io.on("connection", (socket) => {
  socket.data = { side: "node" };
  socket.on("join", (room, cb) => {
    socket.join(room);
    if (typeof cb === "function") cb(true);
  });
});
// Server-side events from other nodes: reported, and answered when asked.
io.on("go-ping", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ type: "event", client: "server", event: "go-ping", args: enc(args) });
  if (cb) cb({ pong: "node" });
});
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const port = http.address().port;

const clients = new Map();

async function handle(c) {
  switch (c.cmd) {
    case "client": {
      const s = connect(c.url || `http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
      clients.set(c.name, s);
      s.onAny((event, ...args) => {
        let ack = null;
        if (typeof args[args.length - 1] === "function") ack = args.pop();
        out({ type: "event", client: c.name, event, args: enc(args) });
        if (ack) ack({ from: c.name, bin: Buffer.from([0xca, 0xfe]) });
      });
      await new Promise((resolve, reject) => {
        s.once("connect", resolve);
        s.once("connect_error", reject);
      });
      for (const room of c.rooms || []) await s.emitWithAck("join", room);
      return { id: s.id };
    }
    case "emit":
      io.to(c.room).emit(c.event, ...dec(c.args));
      return true;
    case "emitWithAck": {
      const responses = await io.timeout(c.timeout).to(c.room).emitWithAck(c.event, ...dec(c.args));
      return enc(responses);
    }
    case "fetch": {
      const sockets = await io.in(c.room).fetchSockets();
      return sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, query: s.handshake.query }));
    }
    case "serverSideEmit":
      io.serverSideEmit(c.event, ...dec(c.args));
      return true;
    case "serverSideEmitWithAck":
      return enc(await io.serverSideEmitWithAck(c.event, ...dec(c.args)));
    case "socketsJoin":
      io.in(c.room).socketsJoin(c.rooms);
      return true;
    case "quit":
      for (const s of clients.values()) s.close();
      io.close();
      await Promise.allSettled([pub.quit(), sub.quit()]);
      setTimeout(() => process.exit(0), 50);
      return true;
  }
  throw new Error(`unknown command ${c.cmd}`);
}

createInterface({ input: process.stdin }).on("line", async (line) => {
  let c;
  try {
    c = JSON.parse(line);
    out({ type: "done", id: c.id, result: await handle(c) });
  } catch (err) {
    out({ type: "done", id: c && c.id, error: String(err && err.message || err) });
  }
});
process.stdin.on("end", () => process.exit(0));
out({ type: "ready", port });
