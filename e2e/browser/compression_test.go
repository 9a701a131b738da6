package browser

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Compression with headless Chromium and the 4.x bundle the server serves,
// against the conformance app (socketio.per_message_deflate and
// http_compression on, threshold 1024): Chromium always offers
// permessage-deflate and sends Accept-Encoding: gzip. The test counts the
// bytes on the TCP connections between the browser and the server while a
// large message is echoed: over WebSocket it is compressed both ways (the
// browser compresses what it sends), over polling the responses are
// gzip-encoded (request bodies never are).

const compressionPage = `<!doctype html>
<meta charset="utf-8">
<title>compression</title>
<script src="/socket.io/socket.io.js"></script>
<script>
const line = '{"username":"zoë","message":"hello, world — ça va? 😀","room":"general"} ';
const text = (n) => line.repeat(Math.ceil(n / line.length)).slice(0, n);
const wait = (emitter, ev, ms = 10000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("timeout waiting for " + ev)), ms);
  emitter.once(ev, (...args) => { clearTimeout(t); resolve(args); });
});
window.__steps = {};
const run = (name, fn) => {
  window.__steps[name] = null;
  fn().then((v) => { window.__steps[name] = { ok: v }; }, (e) => { window.__steps[name] = { error: String(e && e.stack || e) }; });
  return name;
};
let socket;
window.connectWith = (transport) => run("connect " + transport, async () => {
  if (socket) socket.close();
  socket = io({ transports: [transport], forceNew: true });
  await wait(socket, "connect");
  return socket.io.engine.transport.name;
});
window.echoText = (n) => run("text " + n, async () => {
  const t = text(n);
  const got = wait(socket, "message-back");
  socket.emit("message", t);
  const [back] = await got;
  return back === t;
});
window.echoASCII = (n) => run("ascii " + n, async () => {
  const t = "a".repeat(n);
  const got = wait(socket, "message-back");
  socket.emit("message", t);
  const [back] = await got;
  return back === t;
});
window.echoBinary = (n) => run("binary " + n, async () => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 7;
  const got = wait(socket, "message-back");
  socket.emit("message", b.buffer);
  const [back] = await got;
  const r = new Uint8Array(back);
  return r.length === n && r.every((x, i) => x === i % 7);
});
</script>`

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	in, out *atomic.Int64 // browser -> server, server -> browser
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

func TestBrowserCompression(t *testing.T) {
	execPath := chromium.Path(t)
	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	if !cfg.SocketIO.PerMessageDeflate.Enabled || !cfg.SocketIO.HTTPCompression.Enabled {
		t.Fatal("the conformance profile must have compression on")
	}
	a, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/compression/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(compressionPage))
	})
	mux.Handle("/", a.Handler())
	var in, out atomic.Int64
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = countingListener{Listener: srv.Listener, in: &in, out: &out}
	serve.StartServer(t, srv, a.Shutdown)

	browserCtx := chromium.Start(t, execPath)
	u := newUser(t, browserCtx, "compression")
	dumpOnFailure(t, u)
	u.do("open the page", chromedp.Navigate(srv.URL+"/compression/"))
	u.waitJS("the page's script", `() => typeof window.echoText === "function"`)

	// step runs a page function and returns its result and the bytes each
	// way meanwhile.
	step := func(call string) (result any, up, down int64) {
		t.Helper()
		in0, out0 := in.Load(), out.Load()
		name := u.eval(call)
		u.waitJS(name, `(n) => window.__steps[n] != null`, name)
		raw := u.eval(`JSON.stringify(window.__steps[` + strconv.Quote(name) + `])`)
		var r struct {
			OK    any `json:"ok"`
			Error string
		}
		if err := json.Unmarshal([]byte(raw), &r); err != nil || r.Error != "" {
			t.Fatalf("%s: %s (%v)", call, raw, err)
		}
		return r.OK, in.Load() - in0, out.Load() - out0
	}

	const big = 300_000
	if got, _, _ := step(`connectWith("websocket")`); got != "websocket" {
		t.Fatalf("transport %v", got)
	}
	if ok, up, down := step(`echoText(` + strconv.Itoa(big) + `)`); ok != true {
		t.Errorf("WebSocket: the large text came back different")
	} else if up > big/10 || down > big/10 {
		t.Errorf("WebSocket: %d bytes up and %d down for a %d-byte message each way: not compressed", up, down, big)
	} else {
		t.Logf("WebSocket: %d-byte text echoed with %d bytes up, %d down", big, up, down)
	}
	if ok, up, down := step(`echoBinary(` + strconv.Itoa(big) + `)`); ok != true {
		t.Errorf("WebSocket: the large binary came back different")
	} else if up > big/10 || down > big/10 {
		t.Errorf("WebSocket binary: %d bytes up and %d down for %d bytes each way: not compressed", up, down, big)
	}
	if ok, _, down := step(`echoASCII(900)`); ok != true || down < 900 {
		t.Errorf("WebSocket: a message under the threshold: ok %v, %d bytes down (want it plain)", ok, down)
	}

	if got, _, _ := step(`connectWith("polling")`); got != "polling" {
		t.Fatalf("transport %v", got)
	}
	if ok, up, down := step(`echoText(` + strconv.Itoa(big) + `)`); ok != true {
		t.Errorf("polling: the large text came back different")
	} else if up < big || down > big/10 {
		t.Errorf("polling: %d bytes up and %d down for a %d-byte message each way: want the response gzip-encoded", up, down, big)
	} else {
		t.Logf("polling: %d-byte text echoed with %d bytes up, %d down", big, up, down)
	}
	if ok, _, _ := step(`echoBinary(` + strconv.Itoa(big) + `)`); ok != true {
		t.Errorf("polling: the large binary came back different")
	}
}
