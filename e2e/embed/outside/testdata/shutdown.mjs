// Connects to URL_A, says "connected", and on disconnection prints the
// reason and exits. Run by outside_test.go around a graceful shutdown.
import { createRequire } from "node:module";

const require = createRequire(process.env.JS_DIR + "/");
const { io } = require("socket.io-client");

const s = io(process.env.URL_A, { reconnection: false, transports: [process.env.TRANSPORT], auth: { token: "sam" } });
s.on("connect", () => console.log("connected"));
s.on("connect_error", (err) => {
  console.log("connect_error", err.message);
  process.exit(1);
});
s.on("disconnect", (reason) => {
  console.log("disconnect", reason);
  process.exit(0);
});
setTimeout(() => {
  console.log("timeout");
  process.exit(2);
}, 20000);
