package conformance

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Engine.IO protocol v4. Tests named after the official test suite
// (engine.io-protocol/test-suite/test-suite.js) port its cases; the others
// check further rules of the protocol text or behaviour of the reference
// implementation.

// --- handshake --------------------------------------------------------------

// Rule: GET ?EIO=4&transport=polling opens a session; the body is one open
// packet "0" + JSON {sid, upgrades:["websocket"], pingInterval, pingTimeout,
// maxPayload} with exactly those keys.
func TestHandshakePolling(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		res := e.do(http.MethodGet, path, pollingQuery(""), "")
		if res.status != http.StatusOK {
			t.Fatalf("status: got %d, want 200", res.status)
		}
		if strings.Contains(res.body, recordSeparator) {
			t.Fatalf("handshake body %q: want a single open packet", res.body)
		}
		// The protocol's sample session answers text/plain; charset=UTF-8.
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type: got %q, want text/plain", ct)
		}
		parseOpen(t, res.body, []string{"websocket"})
	})
}

// Rule: a WebSocket-only session starts with the open packet in the first
// frame, with no further upgrade offered (upgrades: []).
func TestHandshakeWebSocket(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		c, _ := e.openWS(path) // checks the open packet
		_ = c.conn.Close()
	})
}

// Rule: every session gets a distinct sid.
func TestHandshakeDistinctSIDs(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		seen := map[string]bool{}
		for i := 0; i < 5; i++ {
			sid := e.openPolling(path)
			if seen[sid] {
				t.Fatalf("sid %q handed out twice", sid)
			}
			seen[sid] = true
		}
		_, hs := e.openWS(path)
		if seen[hs.SID] {
			t.Fatalf("sid %q handed out twice", hs.SID)
		}
	})
}

// Rule: CORS origin "*": responses carry Access-Control-Allow-Origin: * (error
// responses too) and a preflight OPTIONS request succeeds.
func TestCORS(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		hdr := http.Header{"Origin": {"http://example.com"}}
		res, err := e.doErr(http.MethodGet, path, pollingQuery(""), nil, hdr)
		if err != nil {
			t.Fatal(err)
		}
		if res.status != http.StatusOK {
			t.Fatalf("handshake status %d", res.status)
		}
		if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("handshake Access-Control-Allow-Origin: got %q, want *", got)
		}

		res, err = e.doErr(http.MethodGet, path, "EIO=4&transport=abc", nil, hdr)
		if err != nil {
			t.Fatal(err)
		}
		expectError(t, res, errTransportUnknown)
		if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("error Access-Control-Allow-Origin: got %q, want *", got)
		}

		pre := http.Header{
			"Origin":                         {"http://example.com"},
			"Access-Control-Request-Method":  {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		}
		res, err = e.doErr(http.MethodOptions, path, pollingQuery(""), nil, pre)
		if err != nil {
			t.Fatal(err)
		}
		// The reference implementation (cors middleware) answers 204.
		if res.status != http.StatusNoContent && res.status != http.StatusOK {
			t.Errorf("preflight status: got %d, want 204 (or 200)", res.status)
		}
		if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("preflight Access-Control-Allow-Origin: got %q, want *", got)
		}
		if got := res.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("preflight Access-Control-Allow-Methods: got %q, want POST allowed", got)
		}
	})
}

