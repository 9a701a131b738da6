package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// An attack is run by workers, each from its own source address, each
// repeating one attempt (connect, misbehave, wait for the server to end
// it) until the run ends. An attempt returns its outcome: how the server
// ended it ("closed", "refused 429", ...), or "held" when it was still
// open when the attempt gave up waiting, which for most attacks means the
// server failed to bound it.
type attack struct {
	name    string
	workers int
	try     func(ctx context.Context, w *worker) string
}

// Attacks' sizes. max_payload is the default 1,000,000 bytes.
const (
	attackPayload = 999_000
	attemptWait   = 2 * time.Minute // longest an attempt waits to be ended
)

func attacks() []attack {
	return []attack{
		{"eio3 ping flood (polling, never GETs)", 2, eio3PingFlood},
		{"frame header declaring 999,999 bytes", 60, frameHeader},
		{"slow request body", 20, slowBody},
		{"slow request headers", 10, slowHeaders},
		{"partial binary packet (9 of 10 attachments)", 3, partialBinary},
		{"dynamic namespace flood", 2, namespaceFlood},
		{"plain-WebSocket bridge flood", 2, rawFlood},
		{"event flood, never reading", 2, eventFlood},
		{"malformed packets", 1, malformed},
		{"oversize message", 1, oversize},
		{"connections from one address", 1, connCap},
		{"admin UI password guessing", 3, adminGuess},
		{"admin UI login, right password (honest)", 1, adminLogin},
	}
}

type worker struct {
	cfg config
	src net.IP
}

type attackRun struct {
	wg    sync.WaitGroup
	stats []*attackStats
}

type attackStats struct {
	result.Attack
	mu sync.Mutex
}

func (s *attackStats) record(outcome string, held time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Attempts++
	if s.Outcomes == nil {
		s.Outcomes = map[string]int64{}
	}
	s.Outcomes[outcome]++
	if h := held.Seconds(); h > s.MaxHeldS {
		s.MaxHeldS = h
	}
}

// attackAddrs numbers attacker source addresses from 127.1.0.1 up.
var attackAddrs atomic.Uint32

func nextAttackAddr() net.IP {
	n := attackAddrs.Add(1)
	return net.IPv4(127, 1+byte(n>>16), byte(n>>8), byte(n))
}

// startAttacks starts every attack's workers until ctx ends.
func startAttacks(ctx context.Context, cfg config) *attackRun {
	r := &attackRun{}
	for _, a := range attacks() {
		st := &attackStats{Attack: result.Attack{Name: a.name, Workers: a.workers}}
		r.stats = append(r.stats, st)
		for range a.workers {
			w := &worker{cfg: cfg, src: nextAttackAddr()}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				for ctx.Err() == nil {
					start := time.Now()
					out := a.try(ctx, w)
					if ctx.Err() != nil && out == "held" {
						out = "ended by the run"
					}
					st.record(out, time.Since(start))
					sleepCtx(ctx, 100*time.Millisecond)
				}
			}()
		}
	}
	return r
}

func (r *attackRun) wait() []result.Attack {
	r.wg.Wait()
	out := make([]result.Attack, len(r.stats))
	for i, s := range r.stats {
		out[i] = s.Attack
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (w *worker) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: w.src}, Timeout: 10 * time.Second, Control: bindNoPort}
}

func (w *worker) http() *http.Client {
	return &http.Client{
		Timeout:   attemptWait,
		Transport: &http.Transport{DialContext: w.dialer().DialContext, DisableKeepAlives: true},
	}
}

func (w *worker) host() string {
	return strings.TrimPrefix(strings.TrimPrefix(w.cfg.URL, "http://"), "https://")
}

// dialEngine opens a WebSocket to path+query and, for the Engine.IO path,
// reads the open packet. Refusals come back as "refused <status>".
func (w *worker) dialEngine(ctx context.Context, pathQuery string) (*wsConn, string) {
	d := ws.Dialer{NetDial: w.dialer().DialContext, Timeout: 10 * time.Second}
	u := "ws://" + w.host() + pathQuery
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		var se ws.StatusError
		if errors.As(err, &se) {
			return nil, fmt.Sprintf("refused %d", int(se))
		}
		return nil, dialError(err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsConn{c: conn, br: br, rbuf: make([]byte, 0, 256), wbuf: make([]byte, 0, 256)}
	_, _ = rand.Read(c.mask[:])
	if strings.HasPrefix(pathQuery, "/socket.io/") {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if msg, err := c.readMessage(); err != nil || len(msg) == 0 || msg[0] != '0' {
			conn.Close()
			return nil, "no open packet"
		}
		_ = conn.SetReadDeadline(time.Time{})
	}
	return c, ""
}

const engineWS = "/socket.io/?EIO=4&transport=websocket"

// connectRoot joins "/" on an engine connection.
func connectRoot(c *wsConn) bool {
	if c.writeText([]byte("40")) != nil {
		return false
	}
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = c.c.SetReadDeadline(time.Time{}) }()
	pkt, err := c.readPacket()
	return err == nil && len(pkt) > 0 && pkt[0] == '0'
}

