package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Connection bounds at the TCP level: what a client holds without ever
// completing a request, or without ever reading its response. These cases
// need a long header timeout (the default 10s: the attackers' half
// requests must still be pending when they are counted) and a queue large
// enough to fill loopback's socket buffers, hence their own server.

const (
	tcpCap       = 20 // limits.max_tcp_connections_per_ip here
	tcpSessionIP = 5  // limits.max_connections_per_ip here
	tcpAttackers = 1000
	writeWait    = 2 * time.Second // limits.write_timeout here
)

// trustedProxies are not counted by the TCP cap (nor reached by s.addr).
var trustedProxy = net.IPv4(127, 0, 9, 1)

func tcpProfile(c *config.Config) {
	c.StaticDir = ""
	c.Namespaces = []config.Namespace{{Name: "/", App: "conformance"}}
	c.RawWebSocket = nil
	c.Limits.MaxConnectionsPerIP = tcpSessionIP
	c.Limits.MaxTCPConnectionsPerIP = tcpCap
	c.Limits.TrustedProxies = []string{"127.0.9.0/24"}
	c.Limits.WriteTimeout = writeWait
	c.SocketIO.ServeClient = true
	c.SocketIO.MaxBufferedBytes = 8 << 20
	c.SocketIO.MaxPayload = 8 << 20
	c.Metrics.Listen = "" // scraped on the main listener
}

func TestConnectionBounds(t *testing.T) {
	s := &suite{base: testserver.Start(t, "default", tcpProfile)}
	s.next.Store(10)
	t.Run("open TCP connections per address", s.tcpPerAddress)
	t.Run("slots given back once on every path", s.tcpRelease)
	t.Run("trusted proxies not counted", s.tcpTrustedProxy)
	t.Run("client bundle never read", s.unreadBundle)
	t.Run("long poll never read", s.unreadPoll)
	t.Run("long poll answered after write_timeout", s.latePoll)
}

// memHeld returns the live heap and the goroutine stacks of the process,
// the in-process server's included, after a collection.
func memHeld() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// openRaw opens n TCP connections from src, each sending part (which may
// be empty), and returns those whose dial succeeded (the server may reset
// one before); the test closes them at its end.
func (s *suite) openRaw(t *testing.T, src net.IP, n int, part string) []net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(s.base, "http://")
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := dialer(src).Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // refused before the dial returned
		}
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
		if part != "" {
			// A refused connection may already be reset: ignored, the
			// count below tells.
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, part)
		}
	}
	return conns
}

// heldOpen counts the connections the server holds open: a read gets
// nothing within wait (the server waits for the rest of the request),
// where a refused connection reads its end at once.
func heldOpen(conns []net.Conn, wait time.Duration) int {
	var n sync.WaitGroup
	open := make([]bool, len(conns))
	deadline := time.Now().Add(wait)
	for i, c := range conns {
		n.Go(func() {
			_ = c.SetReadDeadline(deadline)
			var b [1]byte
			_, err := c.Read(b[:])
			var ne net.Error
			open[i] = errors.As(err, &ne) && ne.Timeout()
		})
	}
	n.Wait()
	count := 0
	for _, o := range open {
		if o {
			count++
		}
	}
	return count
}

// handshake opens a polling session from src, and returns the error
// (nil: status 200 with a session id).
func (s *suite) handshake(src net.IP) error {
	c := s.httpClient(src)
	defer c.CloseIdleConnections()
	res, err := c.Get(s.base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"sid":"`) {
		return fmt.Errorf("status %d %q", res.StatusCode, b)
	}
	return nil
}