// Rules: invalid requests are answered 400 with a JSON body {code, message}:
// 0 Transport unknown, 1 Session ID unknown, 2 Bad handshake method,
// 3 Bad request, 5 Unsupported protocol version.
// Ports "fails with an invalid 'EIO' query parameter", "fails with an invalid
// 'transport' query parameter" and "fails with an invalid request method".
func TestHandshakeErrors(t *testing.T) {
	cases := []struct {
		name, method, query string
		code                int
	}{
		{"missing EIO", http.MethodGet, "transport=polling", errUnsupportedVersion},
		{"EIO=abc", http.MethodGet, "EIO=abc&transport=polling", errUnsupportedVersion},
		{"EIO=5", http.MethodGet, "EIO=5&transport=polling", errUnsupportedVersion},
		{"missing transport", http.MethodGet, "EIO=4", errTransportUnknown},
		{"transport=abc", http.MethodGet, "EIO=4&transport=abc", errTransportUnknown},
		{"POST handshake", http.MethodPost, "EIO=4&transport=polling", errBadHandshakeMethod},
		{"PUT handshake", http.MethodPut, "EIO=4&transport=polling", errBadHandshakeMethod},
		{"DELETE handshake", http.MethodDelete, "EIO=4&transport=polling", errBadHandshakeMethod},
		{"GET unknown sid", http.MethodGet, "EIO=4&transport=polling&sid=unknown-sid", errSessionIDUnknown},
		{"POST unknown sid", http.MethodPost, "EIO=4&transport=polling&sid=unknown-sid", errSessionIDUnknown},
		// transport=websocket over plain HTTP (no Upgrade header).
		{"websocket without upgrade", http.MethodGet, "EIO=4&transport=websocket", errBadRequest},
	}
	forPaths(t, func(t *testing.T, e *env, path string) {
		for _, tc := range cases {
			body := ""
			if tc.method == http.MethodPost {
				body = "4hello"
			}
			res := e.do(tc.method, path, tc.query, body)
			t.Run(tc.name, func(t *testing.T) { expectError(t, res, tc.code) })
		}
		// Engine.IO v3 (socket.io-client 2.x) is refused by the plain
		// Engine.IO endpoint, as by the reference's default (allowEIO3
		// false), and accepted by the Socket.IO endpoint, where the
		// configuration turns allow_eio3 on.
		res := e.do(http.MethodGet, path, "EIO=3&transport=polling", "")
		if path == eioPath {
			t.Run("EIO=3", func(t *testing.T) { expectError(t, res, errUnsupportedVersion) })
		} else if res.status != http.StatusOK || !strings.Contains(res.body, ":0{") {
			t.Errorf("EIO=3 on %s: got %d %q, want 200 with a v3 open packet", path, res.status, res.body)
		}
	})
}

// Rules: requests that name an existing session but do not fit it are
// rejected with 400 and leave the session alone.
func TestSessionRequestErrors(t *testing.T) {
	// setupSlow: the WebSocket session below does not answer pings, and
	// with the profile's 300ms/200ms heartbeat a loaded machine (the race
	// detector, packages in parallel) once took the 500 ms it has to ask
	// about it, and got "Session ID unknown". The test is not about
	// heartbeats.
	forPathsWith(t, setupSlow, func(t *testing.T, e *env, path string) {
		sid := e.openPolling(path)

		// PUT/DELETE on a live session. Node's polling transport answers 500
		// with an empty body here (only GET and POST are routed); 400 is what
		// the protocol's "invalid request method" rule implies. Both accepted.
		for _, m := range []string{http.MethodPut, http.MethodDelete} {
			e.expectStatus(m, path, pollingQuery(sid), "", http.StatusBadRequest, http.StatusInternalServerError)
		}

		// Polling request naming a WebSocket session: transport mismatch.
		_, hs := e.openWS(path)
		expectError(t, e.do(http.MethodGet, path, pollingQuery(hs.SID), ""), errBadRequest)
		expectError(t, e.do(http.MethodPost, path, pollingQuery(hs.SID), "4x"), errBadRequest)

		// Another protocol revision on an EIO=4 session: Node checks the sid
		// first and answers 3 Bad request (PROTOCOL_MISMATCH); a server that
		// checks EIO first answers 5. Both are 400.
		sid2 := e.openPolling(path)
		expectError(t, e.do(http.MethodGet, path, "EIO=3&transport=polling&sid="+sid2, ""), errBadRequest, errUnsupportedVersion)
	})
}

