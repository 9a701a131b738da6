package browser

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/testcert"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// startWebTransport starts the default app with WebTransport on, its
// certificate generated here; listen, if not empty, is webtransport.listen.
// It returns the base URL and the certificate's hash, as the page takes it.
func startWebTransport(t *testing.T, listen string) (base, hash string) {
	t.Helper()
	cert := testcert.New(t)
	base = testserver.Start(t, "default", testserver.RelaxedHeartbeat, func(c *config.Config) {
		c.WebTransport = &config.WebTransport{Listen: listen, CertFile: cert.CertFile, KeyFile: cert.KeyFile}
		c.Metrics.Listen = "" // scraped on the main listener
	})
	return strings.TrimRight(base, "/"), hex.EncodeToString(cert.Hash[:])
}

// startChromiumQUIC starts Chromium with QUIC on (the harness turns it off
// for the other tests: nothing else needs it).
func startChromiumQUIC(t *testing.T) context.Context {
	return chromium.Start(t, chromium.Path(t), chromedp.Flag("disable-quic", false))
}

// TestChatOverWebTransport: the shipped chat page in headless Chromium,
// connected over WebTransport (directly, and upgraded from polling), chats
// with users on WebSocket and on polling: everyone sees everyone, and every
// message reaches everyone.
func TestChatOverWebTransport(t *testing.T) {
	base, hash := startWebTransport(t, "")
	browser := startChromiumQUIC(t)

	users := []struct {
		name, query, transport string
	}{
		{"carol", "?transports=webtransport&cert_hash=" + hash, "webtransport"},
		{"dave", "?transports=polling,webtransport&cert_hash=" + hash, "webtransport"}, // upgraded
		{"alice", "?transports=websocket", "websocket"},
		{"bob", "?transports=polling", "polling"},
	}
	var all []*user
	var names []string
	for _, u := range users {
		names = append(names, u.name)
	}
	for _, spec := range users {
		u := newUser(t, browser, spec.name)
		dumpOnFailure(t, u)
		u.login(base + "/" + spec.query)
		u.waitJS("transport "+spec.transport, jsTransportIs, spec.transport)
		all = append(all, u)
	}
	for _, u := range all {
		u.waitJS("everyone listed in #users", jsUsersInclude, names)
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i, from := range all {
		text := "hello from " + from.name + " over " + users[i].transport + " " + stamp
		from.send(text)
		for _, to := range all {
			to.waitMessage(from.name, text)
		}
	}
	// Still on their transports: nothing fell back meanwhile.
	for i, u := range all {
		u.waitJS("still on "+users[i].transport, jsTransportIs, users[i].transport)
	}
	// The server sees them so too: the sockets by transport, from
	// Socket.Transport, which the Admin UI's transport column shows.
	metrics := scrape(t, base)
	for _, line := range []string{
		`switchboard_sockets{namespace="/",transport="webtransport"} 2`,
		`switchboard_sockets{namespace="/",transport="websocket"} 1`,
		`switchboard_sockets{namespace="/",transport="polling"} 1`,
		`switchboard_engine_sessions{transport="webtransport"} 2`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %s:\n%s", line, grepLines(metrics, "transport="))
		}
	}
}

