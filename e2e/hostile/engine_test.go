package hostile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Engine bounds: memory and time a client holds on the server are bounded
// by what it actually sends. These cases need the default payload limit
// (1 MB) and heartbeat (25s + 20s: long, so that only the limits under test
// can end a connection in time), hence their own server.

const (
	bodyWait    = 2 * time.Second // limits.read_body_timeout here
	boundsPerIP = 5
)

func boundsProfile(c *config.Config) {
	c.StaticDir = ""
	c.Namespaces = []config.Namespace{{Name: "/", App: "conformance"}}
	c.RawWebSocket = nil
	c.Limits.ReadBodyTimeout = bodyWait
	c.Limits.MaxConnectionsPerIP = boundsPerIP
	c.Metrics.Listen = "" // scraped on the main listener
}

func TestEngineBounds(t *testing.T) {
	s := &suite{base: testserver.Start(t, "default", boundsProfile)}
	s.next.Store(10)
	t.Run("frame headers declaring large payloads", s.declaredFrameLength)
	t.Run("EIO3 polling ping flood", s.pingFloodV3)
	t.Run("slowloris body", s.slowBody)
	t.Run("bodies in flight per address", s.bodiesPerAddress)
}

// heap returns the live heap of the process, the in-process server's
// included, after a collection.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

const mib = 1 << 20

// Frame headers that declare 999,999 bytes, each followed by one byte: the
// server holds memory for what arrived, not for what was declared, and a
// message that does not complete within read_body_timeout closes its
// connection with 1008 (long before the heartbeat would).
func (s *suite) declaredFrameLength(t *testing.T) {
	const conns = 100 // 100 MB if each header allocated its length
	timeouts := s.rejections(t, "read_body_timeout")
	before := heap()
	var as []*attacker
	for i := range conns {
		if i%boundsPerIP == 0 {
			s.addr()
		}
		a, err := s.dialWS(t, s.last(), nil)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	// FIN text frame, masked, 64-bit length; the mask key; one byte.
	hdr := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 'x'}
	binary.BigEndian.PutUint64(hdr[2:10], 999_999)
	start := time.Now()
	for _, a := range as {
		if err := a.ws.WriteRaw(hdr); err != nil {
			t.Fatal(err)
		}
	}
	// Let the server read the headers (well within bodyWait), then look.
	time.Sleep(bodyWait / 2)
	grown := int64(heap()) - int64(before)
	t.Logf("%d connections, each a header for 999,999 bytes and 1 byte: heap grew %.1f MiB", conns, float64(grown)/mib)
	if grown > 30*mib {
		t.Errorf("heap grew %.1f MiB for %d bytes of payload received", float64(grown)/mib, conns)
	}
	var wg sync.WaitGroup
	codes := make([]ws.StatusCode, len(as))
	for i, a := range as {
		wg.Go(func() { codes[i] = a.expectClosedWithin(bodyWait + 8*time.Second) })
	}
	wg.Wait()
	if d := time.Since(start); d > bodyWait+8*time.Second {
		t.Fatalf("partial messages held their connections %v", d)
	}
	for i, c := range codes {
		if c == stillOpen {
			t.Fatalf("connection %d still open %v after its partial message", i, bodyWait+8*time.Second)
		}
		if c != ws.StatusPolicyViolation {
			t.Fatalf("connection %d: close code %d, want %d (policy violation)", i, c, ws.StatusPolicyViolation)
		}
	}
	t.Logf("all closed %v after the headers", time.Since(start).Round(100*time.Millisecond))
	if n := s.rejections(t, "read_body_timeout") - timeouts; n != conns {
		t.Errorf("limit_rejections_total{kind=\"read_body_timeout\"} grew by %v, want %d", n, conns)
	}
}

// stillOpen is no close code: a connection still open.
const stillOpen ws.StatusCode = 1

// last returns the address addr returned last.
func (s *suite) last() net.IP {
	n := s.next.Load()
	return net.IPv4(127, 0, byte(n>>8), byte(n))
}

// expectClosedWithin is expectClosed with its own timeout, and without
// failing the test from another goroutine: it returns stillOpen if the
// connection is still open after d.
func (a *attacker) expectClosedWithin(d time.Duration) ws.StatusCode {
	code, _, err := a.ws.WaitClosed(d, a.pong)
	if err != nil {
		return stillOpen
	}
	return code
}