// Rule: a WebSocket with a missing or invalid EIO or transport, or an unknown
// sid, is refused. Ports the WebSocket "fails with an invalid 'EIO' / 'transport'
// query parameter" cases (Node answers the upgrade with HTTP 400).
func TestHandshakeWebSocketErrors(t *testing.T) {
	queries := []string{
		"transport=websocket",
		"EIO=abc&transport=websocket",
		"EIO=4",
		"EIO=4&transport=abc",
		"EIO=4&transport=websocket&sid=unknown-sid",
	}
	forPaths(t, func(t *testing.T, e *env, path string) {
		for _, q := range queries {
			e.expectWSRefused(path, q)
		}
		// EIO=3 is refused where allowEIO3 is off (the plain Engine.IO
		// endpoint); /socket.io/ accepts it (socketio.allow_eio3).
		if path == eioPath {
			e.expectWSRefused(path, "EIO=3&transport=websocket")
		}
	})
}

// --- message over HTTP long-polling (echo server) -------------------------

// Port of "sends and receives a payload containing one plain text packet".
func TestPollingMessageOne(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	e.push(eioPath, sid, "4hello")
	if got := e.pollPackets(eioPath, sid, 1); !reflect.DeepEqual(got, []string{"4hello"}) {
		t.Fatalf("got %q, want [4hello]", got)
	}
}

// Port of "sends and receives a payload containing several plain text packets":
// packets are separated by the record separator \x1e, in both directions.
func TestPollingMessageSeveral(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	e.push(eioPath, sid, "4test1\x1e4test2\x1e4test3")
	res := e.do(http.MethodGet, eioPath, pollingQuery(sid), "")
	if res.status != http.StatusOK {
		t.Fatalf("GET status %d", res.status)
	}
	// The three echoes are queued at once, so they come in one payload (a
	// ping may precede or follow them if the poll straddles pingInterval).
	body := strings.TrimSuffix(strings.TrimPrefix(res.body, "2\x1e"), "\x1e2")
	if body != "4test1\x1e4test2\x1e4test3" {
		t.Fatalf("got %q, want %q", res.body, "4test1\x1e4test2\x1e4test3")
	}
}

// Port of "sends and receives a payload containing plain text and binary
// packets": binary packets are "b" + base64 in polling payloads.
func TestPollingMessageBinary(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	e.push(eioPath, sid, "4hello\x1ebAQIDBA==")
	if got := e.pollPackets(eioPath, sid, 2); !reflect.DeepEqual(got, []string{"4hello", "bAQIDBA=="}) {
		t.Fatalf("got %q, want [4hello bAQIDBA==]", got)
	}
}

// Rule: payloads are UTF-8; multi-byte characters and empty messages survive.
func TestPollingMessageUTF8(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	want := []string{"4héllo €uro 😀", "4", "4a"}
	e.push(eioPath, sid, strings.Join(want, recordSeparator))
	if got := e.pollPackets(eioPath, sid, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Rule: a polling payload may consist of binary packets only.
func TestPollingMessageBinaryOnly(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	e.push(eioPath, sid, "b/wAB")
	if got := e.pollPackets(eioPath, sid, 1); !reflect.DeepEqual(got, []string{"b/wAB"}) {
		t.Fatalf("got %q, want [b/wAB]", got)
	}
}

// Port of "closes the session upon invalid packet format" (polling).
func TestPollingInvalidPacket(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPolling(path)
		// The official suite asserts 400 inside a try/catch that swallows
		// the failure, so any answer (or a dropped connection) passes. Node
		// answers 200 "ok" after closing the session; 400 is preferred.
		if _, err := e.doErr(http.MethodPost, path, pollingQuery(sid), strings.NewReader("abc"), nil); err != nil {
			t.Logf("POST invalid packet: %v (tolerated)", err)
		}
		e.expectSessionClosed(path, sid)
	})
}

