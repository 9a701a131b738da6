// Compression with the real npm clients: socket.io-client 4.8.4 (and 2.5.0,
// 3.1.3) in Node.js use the `ws` library, which offers permessage-deflate
// (RFC 7692) and compresses messages of 1024 bytes or more. The server under
// test runs e2e/conformance/conformance.yaml, where socketio.per_message_deflate is
// on with threshold 1024.
//
// That a message really travelled compressed is read off the TCP socket under
// the WebSocket: the bytes read (server -> client) or written (client ->
// server) while a large, repetitive message crosses are far fewer than the
// message itself. Messages under the threshold cross as they are.

import { describe, test, afterEach, before } from "node:test";
import assert from "node:assert/strict";

import { Clients, once, requireURL, toBuffer, waitTransport, WAIT_MS } from "./lib.mjs";
import { GENERATIONS, waitConnected } from "./lib-legacy.mjs";

const T = { timeout: 20_000 };
const WS = { name: "websocket-only", opts: { transports: ["websocket"] }, first: "websocket", final: "websocket" };

before(() => {
  requireURL();
});

/** The `ws` WebSocket under a connected 4.x socket. */
function wsOf(socket) {
  const ws = socket.io.engine.transport.ws;
  assert.ok(ws && ws._socket, "no ws WebSocket under the engine transport");
  return ws;
}

/** Bytes read and written on the TCP socket while `fn` runs. */
async function wireBytes(ws, fn) {
  const r0 = ws._socket.bytesRead;
  const w0 = ws._socket.bytesWritten;
  const result = await fn();
  return { result, read: ws._socket.bytesRead - r0, written: ws._socket.bytesWritten - w0 };
}

