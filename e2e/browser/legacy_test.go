package browser

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// The socket.io-client 2.5.0 browser bundle (Engine.IO v3) in headless
// Chromium, against the conformance app: the page connects over polling
// (binary payloads over XHR2), upgrades to WebSocket, and exchanges text,
// binary (ArrayBuffer) and acknowledgements on "/" and "/custom", with the
// namespace query as auth.

const legacyPage = `<!doctype html>
<meta charset="utf-8">
<title>socket.io-client 2.x</title>
<script src="/legacy/socket.io.js"></script>
<script>
const result = { steps: [] };
window.__result = result;
const bytes = (x) => Array.from(new Uint8Array(x));
const wait = (emitter, ev, ms = 8000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("timeout waiting for " + ev)), ms);
  emitter.once(ev, (...args) => { clearTimeout(t); resolve(args); });
});
const ack = (s, ...args) => new Promise((resolve) => s.emit(...args, (...res) => resolve(res)));

async function run() {
  result.protocol = io.protocol;

  // Polling only: binary payloads over XHR2, both ways.
  const p = io({ transports: ["polling"], forceNew: true });
  await wait(p, "connect");
  result.pollingTransport = p.io.engine.transport.name;
  result.pollingSupportsBinary = p.io.engine.transport.supportsBinary;
  let got = wait(p, "message-back");
  p.emit("message", new Uint8Array([1, 2, 3, 255]).buffer, "text é😀");
  const [pb, pt] = await got;
  result.pollingBinary = bytes(pb);
  result.pollingText = pt;
  p.close();

  // JSONP polling (forceJSONP): script tags and form posts.
  const j = io({ transports: ["polling"], forceJSONP: true, forceNew: true });
  await wait(j, "connect");
  result.jsonpUsed = j.io.engine.transport.query.j !== undefined;
  got = wait(j, "message-back");
  j.emit("message", "line1\nline2 \\n é😀", new Uint8Array([5, 6]).buffer);
  const [jt, jb] = await got;
  result.jsonpText = jt;
  result.jsonpBinary = bytes(jb);
  j.close();

  // Default: polling, then upgrade to WebSocket.
  // The first transport is read when the engine opens: by the time the
  // socket's "connect" fires, the upgrade may already have finished.
  const s = io({ forceNew: true });
  const upgraded = new Promise((resolve) => s.io.on("open", () => {
    result.firstTransport = s.io.engine.transport.name;
    s.io.engine.once("upgrade", (t) => resolve(t.name));
  }));
  await wait(s, "connect");
  result.socketIdIsEngineId = s.id === s.io.engine.id;
  result.upgradedTo = await upgraded;
  got = wait(s, "message-back");
  s.emit("message", { nested: new Uint8Array([9, 8, 7]).buffer }, 42);
  const [obj, n] = await got;
  result.wsBinary = bytes(obj.nested);
  result.wsNumber = n;
  result.ack = await ack(s, "message-with-ack", "ok", 1);

  // Custom namespace over the same connection, its query as auth.
  const c = s.io.socket("/custom", { query: { token: "browser" } });
  const auth = wait(c, "auth");
  c.open();
  await wait(c, "connect");
  result.customAuth = (await auth)[0];
  result.customId = c.id;
  result.engineId = s.io.engine.id;
  s.close();
  result.done = true;
}
run().catch((e) => { result.error = String(e && e.stack || e); result.done = true; });
</script>`

func TestLegacyClientBundle(t *testing.T) {
	execPath := chromium.Path(t)
	bundle := filepath.Join(testserver.Root(t), "e2e", "js", "node_modules", "socket.io-client-v2", "dist", "socket.io.js")
	_, err := os.Stat(bundle)
	testserver.Require(t, err == nil, "%s is missing (run `npm ci` in e2e/js)", bundle)

	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	a, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := testserver.ServeApp(t, a, func(next http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/legacy/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(legacyPage))
		})
		mux.HandleFunc("/legacy/socket.io.js", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, bundle)
		})
		mux.Handle("/", next)
		return mux
	})

	browserCtx := chromium.Start(t, execPath)
	u := newUser(t, browserCtx, "legacy")
	dumpOnFailure(t, u)
	u.do("open the 2.x page", chromedp.Navigate(base+"/legacy/"))
	u.waitJS("the page's scenario to finish", `() => !!(window.__result && window.__result.done)`)

	var got struct {
		Error                 string
		Protocol              int
		PollingTransport      string
		PollingSupportsBinary bool
		PollingBinary         []int
		PollingText           string
		JSONPUsed             bool   `json:"jsonpUsed"`
		JSONPText             string `json:"jsonpText"`
		JSONPBinary           []int  `json:"jsonpBinary"`
		FirstTransport        string
		SocketIDIsEngineID    bool `json:"socketIdIsEngineId"`
		UpgradedTo            string
		WSBinary              []int
		WSNumber              int
		Ack                   []any
		CustomAuth            map[string]string
		CustomID              string `json:"customId"`
		EngineID              string `json:"engineId"`
	}
	raw := u.eval(`JSON.stringify(window.__result)`)
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("page result %q: %v", raw, err)
	}
	t.Logf("page result: %s", raw)
	if got.Error != "" {
		t.Fatalf("page scenario failed: %s", got.Error)
	}
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s (page result: %s)", what, raw)
		}
	}
	check("the bundle speaks Socket.IO protocol 4 (2.x)", got.Protocol == 4)
	check("polling-only socket on polling", got.PollingTransport == "polling")
	check("XHR2 binary support in the browser", got.PollingSupportsBinary)
	check("binary echoed over polling", equalInts(got.PollingBinary, []int{1, 2, 3, 255}))
	check("text echoed over polling", got.PollingText == "text é😀")
	check("JSONP transport used", got.JSONPUsed)
	check("text echoed over JSONP", got.JSONPText == "line1\nline2 \\n é😀")
	check("binary echoed over JSONP", equalInts(got.JSONPBinary, []int{5, 6}))
	check("default socket starts on polling", got.FirstTransport == "polling")
	check("socket id is the Engine.IO id (protocol v4)", got.SocketIDIsEngineID)
	check("upgrade to websocket", got.UpgradedTo == "websocket")
	check("nested binary echoed over WebSocket", equalInts(got.WSBinary, []int{9, 8, 7}) && got.WSNumber == 42)
	check("ack", len(got.Ack) == 2 && got.Ack[0] == "ok" && got.Ack[1] == float64(1))
	check("custom namespace query as auth", got.CustomAuth["token"] == "browser")
	check("custom socket id", got.CustomID == "/custom#"+got.EngineID)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
