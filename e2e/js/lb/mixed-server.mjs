// A Node.js socket.io 4.8 node for the mixed-cluster tests of e2e/lb: the
// Redis Streams adapter (@socket.io/redis-streams-adapter 0.3.1) and
// connection state recovery, beside Switchboard nodes on the same stream,
// behind haproxy. It answers the events of Switchboard's "conformance" app
// that the tests use (handshake, join, to-room, set-data, whoami), and
// /readyz for haproxy's health checks (as Switchboard: 503 once shutting
// down, "degraded" while Redis is unreachable). SIGTERM shuts it down as io.close() does: its clients'
// sessions are kept for recovery and their connections closed.
//
// env: REDIS_URL, NODE_NAME. Prints "listening addr=HOST:PORT" once ready.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-streams-adapter";

const name = process.env.NODE_NAME || "node";
const redis = createClient({ url: process.env.REDIS_URL });
redis.on("error", () => {}); // it reconnects by itself; errors would crash the process
await redis.connect();

let stopping = false;
const http = createServer((req, res) => {
  if (req.url === "/readyz") {
    // "degraded" while Redis is unreachable, as Switchboard says it.
    res.writeHead(stopping ? 503 : 200).end(stopping ? "shutting down" : redis.isReady ? "ok" : "degraded");
    return;
  }
  res.writeHead(404).end();
});
const io = new Server(http, {
  adapter: createAdapter(redis),
  connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
  pingInterval: 2000,
  pingTimeout: 3000,
  cors: { origin: "*" },
});
io.on("connection", (socket) => {
  socket.on("handshake", (cb) => {
    const h = socket.handshake;
    const headers = Object.fromEntries(Object.entries(h.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
    cb({ auth: h.auth, query: h.query, headers });
  });
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb(true);
  });
  socket.on("to-room", (room, ...args) => socket.to(room).emit("room-message", ...args));
  socket.on("set-data", (data, cb) => {
    socket.data = data;
    cb(true);
  });
  socket.on("whoami", (cb) => cb({ id: socket.id, rooms: [...socket.rooms], data: socket.data ?? null }));
});

process.on("SIGTERM", async () => {
  stopping = true;
  await io.close();
  await redis.quit().catch(() => {}); // after the sessions' SETs, which it follows in the queue
  process.exit(0);
});

await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
await new Promise((r) => setTimeout(r, 300)); // the adapter's reader starts
console.log(`node ${name} listening addr=127.0.0.1:${http.address().port}`);