/** A large JSON-ish text that compresses well. */
function chatText(bytes) {
  const line = '{"username":"zoë","message":"hello, world — ça va?","room":"general"} ';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

describe("permessage-deflate with socket.io-client 4.8.4", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  test("the extension is negotiated, without context takeover either way", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const ws = wsOf(socket);
    assert.equal(ws.extensions, "permessage-deflate");
    const params = ws._extensions["permessage-deflate"].params;
    assert.equal(params.server_no_context_takeover, true, JSON.stringify(params));
    assert.equal(params.client_no_context_takeover, true, JSON.stringify(params));
  });

  test("a large text message travels compressed both ways", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const ws = wsOf(socket);
    const text = chatText(200_000);
    const { result, read, written } = await wireBytes(ws, async () => {
      const back = once(socket, "message-back");
      socket.emit("message", text);
      return back;
    });
    assert.deepEqual(result, [text]);
    // 200 kB of repetitive text deflates to a few kB.
    assert.ok(written < 20_000, `client -> server: ${written} bytes on the wire for ${text.length} bytes`);
    assert.ok(read < 20_000, `server -> client: ${read} bytes on the wire for ${text.length} bytes`);
  });

  test("a small message (under the threshold) travels as it is", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const ws = wsOf(socket);
    const text = "a".repeat(900); // would deflate to a few bytes
    const { result, read, written } = await wireBytes(ws, async () => {
      const back = once(socket, "message-back");
      socket.emit("message", text);
      return back;
    });
    assert.deepEqual(result, [text]);
    assert.ok(written >= 900, `client -> server: ${written} bytes on the wire`);
    assert.ok(read >= 900, `server -> client: ${read} bytes on the wire`);
  });

  test("binary attachments travel compressed both ways", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const ws = wsOf(socket);
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 7;
    const { result, read, written } = await wireBytes(ws, async () => {
      const back = once(socket, "message-back");
      socket.emit("message", { name: "blob", data }, data.subarray(0, 5000));
      return back;
    });
    assert.equal(result[0].name, "blob");
    assert.ok(toBuffer(result[0].data).equals(data), "nested binary differs");
    assert.ok(toBuffer(result[1]).equals(data.subarray(0, 5000)), "top-level binary differs");
    assert.ok(written < 10_000, `client -> server: ${written} bytes on the wire`);
    assert.ok(read < 10_000, `server -> client: ${read} bytes on the wire`);
  });

  test("incompressible binary still arrives intact", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const data = Buffer.from(Array.from({ length: 50_000 }, () => Math.floor(Math.random() * 256)));
    const back = once(socket, "message-back");
    socket.emit("message", data);
    const [got] = await back;
    assert.ok(toBuffer(got).equals(data));
  });

  test("many large messages in a row arrive in order", T, async () => {
    const socket = clients.socket(WS);
    await clients.connect(socket, WS);
    const texts = Array.from({ length: 50 }, (_, i) => `${i}:` + chatText(5_000 + i * 37));
    const got = [];
    const all = new Promise((resolve) =>
      socket.on("message-back", (t) => {
        got.push(t);
        if (got.length === texts.length) resolve();
      }),
    );
    for (const t of texts) socket.emit("message", t);
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`got ${got.length}`)), WAIT_MS * 2))]);
    assert.deepEqual(got, texts);
  });

  test("a room broadcast reaches compressing and plain clients alike", T, async () => {
    const a = clients.socket(WS);
    const b = clients.socket(WS, "/", { perMessageDeflate: false });
    const sender = clients.socket(WS);
    await Promise.all([clients.connect(a, WS), clients.connect(b, WS), clients.connect(sender, WS)]);
    assert.equal(wsOf(b).extensions, "", "a client that does not offer the extension must not get it");
    const room = `deflate-${Date.now()}`;
    for (const s of [a, b]) {
      const joined = new Promise((resolve) => s.emit("join", room, resolve));
      assert.equal(await joined, true);
    }
    const text = chatText(50_000);
    const wa = wsOf(a);
    const wb = wsOf(b);
    const ra = wa._socket.bytesRead;
    const rb = wb._socket.bytesRead;
    const gotA = once(a, "room-message");
    const gotB = once(b, "room-message");
    sender.emit("to-room", room, text);
    assert.deepEqual(await gotA, [text]);
    assert.deepEqual(await gotB, [text]);
    assert.ok(wa._socket.bytesRead - ra < 10_000, `compressing client read ${wa._socket.bytesRead - ra} bytes`);
    assert.ok(wb._socket.bytesRead - rb >= text.length, `plain client read ${wb._socket.bytesRead - rb} bytes`);
  });

  test("a message that inflates past max_payload closes that connection only", T, async () => {
    const bystander = clients.socket(WS);
    const socket = clients.socket(WS, "/", { reconnection: false });
    await Promise.all([clients.connect(bystander, WS), clients.connect(socket, WS)]);
    const ws = wsOf(socket);
    assert.equal(ws.extensions, "permessage-deflate");
    const w0 = ws._socket.bytesWritten;
    const closed = once(ws, "close", WAIT_MS, "the WebSocket close");
    const disconnected = once(socket, "disconnect");
    // 1.5 MB of text deflates to a few kB: under max_payload (1,000,000
    // bytes) on the wire, over it once inflated.
    socket.emit("message", "x".repeat(1_500_000));
    const [code] = await closed;
    assert.equal(code, 1009);
    const written = ws._socket.bytesWritten - w0;
    assert.ok(written < 100_000, `${written} bytes on the wire: not compressed`);
    await disconnected;
    const back = once(bystander, "message-back");
    bystander.emit("message", "still here");
    assert.deepEqual(await back, ["still here"]);
  });

  test("polling + upgrade: the upgraded WebSocket compresses too", T, async () => {
    const mode = { name: "default", opts: {}, first: "polling", final: "websocket" };
    const socket = clients.socket(mode);
    await clients.connect(socket, mode);
    await waitTransport(socket, "websocket");
    const ws = wsOf(socket);
    assert.equal(ws.extensions, "permessage-deflate");
    const text = chatText(100_000);
    const { result, read } = await wireBytes(ws, async () => {
      const back = once(socket, "message-back");
      socket.emit("message", text);
      return back;
    });
    assert.deepEqual(result, [text]);
    assert.ok(read < 15_000, `server -> client: ${read} bytes on the wire`);
  });
});

for (const gen of GENERATIONS) {
  describe(`permessage-deflate with ${gen.name}`, () => {
    let socket;
    afterEach(() => socket && socket.close());

    test("a large message travels compressed both ways", T, async () => {
      assert.equal(gen.version, gen.wantVersion);
      socket = gen.io(requireURL(), { transports: ["websocket"], forceNew: true, reconnection: false });
      await waitConnected(socket);
      const ws = socket.io.engine.transport.ws;
      assert.equal(ws.extensions ?? Object.keys(ws._extensions).join(), "permessage-deflate");
      const text = chatText(100_000);
      const r0 = ws._socket.bytesRead;
      const w0 = ws._socket.bytesWritten;
      const back = once(socket, "message-back");
      socket.emit("message", text);
      assert.deepEqual(await back, [text]);
      const read = ws._socket.bytesRead - r0;
      const written = ws._socket.bytesWritten - w0;
      assert.ok(written < 15_000, `client -> server: ${written} bytes on the wire`);
      assert.ok(read < 15_000, `server -> client: ${read} bytes on the wire`);
    });
  });
}
