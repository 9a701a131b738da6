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
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/sioclient"
)

// Attacks on the applications served beside Socket.IO: the plain
// WebSocket chat bridge (raw_websocket) and the Admin UI's login.

// dialRaw opens a plain WebSocket chat connection from src.
func (s *suite) dialRaw(t *testing.T, src net.IP) *attacker {
	t.Helper()
	d := ws.Dialer{NetDial: dialer(src).DialContext, Timeout: 5 * time.Second}
	conn, br, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(s.base, "http")+rawPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	a := &attacker{t: t, conn: conn, r: conn}
	if br != nil {
		a.r = io.MultiReader(br, conn)
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
				_ = wsutil.WriteClientMessage(a.conn, ws.OpPong, f.Payload)
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
		_ = a.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := a.conn.Write(b[i : i+1]); err != nil {
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