// 1,000 connections from one address, each with half a request line (a
// slowloris by numbers: each would be held read_header_timeout, 10s):
// the server keeps max_tcp_connections_per_ip of them and closes the rest
// at once, and a real client from that address is refused while they
// last; other addresses are served, and the address is served again once
// its connections close.
func (s *suite) tcpPerAddress(t *testing.T) {
	src := s.addr()
	refusals := s.rejections(t, "max_tcp_connections_per_ip")
	before := memHeld()
	conns := s.openRaw(t, src, tcpAttackers, "GET /socket.io/?EIO=4&tra")
	time.Sleep(300 * time.Millisecond) // let the server take the last ones
	grown := int64(memHeld()) - int64(before)
	open := heldOpen(conns, time.Second)
	t.Logf("%d half requests from one address: %d held open by the server, heap and stacks grew %.1f MiB", tcpAttackers, open, float64(grown)/mib)
	if open != tcpCap {
		t.Errorf("the server holds %d connections from one address, want %d (max_tcp_connections_per_ip)", open, tcpCap)
	}
	if grown > 4*mib {
		t.Errorf("heap and stacks grew %.1f MiB for %d half requests", float64(grown)/mib, tcpAttackers)
	}
	if err := s.handshake(src); err == nil {
		t.Error("a handshake from the address at its cap was served")
	} else {
		t.Logf("handshake from the address at its cap: %v", err)
	}
	if err := s.handshake(s.addr()); err != nil {
		t.Errorf("handshake from another address: %v", err)
	}
	if n := s.rejections(t, "max_tcp_connections_per_ip") - refusals; n < tcpAttackers-tcpCap+1 {
		t.Errorf("limit_rejections_total{kind=\"max_tcp_connections_per_ip\"} grew by %v, want at least %d", n, tcpAttackers-tcpCap+1)
	}
	for _, c := range conns {
		c.Close()
	}
	s.eventually(t, "a handshake from the address once its connections closed", func() error { return s.handshake(src) })
}

// eventually retries f for closeTimeout.
func (s *suite) eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A slot is given back exactly once whichever way its connection ends:
// closed by the client, closed by the server after its response
// ("Connection: close"), hijacked by a WebSocket upgrade and then closed
// by either side. After each round, the address has exactly
// max_tcp_connections_per_ip connections again: one fewer means a slot
// leaked, one more that one was given back twice.
//
// Closing is asynchronous (the server sees the end of a connection a
// moment later): each step retries until the previous one's connections
// are gone.
func (s *suite) tcpRelease(t *testing.T) {
	src := s.addr()
	full := func(round string) {
		t.Helper()
		var conns []net.Conn
		s.eventually(t, round+": all slots free", func() error {
			for _, c := range conns {
				c.Close()
			}
			conns = s.openRaw(t, src, tcpCap+1, "")
			if n := heldOpen(conns, 700*time.Millisecond); n != tcpCap {
				return fmt.Errorf("%d of %d connections held, want %d", n, tcpCap+1, tcpCap)
			}
			return nil
		})
		for _, c := range conns {
			c.Close()
		}
	}
	full("at first")

	// Closed by the client, in the header phase and idle after a request.
	for _, c := range s.openRaw(t, src, tcpCap/2, "GET / HTTP/1.1\r\n") {
		c.Close()
	}
	c := s.httpClient(src)
	c.Transport.(*http.Transport).DisableKeepAlives = false
	for range 3 {
		s.eventually(t, "GET on a kept-alive connection", func() error { return s.get(c, "/healthz") })
	}
	c.CloseIdleConnections()
	full("after client closes")

	// Closed by the server, after its response to "Connection: close".
	c = s.httpClient(src)
	for range tcpCap + 5 {
		s.eventually(t, "GET with Connection: close", func() error { return s.get(c, "/healthz") })
	}
	full("after server closes")

	// Hijacked: WebSocket sessions closed by the client, and by the
	// server (a malformed packet).
	for round := range 2 {
		var as []*attacker
		for range tcpSessionIP {
			// The last round's sessions end a moment after their
			// connections: until then they count against
			// max_connections_per_ip.
			s.eventually(t, fmt.Sprintf("WebSocket session in round %d", round+1), func() error {
				a, err := s.dialWS(t, src, nil)
				if err == nil {
					as = append(as, a)
				}
				return err
			})
		}
		for i, a := range as {
			if i%2 == 0 {
				a.conn.Close()
				continue
			}
			a.send("9") // unknown packet type: closed by the server
			a.expectClosed()
			a.conn.Close()
		}
	}
	full("after WebSocket sessions")
}

// get requests path from c and reads the response.
func (s *suite) get(c *http.Client, path string) error {
	res, err := c.Get(s.base + path)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	return nil
}

