// Package hostile is the hostile-input suite: every case attacks one
// Switchboard server (the default configuration, with its limits, served
// exactly as `go run .` serves it) while a bystander client keeps
// exchanging acknowledged messages with it. Each case asserts that only the
// offending connection or request is refused or closed, with the error the
// protocol defines, and that the bystander lost nothing.
//
// Each attacker connects from its own loopback address (127.0.0.0/8 all
// reaches the server), so per-address limits hit only the case that tests
// them.
package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

const (
	maxPayload   = 10_000
	goodOrigin   = "http://good.example"
	perIPCap     = 5
	rawPath      = "/raw"
	headerWait   = time.Second
	closeTimeout = 5 * time.Second
)

// profile is the default configuration with smaller bounds, so that the
// attacks are quick: a 10 kB payload limit, a 1s header timeout, a 1s/1s
// heartbeat, one allowed origin, a per-address cap of 5 connections; and
// sessions bound to their client's address. The bystander uses the
// conformance app on "/"; the chat and its plain-WebSocket bridge (at
// rawPath) are there to be attacked too.
func profile(c *config.Config) {
	c.StaticDir = ""
	c.Namespaces = []config.Namespace{{Name: "/", App: "conformance"}, {Name: "/chat", App: "chat"}}
	c.RawWebSocket = &config.RawWebSocket{Path: rawPath, Namespace: "/chat", MaxMessage: 4096}
	c.SocketIO.MaxPayload = maxPayload
	c.SocketIO.PingInterval = time.Second
	c.SocketIO.PingTimeout = time.Second
	c.CORS.Origins = []string{goodOrigin}
	c.Limits.MaxConnectionsPerIP = perIPCap
	c.Limits.ReadHeaderTimeout = headerWait
	c.Limits.BindSessionToIP = true
	c.Metrics.Listen = "" // scraped on the main listener by refusalMetrics
}

// suite is the server under attack and its bystander.
type suite struct {
	base string
	next atomic.Uint32 // last attacker address used

	okCount  atomic.Int64
	failures atomic.Int64
	lastErr  atomic.Value // string
}

// TestHostileInput runs every case against one server, one after another,
// checking the bystander after each.
func TestHostileInput(t *testing.T) {
	s := startWithBystander(t, profile)

	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s *suite)
	}{
		{"malformed packets", malformedPackets},
		{"oversize WebSocket message", oversizeWebSocket},
		{"oversize polling body", oversizePolling},
		{"invalid UTF-8", invalidUTF8},
		{"deeply nested JSON", deepJSON},
		{"huge attachment count", hugeAttachmentCount},
		{"attachments that never come", missingAttachments},
		{"slowloris handshake", slowloris},
		{"half-open connection", halfOpen},
		{"unknown sid", unknownSID},
		{"stolen sid", stolenSID},
		{"two concurrent GETs", concurrentGETs},
		{"header flood", headerFlood},
		{"disallowed Origin", disallowedOrigin},
		{"connections per address", connectionsPerAddress},
		{"event flood", eventFlood},
		{"compressed input", compressedInput},
		{"raw WebSocket flood", rawFlood},
		{"silent raw WebSocket client", rawSilent},
		{"trickled raw WebSocket frame", rawTrickle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, s)
			s.waitBystander(t)
		})
	}
	t.Run("metrics count the refusals", s.refusalMetrics)
}

// startWithBystander starts the server under attack (the default
// configuration with mods) and its bystander, which exchanges acknowledged
// messages until the test ends.
func startWithBystander(t *testing.T, mods ...func(*config.Config)) *suite {
	s := &suite{base: testserver.Start(t, "default", mods...)}
	s.next.Store(10)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	bystander, err := sioclient.Dial(ctx, s.base, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.exchange(ctx, bystander)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = bystander.Close()
	})
	s.waitBystander(t)
	return s
}

// refusalMetrics checks that every limit the cases hit shows in
// switchboard_limit_rejections_total: each refusal has a metric, not just
// a log line.
func (s *suite) refusalMetrics(t *testing.T) {
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	got := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		var kind string
		var v float64
		if i := strings.Index(line, `limit_rejections_total{kind="`); i >= 0 {
			rest := line[i+len(`limit_rejections_total{kind="`):]
			kind = rest[:strings.IndexByte(rest, '"')]
			if _, err := fmt.Sscan(rest[strings.IndexByte(rest, '}')+1:], &v); err == nil {
				got[kind] = v
			}
		}
	}
	for kind, atLeast := range map[string]float64{
		"max_payload":            2, // WebSocket and polling
		"max_connections_per_ip": 3, // two WebSocket refusals and a raw one
		"bind_session_to_ip":     3, // GET, POST and the upgrade
		"max_json_depth":         1,
		"max_attachments":        1,
		"events_per_second":      1,
	} {
		if got[kind] < atLeast {
			t.Errorf("limit_rejections_total{kind=%q} = %v, want at least %v", kind, got[kind], atLeast)
		}
	}
}