// Port of "closes the session upon duplicate poll requests": the first GET
// gets a close packet, the second one an error, then the session is gone.
func TestPollingDuplicateGET(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		type result struct {
			res httpResp
			err error
		}
		first := make(chan result, 1)
		go func() {
			r, err := e.doErr(http.MethodGet, path, pollingQuery(sid), nil, nil)
			first <- result{r, err}
		}()
		e.sleep(settle)
		second := e.do(http.MethodGet, path, pollingQuery(sid)+"&t=burst", "")
		// The official suite accepts 400 or 500 ("the Node.js implementation
		// uses HTTP 500, but HTTP 400 seems more suitable"); engine.io 6
		// answers 400.
		if second.status != http.StatusBadRequest && second.status != http.StatusInternalServerError {
			t.Errorf("second GET: got %d, want 400 (or 500)", second.status)
		}
		r := <-first
		if r.err != nil {
			t.Fatalf("first GET: %v", r.err)
		}
		if r.res.status != http.StatusOK || r.res.body != "1" {
			t.Fatalf("first GET: got %d %q, want 200 \"1\"", r.res.status, r.res.body)
		}
		e.expectSessionClosed(path, sid)
	})
}

// Rule (protocol text): a client MUST NOT have more than one active POST;
// should it happen the server MUST answer 400 and close the session.
func TestPollingDuplicatePOST(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPolling(path)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := e.doErr(http.MethodPost, path, pollingQuery(sid), pr, nil)
			done <- err
		}()
		// Start the first POST's body and keep it open.
		if _, err := pw.Write([]byte("4partial")); err != nil {
			t.Fatal(err)
		}
		e.sleep(settle)
		second := e.do(http.MethodPost, path, pollingQuery(sid), "4second")
		_ = pw.Close()
		<-done // its outcome is unspecified once the session is closed
		if second.status != http.StatusBadRequest {
			t.Errorf("second POST: got %d %q, want 400", second.status, second.body)
		}
		e.expectSessionClosed(path, sid)
	})
}

// --- message over WebSocket (echo server) ----------------------------------

// Port of "sends and receives a plain text packet".
func TestWebSocketMessageText(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(eioPath)
	c.send("4hello")
	c.expectText("4hello")
	c.send("4héllo €uro 😀", "4")
	c.expectText("4héllo €uro 😀")
	c.expectText("4")
}

// Port of "sends and receives a binary packet": binary frames carry the
// payload as is (no type byte, no base64).
func TestWebSocketMessageBinary(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(eioPath)
	c.sendBinary([]byte{1, 2, 3, 4})
	c.expectBinary([]byte{1, 2, 3, 4})
	// Ordering is kept across text and binary frames.
	c.send("4a")
	c.sendBinary([]byte{0xff, 0})
	c.send("4b")
	c.expectText("4a")
	c.expectBinary([]byte{0xff, 0})
	c.expectText("4b")
}

// Port of "closes the session upon invalid packet format" (WebSocket).
func TestWebSocketInvalidPacket(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		c := e.openWSJoined(path)
		c.send("abc")
		c.expectClosed(closeTimeout)
	})
}

// Rule (v4): pings go from server to client. A client ping ("2" without
// "probe") on an established session is an error: Node closes the session
// ("invalid heartbeat direction").
func TestClientPingRejected(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		t.Run("websocket", func(t *testing.T) {
			c := e.with(t).openWSJoined(path)
			c.send("2")
			c.expectClosed(closeTimeout)
		})
		t.Run("polling", func(t *testing.T) {
			e := e.with(t)
			sid := e.openPollingQuiet(path)
			if _, err := e.doErr(http.MethodPost, path, pollingQuery(sid), strings.NewReader("2"), nil); err != nil {
				t.Logf("POST ping: %v (tolerated)", err)
			}
			e.expectSessionClosed(path, sid)
		})
	})
}

// --- heartbeat ---------------------------------------------------------------

// Port of "sends ping/pong packets" (polling): the server pings every
// pingInterval; each pong keeps the session alive.
//
// On /socket.io/ the client first joins "/": three heartbeats take about
// 900ms, too close to the 1000ms connectTimeout of a session with no
// namespace.
func TestHeartbeatPolling(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPolling(path)
		if path == sioPath {
			e.push(path, sid, "40")
		}
		var last time.Time // when the previous pong was sent
		for pings := 0; pings < 3; {
			got := e.poll(path, sid)
			elapsed := time.Since(last)
			if path == sioPath && len(got) > 0 && strings.HasPrefix(got[0], "40") {
				// CONNECT answer and "auth" event (may share a payload with
				// a ping).
				for len(got) > 0 && got[0] != "2" {
					got = got[1:]
				}
				if len(got) == 0 {
					continue
				}
			}
			if !reflect.DeepEqual(got, []string{"2"}) {
				t.Fatalf("poll for ping %d: got %q, want [2]", pings, got)
			}
			// The next ping comes at the earliest pingInterval after the
			// server received the pong.
			if !last.IsZero() && elapsed < pingInterval*8/10 {
				t.Errorf("ping %d came %v after the pong, want about %v", pings, elapsed, pingInterval)
			}
			last = time.Now()
			e.push(path, sid, "3")
			pings++
		}
	})
}

