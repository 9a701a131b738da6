// Publishes with @socket.io/redis-emitter 5.1, for the Go cluster tests:
// to ROOM, event EVENT with a text and a binary argument; and to the
// whole namespace, event "all" with a number.
// env: REDIS_URL, KEY, ROOM, EVENT
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();
const emitter = new Emitter(client, { key: process.env.KEY || "socket.io" });
emitter.to(process.env.ROOM).emit(process.env.EVENT, "from-emitter", Buffer.from([0, 1, 2, 253, 254, 255]), { nested: Buffer.from("bin") });
emitter.of("/").emit("all", 42);
// publish is asynchronous: let the commands go out before quitting
await client.ping();
await client.quit();