// exchange sends the bystander's messages, one acknowledged message every
// 20ms, each checked, until ctx is done.
func (s *suite) exchange(ctx context.Context, c *sioclient.Client) {
	for i := 0; ctx.Err() == nil; i++ {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		args, err := c.EmitWithAck(actx, "message-with-ack", i)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.fail(fmt.Sprintf("ack %d: %v", i, err))
		case len(args) != 1 || string(args[0]) != fmt.Sprint(i):
			s.fail(fmt.Sprintf("ack %d: got %s", i, args))
		default:
			s.okCount.Add(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *suite) fail(msg string) {
	s.lastErr.Store(msg)
	s.failures.Add(1)
}

// waitBystander checks that the bystander has had no failure and gets
// three more acknowledged messages through.
func (s *suite) waitBystander(t *testing.T) {
	t.Helper()
	want := s.okCount.Load() + 3
	deadline := time.Now().Add(10 * time.Second)
	for s.okCount.Load() < want && s.failures.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bystander: no acknowledged message for 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.failures.Load(); n > 0 {
		t.Fatalf("bystander: %d failures, last: %v", n, s.lastErr.Load())
	}
}

// addr returns a fresh loopback source address for one attacker.
func (s *suite) addr() net.IP {
	n := s.next.Add(1)
	return net.IPv4(127, 0, byte(n>>8), byte(n))
}

func dialer(src net.IP) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
}

func (s *suite) httpClient(src net.IP) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: dialer(src).DialContext, DisableKeepAlives: true},
	}
}

// attacker is a WebSocket client that may also misbehave below WebSocket.
type attacker struct {
	t  *testing.T
	ws *wsclient.Conn
	// conn is the TCP connection and r its incoming bytes, for attacks
	// that read frames raw or cut the connection.
	conn net.Conn
	r    io.Reader
}

// dialFrom opens a WebSocket to path from src; the test ends by closing it.
func (s *suite) dialFrom(t *testing.T, src net.IP, path string, o wsclient.Options) (*attacker, error) {
	t.Helper()
	o.NetDial = dialer(src).DialContext
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wsclient.DialContext(ctx, "ws"+strings.TrimPrefix(s.base, "http")+path, &o)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return &attacker{t: t, ws: c, conn: c.NetConn(), r: c.Reader()}, nil
}

// dialWS opens a WebSocket Engine.IO session from src with extra headers
// and reads the open packet.
func (s *suite) dialWS(t *testing.T, src net.IP, header http.Header) (*attacker, error) {
	t.Helper()
	a, err := s.dialFrom(t, src, "/socket.io/?EIO=4&transport=websocket", wsclient.Options{Header: header})
	if err != nil {
		return nil, err
	}
	if open := a.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet: %q", open)
	}
	return a, nil
}

