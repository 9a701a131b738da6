// Package conformance is a black-box protocol conformance suite for the
// Engine.IO v4 and Socket.IO v5 protocols. It ports the official test suites
// (socketio/engine.io-protocol and socketio/socket.io-protocol, test-suite/)
// to Go and extends them with the rules of the protocol texts.
//
// The server under test runs the "conformance profile" of those test suites:
//
//   - Socket.IO at /socket.io/ with pingInterval 300ms, pingTimeout 200ms,
//     maxPayload 1000000, connectTimeout 1000ms and CORS origin "*". On
//     connection to "/" and to "/custom" it emits "auth" with the handshake
//     auth payload. On "/", "message" is echoed back as "message-back" with the
//     same arguments (binary included) and "message-with-ack" is acknowledged
//     with its arguments.
//   - A plain Engine.IO echo server at /engine.io/ with the same heartbeat and
//     maxPayload settings: every message packet is sent back, text or binary.
//
// The base URL comes from SWITCHBOARD_TEST_URL (e.g. http://127.0.0.1:3100);
// without it every test calls startServer (start_test.go).
//
// The suite passes against the reference Node.js implementation (engine.io 6,
// socket.io 4.8); where Node deviates from the protocol text in a way that the
// official test suites tolerate, the tests accept what those suites accept and
// say so in a comment.
package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"go.uber.org/goleak"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// Conformance profile settings.
const (
	pingInterval   = 300 * time.Millisecond
	pingTimeout    = 200 * time.Millisecond
	connectTimeout = 1000 * time.Millisecond
	maxPayload     = 1000000

	eioPath = "/engine.io/"
	sioPath = "/socket.io/"

	// recordSeparator separates packets in an HTTP long-polling payload.
	recordSeparator = "\x1e"
)

// Time bounds of the suite itself.
const (
	// testTimeout bounds every test as a whole.
	testTimeout = 15 * time.Second
	// ioTimeout bounds one exchange that the server must answer promptly
	// (a long-poll GET is answered at the latest by the next ping).
	ioTimeout = 3 * time.Second
	// closeTimeout bounds the wait for a connection that the server must close.
	closeTimeout = 2 * time.Second
	// settle is how long the suite waits to be reasonably sure a request it
	// just started is being held by the server (e.g. a pending long-poll GET).
	settle = 50 * time.Millisecond
	// slack is added to a protocol timing before asserting on its effect.
	slack = 150 * time.Millisecond
)

var (
	httpTransport = &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     5 * time.Second,
		DisableCompression:  true,
	}
	httpClient = &http.Client{Transport: httpTransport, Timeout: testTimeout}
)

