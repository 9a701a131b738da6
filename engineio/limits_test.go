package engineio

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address src (127.0.0.0/8 all reaches the test server), so one
// test can play several client addresses.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// handshakeFrom opens a polling session from src and returns the status,
// the decoded error body (for refusals) and the sid (for successes).
func (ts *testServer) handshakeFrom(src string) (status int, e requestError, sid string) {
	ts.t.Helper()
	res, err := clientFrom(src).Get(ts.url + "?EIO=4&transport=polling")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &e); err != nil {
			ts.t.Fatalf("refusal body %q: %v", b, err)
		}
		return res.StatusCode, e, ""
	}
	var open struct{ SID string }
	if err := json.Unmarshal(b[1:], &open); err != nil {
		ts.t.Fatalf("open packet %q: %v", b, err)
	}
	ts.session()
	return res.StatusCode, e, open.SID
}

func TestLimitMaxSessions(t *testing.T) {
	ts := newTestServer(t, &Options{Limits: Limits{MaxSessions: 2}}, nil)
	var sids []string
	for range 2 {
		code, _, sid := ts.handshakeFrom("127.0.0.1")
		if code != http.StatusOK {
			t.Fatalf("handshake under the cap: status %d", code)
		}
		sids = append(sids, sid)
	}
	code, e, _ := ts.handshakeFrom("127.0.0.2") // any address: the cap is global
	if code != http.StatusServiceUnavailable || e.Message != "Server full" {
		t.Fatalf("over the cap: %d %+v, want 503 Server full", code, e)
	}
	// A WebSocket handshake is refused before the upgrade as well.
	if c, err := wsclient.DialContext(context.Background(), ts.url+"?EIO=4&transport=websocket", nil); err == nil {
		c.Close()
		t.Fatal("WebSocket handshake over the cap was accepted")
	} else if se, ok := err.(ws.StatusError); !ok || int(se) != http.StatusServiceUnavailable {
		t.Fatalf("WebSocket over the cap: %v, want status 503", err)
	}
	// A session that ends gives its slot back.
	ts.endPolling(sids[0])
	waitFor(t, func() bool { return ts.srv.Count() == 1 })
	if code, _, _ := ts.handshakeFrom("127.0.0.2"); code != http.StatusOK {
		t.Fatalf("after a session ended: status %d, want 200", code)
	}
}

func TestLimitSessionsPerIP(t *testing.T) {
	ts := newTestServer(t, &Options{Limits: Limits{MaxSessionsPerIP: 2}}, nil)
	var sids []string
	for range 2 {
		_, _, sid := ts.handshakeFrom("127.0.0.1")
		sids = append(sids, sid)
	}
	code, e, _ := ts.handshakeFrom("127.0.0.1")
	if code != http.StatusTooManyRequests || e.Code != 4 {
		t.Fatalf("third session from one address: %d %+v, want 429 code 4", code, e)
	}
	if code, _, _ := ts.handshakeFrom("127.0.0.2"); code != http.StatusOK {
		t.Fatalf("another address: status %d, want 200", code)
	}
	ts.endPolling(sids[1])
	waitFor(t, func() bool { return ts.srv.Count() == 2 })
	if code, _, _ := ts.handshakeFrom("127.0.0.1"); code != http.StatusOK {
		t.Fatalf("after one of its sessions ended: status %d, want 200", code)
	}
}

func TestLimitHandshakeRate(t *testing.T) {
	ts := newTestServer(t, &Options{Limits: Limits{HandshakeRate: 0.5, HandshakeBurst: 3}}, nil)
	for i := range 3 {
		if code, _, _ := ts.handshakeFrom("127.0.0.1"); code != http.StatusOK {
			t.Fatalf("handshake %d within the burst: status %d", i, code)
		}
	}
	code, e, _ := ts.handshakeFrom("127.0.0.1")
	if code != http.StatusTooManyRequests || !strings.Contains(e.Message, "handshakes") {
		t.Fatalf("past the burst: %d %+v, want 429 about handshakes", code, e)
	}
	// Closing sessions does not refill the bucket: the rate is about
	// handshakes, not open sessions.
	for _, sess := range ts.sessionsNow() {
		ts.endPolling(sess.ID())
	}
	waitFor(t, func() bool { return ts.srv.Count() == 0 })
	if code, _, _ := ts.handshakeFrom("127.0.0.1"); code != http.StatusTooManyRequests {
		t.Fatalf("after closing its sessions: status %d, want still 429", code)
	}
	if code, _, _ := ts.handshakeFrom("127.0.0.3"); code != http.StatusOK {
		t.Fatalf("another address: status %d, want 200", code)
	}
}

// The address table keeps only what limits need: it cannot grow without
// bound under handshakes from ever new addresses.
func TestAdmissionForgetsIdleAddresses(t *testing.T) {
	a := newAdmission(Limits{MaxSessionsPerIP: 5})
	for i := range 3000 {
		ip := net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String()
		if err := a.admit(ip); err != nil {
			t.Fatal(err)
		}
		a.release(ip)
	}
	if n := a.addresses(); n != 0 {
		t.Fatalf("without a rate, %d idle addresses kept, want 0", n)
	}

	a = newAdmission(Limits{HandshakeRate: 1e6, HandshakeBurst: 1})
	for i := range 3 * sweepEvery {
		ip := net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String()
		if err := a.admit(ip); err != nil {
			t.Fatal(err)
		}
		a.release(ip)
	}
	// With a million handshakes a second, every bucket is full again by
	// the next sweep: at most one sweep interval of addresses remains.
	if n := a.addresses(); n > sweepEvery {
		t.Fatalf("%d addresses kept, want at most %d", n, sweepEvery)
	}
	if a.total != 0 {
		t.Fatalf("total = %d after every release, want 0", a.total)
	}
}

func TestLimitsClientKey(t *testing.T) {
	var l Limits
	key := func(remote string) string {
		return l.clientKey(&http.Request{RemoteAddr: remote})
	}
	if k := key("192.0.2.7:5555"); k != "192.0.2.7" {
		t.Errorf("IPv4 key %q", k)
	}
	if a, b := key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:2:ffff::9]:2"); a != b || a != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 keys %q, %q: want one /64", a, b)
	}
	if a, b := key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:3::1]:1"); a == b {
		t.Errorf("different /64 networks share key %q", a)
	}
	l.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Real-IP") }
	r := &http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Real-Ip": {"198.51.100.4"}}}
	if k := l.clientKey(r); k != "198.51.100.4" {
		t.Errorf("ClientIP hook ignored: key %q", k)
	}
}

// endPolling closes a polling session the way it really ends: the server
// closes it, and the client's next GET collects the close packet.
func (ts *testServer) endPolling(sid string) {
	ts.t.Helper()
	ts.srv.Session(sid).Close()
	if code, body := ts.request("GET", "transport=polling&sid="+sid, ""); code != http.StatusOK || !strings.Contains(body, "1") {
		ts.t.Fatalf("poll after close: %d %q, want the close packet", code, body)
	}
}

func (ts *testServer) sessionsNow() []*Session {
	ts.srv.mu.RLock()
	defer ts.srv.mu.RUnlock()
	var out []*Session
	for _, s := range ts.srv.sessions {
		out = append(out, s)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
