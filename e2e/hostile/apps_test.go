package hostile

import (
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
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// Attacks on the applications served beside Socket.IO: the plain
// WebSocket chat bridge (raw_websocket) and the Admin UI's login.

// dialRaw opens a plain WebSocket chat connection from src.
func (s *suite) dialRaw(t *testing.T, src net.IP) *attacker {
	t.Helper()
	a, err := s.dialFrom(t, src, rawPath, wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// chatWatcher is a Socket.IO user of the chat the raw clients join.
func (s *suite) chatWatcher(t *testing.T, ctx context.Context) *sioclient.Client {
	t.Helper()
	c, err := sioclient.Dial(ctx, s.base, "/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Emit("add user", "watcher"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, "login"); err != nil {
		t.Fatal(err)
	}
	return c
}

// A raw client flooding messages is held to the event rate of Socket.IO
// clients (limits.events_per_second, event_burst: 200/s, 400 here): the
// excess reaches neither the Socket.IO users nor the history, is counted,
// and the client stays connected.
func rawFlood(t *testing.T, s *suite) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watcher := s.chatWatcher(t, ctx)
	before := s.limitRejections(t, "events_per_second")
	a := s.dialRaw(t, s.addr())
	var joined struct{ Username string }
	ev, err := watcher.Expect(ctx, "user joined")
	if err != nil || ev.Arg(0, &joined) != nil || !strings.HasPrefix(joined.Username, "guest-") {
		t.Fatalf("user joined: %v %s", err, ev.Args)
	}
	guest := joined.Username
	// The raw client's own copies are read and thrown away; pings are
	// answered (wmu: one writer at a time), or the heartbeat drops it.
	var wmu sync.Mutex
	echoes := make(chan struct{})
	go func() {
		defer close(echoes)
		_ = a.conn.SetReadDeadline(time.Now().Add(50 * time.Second))
		for {
			f, err := ws.ReadFrame(a.r)
			if err != nil {
				return
			}
			if f.Header.OpCode == ws.OpPing {
				wmu.Lock()
				_ = a.ws.Write(ws.OpPong, f.Payload)
				wmu.Unlock()
			}
		}
	}()

	const n = 3000
	wmu.Lock()
	for i := range n {
		a.send(fmt.Sprintf("flood %d", i))
	}
	wmu.Unlock()
	delivered := 0
	for {
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second) // quiet for 2s: the flood is over
		ev, err := watcher.Next(qctx)
		qcancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("watcher: %v", err)
			}
			break
		}
		var m handlers.ChatMessage
		if ev.Name == "new message" && ev.Arg(0, &m) == nil && m.Username == guest {
			delivered++
		}
	}
	t.Logf("%d messages from one raw client: %d delivered", n, delivered)
	// 400 at once plus 200/s while they arrive; unlimited, all 3,000.
	if delivered == 0 || delivered > 1500 {
		t.Fatalf("%d messages from one raw client: %d delivered to a Socket.IO user, want 1-1500 (the event rate)", n, delivered)
	}
	if got := s.limitRejections(t, "events_per_second") - before; got < n-float64(delivered) {
		t.Errorf("limit_rejections_total{kind=\"events_per_second\"} rose by %v, want at least %d", got, n-delivered)
	}

	// Still connected: once the bucket refills, a message gets through.
	time.Sleep(time.Second)
	wmu.Lock()
	a.send("after the flood")
	wmu.Unlock()
	for {
		ev, err := watcher.Expect(ctx, "new message")
		if err != nil {
			t.Fatal(err)
		}
		var m handlers.ChatMessage
		if ev.Arg(0, &m) == nil && m.Username == guest {
			if m.Message != "after the flood" {
				t.Fatalf("after the flood: got %q", m.Message)
			}
			break
		}
	}
	_ = a.conn.Close()
	<-echoes
}

// A raw client that neither sends nor reads (so never answers the
// server's pings) is cut off by the heartbeat (ping_interval +
// ping_timeout, 2s here), as a Socket.IO client is.
func rawSilent(t *testing.T, s *suite) {
	a := s.dialRaw(t, s.addr())
	start := time.Now()
	_ = a.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, a.r) // look for the end only: no pong
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a silent raw client was not dropped within 10s")
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("dropped after %v, before the heartbeat could expire", d)
	}
}

// A raw client trickling one frame, a byte every 300ms (30s for the
// whole frame), is cut off once the frame is not complete in time.
func rawTrickle(t *testing.T, s *suite) {
	a := s.dialRaw(t, s.addr())
	var frame strings.Builder
	_ = ws.WriteFrame(&frame, ws.MaskFrame(ws.NewTextFrame([]byte(strings.Repeat("x", 100)))))
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_ = a.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, _ = io.Copy(io.Discard, a.r)
		done <- time.Since(start)
	}()
	b := []byte(frame.String())
	for i := 0; i < len(b); i++ {
		if err := a.ws.WriteRaw(b[i : i+1]); err != nil {
			break // cut off
		}
		select {
		case <-done:
			return // the server closed it (its reader saw the end)
		case <-time.After(300 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("a trickling raw client still connected after %v", time.Since(start))
		}
	}
	if d := <-done; d > 10*time.Second {
		t.Fatalf("a trickling raw client cut off after %v, want within the heartbeat (2s)", d)
	}
}