func TestMain(m *testing.M) {
	code := m.Run()
	httpTransport.CloseIdleConnections()
	if code == 0 {
		// Every test closes its bodies and connections; an in-process server
		// must be shut down by the t.Cleanup registered in startServer.
		// leakcheck knows the process-wide goroutines of the engine.
		if err := goleak.Find(leakcheck.Options()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// env is the per-test handle on the server under test.
type env struct {
	t    *testing.T
	ctx  context.Context
	base string // e.g. http://127.0.0.1:3100, no trailing slash
	// The heartbeat the server advertises: the profile's, or the
	// default for setupSlow.
	pingInterval, pingTimeout time.Duration
}

// setup marks the test parallel, resolves the server and bounds the test.
func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, startServer, pingInterval, pingTimeout)
}

// setupSlow is setup for tests that move megabytes: with the profile's
// 300ms/200ms heartbeat, a loaded machine (the race detector, packages
// tested in parallel) can miss a pong while a 1 MB message is in flight,
// on the Node reference as on ours. Those tests are not about heartbeats,
// so their server keeps the default heartbeat.
func setupSlow(t *testing.T) *env {
	t.Helper()
	return setupWith(t, startServerRelaxed, 25*time.Second, 20*time.Second)
}

func setupWith(t *testing.T, start func(*testing.T) string, interval, timeout time.Duration) *env {
	t.Helper()
	t.Parallel()
	base := os.Getenv("SWITCHBOARD_TEST_URL")
	if base == "" {
		base = start(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, base: strings.TrimRight(base, "/"), pingInterval: interval, pingTimeout: timeout}
}

// with returns a copy of e for the subtest t, so that a failure there ends
// only that subtest.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// forPaths runs fn as a parallel subtest for each Engine.IO endpoint.
// Behaviour that does not depend on the application (handshake, errors,
// heartbeat, close, upgrade) must be the same on both.
func forPaths(t *testing.T, fn func(t *testing.T, e *env, path string)) {
	t.Helper()
	forPathsWith(t, setup, fn)
}

func forPathsWith(t *testing.T, setup func(*testing.T) *env, fn func(t *testing.T, e *env, path string)) {
	t.Helper()
	t.Parallel()
	for _, p := range []string{eioPath, sioPath} {
		t.Run(strings.Trim(p, "/"), func(t *testing.T) {
			fn(t, setup(t), p)
		})
	}
}

// ---------------------------------------------------------------------------
// HTTP long-polling

type httpResp struct {
	status int
	header http.Header
	body   string
}

func (e *env) url(path, query string) string {
	if query == "" {
		return e.base + path
	}
	return e.base + path + "?" + query
}

// doErr performs one HTTP request; safe to call from any goroutine.
func (e *env) doErr(method, path, query string, body io.Reader, header http.Header) (httpResp, error) {
	ctx, cancel := context.WithTimeout(e.ctx, ioTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.url(path, query), body)
	if err != nil {
		return httpResp{}, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return httpResp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return httpResp{}, err
	}
	return httpResp{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

func (e *env) do(method, path, query, body string) httpResp {
	e.t.Helper()
	var r io.Reader
	if body != "" || method == http.MethodPost {
		r = strings.NewReader(body)
	}
	res, err := e.doErr(method, path, query, r, nil)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, e.url(path, query), err)
	}
	return res
}

func pollingQuery(sid string) string {
	q := "EIO=4&transport=polling"
	if sid != "" {
		q += "&sid=" + sid
	}
	return q
}

// handshake is the payload of the Engine.IO open packet.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen checks an open packet ("0{...}") of the conformance profile
// and returns its payload.
func parseOpen(t *testing.T, packet string, wantUpgrades []string) handshake {
	t.Helper()
	return parseOpenHeartbeat(t, packet, wantUpgrades, pingInterval, pingTimeout)
}

func (e *env) parseOpen(packet string, wantUpgrades []string) handshake {
	e.t.Helper()
	return parseOpenHeartbeat(e.t, packet, wantUpgrades, e.pingInterval, e.pingTimeout)
}

func parseOpenHeartbeat(t *testing.T, packet string, wantUpgrades []string, pingInterval, pingTimeout time.Duration) handshake {
	t.Helper()
	if !strings.HasPrefix(packet, "0") {
		t.Fatalf("open packet: got %q, want a packet starting with \"0\"", packet)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(packet[1:]), &keys); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}
	if got := sortedKeys(keys); !reflect.DeepEqual(got, want) {
		t.Fatalf("open packet keys: got %v, want %v", got, want)
	}
	var sidStr string
	if err := json.Unmarshal(keys["sid"], &sidStr); err != nil || sidStr == "" {
		t.Fatalf("open packet sid: got %s, want a non-empty string", keys["sid"])
	}
	var hs handshake
	if err := json.Unmarshal([]byte(packet[1:]), &hs); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if hs.Upgrades == nil {
		t.Fatalf("open packet upgrades: got %s, want an array", keys["upgrades"])
	}
	if !reflect.DeepEqual(hs.Upgrades, wantUpgrades) {
		t.Errorf("upgrades: got %q, want %q", hs.Upgrades, wantUpgrades)
	}
	if hs.PingInterval != int(pingInterval/time.Millisecond) {
		t.Errorf("pingInterval: got %d, want %d", hs.PingInterval, pingInterval/time.Millisecond)
	}
	if hs.PingTimeout != int(pingTimeout/time.Millisecond) {
		t.Errorf("pingTimeout: got %d, want %d", hs.PingTimeout, pingTimeout/time.Millisecond)
	}
	if hs.MaxPayload != maxPayload {
		t.Errorf("maxPayload: got %d, want %d", hs.MaxPayload, maxPayload)
	}
	return hs
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// openPolling opens an HTTP long-polling session and returns its sid.
func (e *env) openPolling(path string) string {
	e.t.Helper()
	res := e.do(http.MethodGet, path, pollingQuery(""), "")
	if res.status != http.StatusOK {
		e.t.Fatalf("polling handshake: status %d, body %q", res.status, res.body)
	}
	return e.parseOpen(res.body, []string{"websocket"}).SID
}

// openPollingQuiet opens a polling session and goes through its first
// heartbeat (GET "2", POST "3"), so that the next ping is a full pingInterval
// away and nothing is queued. Tests that hold a GET pending and expect it to
// be answered by something other than a ping start from here, which keeps
// them deterministic on a loaded machine. On /socket.io/ the session also
// joins "/" first, so that connectTimeout does not end it.
func (e *env) openPollingQuiet(path string) string {
	e.t.Helper()
	sid := e.openPolling(path)
	if path == sioPath {
		e.push(path, sid, "40")
	}
	other := 0 // CONNECT answer and "auth" event on /socket.io/
	for pinged := false; !pinged; {
		for _, p := range e.poll(path, sid) {
			switch {
			case p == "2":
				pinged = true
			case path == sioPath && other < 2 && strings.HasPrefix(p, "4"):
				other++
			default:
				e.t.Fatalf("waiting for the first ping: got %q", p)
			}
		}
	}
	if path == sioPath && other != 2 {
		e.t.Fatalf("got the first ping before the CONNECT answer and auth event")
	}
	e.push(path, sid, "3")
	return sid
}

// push POSTs a payload and expects HTTP 200 "ok".
func (e *env) push(path, sid, payload string) {
	e.t.Helper()
	res := e.do(http.MethodPost, path, pollingQuery(sid), payload)
	if res.status != http.StatusOK || res.body != "ok" {
		e.t.Fatalf("POST %q: got %d %q, want 200 \"ok\"", payload, res.status, res.body)
	}
}

// poll GETs once and expects HTTP 200; it returns the packets of the payload.
func (e *env) poll(path, sid string) []string {
	e.t.Helper()
	res := e.do(http.MethodGet, path, pollingQuery(sid), "")
	if res.status != http.StatusOK {
		e.t.Fatalf("GET: got %d %q, want 200", res.status, res.body)
	}
	return strings.Split(res.body, recordSeparator)
}

// pollPackets GETs until n packets other than pings have arrived, answering
// every ping with a pong. The server may send a ping at any time, so tests
// that are not about the heartbeat ignore them.
func (e *env) pollPackets(path, sid string, n int) []string {
	e.t.Helper()
	var got []string
	for len(got) < n {
		if e.ctx.Err() != nil {
			e.t.Fatalf("timed out waiting for %d packets, got %q", n, got)
		}
		for _, p := range e.poll(path, sid) {
			if p == "2" {
				e.push(path, sid, "3")
				continue
			}
			got = append(got, p)
		}
	}
	return got
}

// expectStatus performs a request and checks the status code.
func (e *env) expectStatus(method, path, query, body string, want ...int) httpResp {
	e.t.Helper()
	res := e.do(method, path, query, body)
	for _, w := range want {
		if res.status == w {
			return res
		}
	}
	e.t.Fatalf("%s %s: got status %d (body %q), want one of %v", method, query, res.status, res.body, want)
	return res
}

// expectError checks an Engine.IO error response: HTTP 400 with the JSON body
// {"code":<code>,"message":<message>}.
func expectError(t *testing.T, res httpResp, codes ...int) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Fatalf("got status %d (body %q), want 400", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type: got %q, want application/json", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.body), &raw); err != nil {
		t.Fatalf("error body %q: %v", res.body, err)
	}
	if got := sortedKeys(raw); !reflect.DeepEqual(got, []string{"code", "message"}) {
		t.Fatalf("error body keys: got %v, want [code message]", got)
	}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("error body %q: %v", res.body, err)
	}
	for _, c := range codes {
		if body.Code == c {
			if want := errorMessages[c]; body.Message != want {
				t.Errorf("error message for code %d: got %q, want %q", c, body.Message, want)
			}
			return
		}
	}
	t.Errorf("error code: got %d (%q), want one of %v", body.Code, body.Message, codes)
}