// Port of "closes the session upon ping timeout" (polling). The official test
// polls once after pingInterval + pingTimeout; on a loaded machine the
// server's timers may lag a little, so the port polls (without ever answering
// a ping) until the session is gone, within a bound.
func TestHeartbeatPollingTimeout(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		start := time.Now()
		sid := e.openPolling(path)
		e.sleep(pingInterval + pingTimeout)
		deadline := time.Now().Add(closeTimeout)
		for {
			res := e.do(http.MethodGet, path, pollingQuery(sid), "")
			if res.status != http.StatusOK {
				expectError(t, res, errSessionIDUnknown)
				break
			}
			// A GET held when the timeout fires is released with a close
			// packet; the following GET then fails.
			for _, pkt := range strings.Split(res.body, recordSeparator) {
				if pkt != "2" && pkt != "1" {
					t.Fatalf("GET: got %q, want pings, a close packet or the session closed", res.body)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("session still open %v after the handshake", time.Since(start))
			}
		}
	})
}

// Port of "sends ping/pong packets" (WebSocket).
//
// On /socket.io/ the client first joins "/" (see TestHeartbeatPolling).
func TestHeartbeatWebSocket(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		c, _ := e.openWS(path)
		if path == sioPath {
			c.sioConnect("/", "")
		}
		c.autoPong = false
		for i := 0; i < 3; i++ {
			start := time.Now()
			f := c.read()
			if f.op != ws.OpText || string(f.data) != "2" {
				t.Fatalf("ping %d: got %v, want text \"2\"", i, f)
			}
			if d := time.Since(start); i > 0 && d < pingInterval/2 {
				t.Errorf("ping %d after %v, want about %v", i, d, pingInterval)
			}
			c.send("3")
		}
		// Three intervals have passed: answering pings kept the session.
		c.autoPong = true
		if path == eioPath {
			c.send("4alive")
			c.expectText("4alive")
		} else {
			c.expectAlive()
		}
	})
}

// Port of "closes the session upon ping timeout" (WebSocket): a client that
// does not answer is closed pingInterval + pingTimeout after the handshake.
func TestHeartbeatWebSocketTimeout(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		start := time.Now()
		c, _ := e.openWS(path)
		c.autoPong = false
		f := c.read()
		if f.op != ws.OpText || string(f.data) != "2" {
			t.Fatalf("got %v, want ping", f)
		}
		c.expectClosed(pingTimeout + closeTimeout)
		if d := time.Since(start); d < pingInterval+pingTimeout/2 {
			t.Errorf("closed after %v, want about %v", d, pingInterval+pingTimeout)
		}
	})
}

// --- close ---------------------------------------------------------------------

// Port of "forcefully closes the session" (polling): a close packet ends the
// session and a pending GET is released with a noop.
func TestClosePolling(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		type result struct {
			res httpResp
			err error
		}
		pending := make(chan result, 1)
		go func() {
			r, err := e.doErr(http.MethodGet, path, pollingQuery(sid), nil, nil)
			pending <- result{r, err}
		}()
		e.sleep(settle)
		e.push(path, sid, "1")
		r := <-pending
		if r.err != nil {
			t.Fatalf("pending GET: %v", r.err)
		}
		if r.res.status != http.StatusOK || r.res.body != "6" {
			t.Fatalf("pending GET: got %d %q, want 200 \"6\"", r.res.status, r.res.body)
		}
		e.expectSessionClosed(path, sid)
	})
}