// A reverse proxy carries many clients' connections: it is not counted.
func (s *suite) tcpTrustedProxy(t *testing.T) {
	conns := s.openRaw(t, trustedProxy, tcpCap+10, "GET / HTTP/1.1\r\n")
	if n := heldOpen(conns, 700*time.Millisecond); n != tcpCap+10 {
		t.Fatalf("%d of %d connections from a trusted proxy held, want all", n, tcpCap+10)
	}
}

// nonReader dials from src with a tiny receive buffer (the window the
// server sees stays small); the test closes it at its end.
func (s *suite) nonReader(t *testing.T, src net.IP) net.Conn {
	t.Helper()
	d := dialer(src)
	d.Control = func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readResponses reads the responses on conn until one fails, and returns
// how many came whole and the error that ended them.
func readResponses(conn net.Conn, wait time.Duration) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(conn)
	for n := 0; ; n++ {
		res, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		if err != nil {
			return n, err
		}
	}
}

// A client that asks for the client bundle's source map (300 kB) again
// and again on one connection, pipelined, and reads nothing: past the
// socket buffers (about 3 MB on loopback) the server's write blocks. It
// gives up after write_timeout and closes the connection, rather than
// hold the handler's goroutine and buffers for as long as the client
// likes.
func (s *suite) unreadBundle(t *testing.T) {
	const requests = 32 // 9.9 MB
	conn := s.nonReader(t, s.addr())
	req := strings.Repeat("GET /socket.io/socket.io.js.map HTTP/1.1\r\nHost: x\r\n\r\n", requests)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(writeWait + 3*time.Second) // reading nothing
	n, err := readResponses(conn, 10*time.Second)
	t.Logf("%d source maps asked for, not read for %v: %d came whole, then %v", requests, writeWait+3*time.Second, n, err)
	var ne net.Error
	if n == requests || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("the server was still writing to a client that read nothing for %v (write_timeout %v)", writeWait+3*time.Second, writeWait)
	}
}

// A long poll sent from a connection that reads nothing, answered after
// it waited longer than write_timeout with 4.5 MB (the echo of the
// session's own message): it gives up writing write_timeout after its
// data was ready.
func (s *suite) unreadPoll(t *testing.T) {
	src := s.addr()
	c := s.httpClient(src)
	sid := s.openPolling(t, c)
	s.post(t, c, sid, "40")
	s.poll(t, c, sid) // the CONNECT answer and the greeting
	conn := s.nonReader(t, src)
	if _, err := fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(writeWait + time.Second)                                     // the poll waits
	s.post(t, c, sid, `42["message","`+strings.Repeat("x", 4_500_000)+`"]`) // echoed as message-back
	time.Sleep(writeWait + 3*time.Second)                                   // reading nothing
	n, err := readResponses(conn, 10*time.Second)
	t.Logf("poll of 4.5 MB not read for %v: %d came whole, then %v", writeWait+3*time.Second, n, err)
	if n > 0 {
		t.Fatalf("the server was still writing a poll to a client that read nothing for %v (write_timeout %v)", writeWait+3*time.Second, writeWait)
	}
}

// An honest long poll that waits longer than write_timeout for its data
// is answered: the deadline starts when the data is ready.
func (s *suite) latePoll(t *testing.T) {
	c := s.httpClient(s.addr())
	sid := s.openPolling(t, c)
	s.post(t, c, sid, "40")
	s.poll(t, c, sid) // the CONNECT answer and the greeting
	got := make(chan string, 1)
	go func() {
		res, err := c.Get(pollURL(s.base, sid))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- fmt.Sprintf("%d %s", res.StatusCode, b)
	}()
	time.Sleep(writeWait + time.Second)
	s.post(t, c, sid, `42["message","late"]`)
	if g := <-got; g != `200 42["message-back","late"]` {
		t.Fatalf("a poll answered %v after write_timeout: %s", writeWait+time.Second, g)
	}
}

// post sends a polling POST and checks it is accepted.
func (s *suite) post(t *testing.T, c *http.Client, sid, body string) {
	t.Helper()
	res, err := c.Post(pollURL(s.base, sid), "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST: %d %q", res.StatusCode, b)
	}
}

// poll sends a polling GET and returns its body.
func (s *suite) poll(t *testing.T, c *http.Client, sid string) string {
	t.Helper()
	res, err := c.Get(pollURL(s.base, sid))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %q", res.StatusCode, b)
	}
	return string(b)
}