// An Engine.IO v3 client pings (the server pongs). One that POSTs payloads
// of pings and never GETs fills its session's queue with pongs: the queue
// bound (max_buffered_bytes) counts them as any other packet, and closes
// the session past it.
func (s *suite) pingFloodV3(t *testing.T) {
	c := s.httpClient(s.addr())
	sid := s.openPollingEIO(t, c, "3")
	u := s.base + "/socket.io/?EIO=3&transport=polling&sid=" + sid
	body := strings.Repeat("1:2", 333_333) // 999,999 bytes: 333,333 pings
	before := heap()
	// unknown reports whether a POST of p was refused for an unknown
	// session: the session was closed. (A refused large POST may instead
	// end in a reset: the server does not read all of it.)
	unknown := func(p string) (bool, error) {
		res, err := c.Post(u, "text/plain;charset=UTF-8", strings.NewReader(p))
		if err != nil {
			return false, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST: %d %q", res.StatusCode, b)
		}
		return res.StatusCode == http.StatusBadRequest && strings.Contains(string(b), `"code":1`), nil
	}
	posts, gone := 0, false
	for range 20 {
		if g, err := unknown(body); g || err != nil {
			break
		}
		posts++
	}
	if g, err := unknown("1:6"); err != nil { // a noop
		t.Fatal(err)
	} else {
		gone = g
	}
	grown := int64(heap()) - int64(before)
	t.Logf("%d POSTs of 333,333 pings accepted, session closed: %v; heap grew %.1f MiB", posts, gone, float64(grown)/mib)
	if grown > 16*mib {
		t.Errorf("heap grew %.1f MiB for a session that never reads", float64(grown)/mib)
	}
	if !gone {
		t.Error("a session with millions of unread pongs is still open")
	}
}

// A polling POST whose body stops coming is cut off after
// read_body_timeout (the heartbeat would take 45s).
func (s *suite) slowBody(t *testing.T) {
	c := s.httpClient(s.addr())
	sid := s.openPolling(t, c)
	timeouts := s.rejections(t, "read_body_timeout")
	conn, err := dialer(s.last()).Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4", sid); err != nil {
		t.Fatal(err)
	}
	wait := bodyWait + 8*time.Second
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatalf("a POST of 1 byte of 100 was answered 200")
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a trickling body held its request open for %v", wait)
	}
	d := time.Since(start)
	t.Logf("trickling body cut off after %v (status or error: %v)", d.Round(100*time.Millisecond), statusOrErr(res, err))
	if d < bodyWait/2 {
		t.Fatalf("cut off after %v, before read_body_timeout (%v)", d, bodyWait)
	}
	if n := s.rejections(t, "read_body_timeout") - timeouts; n != 1 {
		t.Errorf("limit_rejections_total{kind=\"read_body_timeout\"} grew by %v, want 1", n)
	}
}

func statusOrErr(res *http.Response, err error) any {
	if err != nil {
		return err
	}
	return res.StatusCode
}

// One address can have at most max_connections_per_ip requests whose body
// is being read: POSTs whose body trickles in (here to the handshake URL,
// which has no session to count against) past that are refused with 429
// at once, other addresses are served, and the trickling ones are cut off
// after read_body_timeout.
func (s *suite) bodiesPerAddress(t *testing.T) {
	src := s.addr()
	addr := strings.TrimPrefix(s.base, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	trickle := func() net.Conn {
		conn, err := dialer(src).Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		if _, err := io.WriteString(conn, "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n4"); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	for range boundsPerIP {
		trickle()
	}
	time.Sleep(200 * time.Millisecond) // let the server take them
	start := time.Now()
	conn := trickle()
	_ = conn.SetReadDeadline(time.Now().Add(bodyWait / 2))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("request %d from one address, with %d bodies trickling: %v, want HTTP 429 at once", boundsPerIP+1, boundsPerIP, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request %d from one address: status %d, want 429", boundsPerIP+1, res.StatusCode)
	}
	t.Logf("request %d refused with 429 after %v", boundsPerIP+1, time.Since(start).Round(time.Millisecond))
	if n := s.rejections(t, "max_connections_per_ip"); n < 1 {
		t.Errorf("limit_rejections_total{kind=\"max_connections_per_ip\"} = %v after the refusal", n)
	}
	// Another address is served meanwhile.
	other := s.httpClient(s.addr())
	s.openPolling(t, other)
	// The trickling ones are answered (or closed) once their time is up.
	for i, conn := range conns[:boundsPerIP] {
		_ = conn.SetReadDeadline(time.Now().Add(bodyWait + 8*time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("trickling request %d still open %v after it began", i+1, time.Since(start))
		}
		if err == nil {
			res.Body.Close()
		}
	}
	t.Logf("the trickling requests ended %v after the refusal", time.Since(start).Round(100*time.Millisecond))
}

// rejections returns limit_rejections_total for one kind of limit.
func (s *suite) rejections(t *testing.T, kind string) float64 {
	t.Helper()
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, `switchboard_limit_rejections_total{kind="`+kind+`"} `); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}
