package engineio

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/switchboard/switchboard/internal/testkit/testcert"
)

// wtClient is a WebTransport client speaking Engine.IO's stream framing.
type wtClient struct {
	t    *testing.T
	sess *webtransport.Session
	str  *webtransport.Stream
	br   *bufio.Reader
}

// serveWT serves ts's engine over WebTransport on a loopback UDP port and
// returns the URL clients open.
func (ts *testServer) serveWT() (string, *testcert.Cert) {
	ts.t.Helper()
	cert := testcert.New(ts.t)
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		ts.t.Fatal(err)
	}
	wts := ts.srv.WebTransportServer("", "/engine.io/", cert.ServerConfig())
	go func() { _ = wts.Serve(pc) }()
	ts.t.Cleanup(func() { _ = wts.Close() })
	return "https://" + pc.LocalAddr().String() + "/engine.io/", cert // no query, as the browser client
}

func dialWT(t *testing.T, url string, cert *testcert.Cert) *wtClient {
	t.Helper()
	d := &webtransport.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"h3"}},
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, sess, err := d.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.CloseWithError(0, "") })
	str, err := sess.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &wtClient{t: t, sess: sess, str: str, br: bufio.NewReader(str)}
}

// send writes one packet, framed.
func (c *wtClient) send(data string, binary bool) {
	c.t.Helper()
	c.raw(append(appendWTHeader(nil, len(data), binary), data...))
}

func (c *wtClient) raw(b []byte) {
	c.t.Helper()
	if _, err := c.str.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next packet; err when the stream ends or fails.
func (c *wtClient) read() (string, bool, error) {
	_ = c.str.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := frameReader{r: c.br, max: 1 << 30, wt: true}
	data, bin, err := fr.readMessage()
	return string(data), bin, err
}

func (c *wtClient) expect(want string) {
	c.t.Helper()
	got, _, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %q: %v", want, err)
	}
	if !strings.HasPrefix(got, want) {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectEnd waits for the stream or session to end.
func (c *wtClient) expectEnd() {
	c.t.Helper()
	for {
		got, _, err := c.read()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("the server did not end the stream")
			}
			return
		}
		if got != "2" { // pings may come first
			c.t.Fatalf("got %q, want the end of the stream", got)
		}
	}
}

// TestWebTransportSession: a session opened over WebTransport exchanges
// text and binary both ways, with its handshake as over WebSocket.
func TestWebTransportSession(t *testing.T) {
	ts := newTestServer(t, &Options{WebTransport: true}, func(r *recorder, data []byte, binary bool) {
		if binary {
			_ = r.sess.Send(false, NewBinaryMessage(append([]byte{0xff}, data...)))
		} else {
			_ = r.sess.Send(false, NewTextMessage(append([]byte("echo "), data...)))
		}
	})
	url, cert := ts.serveWT()
	c := dialWT(t, url, cert)
	c.send("0", false) // open, no sid: a new session
	open, _, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	var hs struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	if open[0] != '0' || json.Unmarshal([]byte(open[1:]), &hs) != nil || hs.SID == "" || hs.Upgrades == nil || len(hs.Upgrades) != 0 {
		t.Fatalf("open packet %q", open)
	}
	r := ts.session()
	if tr := r.sess.Transport(); tr != "webtransport" {
		t.Fatalf("transport %q", tr)
	}
	c.send("4hello", false)
	c.expect("4echo hello")
	big := strings.Repeat("x", 70000) // a 9-byte header
	c.send("4"+big, false)
	c.expect("4echo " + big)
	c.send("\x01\x02", true)
	got, bin, err := c.read()
	if err != nil || !bin || got != "\xff\x01\x02" {
		t.Fatalf("binary echo: %q %v %v", got, bin, err)
	}
	st := ts.srv.Stats()
	if st.OpenWebTransport != 1 || st.HandshakesWebTransport != 1 {
		t.Fatalf("stats %+v", st)
	}
	r.sess.Close()
	c.expectEnd()
	if reason := r.waitClosed(t); reason != ReasonForcedClose {
		t.Fatalf("reason %s", reason)
	}
}

