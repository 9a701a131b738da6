package engineio

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// Engine.IO v3 sessions (socket.io-client 2.x), checked at the wire.

func echoHandler(r *recorder, data []byte, binary bool) {
	m := NewTextMessage(data)
	if binary {
		m = NewBinaryMessage(data)
	}
	_ = r.sess.Send(false, m)
}

func (ts *testServer) requestV3(method, query, contentType string, body []byte) (int, string, []byte) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.url+"?EIO=3&"+query, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// openPollingV3 does a v3 handshake and checks the open packet's framing.
func (ts *testServer) openPollingV3(query string) (string, *recorder) {
	ts.t.Helper()
	code, _, body := ts.requestV3("GET", "transport=polling"+query, "", nil)
	n, rest, ok := lengthPrefix(body)
	if code != 200 || !ok || n != len(rest) || rest[0] != '0' {
		ts.t.Fatalf("v3 handshake: %d %q", code, body)
	}
	var open struct {
		SID          string
		Upgrades     []string
		PingInterval int
		PingTimeout  int
	}
	if err := json.Unmarshal(rest[1:], &open); err != nil || open.SID == "" || open.PingInterval == 0 {
		ts.t.Fatalf("open packet %q: %v", rest, err)
	}
	return open.SID, ts.session()
}

func TestEIO3RefusedUnlessAllowed(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	code, _, body := ts.requestV3("GET", "transport=polling", "", nil)
	if code != 400 || !strings.Contains(string(body), `"code":5`) {
		t.Fatalf("EIO=3 without AllowEIO3: %d %s", code, body)
	}
}

func TestEIO3Polling(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
	sid, r := ts.openPollingV3("")
	q := "transport=polling&sid=" + sid
	if r.sess.Handshake().Protocol != 3 {
		t.Fatalf("protocol = %d", r.sess.Handshake().Protocol)
	}

	// Text payload in, with a length counted in UTF-16 units.
	if code, _, b := ts.requestV3("POST", q, "text/plain;charset=UTF-8", []byte("4:4é😀")); code != 200 || string(b) != "ok" {
		t.Fatalf("text POST: %d %q", code, b)
	}
	if code, ct, b := ts.requestV3("GET", q, "", nil); code != 200 || string(b) != "4:4é😀" || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("text echo: %d %s %q", code, ct, b)
	}

	// Binary payload in (XHR2): the echo comes back as a binary payload.
	bin := []byte{1, 4, 0xFF, 4, 7, 8, 9}
	if code, _, b := ts.requestV3("POST", q, "application/octet-stream", bin); code != 200 {
		t.Fatalf("binary POST: %d %q", code, b)
	}
	if code, ct, b := ts.requestV3("GET", q, "", nil); code != 200 || ct != "application/octet-stream" || !bytes.Equal(b, bin) {
		t.Fatalf("binary echo: %d %s %v", code, ct, b)
	}

	// The client pings; the server answers with a pong.
	ts.requestV3("POST", q, "text/plain;charset=UTF-8", []byte("1:2"))
	if _, _, b := ts.requestV3("GET", q, "", nil); string(b) != "1:3" {
		t.Fatalf("pong: %q", b)
	}
}

func TestEIO3PollingBase64(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
	sid, _ := ts.openPollingV3("&b64=1")
	q := "transport=polling&b64=1&sid=" + sid
	ts.requestV3("POST", q, "text/plain;charset=UTF-8", []byte("10:b4AQIDBA=="))
	if _, ct, b := ts.requestV3("GET", q, "", nil); string(b) != "10:b4AQIDBA==" || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("base64 echo: %s %q", ct, b)
	}
}

// A malformed payload ends the session that sent it, and only that one.
func TestEIO3MalformedPayload(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
	bystander, other := ts.openPollingV3("")
	for _, tc := range []struct {
		name, ct, body string
	}{
		{"bad length prefix", "text/plain", "x:4a"},
		{"length past the end", "text/plain", "9:4a"},
		{"invalid base64", "text/plain", "4:b4!!"},
		{"binary length past the end", "application/octet-stream", "\x00\x09\xff4a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid, r := ts.openPollingV3("")
			if code, _, _ := ts.requestV3("POST", "transport=polling&sid="+sid, tc.ct, []byte(tc.body)); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
			if got := r.waitClosed(t); got != ReasonParseError {
				t.Fatalf("reason = %q", got)
			}
		})
	}
	ts.requestV3("POST", "transport=polling&sid="+bystander, "text/plain", []byte("3:4ok"))
	if _, _, b := ts.requestV3("GET", "transport=polling&sid="+bystander, "", nil); string(b) != "3:4ok" {
		t.Fatalf("bystander session: %q", b)
	}
	select {
	case <-other.closed:
		t.Fatal("the bystander session was closed")
	default:
	}
}