// Engine.IO error codes and messages.
const (
	errTransportUnknown   = 0
	errSessionIDUnknown   = 1
	errBadHandshakeMethod = 2
	errBadRequest         = 3
	errUnsupportedVersion = 5
)

var errorMessages = map[int]string{
	errTransportUnknown:   "Transport unknown",
	errSessionIDUnknown:   "Session ID unknown",
	errBadHandshakeMethod: "Bad handshake method",
	errBadRequest:         "Bad request",
	4:                     "Forbidden",
	errUnsupportedVersion: "Unsupported protocol version",
}

// expectSessionClosed checks that the session is gone: a GET answers 400.
func (e *env) expectSessionClosed(path, sid string) {
	e.t.Helper()
	res := e.do(http.MethodGet, path, pollingQuery(sid), "")
	expectError(e.t, res, errSessionIDUnknown)
}

// ---------------------------------------------------------------------------
// WebSocket

type frame struct {
	op   ws.OpCode
	data []byte
}

func (f frame) String() string {
	if f.op == ws.OpBinary {
		return fmt.Sprintf("binary %v", f.data)
	}
	return fmt.Sprintf("text %q", f.data)
}

type wsConn struct {
	t    *testing.T
	conn *wsclient.Conn
	// autoPong answers Engine.IO pings ("2") with pongs ("3") inside next()
	// and expectClosed(); only heartbeat tests turn it off.
	autoPong bool
}