// TestWebTransportUpgrade: a polling session offers WebTransport and moves
// to it with the probe dialogue, losing nothing.
func TestWebTransportUpgrade(t *testing.T) {
	ts := newTestServer(t, &Options{WebTransport: true}, nil)
	url, cert := ts.serveWT()
	code, body := ts.request("GET", "transport=polling", "")
	if code != 200 || !strings.Contains(body, `"upgrades":["websocket","webtransport"]`) {
		t.Fatalf("handshake %d %s", code, body)
	}
	var hs struct{ SID string }
	_ = json.Unmarshal([]byte(body[1:]), &hs)
	r := ts.session()
	c := dialWT(t, url, cert)
	c.send(`0{"sid":"`+hs.SID+`"}`, false)
	c.send("2probe", false)
	c.expect("3probe")
	_ = r.sess.Send(false, NewTextMessage([]byte("queued during the upgrade")))
	c.send("5", false)
	c.expect("4queued during the upgrade")
	if tr := r.sess.Transport(); tr != "webtransport" {
		t.Fatalf("transport %q", tr)
	}
	c.send("4after", false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		n := len(r.messages)
		r.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("message after the upgrade not delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := ts.srv.Stats(); st.Upgrades != 1 || st.OpenWebTransport != 1 || st.OpenPolling != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A second upgrade of the same session is refused.
	c2 := dialWT(t, url, cert)
	c2.send(`0{"sid":"`+hs.SID+`"}`, false)
	c2.expectEnd()
}

// TestWebTransportHostileInput: what a WebTransport client sends is bounded
// as over WebSocket: a packet over MaxPayload, a packet that does not
// finish within BodyTimeout, an empty packet and a first packet other
// than open each end the session; an unknown sid is refused.
func TestWebTransportHostileInput(t *testing.T) {
	ts := newTestServer(t, &Options{WebTransport: true, MaxPayload: 1000, BodyTimeout: 300 * time.Millisecond, UpgradeTimeout: 500 * time.Millisecond}, nil)
	url, cert := ts.serveWT()
	open := func() (*wtClient, *recorder) {
		c := dialWT(t, url, cert)
		c.send("0", false)
		c.expect("0")
		return c, ts.session()
	}
	cases := []struct {
		name   string
		send   []byte
		reason CloseReason
		limit  Limit
	}{
		{"over MaxPayload", appendWTHeader(nil, 1001, false), ReasonTransportError, LimitMaxPayload},
		{"unfinished", append(appendWTHeader(nil, 10, false), "4abc"...), ReasonTransportError, LimitBodyTimeout},
		{"empty packet", []byte{0}, ReasonParseError, ""},
		{"length beyond 2^53", []byte{127, 0xff, 0, 0, 0, 0, 0, 0, 1}, ReasonParseError, ""},
		{"invalid UTF-8", append(appendWTHeader(nil, 2, false), '4', 0xff), ReasonParseError, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.srv.Stats().Rejections[tc.limit]
			c, r := open()
			c.raw(tc.send)
			if reason := r.waitClosed(t); reason != tc.reason {
				t.Fatalf("reason %s, want %s", reason, tc.reason)
			}
			c.expectEnd()
			if tc.limit != "" && ts.srv.Stats().Rejections[tc.limit] != before+1 {
				t.Fatalf("%s not counted: %+v", tc.limit, ts.srv.Stats().Rejections)
			}
		})
	}
	t.Run("first packet not open", func(t *testing.T) {
		c := dialWT(t, url, cert)
		c.send("4hello", false)
		c.expectEnd()
	})
	t.Run("unknown sid", func(t *testing.T) {
		c := dialWT(t, url, cert)
		c.send(`0{"sid":"nope"}`, false)
		c.expectEnd()
	})
	t.Run("no stream", func(t *testing.T) {
		d := &webtransport.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"h3"}},
			QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
		}
		_, sess, err := d.Dial(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.CloseWithError(0, "")
		select {
		case <-sess.Context().Done(): // closed by the server after UpgradeTimeout
		case <-time.After(5 * time.Second):
			t.Fatal("a session without a stream was kept")
		}
	})
	t.Run("no open packet", func(t *testing.T) {
		c := dialWT(t, url, cert)
		c.raw([]byte{5}) // a header, and the packet never comes
		start := time.Now()
		c.expectEnd()
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("ended after %v", d)
		}
	})
	if n := ts.srv.Count(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// FuzzWTFrameReader: the stream framing never yields a packet over the
// limit, and what appendWTHeader frames reads back the same.
func FuzzWTFrameReader(f *testing.F) {
	f.Add([]byte("4hello"), true)
	f.Add([]byte{1, 2, 3}, false)
	f.Add([]byte{127, 0, 0, 0, 0, 0, 0, 1, 0}, true)
	f.Fuzz(func(t *testing.T, input []byte, raw bool) {
		if !raw { // input as one packet, framed
			if len(input) == 0 {
				return
			}
			framed := append(appendWTHeader(nil, len(input), true), input...)
			fr := frameReader{r: bufio.NewReader(strings.NewReader(string(framed))), max: 1 << 16, wt: true}
			data, bin, err := fr.readMessage()
			if len(input) <= 1<<16 && (err != nil || !bin || string(data) != string(input)) {
				t.Fatalf("round trip of %d bytes: %v %v", len(input), bin, err)
			}
			return
		}
		fr := frameReader{r: bufio.NewReader(strings.NewReader(string(input))), max: 1 << 16, wt: true}
		for range 100 {
			data, _, err := fr.readMessage()
			if err != nil {
				return
			}
			if len(data) == 0 || int64(len(data)) > fr.max {
				t.Fatalf("packet of %d bytes read, limit %d", len(data), fr.max)
			}
		}
	})
}

// TestWebTransportSlowReader: a WebTransport client that stops reading is
// closed after Options.WriteTimeout, as over WebSocket: QUIC's flow
// control stops the writer, the write deadline ends it.
func TestWebTransportSlowReader(t *testing.T) {
	ts := newTestServer(t, &Options{WriteTimeout: 300 * time.Millisecond, MaxBufferedBytes: 64 << 20}, nil)
	url, cert := ts.serveWT()
	c := dialWT(t, url, cert)
	c.send("0", false)
	c.expect("0")
	r := ts.session()
	chunk := NewTextMessage([]byte(strings.Repeat("x", 64<<10)))
	for range 400 { // 25 MiB, past every flow-control window; never read
		if r.sess.Send(false, chunk) != nil {
			break
		}
	}
	if reason := r.waitClosed(t); reason != ReasonTransportError {
		t.Fatalf("reason %s", reason)
	}
	if n := ts.srv.Stats().Rejections[LimitWriteTimeout]; n != 1 {
		t.Fatalf("write_timeout rejections: %d", n)
	}
}
