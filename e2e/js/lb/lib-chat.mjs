// Helpers for the chat scripts of the load-balancer tests (e2e/lb): users
// of the built-in chat (the app at "/" in config.yaml, the one static/app.js
// talks to), with socket.io-client 2.x, 3.x or 4.x, and plain WebSocket
// clients of the raw bridge. Each keeps what it was last told: the number
// of users, the room list, each room's members, the messages it got.

import assert from "node:assert/strict";
import { io as ioV4 } from "socket.io-client";
import ioV2 from "socket.io-client-v2";
import ioV3 from "socket.io-client-v3";
import WebSocket from "ws";

import { requireURL, waitTransport, WAIT_MS } from "../lib.mjs";
import { waitConnected, emitAck } from "../lib-legacy.mjs";

export { emitAck, WAIT_MS };

export const GEN = { v2: ioV2, v3: ioV3, v4: ioV4 };
export const POLLING = { transports: ["polling"] };
export const UPGRADE = { transports: ["polling", "websocket"] };

/** LB_NODE_TAGS: session-id tag -> node name (set by the Go test on a cluster). */
export const NODE_TAGS = process.env.LB_NODE_TAGS ? JSON.parse(process.env.LB_NODE_TAGS) : null;

/** Resolves when cond() holds, polling; rejects after ms with what(). */
export async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms: ${what()}`);
    await sleep(20);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A Socket.IO chat user. */
export class ChatUser {
  constructor(gen, name, opts, extra = {}) {
    this.gen = gen;
    this.name = name;
    this.final = opts.transports.includes("websocket") ? "websocket" : "polling";
    this.log = [];
    this.errors = [];
    this.disconnects = 0;
    this.numUsers = undefined;
    this.rooms = undefined; // last room list
    this.roomUsers = {}; // room -> last "room users"
    this.messages = []; // "new message" payloads, in arrival order
    this.typing = []; // "typing" / "stop typing" events
    this.joined = []; // "user joined" usernames
    this.left = []; // "user left" usernames
    this.login = undefined;
    this.socket = GEN[gen](requireURL(), {
      forceNew: true,
      autoConnect: false,
      reconnection: false,
      timeout: WAIT_MS,
      ...opts,
      ...extra,
    });
    const s = this.socket;
    const t0 = Date.now();
    const log = (x) => this.log.push(`+${Date.now() - t0}ms ${x}`);
    s.on("connect", () => log(`connect ${s.id}`));
    s.on("disconnect", (r) => {
      this.disconnects++;
      log(`disconnect ${r}`);
    });
    s.on("connect_error", (e) => {
      this.errors.push(`connect_error ${e && e.message}`);
      log(`connect_error ${e && e.message}`);
    });
    s.on("error", (e) => this.errors.push(`error ${JSON.stringify(e)}`));
    s.on("login", (d) => {
      this.login = d;
      this.numUsers = d.numUsers;
      this.rooms = d.rooms;
    });
    s.on("user joined", (d) => {
      this.joined.push(d.username);
      this.numUsers = d.numUsers;
      log(`user joined ${d.username} ${d.numUsers}`);
    });
    s.on("user left", (d) => {
      this.left.push(d.username);
      this.numUsers = d.numUsers;
      log(`user left ${d.username} ${d.numUsers}`);
    });
    s.on("rooms", (r) => (this.rooms = r));
    s.on("room users", (d) => (this.roomUsers[d.room] = d.users));
    s.on("new message", (m) => this.messages.push(m));
    s.on("typing", (e) => this.typing.push(`typing ${e.username} ${e.room}`));
    s.on("stop typing", (e) => this.typing.push(`stop typing ${e.username} ${e.room}`));
  }

  /** Connects and says its name; resolves with the "login" payload. */
  async enter() {
    this.socket.connect();
    await waitConnected(this.socket);
    const got = new Promise((resolve) => this.socket.once("login", resolve));
    this.socket.emit("add user", this.name);
    const login = await Promise.race([got, sleep(WAIT_MS).then(() => null)]);
    assert.ok(login, `${this}: no "login" within ${WAIT_MS}ms`);
    return login;
  }

  /** The node holding the session (from its id's tag), on a cluster. */
  node() {
    const id = this.socket.io.engine && this.socket.io.engine.id;
    return NODE_TAGS && id ? NODE_TAGS[id.slice(0, 8)] || `?${id.slice(0, 8)}` : "one node";
  }

  waitTransport() {
    return waitTransport(this.socket, this.final, 10_000);
  }

  /** Messages from who, in arrival order. */
  from(who) {
    return this.messages.filter((m) => m.username === who);
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
    return `${this.name} (${this.gen} ${this.final}, ${this.node()}): ${this.log.join("; ")}`;
  }
}

/** A plain WebSocket client of the raw bridge at "/". */
export class RawUser {
  constructor(label) {
    this.label = label;
    this.frames = [];
    this.closed = false;
    this.ws = new WebSocket(requireURL().replace(/^http/, "ws") + "/");
    this.ws.on("message", (data, binary) => {
      if (!binary) this.frames.push(data.toString());
    });
    this.ws.on("close", (code) => {
      this.closed = true;
      this.code = code;
    });
    this.ws.on("error", () => {});
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
  }

  send(text) {
    this.ws.send(text);
  }

  close() {
    this.ws.close();
  }
}

/** The room list one node would show: the lobby first, then by name. */
export function roomList(counts) {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => (a.name === "general" ? -1 : b.name === "general" ? 1 : a.name < b.name ? -1 : 1));
}

export const sorted = (names) => [...names].sort();