func wsURL(base, path, query string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path + "?" + query
}

// dialWSErr dials without failing the test.
func (e *env) dialWSErr(path, query string) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(e.ctx, ioTimeout)
	defer cancel()
	conn, err := wsclient.DialContext(ctx, wsURL(e.base, path, query), nil)
	if err != nil {
		return nil, err
	}
	c := &wsConn{t: e.t, conn: conn, autoPong: true}
	e.t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

func (e *env) dialWS(path, query string) *wsConn {
	e.t.Helper()
	c, err := e.dialWSErr(path, query)
	if err != nil {
		e.t.Fatalf("dial %s: %v", wsURL(e.base, path, query), err)
	}
	return c
}

// openWS opens a WebSocket-only Engine.IO session and reads its open packet.
func (e *env) openWS(path string) (*wsConn, handshake) {
	e.t.Helper()
	c := e.dialWS(path, "EIO=4&transport=websocket")
	f := c.read()
	if f.op != ws.OpText {
		e.t.Fatalf("open packet: got %v, want a text frame", f)
	}
	return c, e.parseOpen(string(f.data), []string{})
}

// openWSJoined is openWS, and on /socket.io/ the session also joins "/".
// A session that has joined no namespace is closed after connectTimeout,
// which is shorter than closeTimeout: tests that expect a packet to close
// the connection start from here, or a server that ignored the packet
// would pass them.
func (e *env) openWSJoined(path string) *wsConn {
	e.t.Helper()
	c, _ := e.openWS(path)
	if path == sioPath {
		c.sioConnect("/", "")
	}
	return c
}

func (c *wsConn) sendErr(op ws.OpCode, data []byte) error {
	return c.conn.Write(op, data)
}

func (c *wsConn) send(texts ...string) {
	c.t.Helper()
	for _, s := range texts {
		if err := c.sendErr(ws.OpText, []byte(s)); err != nil {
			c.t.Fatalf("send %q: %v", s, err)
		}
	}
}

func (c *wsConn) sendBinary(data []byte) {
	c.t.Helper()
	if err := c.sendErr(ws.OpBinary, data); err != nil {
		c.t.Fatalf("send binary %v: %v", data, err)
	}
}

// readErr reads the next data frame within timeout.
func (c *wsConn) readErr(timeout time.Duration) (frame, error) {
	data, op, err := c.conn.Read(timeout)
	if err != nil {
		return frame{}, err
	}
	return frame{op: op, data: data}, nil
}