// waitClosed reads (answering nothing: an attacker does not pong) until
// the server ends the connection or attemptWait passes.
func waitClosed(ctx context.Context, conn net.Conn) string {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(attemptWait))
	_, err := io.Copy(io.Discard, conn)
	conn.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "held"
	}
	return "closed"
}

// openPolling opens a polling session of Engine.IO version eio and
// returns its URL (sid included), or the outcome when refused.
func (w *worker) openPolling(hc *http.Client, eio string) (string, string) {
	base := strings.TrimSuffix(w.cfg.URL, "/") + "/socket.io/?EIO=" + eio + "&transport=polling"
	res, err := hc.Get(base)
	if err != nil {
		return "", dialError(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sid, ok := stringField(b, `"sid":"`)
	if res.StatusCode != http.StatusOK || !ok {
		return "", fmt.Sprintf("refused %d", res.StatusCode)
	}
	return base + "&sid=" + sid, ""
}

func eio3PingFlood(ctx context.Context, w *worker) string {
	hc := w.http()
	session, out := w.openPolling(hc, "3")
	if session == "" {
		return out
	}
	body := strings.Repeat("1:2", attackPayload/3)
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		req, _ := http.NewRequestWithContext(ctx, "POST", session, strings.NewReader(body))
		res, err := hc.Do(req)
		if err != nil {
			return "closed"
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Sprintf("closed (%d after %d POSTs)", res.StatusCode, i)
		}
	}
	return "held"
}

func frameHeader(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	// FIN+text, masked, 64-bit length 999,999, a mask, one byte.
	h := []byte{0x81, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, 999_999)
	h = append(h, 1, 2, 3, 4, 'x')
	if _, err := c.c.Write(h); err != nil {
		c.close()
		return "closed"
	}
	return waitClosed(ctx, c.c)
}

func slowBody(ctx context.Context, w *worker) string {
	session, out := w.openPolling(w.http(), "4")
	if session == "" {
		return out
	}
	conn, err := w.dialer().DialContext(ctx, "tcp", w.host())
	if err != nil {
		return dialError(err)
	}
	path := session[strings.Index(session, "/socket.io/"):]
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n4", path)
	return waitClosed(ctx, conn)
}

func slowHeaders(ctx context.Context, w *worker) string {
	conn, err := w.dialer().DialContext(ctx, "tcp", w.host())
	if err != nil {
		return dialError(err)
	}
	go func() {
		fmt.Fprint(conn, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
		for i := 0; ctx.Err() == nil; i++ {
			sleepCtx(ctx, time.Second)
			if _, err := fmt.Fprintf(conn, "X-%d: y\r\n", i); err != nil {
				return
			}
		}
	}()
	return waitClosed(ctx, conn)
}

func partialBinary(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	if !connectRoot(c) {
		c.close()
		return "no CONNECT"
	}
	ph := make([]string, 10)
	for i := range ph {
		ph[i] = fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i)
	}
	if c.writeText([]byte(`4510-["echo",`+strings.Join(ph, ",")+`]`)) != nil {
		c.close()
		return "closed"
	}
	att := make([]byte, attackPayload)
	for range 9 {
		if c.writeFrame(0x2, att) != nil {
			c.close()
			return "closed while sending"
		}
	}
	return waitClosed(ctx, c.c)
}

// drainPings reads and discards what the server sends, answering pings, and
// counts the packets that satisfy match; it returns when the connection
// ends.
func drainPings(c *wsConn, match func([]byte) bool, n *atomic.Int64) {
	for {
		pkt, err := c.readPacket()
		if err != nil {
			return
		}
		if match != nil && match(pkt) {
			n.Add(1)
		}
	}
}

// floodFor sends frames from next until a write fails (the server closed
// the connection) or d passes.
func floodFor(ctx context.Context, c *wsConn, d time.Duration, next func(i int) []byte) string {
	deadline := time.Now().Add(d)
	_ = c.c.SetWriteDeadline(deadline)
	for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
		if c.writeText(next(i)) != nil {
			c.close()
			return "closed"
		}
	}
	c.close()
	return "open after 30s"
}