// connect opens a session from a fresh address and joins namespace "/".
func (s *suite) connect(t *testing.T) *attacker {
	t.Helper()
	a, err := s.dialWS(t, s.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.send("40")
	if got := a.read(); !strings.HasPrefix(got, "40{") {
		t.Fatalf("connect: %q", got)
	}
	if got := a.read(); got != `42["auth",{}]` { // the conformance app's greeting
		t.Fatalf("after connect: %q", got)
	}
	return a
}

func (a *attacker) send(text string) { a.sendFrame(ws.OpText, []byte(text)) }

func (a *attacker) sendFrame(op ws.OpCode, data []byte) {
	a.t.Helper()
	if err := a.ws.Write(op, data); err != nil {
		a.t.Fatalf("send: %v", err)
	}
}

// readErr returns the next text message, skipping pings (answered).
func (a *attacker) readErr(timeout time.Duration) (string, error) {
	for {
		b, op, err := a.ws.Read(timeout)
		if err != nil {
			return "", err
		}
		if op == ws.OpText && string(b) == "2" {
			_ = a.ws.WriteText("3")
			continue
		}
		return string(b), nil
	}
}

func (a *attacker) read() string {
	a.t.Helper()
	s, err := a.readErr(5 * time.Second)
	if err != nil {
		a.t.Fatalf("read: %v", err)
	}
	return s
}

// expectClosed waits for the server to close the connection and returns
// its close code (0 when the TCP connection ended without a close frame).
func (a *attacker) expectClosed() ws.StatusCode {
	a.t.Helper()
	code, _, err := a.ws.WaitClosed(closeTimeout, a.pong) // data sent before the close is dropped
	if err != nil {
		a.t.Fatalf("connection still open after %v", closeTimeout)
	}
	return code
}

// pong answers an Engine.IO ping.
func (a *attacker) pong(data []byte, op ws.OpCode) {
	if op == ws.OpText && string(data) == "2" {
		_ = a.ws.WriteText("3")
	}
}

func malformedPackets(t *testing.T, s *suite) {
	for _, p := range []string{
		"",                  // empty Engine.IO packet
		"9",                 // unknown Engine.IO type
		"4",                 // empty Socket.IO packet
		"47[]",              // unknown Socket.IO type
		"4x",                // not a type
		`42[`,               // invalid JSON
		`42{"a":1}`,         // event payload not an array
		`42[]`,              // event without a name
		`42[{}]`,            // event name not a string
		`42["connect"]`,     // reserved event name
		`43{"a":1}`,         // ack payload not an array
		`44{"message":"x"}`, // CONNECT_ERROR: only servers send it
		`41/other,`,         // disconnect from a namespace never joined
		`42/other,["x"]`,    // event for a namespace never joined
		`40{bad`,            // duplicate CONNECT with bad JSON
		`40`,                // duplicate CONNECT
		`451-["x",{"_placeholder":true,"num":3}]`, // placeholder out of range
		`45-["x"]`,                  // no attachment count
		`42999999999999999999["x"]`, // ack id too long
		"42\x00[\"x\"]",             // control byte
	} {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			a := s.connect(t)
			a.send(p)
			a.expectClosed()
		})
	}
	// Not malformed: an object whose _placeholder is not true is data, in
	// the reference's parser as here. The packet waits for its attachment,
	// then the connection goes on.
	t.Run("placeholder that is not one", func(t *testing.T) {
		a := s.connect(t)
		a.send(`451-["x",{"_placeholder":"yes","num":0}]`)
		a.sendFrame(ws.OpBinary, []byte{1, 2, 3})
		a.send(`42["message","after"]`)
		if got := a.read(); got != `42["message-back","after"]` {
			t.Fatalf("got %q, want the echo", got)
		}
	})
	t.Run("binary frame without a pending packet", func(t *testing.T) {
		a := s.connect(t)
		a.sendFrame(ws.OpBinary, []byte{1, 2, 3})
		a.expectClosed()
	})
}

func oversizeWebSocket(t *testing.T, s *suite) {
	a := s.connect(t)
	a.send(`42["message","` + strings.Repeat("x", maxPayload) + `"]`)
	if code := a.expectClosed(); code != ws.StatusMessageTooBig {
		t.Fatalf("close code %d, want %d (message too big)", code, ws.StatusMessageTooBig)
	}
}

// openPolling opens a polling session from src and returns its sid.
func (s *suite) openPolling(t *testing.T, c *http.Client) string {
	t.Helper()
	return s.openPollingEIO(t, c, "4")
}

