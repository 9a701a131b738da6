// Not a test file of its own: e2e/interop/cookie_test.go runs it against a
// server with the sticky-session cookie on. socket.io-client 4.8 in Node.js
// keeps cookies (withCredentials: true) and sends them back on every later
// request of the session, as a browser behind a load balancer would.
// Prints {"sid": ..., "transport": ...} once connected, upgraded and echoed.

import { io } from "socket.io-client";
import { WAIT_MS, once, requireURL, waitConnect, waitTransport } from "./lib.mjs";

const socket = io(requireURL(), { forceNew: true, withCredentials: true, reconnection: false });
try {
  await waitConnect(socket);
  await waitTransport(socket, "websocket");
  const echoed = once(socket, "message-back", WAIT_MS);
  socket.emit("message", "sticky");
  await echoed;
  console.log(JSON.stringify({ sid: socket.io.engine.id, transport: socket.io.engine.transport.name }));
} finally {
  socket.close();
}