// read returns the next data frame, pings included.
func (c *wsConn) read() frame {
	c.t.Helper()
	f, err := c.readErr(ioTimeout)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// next returns the next data frame, answering (and skipping) pings when
// autoPong is set.
func (c *wsConn) next() frame {
	c.t.Helper()
	for {
		f := c.read()
		if c.autoPong && f.op == ws.OpText && string(f.data) == "2" {
			c.send("3")
			continue
		}
		return f
	}
}

func (c *wsConn) expectText(want string) {
	c.t.Helper()
	if f := c.next(); f.op != ws.OpText || string(f.data) != want {
		c.t.Fatalf("got %v, want text %q", f, want)
	}
}

func (c *wsConn) expectBinary(want []byte) {
	c.t.Helper()
	if f := c.next(); f.op != ws.OpBinary || !reflect.DeepEqual(f.data, want) {
		c.t.Fatalf("got %v, want binary %v", f, want)
	}
}

// expectClosed waits until the server closes the connection. Data frames are
// skipped (pings answered when autoPong is set). It returns the close code
// of the server's close frame, or 0 when the TCP connection ended without one.
func (c *wsConn) expectClosed(timeout time.Duration) ws.StatusCode {
	c.t.Helper()
	code, _, err := c.conn.WaitClosed(timeout, c.pong)
	if err != nil {
		c.t.Fatalf("connection still open after %v", timeout)
	}
	return code
}

// pong answers an Engine.IO ping when autoPong is set.
func (c *wsConn) pong(data []byte, op ws.OpCode) {
	if c.autoPong && op == ws.OpText && string(data) == "2" {
		_ = c.sendErr(ws.OpText, []byte("3"))
	}
}

// idle keeps the connection open for d while answering pings; any other
// frame fails the test.
func (c *wsConn) idle(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		f, err := c.readErr(left)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			c.t.Fatalf("connection lost while idle: %v", err)
		}
		if f.op == ws.OpText && string(f.data) == "2" {
			c.send("3")
			continue
		}
		c.t.Fatalf("unexpected %v while idle", f)
	}
}

// expectWSRefused checks that the server refuses a WebSocket: either the
// upgrade fails with an HTTP 4xx status, or the connection is closed before
// any Engine.IO packet is received.
func (e *env) expectWSRefused(path, query string) {
	e.t.Helper()
	c, err := e.dialWSErr(path, query)
	if err != nil {
		var se ws.StatusError
		if errors.As(err, &se) {
			if se < 400 || se > 499 {
				e.t.Fatalf("dial %s: got status %d, want 4xx", query, se)
			}
			return
		}
		// Connection dropped during the handshake: refused as well.
		return
	}
	f, err := c.readErr(closeTimeout)
	if err == nil {
		e.t.Fatalf("dial %s: got %v, want the connection to be refused", query, f)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		e.t.Fatalf("dial %s: connection still open after %v", query, closeTimeout)
	}
}

// expectWSOpenedThenClosed checks that the server takes the WebSocket and
// then closes it at once, as the reference ends a second transport for a
// session: the handshake succeeds (a client sees "open", no error), then
// a close frame without a status code comes, and no data frame before it.
func (e *env) expectWSOpenedThenClosed(path, query string) {
	e.t.Helper()
	c, err := e.dialWSErr(path, query)
	if err != nil {
		e.t.Fatalf("dial %s: %v, want the WebSocket handshake to succeed", query, err)
	}
	f, err := c.readErr(closeTimeout)
	if err == nil {
		e.t.Fatalf("dial %s: got %v, want a close frame", query, f)
	}
	var ce wsutil.ClosedError
	if !errors.As(err, &ce) {
		e.t.Fatalf("dial %s: got %v, want a close frame", query, err)
	}
	if ce.Code != ws.StatusNoStatusRcvd {
		e.t.Errorf("dial %s: close code %d %q, want none (%d)", query, ce.Code, ce.Reason, ws.StatusNoStatusRcvd)
	}
}

// ---------------------------------------------------------------------------
// Socket.IO

// jsonEqual reports whether two JSON texts denote the same value.
func jsonEqual(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// expectSIO checks an encoded Socket.IO packet (wrapped in an Engine.IO
// message): got must be prefix followed by JSON equal to wantJSON. The prefix
// holds the type, attachment count, namespace and ack id, so it is compared
// exactly; the JSON part is compared by value (key order and spacing free).
func expectSIO(t *testing.T, got, prefix, wantJSON string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) || !jsonEqual(got[len(prefix):], wantJSON) {
		t.Fatalf("got %q, want %q", got, prefix+wantJSON)
	}
}

// expectSIOText reads the next frame and checks it with expectSIO.
func (c *wsConn) expectSIOText(prefix, wantJSON string) {
	c.t.Helper()
	f := c.next()
	if f.op != ws.OpText {
		c.t.Fatalf("got %v, want text %q", f, prefix+wantJSON)
	}
	expectSIO(c.t, string(f.data), prefix, wantJSON)
}

// nsPrefix is the namespace part of an encoded packet ("" for "/").
func nsPrefix(nsp string) string {
	if nsp == "/" {
		return ""
	}
	return nsp + ","
}

