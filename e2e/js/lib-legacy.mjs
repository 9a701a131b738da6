// Helpers for the legacy client generations (socket.io-client 2.x and 3.x):
// their APIs lack socket.timeout() and report namespace errors differently.

import assert from "node:assert/strict";
import { createRequire } from "node:module";

import ioV2 from "socket.io-client-v2";
import ioV3 from "socket.io-client-v3";

import { WAIT_MS, BASE_URL, transportOf, within } from "./lib.mjs";

// protocol: the Socket.IO protocol revision the package speaks (2.x: 4,
// 3.x: 5), asserted so that a wrong install cannot pass for the other.
const require = createRequire(import.meta.url);
export const GENERATIONS = [
  {
    name: "socket.io-client 2.5.0",
    io: ioV2,
    version: require("socket.io-client-v2/package.json").version,
    wantVersion: "2.5.0",
    protocol: 4,
    eio: "3",
    hasAuth: false,
  },
  {
    name: "socket.io-client 3.1.3",
    io: ioV3,
    version: require("socket.io-client-v3/package.json").version,
    wantVersion: "3.1.3",
    protocol: 5,
    eio: "4",
    hasAuth: true,
  },
];

/** Emits with an acknowledgement; resolves with the ack's arguments. */
export function emitAck(socket, ...args) {
  return within(
    new Promise((resolve) => socket.emit(...args, (...res) => resolve(res))),
    WAIT_MS,
    `ack for "${args[0]}"`,
  );
}

/** Resolves when connected; rejects on connect_error / error (2.x) or timeout. */
export function waitConnected(socket, ms = WAIT_MS) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${ms}ms connecting to "${socket.nsp}"`)), ms);
    const ok = () => done();
    const fail = (err) => done(new Error(`connect failed on "${socket.nsp}": ${JSON.stringify(err && (err.message || err))}`));
    function done(err) {
      clearTimeout(timer);
      socket.off("connect", ok);
      socket.off("connect_error", fail);
      socket.off("error", fail);
      err ? reject(err) : resolve();
    }
    socket.on("connect", ok);
    socket.on("connect_error", fail);
    socket.on("error", fail);
  });
}

/** Opens sockets of one client generation and closes them all afterwards. */
export class GenClients {
  constructor(gen) {
    this.gen = gen;
    this.sockets = [];
  }

  /** A socket on nsp, not yet connected. extra: client options (query, auth...). */
  socket(mode, nsp = "/", extra = {}) {
    const url = BASE_URL + (nsp === "/" ? "" : nsp);
    const socket = this.gen.io(url, {
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      timeout: WAIT_MS,
      autoConnect: false,
      ...mode.opts,
      ...extra,
    });
    this.sockets.push(socket);
    return socket;
  }

  async connect(socket, mode) {
    socket.connect();
    await waitConnected(socket);
    if (mode && mode.first === "websocket") assert.equal(transportOf(socket), "websocket");
    return socket;
  }

  closeAll() {
    for (const s of this.sockets) {
      try {
        s.disconnect();
        s.io.engine && s.io.engine.close();
      } catch {
        /* ignore */
      }
    }
    this.sockets = [];
  }
}