// v3 heartbeat: the server never pings, and closes a session whose client
// has not pinged within pingInterval+pingTimeout; a server-bound pong is a
// protocol error.
func TestEIO3Heartbeat(t *testing.T) {
	opts := &Options{AllowEIO3: true, PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
	t.Run("timeout without client ping", func(t *testing.T) {
		ts := newTestServer(t, opts, nil)
		start := time.Now()
		_, r := ts.openPollingV3("")
		if got := r.waitClosed(t); got != ReasonPingTimeout {
			t.Fatalf("reason = %q", got)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
		}
	})
	t.Run("client pings keep it open", func(t *testing.T) {
		ts := newTestServer(t, opts, nil)
		sid, r := ts.openPollingV3("")
		q := "transport=polling&sid=" + sid
		for range 5 {
			ts.requestV3("POST", q, "text/plain", []byte("1:2"))
			if _, _, b := ts.requestV3("GET", q, "", nil); string(b) != "1:3" {
				t.Fatalf("pong: %q", b)
			}
			time.Sleep(100 * time.Millisecond)
		}
		select {
		case <-r.closed:
			t.Fatalf("closed (%q) although the client pinged", r.reason)
		default:
		}
	})
	t.Run("pongs count toward the queue bound", func(t *testing.T) {
		// A client that pings and never polls: its pongs fill the queue
		// like any packet, and the session closes past the bound.
		ts := newTestServer(t, &Options{AllowEIO3: true, MaxBufferedBytes: 1000}, nil)
		sid, r := ts.openPollingV3("")
		pings := 1000 / (1 + QueuedPacketCost) // pongs that fit
		ts.requestV3("POST", "transport=polling&sid="+sid, "text/plain", []byte(strings.Repeat("1:2", pings)))
		select {
		case <-r.closed:
			t.Fatalf("closed (%q) with %d pongs queued, within the bound", r.reason, pings)
		case <-time.After(50 * time.Millisecond):
		}
		ts.requestV3("POST", "transport=polling&sid="+sid, "text/plain", []byte("1:2"))
		if got := r.waitClosed(t); got != ReasonTransportError {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("pong from client", func(t *testing.T) {
		ts := newTestServer(t, &Options{AllowEIO3: true}, nil)
		sid, r := ts.openPollingV3("")
		ts.requestV3("POST", "transport=polling&sid="+sid, "text/plain", []byte("1:3"))
		if got := r.waitClosed(t); got != ReasonTransportError {
			t.Fatalf("reason = %q", got)
		}
	})
}

func dialWSV3(t *testing.T, ts *testServer, query string) *wsclient.Conn {
	t.Helper()
	return wsclient.Dial(t, ts.url+"?EIO=3&transport=websocket"+query, nil)
}

func TestEIO3WebSocket(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		name, query := "binary frames", ""
		if b64 {
			name, query = "b64=1", "&b64=1"
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
			conn := dialWSV3(t, ts, query)
			ts.session()
			if open := readText(t, conn); open[0] != '0' {
				t.Fatalf("open: %q", open)
			}
			// A v3 binary frame starts with the packet type byte.
			_ = conn.WriteBinary([]byte{4, 1, 2, 3})
			b, op, err := conn.Read(5 * time.Second)
			switch {
			case err != nil:
				t.Fatal(err)
			case !b64 && (op != ws.OpBinary || !bytes.Equal(b, []byte{4, 1, 2, 3})):
				t.Fatalf("binary echo: op %v %v", op, b)
			case b64 && (op != ws.OpText || string(b) != "b4AQID"):
				t.Fatalf("base64 echo: op %v %q", op, b)
			}
			// Base64 from the client ("b4..." text frames) is understood too.
			_ = conn.WriteText("b4CQ==")
			b, _, _ = conn.Read(5 * time.Second)
			if !b64 && !bytes.Equal(b, []byte{4, 9}) || b64 && string(b) != "b4CQ==" {
				t.Fatalf("echo of a base64 frame: %q", b)
			}
			_ = conn.WriteText("2")
			if got := readText(t, conn); got != "3" {
				t.Fatalf("pong: %q", got)
			}
		})
	}
}

// The upgrade dialogue is that of v4; once upgraded, binary frames are
// framed the v3 way.
func TestEIO3Upgrade(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
	sid, _ := ts.openPollingV3("")
	conn := dialWSV3(t, ts, "&sid="+sid)
	_ = conn.WriteText("2probe")
	if got := readText(t, conn); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	_ = conn.WriteText("5")
	_ = conn.WriteBinary([]byte{4, 0xAA})
	b, op, err := conn.Read(5 * time.Second)
	if err != nil || op != ws.OpBinary || !bytes.Equal(b, []byte{4, 0xAA}) {
		t.Fatalf("after upgrade: %v %v %v", op, b, err)
	}
}

// JSONP polling (engine.io 6 still serves it): GETs answer with a script,
// POSTs carry the payload in the form field "d".
func TestEIO3JSONP(t *testing.T) {
	ts := newTestServer(t, &Options{AllowEIO3: true}, echoHandler)
	code, ct, body := ts.requestV3("GET", "transport=polling&j=7", "", nil)
	if code != 200 || ct != "text/javascript; charset=UTF-8" || !bytes.HasPrefix(body, []byte(`___eio[7]("`)) || !bytes.HasSuffix(body, []byte(`");`)) {
		t.Fatalf("JSONP handshake: %d %s %q", code, ct, body)
	}
	var payload string
	if err := json.Unmarshal(body[len(`___eio[7](`):len(body)-2], &payload); err != nil {
		t.Fatal(err)
	}
	n, rest, ok := lengthPrefix([]byte(payload))
	if !ok || n != len(rest) || rest[0] != '0' {
		t.Fatalf("JSONP open payload %q", payload)
	}
	var open struct{ SID string }
	_ = json.Unmarshal(rest[1:], &open)
	ts.session()
	q := "transport=polling&j=7&sid=" + open.SID
	// "a\nb" escaped by the client as a\\nb; binary as base64.
	form := "d=" + url.QueryEscape(`6:4a\nb\\n`+"10:b4AQIDBA==")
	if code, _, b := ts.requestV3("POST", q, "application/x-www-form-urlencoded", []byte(form)); code != 200 || string(b) != "ok" {
		t.Fatalf("JSONP POST: %d %q", code, b)
	}
	_, _, body = ts.requestV3("GET", q, "", nil)
	want := `___eio[7]("6:4a\nb\\n10:b4AQIDBA==");`
	if string(body) != want {
		t.Fatalf("JSONP GET: %q, want %q", body, want)
	}
}
