package hostile

import (
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

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/internal/testserver"
)

// Connection bounds at the TCP level: what a client holds without ever
// completing a request. These cases need a long header timeout (the
// default 10s: the attackers' half requests must still be pending when
// they are counted), hence their own server.

const (
	tcpCap       = 20 // limits.max_tcp_connections_per_ip here
	tcpSessionIP = 5  // limits.max_connections_per_ip here
	tcpAttackers = 1000
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
	c.Metrics.Listen = "" // scraped on the main listener
}

func TestConnectionBounds(t *testing.T) {
	s := &suite{base: testserver.Start(t, "default", tcpProfile)}
	s.next.Store(10)
	t.Run("open TCP connections per address", s.tcpPerAddress)
	t.Run("slots given back once on every path", s.tcpRelease)
	t.Run("trusted proxies not counted", s.tcpTrustedProxy)
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
