package engineio

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Requests that arrive together are answered in the order the Node server
// answers them: its timers run before it reads new requests, and it reads
// requests in the order they came.
func TestPollingRequestOrder(t *testing.T) {
	t.Run("GET racing the client's close packet", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		sid, r := ts.openPolling()
		// The POST won the race: the GET sent with it still gets its noop.
		if code, body := ts.request("POST", "transport=polling&sid="+sid, "1"); code != 200 || body != "ok" {
			t.Fatalf("close POST: %d %q", code, body)
		}
		if code, body := ts.request("GET", "transport=polling&sid="+sid, ""); code != 200 || body != "6" {
			t.Fatalf("GET after the close: %d %q, want 200 \"6\"", code, body)
		}
		if code, body := ts.request("GET", "transport=polling&sid="+sid, ""); code != 400 || !strings.Contains(body, "Session ID unknown") {
			t.Fatalf("next GET: %d %q, want 400 Session ID unknown", code, body)
		}
		if reason := r.waitClosed(t); reason != ReasonTransportClose {
			t.Fatalf("reason %q", reason)
		}
	})
	t.Run("request after the pong deadline, before the timer ran", func(t *testing.T) {
		ts := newTestServer(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}, nil)
		sid, r := ts.openPolling()
		if _, body := ts.request("GET", "transport=polling&sid="+sid, ""); body != "2" {
			t.Fatalf("poll = %q, want a ping", body)
		}
		// A timer goroutine that is late: the deadline passes, it does not run.
		r.sess.mu.Lock()
		r.sess.timer.Stop()
		r.sess.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		// Bounded: a server that missed the deadline would hold the GET
		// forever, its timer stopped.
		c := &http.Client{Timeout: 2 * time.Second}
		res, err := c.Get(ts.url + "?EIO=4&transport=polling&sid=" + sid)
		if err != nil {
			t.Fatalf("GET after the deadline: %v, want 400 Session ID unknown", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), "Session ID unknown") {
			t.Fatalf("GET after the deadline: %d %q, want 400 Session ID unknown", res.StatusCode, body)
		}
		if reason := r.waitClosed(t); reason != ReasonPingTimeout {
			t.Fatalf("reason %q", reason)
		}
	})
	t.Run("GET after the upgrade packets were sent", func(t *testing.T) {
		ts := newTestServer(t, nil, nil)
		// Each round: the probe and the upgrade packet are written before
		// the GET starts, so the GET must find the session upgraded.
		for range 30 {
			sid, _ := ts.openPolling()
			conn := ts.dialWS("&sid=" + sid)
			for _, p := range []string{"2probe", "5"} {
				if err := conn.WriteText(p); err != nil {
					t.Fatal(err)
				}
			}
			if code, body := ts.request("GET", "transport=polling&sid="+sid, ""); code != 400 {
				t.Fatalf("GET after the upgrade: %d %q, want 400", code, body)
			}
			conn.Close()
		}
	})
}
