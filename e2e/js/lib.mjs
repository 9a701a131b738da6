// Shared helpers for the Switchboard interop tests (socket.io-client 4.8 against
// the "conformance" app). Every wait is bounded so that a broken server makes a
// test fail with a message instead of hanging.

import { io, Manager } from "socket.io-client";

/** Base URL of the server under test, e.g. http://127.0.0.1:3000 */
export const BASE_URL = (process.env.SWITCHBOARD_URL || "").replace(/\/+$/, "");

/** Default bound for a single wait (connect, one event, one ack). */
export const WAIT_MS = Number(process.env.SWITCHBOARD_WAIT_MS || 5000);

/**
 * The three transport modes every behaviour is checked under.
 * - websocket: WebSocket from the first request, no polling at all.
 * - polling:   HTTP long-polling only, never upgraded.
 * - default:   polling first, then upgraded to WebSocket (asserted).
 */
export const MODES = [
  { name: "websocket-only", opts: { transports: ["websocket"] }, first: "websocket", final: "websocket" },
  { name: "polling-only", opts: { transports: ["polling"] }, first: "polling", final: "polling" },
  { name: "default (polling + upgrade)", opts: {}, first: "polling", final: "websocket" },
];

export function requireURL() {
  if (!BASE_URL) {
    throw new Error("SWITCHBOARD_URL is not set (e.g. SWITCHBOARD_URL=http://127.0.0.1:3000)");
  }
  return BASE_URL;
}

/** Common client options: no shared managers between tests, quick reconnects. */
export function clientOptions(mode, extra = {}) {
  return {
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: WAIT_MS,
    ...mode.opts,
    ...extra,
  };
}

/** Connection history of a socket made by Clients (disconnect reasons etc.), for error messages. */
function history(emitter) {
  const log = emitter && emitter.__switchboardLog;
  return log && log.length ? ` [socket history: ${log.join("; ")}]` : "";
}

/**
 * Resolves with the args of the next `event` on `emitter`, rejects after `ms`.
 * Listeners are removed in both cases.
 */
export function once(emitter, event, ms = WAIT_MS, what = `event "${event}"`) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${ms}ms waiting for ${what}${history(emitter)}`));
    }, ms);
    function onEvent(...args) {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args);
    }
    emitter.on(event, onEvent);
  });
}

/**
 * Collects the args of the first `count` occurrences of `event`.
 */
export function collect(emitter, event, count, ms = WAIT_MS, what = `${count} x "${event}"`) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${ms}ms waiting for ${what}: got ${got.length}${history(emitter)}`));
    }, ms);
    function onEvent(...args) {
      got.push(args);
      if (got.length === count) {
        clearTimeout(timer);
        emitter.off(event, onEvent);
        resolve(got);
      }
    }
    emitter.on(event, onEvent);
  });
}

/** Resolves when `socket` is connected; rejects on connect_error or timeout. */
export function waitConnect(socket, ms = WAIT_MS) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms}ms connecting to namespace "${socket.nsp}"${history(socket)}`));
    }, ms);
    function onConnect() {
      cleanup();
      resolve();
    }
    function onError(err) {
      cleanup();
      reject(new Error(`connect_error on namespace "${socket.nsp}": ${err && err.message}`));
    }
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** Resolves when no `event` arrived within `ms`; rejects if one did. */
export function expectSilence(emitter, event, ms, what = `no "${event}"`) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      resolve();
    }, ms);
    function onEvent(...args) {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      reject(new Error(`expected ${what}, got "${event}" with ${JSON.stringify(args)}`));
    }
    emitter.on(event, onEvent);
  });
}

/** Rejects with a descriptive error if `promise` is not settled within `ms`. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Current engine transport name of a socket ("polling" | "websocket"). */
export function transportOf(socket) {
  const engine = socket.io.engine;
  return engine && engine.transport ? engine.transport.name : undefined;
}

/**
 * Resolves once the socket's engine runs on `name`, waiting for the engine's
 * "upgrade" event when needed.
 */
export async function waitTransport(socket, name, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (transportOf(socket) !== name) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`transport is "${transportOf(socket)}", expected "${name}" within ${ms}ms`);
    }
    const engine = socket.io.engine;
    await Promise.race([
      once(engine, "upgrade", left).catch(() => {}),
      new Promise((r) => setTimeout(r, Math.min(left, 50))),
    ]);
  }
}

/** Normalizes whatever binary type the client hands out to a Buffer. */
export function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(new Uint8Array(x));
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`not binary: ${Object.prototype.toString.call(x)} ${JSON.stringify(x)}`);
}

/**
 * Tracks the sockets and managers a test opens so they can all be closed in an
 * afterEach hook, even when the test failed half-way.
 */
export class Clients {
  constructor() {
    this.sockets = [];
    this.managers = [];
  }

  /**
   * Opens a socket on namespace `nsp` (its own Manager) with the given mode.
   * The socket is created with autoConnect:false; listeners registered before
   * `await c.connect(socket)` see every event sent right after the handshake.
   */
  socket(mode, nsp = "/", extra = {}) {
    const url = requireURL() + (nsp === "/" ? "" : nsp);
    const socket = io(url, clientOptions(mode, { autoConnect: false, ...extra }));
    this.sockets.push(socket);
    return record(socket);
  }

  /** A Manager shared by several namespaces (multiplexing). */
  manager(mode, extra = {}) {
    const manager = new Manager(requireURL(), clientOptions(mode, { autoConnect: false, ...extra }));
    this.managers.push(manager);
    return manager;
  }

  track(socket) {
    this.sockets.push(socket);
    return record(socket);
  }

  /** Connects and checks the initial transport of the given mode. */
  async connect(socket, mode) {
    socket.connect();
    await waitConnect(socket);
    if (mode && mode.first === "websocket" && transportOf(socket) !== "websocket") {
      throw new Error(`websocket-only client runs on "${transportOf(socket)}"`);
    }
    return socket;
  }

  closeAll() {
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {
        /* ignore */
      }
    }
    for (const m of this.managers) {
      try {
        m.disconnect();
      } catch {
        /* ignore */
      }
    }
    this.sockets = [];
    this.managers = [];
  }
}

/** Keeps a short connection history on the socket for timeout messages. */
function record(socket) {
  const log = [];
  const t0 = Date.now();
  const at = () => `+${Date.now() - t0}ms`;
  socket.__switchboardLog = log;
  socket.on("connect", () => log.push(`${at()} connect via ${transportOf(socket)}`));
  socket.on("disconnect", (reason, desc) =>
    log.push(`${at()} disconnect: ${reason}${desc && desc.description ? ` (${desc.description})` : ""}`),
  );
  socket.on("connect_error", (err) => log.push(`${at()} connect_error: ${err && err.message}`));
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    if (engine) engine.on("upgrade", (tr) => log.push(`${at()} upgrade to ${tr && tr.name}`));
  });
  return socket;
}

let seq = 0;
/** A name unique to this process, for rooms shared by concurrently running test files. */
export function uniqueName(prefix) {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}