// Port of "forcefully closes the session" (WebSocket).
//
// The reference ignores a close packet received over WebSocket: engine.io
// 6 handles it for polling only (its WebSocket transport passes ping, pong,
// error and message on), and the official test passes on it only because
// its client never answers pings, so the ping timeout closes the
// connection. The suite holds the reference's behaviour: after "1" the
// session goes on as long as the client answers pings. (A client that
// means to close a WebSocket closes the WebSocket; the official clients
// send "1" over polling only.)
func TestCloseWebSocket(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		c := e.openWSJoined(path)
		c.send("1")
		c.idle(pingInterval + pingTimeout + slack)
		expectWSAlive(c, path)
	})
}

// Rule: without pongs, the session of the official test above ends by the
// ping timeout.
func TestCloseWebSocketNoPong(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		c := e.openWSJoined(path)
		c.autoPong = false
		c.send("1")
		c.expectClosed(pingInterval + pingTimeout + closeTimeout)
	})
}

// --- upgrade ---------------------------------------------------------------------

// probe dials a WebSocket for a polling session and does the probe exchange.
func (e *env) probe(path, sid string) *wsConn {
	e.t.Helper()
	c := e.dialWS(path, "EIO=4&transport=websocket&sid="+sid)
	c.send("2probe")
	c.expectText("3probe")
	return c
}

// completeUpgrade sends the upgrade packet and proves the WebSocket is now the
// session's transport: the echo of a message comes back over it (on
// /socket.io/ the session joined "/" in openPollingQuiet).
func completeUpgrade(c *wsConn, path string) {
	c.t.Helper()
	c.send("5")
	expectWSAlive(c, path)
}

// expectWSAlive proves an upgraded session still works.
func expectWSAlive(c *wsConn, path string) {
	c.t.Helper()
	if path == eioPath {
		c.send("4hello")
		c.expectText("4hello")
	} else {
		c.expectAlive()
	}
}

// Port of "successfully upgrades from HTTP long-polling to WebSocket": after
// the probe a GET is answered with a noop, then "5" switches the transport.
func TestUpgrade(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		c := e.probe(path, sid)
		if got := e.poll(path, sid); !reflect.DeepEqual(got, []string{"6"}) {
			t.Fatalf("GET during upgrade: got %q, want [6]", got)
		}
		completeUpgrade(c, path)
	})
}

// Rule (protocol text): on a probe the server MUST send a noop to a pending
// GET, so the client's polling cycle ends cleanly.
func TestUpgradeNoopOnPendingGET(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		type result struct {
			res httpResp
			err error
		}
		pending := make(chan result, 1)
		go func() {
			r, err := e.doErr(http.MethodGet, path, pollingQuery(sid), nil, nil)
			pending <- result{r, err}
		}()
		e.sleep(settle)
		c := e.probe(path, sid)
		r := <-pending
		if r.err != nil {
			t.Fatalf("pending GET: %v", r.err)
		}
		if r.res.status != http.StatusOK || r.res.body != "6" {
			t.Fatalf("pending GET: got %d %q, want 200 \"6\"", r.res.status, r.res.body)
		}
		completeUpgrade(c, path)
	})
}

// Rule: packets buffered for the polling transport are flushed over the
// WebSocket once the upgrade completes; nothing is lost.
func TestUpgradeFlushesBuffer(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(eioPath)
	e.push(eioPath, sid, "4buffered\x1ebAQID") // echoes queue up: no GET pending
	c := e.probe(eioPath, sid)
	c.send("5")
	c.expectText("4buffered")
	c.expectBinary([]byte{1, 2, 3})
	c.send("4after")
	c.expectText("4after")
}

// Port of "ignores HTTP requests with same sid after upgrade".
func TestUpgradeThenPollingRefused(t *testing.T) {
	forPaths(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		c := e.probe(path, sid)
		completeUpgrade(c, path)
		expectError(t, e.do(http.MethodGet, path, pollingQuery(sid), ""), errBadRequest)
		expectError(t, e.do(http.MethodPost, path, pollingQuery(sid), "4x"), errBadRequest)
		// The upgraded session is unaffected.
		expectWSAlive(c, path)
	})
}