// openPollingEIO opens a polling session of Engine.IO version eio.
func (s *suite) openPollingEIO(t *testing.T, c *http.Client, eio string) string {
	t.Helper()
	res, err := c.Get(s.base + "/socket.io/?EIO=" + eio + "&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	i := strings.Index(string(b), `"sid":"`)
	if res.StatusCode != 200 || i < 0 {
		t.Fatalf("polling handshake: %d %q", res.StatusCode, b)
	}
	sid := string(b[i+7:])
	return sid[:strings.IndexByte(sid, '"')]
}

func pollURL(base, sid string) string {
	return base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
}

func oversizePolling(t *testing.T, s *suite) {
	c := s.httpClient(s.addr())
	sid := s.openPolling(t, c)
	res, err := c.Post(pollURL(s.base, sid), "text/plain", strings.NewReader(strings.Repeat("4", maxPayload+1)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize POST: status %d, want 413", res.StatusCode)
	}
	expectSessionGone(t, c, s.base, sid)
}

// expectSessionGone checks that the session no longer exists: a poll gets
// the close packet or "Session ID unknown".
func expectSessionGone(t *testing.T, c *http.Client, base, sid string) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for time.Now().Before(deadline) {
		res, err := c.Get(pollURL(base, sid))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusBadRequest && strings.Contains(string(b), `"code":1`) {
			return
		}
		if res.StatusCode == http.StatusOK && string(b) == "1" {
			return
		}
	}
	t.Fatalf("session %s still open", sid)
}

func invalidUTF8(t *testing.T, s *suite) {
	a := s.connect(t)
	a.sendFrame(ws.OpText, []byte("42[\"message\",\"\xff\xfe\"]"))
	if code := a.expectClosed(); code != ws.StatusInvalidFramePayloadData {
		t.Fatalf("close code %d, want %d (invalid payload data)", code, ws.StatusInvalidFramePayloadData)
	}
}

func deepJSON(t *testing.T, s *suite) {
	a := s.connect(t)
	depth := 1000 // 2 kB: under max_payload, far over max_json_depth
	a.send(`42["message",` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `]`)
	a.expectClosed()
}

// A header announcing a million attachments is refused at once: the
// server does not wait for them.
func hugeAttachmentCount(t *testing.T, s *suite) {
	a := s.connect(t)
	start := time.Now()
	a.send(`45999999-["message",{"_placeholder":true,"num":0}]`)
	a.expectClosed()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v: the server waited for attachments", d)
	}
}

// A binary packet whose attachments never arrive holds the connection
// only as long as the heartbeat keeps it alive; a text packet in their
// place closes it.
func missingAttachments(t *testing.T, s *suite) {
	a := s.connect(t)
	a.send(`451-["message",{"_placeholder":true,"num":0}]`)
	a.send(`42["message",1]`)
	a.expectClosed()
}

// A client that trickles its request headers is cut off after
// read_header_timeout.
func slowloris(t *testing.T, s *suite) {
	conn, err := dialer(s.addr()).Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			time.Sleep(200 * time.Millisecond)
			if _, err := fmt.Fprintf(conn, "X-%d: y\r\n", i); err != nil {
				done <- err
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(headerWait + closeTimeout))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("got status %d while the headers were still coming, want 408 or a close", res.StatusCode)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a trickling request open")
	}
	if d := time.Since(start); d > headerWait+2*time.Second {
		t.Fatalf("cut off after %v, want about %v", d, headerWait)
	}
	conn.Close()
	<-done
}

// A client that vanishes without closing (no FIN, no pong) is dropped by
// the heartbeat: ping_interval + ping_timeout = 2s here.
func halfOpen(t *testing.T, s *suite) {
	a := s.connect(t)
	// Read nothing, answer nothing; only look, raw, for the end.
	start := time.Now()
	_ = a.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, a.r)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a silent client was not dropped within 10s")
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("dropped after %v, before the heartbeat could expire", d)
	}
}

func unknownSID(t *testing.T, s *suite) {
	c := s.httpClient(s.addr())
	for _, sid := range []string{"nope", strings.Repeat("A", 20), "../../etc/passwd"} {
		res, err := c.Get(pollURL(s.base, sid))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"code":1`) {
			t.Fatalf("sid %q: %d %s, want 400 code 1", sid, res.StatusCode, b)
		}
	}
}