// parseConnectOK checks a CONNECT answer (without the leading "4") such as
// `0/custom,{"sid":"..."}` and returns the Socket.IO sid.
func parseConnectOK(t *testing.T, packet, nsp string) string {
	t.Helper()
	prefix := "0" + nsPrefix(nsp)
	if !strings.HasPrefix(packet, prefix) {
		t.Fatalf("CONNECT answer: got %q, want prefix %q", packet, prefix)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(packet[len(prefix):]), &raw); err != nil {
		t.Fatalf("CONNECT answer %q: %v", packet, err)
	}
	if got := sortedKeys(raw); !reflect.DeepEqual(got, []string{"sid"}) {
		t.Fatalf("CONNECT answer keys: got %v, want [sid]", got)
	}
	var sid string
	if err := json.Unmarshal(raw["sid"], &sid); err != nil || sid == "" {
		t.Fatalf("CONNECT answer sid: got %s, want a non-empty string", raw["sid"])
	}
	return sid
}

// sioConnect sends a CONNECT for nsp (auth is the JSON payload or "") over an
// open Engine.IO WebSocket, checks the answer and the "auth" event, and
// returns the Socket.IO sid.
func (c *wsConn) sioConnect(nsp, auth string) string {
	c.t.Helper()
	c.send("40" + nsPrefix(nsp) + auth)
	f := c.next()
	if f.op != ws.OpText || !strings.HasPrefix(string(f.data), "4") {
		c.t.Fatalf("CONNECT answer: got %v", f)
	}
	sid := parseConnectOK(c.t, string(f.data[1:]), nsp)
	wantAuth := auth
	if wantAuth == "" {
		wantAuth = "{}"
	}
	c.expectSIOText("42"+nsPrefix(nsp), `["auth",`+wantAuth+`]`)
	return sid
}

// openSIO opens a WebSocket-only session connected to the main namespace,
// like initSocketIOConnection in the official test suite.
func (e *env) openSIO() *wsConn {
	e.t.Helper()
	c, _ := e.openWS(sioPath)
	c.sioConnect("/", "")
	return c
}

// expectAlive proves the Socket.IO connection still works on "/".
func (c *wsConn) expectAlive() {
	c.t.Helper()
	c.send(`42["message","still alive"]`)
	c.expectSIOText("42", `["message-back","still alive"]`)
}

// closedOrAlive is for packets whose handling the suite leaves open between
// "close the connection" and "ignore the packet": it reports true if the
// server closed the connection, false if an echo on "/" still comes back.
// Anything else (another reply, no reply) fails the test.
func (c *wsConn) closedOrAlive() bool {
	c.t.Helper()
	if err := c.sendErr(ws.OpText, []byte(`42["message","still alive"]`)); err != nil {
		return true
	}
	for {
		f, err := c.readErr(closeTimeout)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("neither closed nor alive after %v", closeTimeout)
			}
			return true
		}
		if f.op == ws.OpText && string(f.data) == "2" {
			_ = c.sendErr(ws.OpText, []byte("3"))
			continue
		}
		expectSIO(c.t, string(f.data), "42", `["message-back","still alive"]`)
		return false
	}
}

// sleep sleeps for d unless the test's context ends first.
func (e *env) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-e.ctx.Done():
	}
}

// ---------------------------------------------------------------------------
// Side by side with the reference

// setupReference is setup against the Node.js reference instead of the
// server under test.
func setupReference(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, base: startReference(t), pingInterval: pingInterval, pingTimeout: pingTimeout}
}

// forServers runs fn as a parallel subtest against the server under test
// ("switchboard") and against the Node.js reference ("node"): for behaviour
// where the protocol text leaves room and the suite asserts what the
// reference does, so that the assertion is proven on the reference itself.
func forServers(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	t.Run("switchboard", func(t *testing.T) { fn(t, setup(t)) })
	t.Run("node", func(t *testing.T) { fn(t, setupReference(t)) })
}

// forPathsAndServers is forPaths run against both servers as forServers.
func forPathsAndServers(t *testing.T, fn func(t *testing.T, e *env, path string)) {
	t.Helper()
	t.Parallel()
	for _, srv := range []struct {
		name  string
		setup func(*testing.T) *env
	}{{"switchboard", setup}, {"node", setupReference}} {
		for _, p := range []string{eioPath, sioPath} {
			t.Run(srv.name+"/"+strings.Trim(p, "/"), func(t *testing.T) {
				fn(t, srv.setup(t), p)
			})
		}
	}
}