// Port of "ignores WebSocket connection with same sid after upgrade": the
// reference accepts the WebSocket handshake, then closes that socket with
// a close frame without a status code (the official suite's client sees
// "open" then "close", and no error); the upgraded session is unaffected.
func TestUpgradeThenSecondWebSocketRefused(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		c := e.probe(path, sid)
		completeUpgrade(c, path)
		e.expectWSOpenedThenClosed(path, "EIO=4&transport=websocket&sid="+sid)
		expectWSAlive(c, path)
	})
}

// Rule (reference): the same holds while the session is upgrading, after
// the probe and before the upgrade packet; the upgrade then completes.
func TestUpgradingThenSecondWebSocketRefused(t *testing.T) {
	forPathsAndServers(t, func(t *testing.T, e *env, path string) {
		sid := e.openPollingQuiet(path)
		c := e.probe(path, sid)
		e.expectWSOpenedThenClosed(path, "EIO=4&transport=websocket&sid="+sid)
		completeUpgrade(c, path)
	})
}

// --- maxPayload ---------------------------------------------------------------------

// Rule: a POST body of exactly maxPayload bytes is accepted.
func TestMaxPayloadPollingLimit(t *testing.T) {
	e := setupSlow(t)
	sid := e.openPolling(eioPath)
	msg := "4" + strings.Repeat("a", maxPayload-1)
	e.push(eioPath, sid, msg)
	got := e.pollPackets(eioPath, sid, 1)
	if len(got) != 1 || got[0] != msg {
		t.Fatalf("echo of a %d-byte message: got %d packets (first %d bytes)", len(msg), len(got), len(got[0]))
	}
}

// Rule: a POST body larger than maxPayload is refused. Node answers 413
// Payload Too Large (the protocol text leaves the status open); whether the
// session survives is left open too (Node keeps it when the client sent the
// whole body).
func TestMaxPayloadPollingExceeded(t *testing.T) {
	forPathsWith(t, setupSlow, func(t *testing.T, e *env, path string) {
		sid := e.openPolling(path)
		body := "4" + strings.Repeat("a", maxPayload)
		res, err := e.doErr(http.MethodPost, path, pollingQuery(sid), strings.NewReader(body), nil)
		if err != nil {
			// A server may also drop the connection before reading it all.
			t.Logf("POST %d bytes: %v (tolerated)", len(body), err)
			return
		}
		if res.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST %d bytes: got %d %q, want 413", len(body), res.status, res.body)
		}
	})
}

// Rule: a WebSocket message of exactly maxPayload bytes is accepted.
func TestMaxPayloadWebSocketLimit(t *testing.T) {
	e := setupSlow(t)
	c, _ := e.openWS(eioPath)
	msg := "4" + strings.Repeat("a", maxPayload-1)
	c.send(msg)
	f := c.next()
	if f.op != ws.OpText || string(f.data) != msg {
		t.Fatalf("echo of a %d-byte message: got %d bytes", len(msg), len(f.data))
	}
	bin := bytes.Repeat([]byte{7}, maxPayload)
	c.sendBinary(bin)
	if f := c.next(); f.op != ws.OpBinary || !bytes.Equal(f.data, bin) {
		t.Fatalf("echo of a %d-byte binary message: got %d bytes", len(bin), len(f.data))
	}
}

// Rule: a WebSocket message larger than maxPayload closes the connection
// (Node: close code 1009 Message Too Big).
func TestMaxPayloadWebSocketExceeded(t *testing.T) {
	forPathsWith(t, setupSlow, func(t *testing.T, e *env, path string) {
		c, _ := e.openWS(path)
		// The server may close while we are still writing: ignore that error.
		_ = c.sendErr(ws.OpText, []byte("4"+strings.Repeat("a", maxPayload)))
		code := c.expectClosed(closeTimeout)
		if code != 0 && code != ws.StatusMessageTooBig {
			t.Errorf("close code: got %d, want %d (Message Too Big)", code, ws.StatusMessageTooBig)
		}
	})
}