// A session id used from another address is refused as unknown, over
// polling and for the upgrade; its owner goes on undisturbed.
func stolenSID(t *testing.T, s *suite) {
	owner := s.httpClient(s.addr())
	sid := s.openPolling(t, owner)
	thief := s.addr()
	c := s.httpClient(thief)
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, pollURL(s.base, sid), strings.NewReader("40"))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"code":1`) {
			t.Fatalf("%s with a stolen sid: %d %s, want 400 code 1", method, res.StatusCode, b)
		}
	}
	if a, err := s.dialFrom(t, thief, "/socket.io/?EIO=4&transport=websocket&sid="+sid, wsclient.Options{}); err == nil {
		a.ws.Close()
		t.Fatal("upgrade with a stolen sid accepted")
	}
	// The owner's session is intact: it connects to the namespace.
	res, err := owner.Post(pollURL(s.base, sid), "text/plain", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = owner.Get(pollURL(s.base, sid))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(b), "40{") {
		t.Fatalf("owner after the theft attempts: %q, want its CONNECT answer", b)
	}
}

// A second GET while one is pending closes the session (the spec's
// answer to a confused or malicious client); both requests are answered.
func concurrentGETs(t *testing.T, s *suite) {
	src := s.addr()
	c := s.httpClient(src)
	sid := s.openPolling(t, c)
	first := make(chan int, 1)
	go func() {
		res, err := c.Get(pollURL(s.base, sid))
		if err != nil {
			first <- 0
			return
		}
		res.Body.Close()
		first <- res.StatusCode
	}()
	time.Sleep(200 * time.Millisecond) // let the first GET wait
	res, err := c.Get(pollURL(s.base, sid))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("second GET: status %d, want 400", res.StatusCode)
	}
	select {
	case code := <-first:
		if code != http.StatusOK {
			t.Fatalf("first GET: status %d, want 200", code)
		}
	case <-time.After(closeTimeout):
		t.Fatal("first GET not answered")
	}
	expectSessionGone(t, c, s.base, sid)
}

// Many headers within the size limit are served; past the limit, 431.
// Neither reaches the application with its cost (cf. ws CVE-2024-37890,
// where a header count crashed the server).
func headerFlood(t *testing.T, s *suite) {
	c := s.httpClient(s.addr())
	do := func(n int) int {
		req, _ := http.NewRequest("GET", s.base+"/socket.io/?EIO=4&transport=polling", nil)
		for i := range n {
			req.Header.Add(fmt.Sprintf("X-Flood-%d", i), "y")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := do(2000); code != http.StatusOK {
		t.Fatalf("2,000 small headers: status %d, want 200", code)
	}
	if code := do(10000); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("10,000 headers: status %d, want 431", code)
	}
}

// Cross-site WebSocket hijacking: a page from another origin cannot open a
// WebSocket with the user's cookies.
func disallowedOrigin(t *testing.T, s *suite) {
	_, err := s.dialWS(t, s.addr(), http.Header{"Origin": {"http://evil.example"}})
	var se ws.StatusError
	if !errors.As(err, &se) || int(se) != http.StatusForbidden {
		t.Fatalf("WebSocket from a disallowed origin: %v, want HTTP 403", err)
	}
	if _, err := s.dialWS(t, s.addr(), http.Header{"Origin": {goodOrigin}}); err != nil {
		t.Fatalf("WebSocket from the allowed origin: %v", err)
	}
}

func connectionsPerAddress(t *testing.T, s *suite) {
	src := s.addr()
	for i := range perIPCap {
		if _, err := s.dialWS(t, src, nil); err != nil {
			t.Fatalf("connection %d within the cap: %v", i+1, err)
		}
	}
	_, err := s.dialWS(t, src, nil)
	var se ws.StatusError
	if !errors.As(err, &se) || int(se) != http.StatusTooManyRequests {
		t.Fatalf("connection over the per-address cap: %v, want HTTP 429", err)
	}
	if _, err := s.dialWS(t, s.addr(), nil); err != nil {
		t.Fatalf("another address: %v", err)
	}

	// Plain WebSocket chat clients count against the same cap.
	src = s.addr()
	for i := range perIPCap - 1 {
		if _, err := s.dialWS(t, src, nil); err != nil {
			t.Fatalf("connection %d within the cap: %v", i+1, err)
		}
	}
	raw, err := s.dialFrom(t, src, rawPath, wsclient.Options{})
	if err != nil {
		t.Fatalf("raw connection within the cap: %v", err)
	}
	if _, err := s.dialFrom(t, src, rawPath, wsclient.Options{}); !errors.As(err, &se) || int(se) != http.StatusTooManyRequests {
		t.Fatalf("raw connection over the cap: %v, want HTTP 429", err)
	}
	if _, err := s.dialWS(t, src, nil); !errors.As(err, &se) || int(se) != http.StatusTooManyRequests {
		t.Fatalf("Socket.IO connection over the cap (raw included): %v, want HTTP 429", err)
	}
	// A raw client that leaves gives its slot back.
	raw.ws.Close()
	deadline := time.Now().Add(closeTimeout)
	for {
		a, err := s.dialWS(t, src, nil)
		if err == nil {
			_ = a.conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot of the closed raw connection not given back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client flooding events is rate limited: its excess events get error
// acks, it stays connected, and nobody else notices.
func eventFlood(t *testing.T, s *suite) {
	a := s.connect(t)
	const n = 2000
	for i := range n {
		a.send(fmt.Sprintf(`42%d["message-with-ack",%d]`, i, i))
	}
	limited := 0
	for range n {
		if strings.HasSuffix(a.read(), `[{"message":"rate limit exceeded"}]`) {
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("%d events at once: none rate limited", n)
	}
	// Still connected, and served again once its bucket refills.
	time.Sleep(100 * time.Millisecond)
	a.send(`429999["message-with-ack","again"]`)
	if got := a.read(); got != `439999["again"]` {
		t.Fatalf("after the flood: got %q", got)
	}
}
