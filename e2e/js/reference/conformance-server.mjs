// The reference for the conformance profile: npm socket.io 4.8 and
// engine.io 6 set up as the official test suites set them up
// (socket.io-protocol and engine.io-protocol, test-suite/), on one port.
// Go tests start it next to Switchboard and hold the two side by side.
//
// It prints {"port": N} on stdout once listening and exits when stdin ends.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { attach } from "engine.io";

const http = createServer();
// PING_INTERVAL and PING_TIMEOUT (ms) may lengthen the heartbeat, for tests
// that are not about it.
const common = {
  pingInterval: Number(process.env.PING_INTERVAL || 300),
  pingTimeout: Number(process.env.PING_TIMEOUT || 200),
  maxPayload: 1000000,
  cors: { origin: "*" },
};

// Both engines listen on the same HTTP server: neither may destroy an
// upgrade request meant for the other's path.
const io = new Server(http, { ...common, connectTimeout: 1000, destroyUpgrade: false });
io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  // As the Go conformance app: emit with an acknowledgement, then report
  // the client's answer (its arguments as they came) or the timeout.
  socket.on("request-ack", (...args) => {
    socket.timeout(5000).emit("server-ack-request", ...args, (err, ...answer) => {
      if (err) socket.emit("server-ack-result", { error: err.message });
      else socket.emit("server-ack-result", ...answer);
    });
  });
});
io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
});

const engine = attach(http, { ...common, path: "/engine.io/", destroyUpgrade: false });
engine.on("connection", (socket) => {
  socket.on("data", (...args) => socket.send(...args));
});

http.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: http.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
