// Reference server for the benchmark suite: socket.io 4.8 with default
// options, serving exactly the events of Switchboard's bench app
// (handlers/bench.go):
//   - "join"(room): the socket joins room (acks true if an ack is requested);
//   - "bcast"(room, ...payload): io.to(room).emit("msg", ...payload), the
//     sender included if it is in the room;
//   - "echo"(...payload): socket.emit("echo", ...payload).
//
//   node server.js            listens on 127.0.0.1:3000 (PORT overrides)
//
// With REDIS_URL set, it is a cluster node: @socket.io/redis-adapter over
// that Redis, the adapter and its client (redis) loaded from the
// node_modules of the directory REDIS_ADAPTER_FROM (benchrun passes the
// e2e tests' e2e/js, which has them).
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const host = "127.0.0.1";
const port = Number(process.env.PORT || 3000);

const httpServer = http.createServer();
const io = new Server(httpServer); // defaults: path /socket.io/, polling + websocket

// Arguments without a trailing ack callback, as Switchboard relays them.
function payload(args) {
  return typeof args[args.length - 1] === "function" ? args.slice(0, -1) : args;
}

io.on("connection", (socket) => {
  socket.on("join", (room, ...rest) => {
    if (typeof room === "string") {
      socket.join(room);
    }
    const ack = rest[rest.length - 1];
    if (typeof ack === "function") {
      ack(true);
    }
  });
  socket.on("bcast", (room, ...rest) => {
    if (typeof room !== "string") {
      return;
    }
    io.to(room).emit("msg", ...payload(rest));
  });
  socket.on("echo", (...args) => {
    socket.emit("echo", ...payload(args));
  });
});

async function useRedisAdapter(url) {
  const from = process.env.REDIS_ADAPTER_FROM || __dirname;
  const load = (name) => require(require.resolve(name, { paths: [from] }));
  const { createClient } = load("redis");
  const { createAdapter } = load("@socket.io/redis-adapter");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

(process.env.REDIS_URL ? useRedisAdapter(process.env.REDIS_URL) : Promise.resolve()).then(
  () => {
    httpServer.listen(port, host, () => {
      const cluster = process.env.REDIS_URL ? ` (redis adapter, ${process.env.REDIS_URL})` : "";
      console.log(`socket.io ${require("socket.io/package.json").version} listening on ${host}:${port}${cluster}`);
    });
  },
  (err) => {
    console.error("redis adapter:", err);
    process.exit(1);
  },
);

function shutdown() {
  io.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
