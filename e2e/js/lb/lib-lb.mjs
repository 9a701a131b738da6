// Helpers for the load-balancer tests (e2e/lb): clients of the three
// socket.io-client generations connected through haproxy to a cluster of
// Switchboard nodes running the "conformance" app. Each client sends an
// X-LB-Client header (haproxy's affinity key in the sticky setup) and
// learns from its handshake's headers which node holds its session
// (haproxy adds X-LB-Server to every request it forwards).

import assert from "node:assert/strict";
import { io as ioV4 } from "socket.io-client";
import ioV2 from "socket.io-client-v2";
import ioV3 from "socket.io-client-v3";

import { WAIT_MS, requireURL, transportOf, waitTransport, within } from "../lib.mjs";
import { waitConnected, emitAck } from "../lib-legacy.mjs";

export { emitAck };

export const GENS = [
  { name: "v2", io: ioV2 },
  { name: "v3", io: ioV3 },
  { name: "v4", io: ioV4 },
];

/** polling-only never upgrades; upgrade starts on polling and must end on WebSocket. */
export const MODES = [
  { name: "polling", opts: { transports: ["polling"] }, final: "polling" },
  { name: "upgrade", opts: { transports: ["polling", "websocket"] }, final: "websocket" },
];

/**
 * A client: its socket, its label, the node holding its session, and a log
 * of what happened to its connection (connects, disconnects, errors).
 */
export class LBClient {
  constructor(gen, mode, label, extra = {}) {
    this.gen = gen;
    this.mode = mode;
    this.label = label;
    this.events = [];
    this.disconnects = 0;
    this.connects = 0;
    this.socket = gen.io(requireURL(), {
      forceNew: true,
      autoConnect: false,
      reconnection: false,
      timeout: WAIT_MS,
      extraHeaders: { "x-lb-client": label },
      ...mode.opts,
      ...extra,
    });
    const t0 = Date.now();
    const log = (s) => this.events.push(`+${Date.now() - t0}ms ${s}`);
    this.socket.on("connect", () => {
      this.connects++;
      log(`connect ${this.socket.id} via ${transportOf(this.socket)}`);
    });
    this.socket.on("disconnect", (reason) => {
      this.disconnects++;
      log(`disconnect: ${reason}`);
    });
    this.socket.on("connect_error", (err) => log(`connect_error: ${err && (err.message || err)} ${err && err.description}`));
    this.socket.on("error", (err) => log(`error: ${JSON.stringify(err)}`));
  }

  /** Connects, reads the session's node, joins room, waits for the final transport. */
  async start(room) {
    this.socket.connect();
    await waitConnected(this.socket);
    await this.whereAmI();
    if (room) assert.deepEqual(await emitAck(this.socket, "join", room), [true], `${this.label} joins ${room}`);
    await waitTransport(this.socket, this.mode.final, 10_000);
    return this;
  }

  /** Asks the server for the handshake's headers: X-LB-Server names the session's node. */
  async whereAmI() {
    const [hs] = await emitAck(this.socket, "handshake");
    this.node = hs.headers["x-lb-server"];
    assert.ok(this.node, `${this.label}: no x-lb-server header in the handshake (${JSON.stringify(hs.headers)})`);
    return this.node;
  }

  close() {
    try {
      this.socket.disconnect();
      this.socket.io.engine && this.socket.io.engine.close();
    } catch {
      /* ignore */
    }
  }

  toString() {
    return `${this.label} (${[this.nodes || [this.node]].flat().join(" then ")}): ${this.events.join("; ")}`;
  }
}

/** Deterministic binary payload of message n from client i. */
export function blob(i, n) {
  const b = Buffer.alloc(256);
  for (let k = 0; k < b.length; k++) b[k] = (i * 31 + n * 7 + k) & 0xff;
  return b;
}

/** Resolves when cond() holds, polling; rejects after ms with what(). */
export async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { within, WAIT_MS };
