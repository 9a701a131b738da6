// Encodes values with notepack.io (the codec of @socket.io/redis-adapter)
// for the Go codec's cross-check: stdin is a JSON array of values, where
// {"$bin": "<base64>"} is a Buffer; stdout is a JSON array of hex strings.
import msgpack from "notepack.io";

const dec = (v) => {
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x)]));
  }
  return v;
};
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const values = JSON.parse(input).map(dec);
  process.stdout.write(JSON.stringify(values.map((v) => msgpack.encode(v).toString("hex"))));
});