// limitRejections reads switchboard_limit_rejections_total{kind} from
// /metrics.
func (s *suite) limitRejections(t *testing.T, kind string) float64 {
	t.Helper()
	b := s.metricsText(t)
	prefix := `switchboard_limit_rejections_total{kind="` + kind + `"} `
	for _, line := range strings.Split(b, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return 0
}

// metricsText returns the /metrics page.
func (s *suite) metricsText(t *testing.T) string {
	t.Helper()
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	return string(b)
}

// TestAdminLoginLockout: attackers from a few addresses hammer the Admin
// UI's login with wrong passwords, over several connections each and
// retrying on each connection, while the admin logs in from another
// address, again and again. Every one of the admin's logins succeeds:
// attempts are limited per address, and the attackers' never take the
// password checks the admin needs.
func TestAdminLoginLockout(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), 8) // ~15ms a check, as a real login costs some
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{base: testserver.Start(t, "default", profile, func(c *config.Config) {
		c.AdminUI.Enabled = true
		c.AdminUI.Auth = config.AdminAuth{Username: "admin", PasswordHash: string(hash)}
		// The default heartbeat: a login waiting for a bcrypt slot holds
		// its connection's reading, pongs included, and under -race
		// (bcrypt is pure Go) that wait passes the profile's 1s + 1s.
		c.SocketIO.PingInterval, c.SocketIO.PingTimeout = 25*time.Second, 20*time.Second
	})}
	s.next.Store(10)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var attempts, refusedOverLimit atomic.Int64
	const addresses, connsPerAddress = 4, 3
	for range addresses {
		src := s.addr()
		for range connsPerAddress {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.hammerAdminLogin(ctx, src, &attempts, &refusedOverLimit)
			}()
		}
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	time.Sleep(500 * time.Millisecond) // the attack is under way

	const logins = 20
	failed := 0
	for i := range logins {
		lctx, lcancel := context.WithTimeout(ctx, 15*time.Second)
		c, err := sioclient.Dial(lctx, s.base, "/admin", map[string]string{"username": "admin", "password": adminPassword})
		lcancel()
		if err != nil {
			failed++
			t.Logf("admin login %d: %v", i+1, err)
			continue
		}
		_ = c.Close()
	}
	n := attempts.Load()
	t.Logf("admin: %d of %d logins refused; attackers: %d attempts, %d refused over the limit", failed, logins, n, refusedOverLimit.Load())
	if failed > 0 {
		t.Fatalf("the admin, from another address, was refused %d of %d logins during the attack", failed, logins)
	}
	if n < 100 {
		t.Fatalf("the attackers made only %d attempts: no attack", n)
	}
	if got := s.limitRejections(t, "admin_login_attempts"); got < 1 {
		t.Errorf(`limit_rejections_total{kind="admin_login_attempts"} = %v, want > 0`, got)
	}
	if !strings.Contains(s.metricsText(t), "switchboard_admin_login_failures_total ") {
		t.Error("no switchboard_admin_login_failures_total metric")
	}

	// One connection retrying: wrong passwords are checked up to the
	// address's budget, then the attempt is refused and the connection
	// closed.
	src := s.addr()
	conn, err := dialEngineIO(ctx, s.base, src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var replies []string
	for range 20 {
		reply, err := adminLoginAttempt(conn)
		if err != nil {
			break
		}
		replies = append(replies, reply)
	}
	if len(replies) >= 20 {
		t.Fatalf("20 wrong passwords on one connection, all answered and the connection still open: %q", replies[len(replies)-1])
	}
	if last := replies[len(replies)-1]; !strings.Contains(last, "too many login attempts") {
		t.Fatalf("last reply before the close: %q", last)
	}
}

const adminPassword = "correct horse battery staple"

// hammerAdminLogin sends wrong passwords from src until ctx is done: on
// one connection as long as the server keeps it, then on a new one.
func (s *suite) hammerAdminLogin(ctx context.Context, src net.IP, attempts, overLimit *atomic.Int64) {
	for ctx.Err() == nil {
		conn, err := dialEngineIO(ctx, s.base, src)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // refused (handshake rate): later
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		for ctx.Err() == nil {
			reply, err := adminLoginAttempt(conn)
			if err != nil {
				break
			}
			attempts.Add(1)
			if strings.Contains(reply, "too many login attempts") {
				overLimit.Add(1)
			}
		}
		stop()
		_ = conn.Close()
	}
}

// dialEngineIO opens an Engine.IO WebSocket session from src and reads
// its open packet.
func dialEngineIO(ctx context.Context, base string, src net.IP) (*wsclient.Conn, error) {
	conn, err := wsclient.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket",
		&wsclient.Options{NetDial: dialer(src).DialContext})
	if err != nil {
		return nil, err
	}
	if b, _, err := conn.Read(10 * time.Second); err != nil || !strings.HasPrefix(string(b), "0{") {
		conn.Close()
		return nil, fmt.Errorf("open packet %q: %v", b, err)
	}
	return conn, nil
}

// adminLoginAttempt sends a CONNECT to /admin with a wrong password and
// returns the answer.
func adminLoginAttempt(conn *wsclient.Conn) (string, error) {
	if err := conn.WriteText(`40/admin,{"username":"admin","password":"wrong"}`); err != nil {
		return "", err
	}
	for {
		b, _, err := conn.Read(15 * time.Second)
		if err != nil {
			return "", err
		}
		if string(b) == "2" {
			_ = conn.WriteText("3")
			continue
		}
		return string(b), nil
	}
}