// scrape returns the server's metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestChatOverWebTransportCluster: two nodes on one Redis (the pub/sub
// adapter): a user on WebTransport on one node and a user on WebSocket on
// the other see each other and each other's messages.
func TestChatOverWebTransportCluster(t *testing.T) {
	cert := testcert.New(t)
	redis := testserver.StartRedis(t)
	node := func() string {
		return strings.TrimRight(testserver.Start(t, "default", testserver.RelaxedHeartbeat, func(c *config.Config) {
			c.WebTransport = &config.WebTransport{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
			c.Adapter = config.Adapter{Type: config.AdapterRedis, URL: redis.URL(), KeyPrefix: "socket.io", RequestTimeout: 3 * time.Second}
			c.Metrics.Listen = ""
		}), "/")
	}
	a, b := node(), node()
	browser := startChromiumQUIC(t)
	hash := hex.EncodeToString(cert.Hash[:])
	gina := newUser(t, browser, "gina")
	hal := newUser(t, browser, "hal")
	dumpOnFailure(t, gina, hal)
	gina.login(a + "/?transports=webtransport&cert_hash=" + hash)
	gina.waitJS("transport webtransport", jsTransportIs, "webtransport")
	hal.login(b + "/?transports=websocket")
	for _, u := range []*user{gina, hal} {
		u.waitJS("both listed in #users", jsUsersInclude, []string{"gina", "hal"})
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	gina.send("from node a over webtransport " + stamp)
	hal.waitMessage("gina", "from node a over webtransport "+stamp)
	hal.send("from node b over websocket " + stamp)
	gina.waitMessage("hal", "from node b over websocket "+stamp)
}

// TestWebTransportFallback: where WebTransport does not answer (UDP
// blocked; here, nothing listens on the page's port in UDP), a page with
// the default transports ends on WebSocket, as with the Node server.
func TestWebTransportFallback(t *testing.T) {
	base, hash := startWebTransport(t, "127.0.0.1:0") // another UDP port than the page's
	browser := startChromiumQUIC(t)
	u := newUser(t, browser, "erin")
	dumpOnFailure(t, u)
	u.login(base + "/?cert_hash=" + hash)
	u.waitJS("transport websocket", jsTransportIs, "websocket")
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	u.send("still here " + stamp)
	u.waitMessage("erin", "still here "+stamp)
}

// jsSocketIOOverWebTransport runs in a page of the conformance server: a
// socket on WebTransport, one on WebSocket and one on polling, in one
// room. The WebTransport socket sends events with binary to the room,
// acknowledges the server and is acknowledged, then loses its connection:
// it recovers (same id, room) with the room message it missed.
const jsSocketIOOverWebTransport = `async (hash) => {
	await new Promise((ok, fail) => { const s = document.createElement("script"); s.src = "/socket.io/socket.io.min.js"; s.onload = ok; s.onerror = fail; document.head.appendChild(s); });
	const bytes = Uint8Array.from(hash.match(/../g).map((h) => parseInt(h, 16)));
	const wtOpts = { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value: bytes }] } };
	const open = (transports) => new Promise((ok, fail) => {
		const s = io({ transports, transportOptions: wtOpts, reconnectionDelay: 100, reconnectionDelayMax: 200 });
		s.once("connect", () => ok(s));
		s.once("connect_error", (e) => fail(new Error(transports + ": " + e.message)));
	});
	const wt = await open(["webtransport"]), ws = await open(["websocket"]), poll = await open(["polling"]);
	const out = { transports: [wt, ws, poll].map((s) => s.io.engine.transport.name) };
	for (const s of [wt, ws, poll]) if (!(await s.emitWithAck("join", "r"))) throw new Error("join refused");
	// With recovery on, a broadcast's last argument is its offset (the
	// client keeps it there, as from the Node server): not compared.
	const strip = (a) => a.length && /^[\w-]+-\d+$/.test(a[a.length - 1]) ? a.slice(0, -1) : a;
	const got = (s) => new Promise((ok) => s.once("room-message", (...a) => ok(strip(a))));
	const [atWS, atPoll] = [got(ws), got(poll)];
	wt.emit("to-room", "r", "text", new Uint8Array([1, 2, 3]));
	const show = (a) => a.map((x) => x instanceof ArrayBuffer ? "bin:" + Array.from(new Uint8Array(x)) : x);
	out.atWebSocket = show(await atWS);
	out.atPolling = show(await atPoll);
	out.ack = show(await new Promise((ok) => wt.emit("message-with-ack", 1, "two", new Uint8Array([4, 5]), (...a) => ok(a))));
	wt.once("server-ack-request", (arg, cb) => cb("answered over " + wt.io.engine.transport.name));
	const result = new Promise((ok) => wt.once("server-ack-result", (...a) => ok(strip(a))));
	wt.emit("request-ack", "q");
	out.serverAck = await result;
	// Recovery: cut the connection, have the room get a message meanwhile.
	const id = wt.id;
	const back = new Promise((ok) => wt.once("connect", ok));
	const missed = got(wt);
	wt.io.engine.close();
	ws.emit("to-room", "r", "while you were away");
	await back;
	out.recovered = wt.recovered && wt.id === id;
	out.transportAfter = wt.io.engine.transport.name;
	out.missed = show(await missed);
	out.roomsAfter = (await wt.emitWithAck("whoami")).rooms.includes("r");
	for (const s of [wt, ws, poll]) s.close();
	return JSON.stringify(out);
}`

// TestSocketIOOverWebTransport: events with binary to a room with
// WebSocket and polling members, acks both ways, and connection state
// recovery, from a page whose socket is on WebTransport.
func TestSocketIOOverWebTransport(t *testing.T) {
	cert := testcert.New(t)
	base := strings.TrimRight(testserver.Start(t, "conformance", testserver.RelaxedHeartbeat, func(c *config.Config) {
		c.WebTransport = &config.WebTransport{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
		c.SocketIO.ConnectionStateRecovery.Enabled = true
		c.Metrics.Enabled, c.Metrics.Listen = true, "" // scraped below
	}), "/")
	u := newUser(t, startChromiumQUIC(t), "page")
	dumpOnFailure(t, u)
	u.do("open the server's origin", chromedp.Navigate(base+"/socket.io/"))
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("("+jsSocketIOOverWebTransport+")("+strconv.Quote(hex.EncodeToString(cert.Hash[:]))+")", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"transports":["webtransport","websocket","polling"],` +
		`"atWebSocket":["text","bin:1,2,3"],"atPolling":["text","bin:1,2,3"],` +
		`"ack":[1,"two","bin:4,5"],"serverAck":["answered over webtransport"],` +
		`"recovered":true,"transportAfter":"webtransport","missed":["while you were away"],"roomsAfter":true}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The metrics count the WebTransport session and its reconnection.
	metrics := scrape(t, base)
	if line := `switchboard_handshakes_total{transport="webtransport"} 2`; !strings.Contains(metrics, line+"\n") {
		t.Fatalf("metrics lack %s:\n%s", line, grepLines(metrics, "transport="))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
