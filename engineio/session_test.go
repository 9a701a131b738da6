package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// recorder is a SessionHandler that records what happens.
type recorder struct {
	mu       sync.Mutex
	sess     *Session
	messages []string
	reason   CloseReason
	closed   chan struct{}
	onMsg    func(r *recorder, data []byte, binary bool)
}

func (r *recorder) OnMessage(data []byte, binary bool) {
	r.mu.Lock()
	r.messages = append(r.messages, string(data))
	r.mu.Unlock()
	if r.onMsg != nil {
		r.onMsg(r, data, binary)
	}
}

func (r *recorder) OnClose(reason CloseReason, err error) {
	r.mu.Lock()
	r.reason = reason
	r.mu.Unlock()
	close(r.closed)
}

func (r *recorder) waitClosed(t *testing.T) CloseReason {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("session not closed")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

type testServer struct {
	t        *testing.T
	srv      *Server
	url      string
	sessions chan *recorder
	onMsg    func(r *recorder, data []byte, binary bool)
}

func newTestServer(t *testing.T, opts *Options, onMsg func(r *recorder, data []byte, binary bool)) *testServer {
	t.Helper()
	ts := &testServer{t: t, sessions: make(chan *recorder, 16), onMsg: onMsg}
	ts.srv = NewServer(func(s *Session) SessionHandler {
		r := &recorder{sess: s, closed: make(chan struct{}), onMsg: ts.onMsg}
		ts.sessions <- r
		return r
	}, opts)
	ts.url = serve.Start(t, ts.srv, ts.srv.Close).URL + "/engine.io/"
	return ts
}

func (ts *testServer) session() *recorder {
	select {
	case r := <-ts.sessions:
		return r
	case <-time.After(5 * time.Second):
		ts.t.Fatal("no session")
		return nil
	}
}

func (ts *testServer) request(method, query, body string) (int, string) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.url+"?EIO=4&"+query, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (ts *testServer) openPolling() (string, *recorder) {
	ts.t.Helper()
	code, body := ts.request("GET", "transport=polling", "")
	if code != 200 || body[0] != '0' {
		ts.t.Fatalf("handshake: %d %q", code, body)
	}
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil {
		ts.t.Fatal(err)
	}
	return open.SID, ts.session()
}

func (ts *testServer) dialWS(query string) *wsclient.Conn {
	ts.t.Helper()
	return wsclient.Dial(ts.t, ts.url+"?EIO=4&transport=websocket"+query, nil)
}

func readText(t *testing.T, conn *wsclient.Conn) string {
	t.Helper()
	b, op, err := conn.Read(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if op != ws.OpText {
		t.Fatalf("got opcode %v, want text", op)
	}
	return string(b)
}

func TestCloseReasons(t *testing.T) {
	t.Run("ping timeout", func(t *testing.T) {
		ts := newTestServer(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}, nil)
		_, r := ts.openPolling()
		if got := r.waitClosed(t); got != ReasonPingTimeout {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("client close packet", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		sid, r := ts.openPolling()
		ts.request("POST", "transport=polling&sid="+sid, "1")
		if got := r.waitClosed(t); got != ReasonTransportClose {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		sid, r := ts.openPolling()
		if code, _ := ts.request("POST", "transport=polling&sid="+sid, "abc"); code != 400 {
			t.Fatalf("status %d", code)
		}
		if got := r.waitClosed(t); got != ReasonParseError {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("websocket closed by client", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		conn := ts.dialWS("")
		r := ts.session()
		readText(t, conn) // open
		_ = conn.Write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		if got := r.waitClosed(t); got != ReasonTransportClose {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("websocket TCP dropped", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		conn := ts.dialWS("")
		r := ts.session()
		readText(t, conn)
		conn.Close()
		if got := r.waitClosed(t); got != ReasonTransportClose {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("message too big", func(t *testing.T) {
		ts := newTestServer(t, &Options{MaxPayload: 10}, nil)
		conn := ts.dialWS("")
		r := ts.session()
		readText(t, conn)
		_ = conn.WriteText("4this is more than ten bytes")
		if got := r.waitClosed(t); got != ReasonTransportError {
			t.Fatalf("reason = %q", got)
		}
	})
}

func TestSendQueueBound(t *testing.T) {
	ts := newTestServer(t, &Options{MaxBufferedBytes: 1000}, nil)
	_, r := ts.openPolling()
	msg := NewTextMessage([]byte(strings.Repeat("x", 99)))
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = r.sess.Send(false, msg)
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
	if got := r.waitClosed(t); got != ReasonTransportError {
		t.Fatalf("reason = %q", got)
	}
	if err := r.sess.Send(false, msg); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

func TestVolatileDroppedWhenBusy(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	_, r := ts.openPolling()
	// No GET is pending: the polling transport is not writable.
	if err := r.sess.Send(true, NewTextMessage([]byte("v"))); !errors.Is(err, ErrDropped) {
		t.Fatalf("err = %v, want ErrDropped", err)
	}
}

func TestGracefulCloseFlushes(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		sid, r := ts.openPolling()
		_ = r.sess.Send(false, NewTextMessage([]byte("bye")))
		r.sess.Close()
		_, body := ts.request("GET", "transport=polling&sid="+sid, "")
		if body != "4bye\x1e1" {
			t.Fatalf("last poll = %q", body)
		}
		if code, _ := ts.request("GET", "transport=polling&sid="+sid, ""); code != 400 {
			t.Fatalf("poll after close: %d", code)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		conn := ts.dialWS("")
		r := ts.session()
		readText(t, conn)
		_ = r.sess.Send(false, NewTextMessage([]byte("bye")))
		r.sess.Close()
		if got := readText(t, conn); got != "4bye" {
			t.Fatalf("got %q", got)
		}
		_, _, err := conn.Read(5 * time.Second)
		var ce wsutil.ClosedError
		// No code, as from the Node server (ws's close() without one).
		if !errors.As(err, &ce) || ce.Code != ws.StatusNoStatusRcvd {
			t.Fatalf("after last message: %v, want a close frame without code", err)
		}
	})
}

// TestUpgradeLosesNothing sends a stream of messages while the client
// upgrades: each must arrive exactly once, in order, on one transport or
// the other.
func TestUpgradeLosesNothing(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	sid, r := ts.openPolling()
	const total = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			if r.sess.Send(false, NewTextMessage([]byte(fmt.Sprint(i)))) != nil {
				return
			}
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	var got []string
	take := func(body string) {
		for _, p := range strings.Split(body, "\x1e") {
			if strings.HasPrefix(p, "4") {
				got = append(got, p[1:])
			}
		}
	}
	_, body := ts.request("GET", "transport=polling&sid="+sid, "")
	take(body)
	conn := ts.dialWS("&sid=" + sid)
	_ = conn.WriteText("2probe")
	if m := readText(t, conn); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	// Drain polling until the server releases it with a noop.
	for {
		_, body := ts.request("GET", "transport=polling&sid="+sid, "")
		take(body)
		if strings.HasSuffix(body, "6") {
			break
		}
	}
	_ = conn.WriteText("5")
	<-done
	for len(got) < total {
		m := readText(t, conn)
		if m[0] == '4' {
			got = append(got, m[1:])
		}
	}
	for i, m := range got {
		if m != fmt.Sprint(i) {
			t.Fatalf("message %d = %s (lost, duplicated or reordered)", i, m)
		}
	}
	// When polling carried every message, nothing above waited for the
	// server to read the upgrade packet: give it a moment.
	for deadline := time.Now().Add(5 * time.Second); r.sess.Transport() != "websocket"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("transport = %s", r.sess.Transport())
		}
	}
}

func TestServerCloseEndsSessions(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	_, r1 := ts.openPolling()
	conn := ts.dialWS("")
	r2 := ts.session()
	readText(t, conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go func() { _ = ts.srv.Close(ctx) }()
	if got := r2.waitClosed(t); got != ReasonServerShutdown {
		t.Fatalf("websocket reason = %q", got)
	}
	if got := r1.waitClosed(t); got != ReasonServerShutdown {
		t.Fatalf("polling reason = %q", got)
	}
	if code, _ := ts.request("GET", "transport=polling", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("handshake after close: %d", code)
	}
}

// A polling client that vanished between polls will never collect its
// close packet, nor will one that was closed by Session.Close and has not
// polled since: Server.Close does not wait for either. It closes them at
// once, as the reference server does on close (it discards such a
// transport), with the default heartbeat (45 s) far longer than ctx.
func TestServerCloseDoesNotWaitForAbsentPollers(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	sid1, r1 := ts.openPolling()
	_ = r1.sess.Send(false, NewTextMessage([]byte("never collected")))
	_, r2 := ts.openPolling()
	r2.sess.Close()
	if got := r2.waitClosed(t); got != ReasonForcedClose {
		t.Fatalf("reason = %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if got := r1.waitClosed(t); got != ReasonServerShutdown {
		t.Fatalf("reason = %q", got)
	}
	// A client that comes back finds no session.
	if code, _ := ts.request("GET", "transport=polling&sid="+sid1, ""); code != http.StatusBadRequest {
		t.Fatalf("poll after Close: %d", code)
	}
}

func TestEchoOverWebSocket(t *testing.T) {
	ts := newTestServer(t, nil, func(r *recorder, data []byte, binary bool) {
		m := NewTextMessage(data)
		if binary {
			m = NewBinaryMessage(data)
		}
		_ = r.sess.Send(false, m)
	})
	conn := ts.dialWS("")
	ts.session()
	readText(t, conn)
	big := strings.Repeat("z", 100_000)
	for _, msg := range []string{"4hello", "4" + big} {
		_ = conn.WriteText(msg)
		if got := readText(t, conn); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	_ = conn.WriteBinary([]byte{1, 2, 3})
	b, op, err := conn.Read(5 * time.Second)
	if err != nil || op != ws.OpBinary || string(b) != "\x01\x02\x03" {
		t.Fatalf("binary echo: %v %v %v", b, op, err)
	}
}

// TestBlockingReads runs the WebSocket tests once more with a reader
// goroutine per connection, the path used where there is no netpoller.
func TestBlockingReads(t *testing.T) {
	blockingReads.Store(true)
	defer blockingReads.Store(false)
	t.Run("echo", TestEchoOverWebSocket)
	t.Run("close reasons", TestCloseReasons)
	t.Run("upgrade", TestUpgradeLosesNothing)
}

// TestIncomingDataExtendsPongDeadlineOnce: a client busy sending (a large
// message can hold its pong up) gets one more pingTimeout, not more. Only
// lower bounds on time are checked: a loaded machine makes things late,
// never early.
func TestIncomingDataExtendsPongDeadlineOnce(t *testing.T) {
	const timeout = time.Second
	ts := newTestServer(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: timeout}, nil)
	conn := ts.dialWS("")
	r := ts.session()
	readText(t, conn) // open
	if got := readText(t, conn); got != "2" {
		t.Fatalf("got %q, want a ping", got)
	}
	pinged := time.Now()
	time.Sleep(300 * time.Millisecond)
	_ = conn.WriteText("4busy")
	sent := time.Since(pinged)
	_ = conn.WriteText("4still busy") // no second extension
	if got := r.waitClosed(t); got != ReasonPingTimeout {
		t.Fatalf("reason = %q", got)
	}
	if sent < timeout { // the data came in time to extend the deadline
		if elapsed := time.Since(pinged); elapsed < sent+timeout-50*time.Millisecond {
			t.Fatalf("closed %v after the ping; data at %v should have moved the deadline to %v", elapsed, sent, sent+timeout)
		}
	}
}

// TestSlowReaderGetsEverythingInOrder fills the client's socket buffers
// (inline writes come back partial, writers take over) and checks that the
// client, once it reads, gets every message once and in order.
func TestSlowReaderGetsEverythingInOrder(t *testing.T) {
	ts := newTestServer(t, &Options{MaxBufferedBytes: 64 << 20}, nil)
	conn := ts.dialWS("")
	r := ts.session()
	readText(t, conn) // open
	const total = 2000
	pad := strings.Repeat("p", 8<<10)
	for i := 0; i < total; i++ {
		if err := r.sess.Send(false, NewTextMessage([]byte(fmt.Sprintf("%d %s", i, pad)))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < total; i++ {
		m := readText(t, conn)
		if m == "2" { // a ping may come along
			i--
			continue
		}
		want := fmt.Sprintf("4%d %s", i, pad)
		if m != want {
			t.Fatalf("message %d: got %.20q…, want %.20q…", i, m, want)
		}
	}
}

// TestInlineWriteAfterWriterDeadline: a writer's write deadline must not
// outlive its write, or a later inline write fails with a timeout.
func TestInlineWriteAfterWriterDeadline(t *testing.T) {
	ts := newTestServer(t, &Options{WriteTimeout: 50 * time.Millisecond}, nil)
	conn := ts.dialWS("")
	r := ts.session()
	readText(t, conn) // open
	if err := r.sess.Post(false, NewTextMessage([]byte("by a writer"))); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, conn); got != "4by a writer" {
		t.Fatalf("got %q", got)
	}
	time.Sleep(100 * time.Millisecond) // past the writer's deadline
	if err := r.sess.Send(false, NewTextMessage([]byte("inline"))); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, conn); got != "4inline" {
		t.Fatalf("got %q", got)
	}
	select {
	case <-r.closed:
		t.Fatalf("session closed: %s", r.reason)
	default:
	}
}

// TestBatchSlowClientDelaysNobody broadcasts through Batches to fast
// clients and one that does not read: the fast ones get everything in order
// while the slow one's socket is full, and the slow one, once it reads, gets
// everything too.
func TestBatchSlowClientDelaysNobody(t *testing.T) {
	// The slow client's writer stays blocked until the others are done: a
	// minute of WriteTimeout keeps a loaded machine (-race, other jobs)
	// from dropping it, which is not what this test is about.
	ts := newTestServer(t, &Options{MaxBufferedBytes: 64 << 20, WriteTimeout: time.Minute}, nil)
	const clients, total = 6, 1500
	conns := make([]*wsclient.Conn, clients)
	sessions := make([]*Session, clients)
	for i := range conns {
		conns[i] = ts.dialWS("")
		sessions[i] = ts.session().sess
		readText(t, conns[i]) // open
	}
	pad := strings.Repeat("b", 8<<10) // 12 MB in all: more than socket buffers hold
	errc := make(chan error, clients)
	for i := 1; i < clients; i++ { // clients 1.. read as they go; 0 does not read yet
		go func(conn *wsclient.Conn) {
			for n := 0; n < total; n++ {
				b, _, err := conn.Read(10 * time.Second)
				if err != nil {
					errc <- err
					return
				}
				if string(b) == "2" {
					n--
					continue
				}
				if want := fmt.Sprintf("4%d %s", n, pad); string(b) != want {
					errc <- fmt.Errorf("message %d: got %.12q", n, b)
					return
				}
			}
			errc <- nil
		}(conns[i])
	}
	for n := 0; n < total; n++ {
		msg := NewTextMessage([]byte(fmt.Sprintf("%d %s", n, pad)))
		b := NewBatch()
		for _, s := range sessions {
			if err := b.Post(s, false, msg); err != nil {
				t.Fatalf("post %d: %v", n, err)
			}
		}
		b.Flush()
	}
	for i := 1; i < clients; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < total; n++ { // now the slow client reads
		m := readText(t, conns[0])
		if m == "2" {
			n--
			continue
		}
		if want := fmt.Sprintf("4%d %s", n, pad); m != want {
			t.Fatalf("slow client, message %d: got %.12q", n, m)
		}
	}
}

func TestWebSocketHandshakeErrors(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	for name, hdr := range map[string]map[string]string{
		"old version": {"Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
		"bad key":     {"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"},
	} {
		req, _ := http.NewRequest("GET", ts.url+"?EIO=4&transport=websocket", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[string]int{"old version": 426, "bad key": 400}[name]; res.StatusCode != want {
			t.Errorf("%s: status %d, want %d", name, res.StatusCode, want)
		}
	}
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" { // RFC 6455 example
		t.Fatalf("acceptKey = %q", got)
	}
}

// TestQueueOverflowDoesNotWaitForWriter: disconnecting a client whose
// queue overflowed must not wait for its writer, blocked on the full
// socket until WriteTimeout: the sender (a broadcast) would stall with it.
func TestQueueOverflowDoesNotWaitForWriter(t *testing.T) {
	ts := newTestServer(t, &Options{MaxBufferedBytes: 1 << 20, WriteTimeout: 10 * time.Second}, nil)
	conn := ts.dialWS("")
	r := ts.session()
	readText(t, conn) // open, then never read again
	msg := NewTextMessage([]byte(strings.Repeat("s", 8<<10)))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		start := time.Now()
		err := r.sess.Post(false, msg)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Post took %v", took)
		}
		if errors.Is(err, ErrQueueFull) {
			if got := r.waitClosed(t); got != ReasonTransportError {
				t.Fatalf("reason = %q", got)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Slowly enough for the writer to fill the socket buffers and block
		// before the queue overflows.
		time.Sleep(200 * time.Microsecond)
	}
	t.Fatal("the queue never overflowed")
}

// A client may use its sid as soon as it has read the open packet: a
// request for a WebSocket session whose accept callback is still running
// finds the session, as with the reference (which registers a session
// before anything is written). Here a polling GET naming it is the wrong
// transport (400, code 3), never "Session ID unknown" (code 1).
func TestWebSocketSessionKnownOnceOpenSent(t *testing.T) {
	release := make(chan struct{})
	srv := NewServer(func(s *Session) SessionHandler {
		<-release // a slow accept callback
		return &recorder{sess: s, closed: make(chan struct{})}
	}, nil)
	url := serve.Start(t, srv, srv.Close).URL + "/engine.io/"
	defer close(release)
	conn := wsclient.Dial(t, url+"?EIO=4&transport=websocket", nil)
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(readText(t, conn)[1:]), &open); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var code int
	var body string
	go func() {
		defer close(done)
		res, err := http.Get(url + "?EIO=4&transport=polling&sid=" + open.SID)
		if err != nil {
			body = err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		code, body = res.StatusCode, string(b)
	}()
	time.Sleep(50 * time.Millisecond) // the GET arrives while accept runs
	release <- struct{}{}
	<-done
	if code != http.StatusBadRequest || !strings.Contains(body, `"code":3`) {
		t.Fatalf("GET for the WebSocket session: %d %s, want 400 with code 3 (Bad request)", code, body)
	}
}