func namespaceFlood(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	var refused atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		drainPings(c, func(p []byte) bool { return len(p) > 0 && p[0] == '4' }, &refused)
	}()
	out = floodFor(ctx, c, 30*time.Second, func(i int) []byte { return fmt.Appendf(nil, "40/dyn-%d,", i) })
	<-done
	if out != "closed" && refused.Load() > 0 {
		return "connects refused, connection kept"
	}
	return out
}

func rawFlood(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, "/raw")
	if c == nil {
		return out
	}
	msg := []byte("flood flood flood flood flood flood flood flood")
	return floodFor(ctx, c, 30*time.Second, func(int) []byte { return msg })
}

func eventFlood(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	if !connectRoot(c) {
		c.close()
		return "no CONNECT"
	}
	msg := []byte(`42["echo","` + strings.Repeat("e", 1000) + `"]`)
	return floodFor(ctx, c, 30*time.Second, func(int) []byte { return msg })
}

var malformedPackets = []string{"9", "4", "47[]", `42[`, `42{"a":1}`, `42[]`, `42["connect"]`, `45-["x"]`, "42\x00[\"x\"]"}

func malformed(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	if !connectRoot(c) {
		c.close()
		return "no CONNECT"
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	if c.writeText([]byte(malformedPackets[int(b[0])%len(malformedPackets)])) != nil {
		c.close()
		return "closed"
	}
	return waitClosed(ctx, c.c)
}

func oversize(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	if c.writeText([]byte("4"+strings.Repeat("x", 2_000_000))) != nil {
		c.close()
		return "closed while sending"
	}
	return waitClosed(ctx, c.c)
}

// connCap opens connections from one address until refused, holds them a
// while, and lets them go.
func connCap(ctx context.Context, w *worker) string {
	var conns []*wsConn
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	for len(conns) < 1000 && ctx.Err() == nil {
		c, out := w.dialEngine(ctx, engineWS)
		if c == nil {
			sleepCtx(ctx, 10*time.Second)
			return fmt.Sprintf("%s after %d connections", out, len(conns))
		}
		conns = append(conns, c)
		go drainPings(c, nil, nil)
	}
	return "held"
}

func adminAuth(password string) []byte {
	return []byte(`40/admin,{"username":"admin","password":` + jsonString(password) + `}`)
}

// adminAnswer waits for the answer to an /admin CONNECT.
func adminAnswer(c *wsConn) string {
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		pkt, err := c.readPacket()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return "no answer in 10s"
			}
			return "closed"
		}
		switch {
		case strings.HasPrefix(string(pkt), "0/admin,"):
			return "logged in"
		case strings.HasPrefix(string(pkt), "4/admin,") && strings.Contains(string(pkt), "rate limit exceeded"):
			return "rate-limited" // the namespace's CONNECT rate: no password checked
		case strings.HasPrefix(string(pkt), "4/admin,"):
			return "refused"
		}
	}
}

func adminGuess(ctx context.Context, w *worker) string {
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	defer c.close()
	limited := 0
	for i := 0; i < 10_000 && ctx.Err() == nil; i++ {
		if c.writeText(adminAuth(fmt.Sprintf("guess-%d", i))) != nil {
			return "closed"
		}
		switch a := adminAnswer(c); a {
		case "refused":
		case "rate-limited":
			limited++
		default:
			return a
		}
	}
	return fmt.Sprintf("10,000 guesses answered, %d of them rate-limited unchecked", limited)
}

func adminLogin(ctx context.Context, w *worker) string {
	sleepCtx(ctx, 2*time.Second)
	c, out := w.dialEngine(ctx, engineWS)
	if c == nil {
		return out
	}
	defer c.close()
	if c.writeText(adminAuth(adminPassword)) != nil {
		return "closed"
	}
	return adminAnswer(c)
}

// adminPassword is bench/hostile.yaml's.
const adminPassword = "soak-admin-password"

// dialError names why a connection could not be made, briefly.
func dialError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "dial error: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "dial error: refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "dial error: closed by the server"
	}
	return "dial error"
}
