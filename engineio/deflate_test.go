package engineio

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// The peer side of these tests uses gobwas/ws's wsflate, an implementation
// of RFC 7692 independent of ours; the npm client (e2e/js) and Chromium
// (e2e/browser) test the same against real clients.

func TestAcceptDeflate(t *testing.T) {
	tests := []struct {
		offers []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"permessage-deflate"}, true},
		{[]string{"permessage-deflate; client_max_window_bits"}, true}, // ws, Chromium
		{[]string{"permessage-deflate; client_max_window_bits=10"}, true},
		{[]string{`permessage-deflate; client_max_window_bits="12"`}, true},
		{[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, true},
		{[]string{"permessage-deflate;server_max_window_bits=15"}, true},
		{[]string{"PerMessage-Deflate ; Client_Max_Window_Bits"}, true},
		{[]string{"x-webkit-deflate-frame"}, false},
		{[]string{"x-webkit-deflate-frame, permessage-deflate"}, true},
		{[]string{"foo", "permessage-deflate"}, true}, // several header lines
		// server_max_window_bits below 15 cannot be honoured: the offer is
		// declined, a later acceptable one is taken.
		{[]string{"permessage-deflate; server_max_window_bits=10"}, false},
		{[]string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, true},
		// Invalid offers.
		{[]string{"permessage-deflate; server_max_window_bits"}, false}, // value required
		{[]string{"permessage-deflate; client_max_window_bits=16"}, false},
		{[]string{"permessage-deflate; client_max_window_bits=7"}, false},
		{[]string{"permessage-deflate; client_max_window_bits=08"}, false},
		{[]string{"permessage-deflate; client_max_window_bits=abc"}, false},
		{[]string{"permessage-deflate; client_max_window_bits="}, false},
		{[]string{"permessage-deflate; server_no_context_takeover=1"}, false},
		{[]string{"permessage-deflate; client_no_context_takeover=true"}, false},
		{[]string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, false},
		{[]string{"permessage-deflate; client_max_window_bits; client_max_window_bits=9"}, false},
		{[]string{"permessage-deflate; unknown_parameter"}, false},
		{[]string{"permessage-deflate;;"}, false},
		{[]string{"permessage-deflate; client_max_window_bits=\"1,5\""}, false},
		{[]string{"; permessage-deflate"}, false},
		{[]string{"permessage deflate"}, false},
	}
	for _, tt := range tests {
		if got := acceptDeflate(tt.offers); (got != "") != tt.want {
			t.Errorf("acceptDeflate(%q) = %q, want accepted %v", tt.offers, got, tt.want)
		}
	}
	// Accepting server_max_window_bits means answering with it.
	for offers, want := range map[string]string{
		"permessage-deflate; client_max_window_bits":                                                  deflateResponse,
		"permessage-deflate; server_max_window_bits=15":                                               deflateResponseWindow,
		"permessage-deflate; server_max_window_bits=9, permessage-deflate":                            deflateResponse,
		"permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=15": deflateResponseWindow,
	} {
		if got := acceptDeflate([]string{offers}); got != want {
			t.Errorf("acceptDeflate(%q) = %q, want %q", offers, got, want)
		}
	}
}

// rawWS is a WebSocket client connection that works frame by frame: the
// test controls the Sec-WebSocket-Extensions offers, sees the response,
// and checks each frame's compression bit itself.
type rawWS struct {
	t   *testing.T
	ws  *wsclient.Conn
	res *http.Response
}

func dialRaw(t *testing.T, ts *testServer, query string, offers ...string) *rawWS {
	t.Helper()
	h := http.Header{}
	if len(offers) > 0 {
		h["Sec-WebSocket-Extensions"] = offers
	}
	c := wsclient.Dial(t, ts.url+"?EIO=4&transport=websocket"+query, &wsclient.Options{Header: h})
	return &rawWS{t: t, ws: c, res: c.Response}
}

// readFrame reads one server frame, decompressing it if RSV1 is set.
func (c *rawWS) readFrame() (f ws.Frame, compressed bool) {
	c.t.Helper()
	f, err := c.ws.ReadFrame(5 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	if f.Header.Masked {
		c.t.Fatal("server frame masked")
	}
	compressed, err = wsflate.IsCompressed(f.Header)
	if err != nil {
		c.t.Fatal(err)
	}
	if compressed {
		if f, err = wsflate.DecompressFrame(f); err != nil {
			c.t.Fatalf("decompressing the server's frame: %v", err)
		}
	}
	return f, compressed
}

// write sends a masked client frame.
func (c *rawWS) write(f ws.Frame) {
	c.t.Helper()
	if err := c.ws.WriteFrame(ws.MaskFrameInPlace(f)); err != nil {
		c.t.Fatal(err)
	}
}

func compressedFrame(t *testing.T, op ws.OpCode, payload []byte) ws.Frame {
	t.Helper()
	f, err := wsflate.CompressFrame(ws.NewFrame(op, true, payload))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// closeCode reads frames until the server's close frame and returns its
// status code.
func (c *rawWS) closeCode() int {
	c.t.Helper()
	for {
		f, err := c.ws.ReadFrame(5 * time.Second)
		if err != nil {
			c.t.Fatalf("no close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			if len(f.Payload) < 2 {
				return 0
			}
			return int(binary.BigEndian.Uint16(f.Payload))
		}
	}
}

const deflateResponseValue = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

func TestDeflateHandshake(t *testing.T) {
	on := &Options{PerMessageDeflate: Compression{Enabled: true, Threshold: 1024}}
	tests := []struct {
		name   string
		opts   *Options
		offers []string
		want   string
	}{
		{"offered", on, []string{"permessage-deflate; client_max_window_bits"}, deflateResponseValue},
		{"not offered", on, nil, ""},
		{"invalid offer", on, []string{"permessage-deflate; server_max_window_bits=9"}, ""},
		{"disabled", &Options{}, []string{"permessage-deflate; client_max_window_bits"}, ""},
		{"server window 15", on, []string{"permessage-deflate; server_max_window_bits=15"}, deflateResponseValue + "; server_max_window_bits=15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, tt.opts, nil)
			c := dialRaw(t, ts, "", tt.offers...)
			ts.session()
			if got := c.res.Header.Get("Sec-WebSocket-Extensions"); got != tt.want {
				t.Fatalf("Sec-WebSocket-Extensions = %q, want %q", got, tt.want)
			}
			if f, compressed := c.readFrame(); compressed || f.Header.OpCode != ws.OpText || f.Payload[0] != '0' {
				t.Fatalf("open packet: %q (compressed %v)", f.Payload, compressed)
			}
		})
	}
}

// TestDeflateUpgrade: a WebSocket that replaces polling negotiates too.
func TestDeflateUpgrade(t *testing.T) {
	ts := newTestServer(t, &Options{PerMessageDeflate: Compression{Enabled: true, Threshold: 100}}, nil)
	sid, r := ts.openPolling()
	c := dialRaw(t, ts, "&sid="+sid, "permessage-deflate")
	if got := c.res.Header.Get("Sec-WebSocket-Extensions"); got != deflateResponseValue {
		t.Fatalf("Sec-WebSocket-Extensions = %q", got)
	}
	c.write(compressedFrame(t, ws.OpText, []byte("2probe")))
	if f, _ := c.readFrame(); string(f.Payload) != "3probe" {
		t.Fatalf("probe answer %q", f.Payload)
	}
	c.write(ws.NewTextFrame([]byte("5")))
	waitFor(t, func() bool { return r.sess.Transport() == "websocket" })
	big := strings.Repeat("upgraded ", 50)
	_ = r.sess.Send(false, NewTextMessage([]byte(big)))
	for {
		f, compressed := c.readFrame()
		if string(f.Payload) == "6" { // the noop that released the pending GET, if any
			continue
		}
		if !compressed || string(f.Payload) != "4"+big {
			t.Fatalf("got %q (compressed %v)", f.Payload, compressed)
		}
		break
	}
}

func TestDeflateMessages(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocking reads %v", blocking), func(t *testing.T) {
			blockingReads.Store(blocking)
			defer blockingReads.Store(false)
			testDeflateMessages(t)
		})
	}
}

func testDeflateMessages(t *testing.T) {
	ts := newTestServer(t, &Options{PerMessageDeflate: Compression{Enabled: true, Threshold: 1024}}, func(r *recorder, data []byte, binary bool) {
		m := NewTextMessage(data)
		if binary {
			m = NewBinaryMessage(data)
		}
		_ = r.sess.Send(false, m)
	})
	c := dialRaw(t, ts, "", "permessage-deflate; client_max_window_bits")
	r := ts.session()
	c.readFrame() // open

	random := make([]byte, 4000)
	_, _ = rand.Read(random)
	large := "4" + strings.Repeat(`{"user":"ann","text":"hello, world"}`, 100)
	tests := []struct {
		name           string
		send           ws.Frame
		op             ws.OpCode
		want           string
		wantCompressed bool
	}{
		{"large text", compressedFrame(t, ws.OpText, []byte(large)), ws.OpText, large, true},
		{"small compressed text (under the threshold: echoed plain)", compressedFrame(t, ws.OpText, []byte("4hi")), ws.OpText, "4hi", false},
		{"large uncompressed text", ws.NewTextFrame([]byte(large)), ws.OpText, large, true},
		{"large binary", compressedFrame(t, ws.OpBinary, bytes.Repeat([]byte{1, 2, 3, 4}, 1000)), ws.OpBinary, string(bytes.Repeat([]byte{1, 2, 3, 4}, 1000)), true},
		{"incompressible binary (sent plain)", compressedFrame(t, ws.OpBinary, random), ws.OpBinary, string(random), false},
		{"multi-byte UTF-8", compressedFrame(t, ws.OpText, []byte("4"+strings.Repeat("héllo wörld 🌍 ", 200))), ws.OpText, "4" + strings.Repeat("héllo wörld 🌍 ", 200), true},
	}
	for _, tt := range tests {
		c.write(tt.send)
		f, compressed := c.readFrame()
		if f.Header.OpCode != tt.op || string(f.Payload) != tt.want || compressed != tt.wantCompressed {
			t.Errorf("%s: echo opcode %v, %d bytes, compressed %v; want %v, %d bytes, compressed %v",
				tt.name, f.Header.OpCode, len(f.Payload), compressed, tt.op, len(tt.want), tt.wantCompressed)
		}
	}

	// A compressed message in fragments: RSV1 on the first frame only,
	// a ping between them.
	z := compressedFrame(t, ws.OpText, []byte(large))
	half := len(z.Payload) / 2
	first := ws.NewFrame(ws.OpText, false, z.Payload[:half])
	first.Header.Rsv = z.Header.Rsv
	c.write(first)
	c.write(ws.NewPingFrame([]byte("p")))
	c.write(ws.NewFrame(ws.OpContinuation, true, z.Payload[half:]))
	if f, _ := c.readFrame(); f.Header.OpCode != ws.OpPong {
		t.Fatalf("got %v, want the pong", f.Header.OpCode)
	}
	if f, compressed := c.readFrame(); string(f.Payload) != large || !compressed {
		t.Fatalf("fragmented echo: %d bytes, compressed %v", len(f.Payload), compressed)
	}
	r.mu.Lock()
	n := len(r.messages)
	r.mu.Unlock()
	if n != len(tests)+1 {
		t.Fatalf("%d messages delivered, want %d", n, len(tests)+1)
	}
}

func TestDeflateProtocolErrors(t *testing.T) {
	bomb := compressedFrame(t, ws.OpText, append([]byte("4"), make([]byte, 10<<20)...))
	rsvContinuation := ws.NewFrame(ws.OpContinuation, true, []byte("x"))
	rsvContinuation.Header.Rsv = ws.Rsv(true, false, false)
	rsvPing := ws.NewPingFrame([]byte("p"))
	rsvPing.Header.Rsv = ws.Rsv(true, false, false)
	rsv2 := ws.NewTextFrame([]byte("4x"))
	rsv2.Header.Rsv = ws.Rsv(true, true, false)
	garbage := ws.NewTextFrame([]byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb})
	garbage.Header.Rsv = ws.Rsv(true, false, false)
	tests := []struct {
		name   string
		offer  string
		frames []ws.Frame
		code   int
		reason CloseReason
	}{
		// 10 MiB of zeros in about 10 KiB: refused once MaxPayload is
		// passed, with 1009, like an uncompressed message that is too big.
		{"zip bomb", "permessage-deflate", []ws.Frame{bomb}, closeTooBig, ReasonTransportError},
		{"RSV1 without the extension", "", []ws.Frame{compressedFrame(t, ws.OpText, []byte("4hello"))}, closeProtocolError, ReasonParseError},
		{"RSV1 on a continuation frame", "permessage-deflate", []ws.Frame{ws.NewFrame(ws.OpText, false, []byte("4x")), rsvContinuation}, closeProtocolError, ReasonParseError},
		{"RSV1 on a control frame", "permessage-deflate", []ws.Frame{rsvPing}, closeProtocolError, ReasonParseError},
		{"RSV2", "permessage-deflate", []ws.Frame{rsv2}, closeProtocolError, ReasonParseError},
		{"invalid deflate data", "permessage-deflate", []ws.Frame{garbage}, closeInvalidPayload, ReasonParseError},
		{"invalid UTF-8 once inflated", "permessage-deflate", []ws.Frame{compressedFrame(t, ws.OpText, []byte{'4', 0xff, 0xfe})}, closeInvalidPayload, ReasonParseError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Options{MaxPayload: 100_000, PerMessageDeflate: Compression{Enabled: true}}, nil)
			var offers []string
			if tt.offer != "" {
				offers = append(offers, tt.offer)
			}
			c := dialRaw(t, ts, "", offers...)
			r := ts.session()
			c.readFrame() // open
			for _, f := range tt.frames {
				c.write(f)
			}
			if code := c.closeCode(); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			if reason := r.waitClosed(t); reason != tt.reason {
				t.Fatalf("close reason %q, want %q", reason, tt.reason)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.messages) != 0 {
				t.Fatalf("%d messages delivered", len(r.messages))
			}
		})
	}
}

// TestInflateBounded: a zip bomb costs memory up to the limit, not the
// inflated size.
func TestInflateBounded(t *testing.T) {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 200 { // 200 MiB
		_, _ = fw.Write(zeros)
	}
	_ = fw.Flush()
	data := z.Bytes()[:z.Len()-4]

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := inflate(data, 1<<20)
	runtime.ReadMemStats(&after)
	if err != errMessageTooBig {
		t.Fatalf("err = %v, want errMessageTooBig", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("inflating a bomb allocated %d bytes for a 1 MiB limit", alloc)
	}

	// At the limit exactly: accepted.
	z.Reset()
	fw.Reset(&z)
	_, _ = fw.Write(zeros[:1000])
	_ = fw.Flush()
	if out, err := inflate(z.Bytes()[:z.Len()-4], 1000); err != nil || len(out) != 1000 {
		t.Fatalf("1000 bytes under a limit of 1000: %d bytes, %v", len(out), err)
	}
	if _, err := inflate(z.Bytes()[:z.Len()-4], 999); err != errMessageTooBig {
		t.Fatalf("1000 bytes under a limit of 999: %v", err)
	}
}

// captureConn is a net.Conn that keeps what is written to it.
type captureConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }
func (c *captureConn) Close() error                     { return nil }

// TestDeflatedBroadcastOnce: a broadcast to sessions that negotiated
// deflate is compressed once, and every one of them gets the same bytes;
// sessions that did not negotiate it get the plain frame.
func TestDeflatedBroadcastOnce(t *testing.T) {
	srv := NewServer(func(*Session) SessionHandler { return nopHandler{} }, nil)
	const n = 50
	sessions := make([]*Session, n)
	conns := make([]*captureConn, n)
	for i := range sessions {
		conns[i] = &captureConn{}
		c := &wsConn{conn: conns[i], deflate: i%2 == 0, threshold: 1024}
		sessions[i] = &Session{srv: srv, id: newID(), handler: nopHandler{}, ws: c}
	}
	payload := []byte("4" + strings.Repeat(`["new message",{"username":"ann","message":"hi"}]`, 40))
	msg := NewTextMessageBuffer(payload)
	small := NewTextMessage([]byte("small"))
	before := deflateCount.Load()
	b := NewBatch()
	for _, s := range sessions {
		if err := b.Post(s, false, msg, small); err != nil {
			t.Fatal(err)
		}
	}
	b.Flush()
	waitFlushed(sessions)
	if got := deflateCount.Load() - before; got != 1 {
		t.Fatalf("%d compressions for one broadcast to %d sessions", got, n/2)
	}
	plain := append(append(msg.hdr[:msg.hlen:msg.hlen], msg.data...), small.hdr[:small.hlen]...)
	plain = append(plain, small.data...)
	z := msg.deflated()
	if z == nil {
		t.Fatal("message not compressed")
	}
	compressed := append(append(z.hdr[:z.hlen:z.hlen], z.data...), small.hdr[:small.hlen]...)
	compressed = append(compressed, small.data...)
	for i, c := range conns {
		want := plain
		if i%2 == 0 {
			want = compressed
		}
		if !bytes.Equal(c.buf.Bytes(), want) {
			t.Fatalf("session %d (deflate %v) got %d bytes, want %d", i, i%2 == 0, c.buf.Len(), len(want))
		}
	}
	// The compressed frame is a valid permessage-deflate message.
	f, err := ws.ReadFrame(bytes.NewReader(conns[0].buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if f, err = wsflate.DecompressFrame(f); err != nil || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("decompressed %d bytes, %v", len(f.Payload), err)
	}
}

// TestDeflatedBroadcastAllocations: compression costs a broadcast, not a
// recipient: once a message is compressed, each recipient on a deflate
// connection costs no allocation either.
func TestDeflatedBroadcastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const recipients = 100
	sessions, _ := webSocketSessions(recipients)
	for _, s := range sessions {
		s.ws.deflate, s.ws.threshold = true, 1024
	}
	msg := NewTextMessage([]byte(strings.Repeat("hello, world ", 200)))
	send := func() {
		for _, s := range sessions {
			_ = s.Post(false, msg)
		}
		waitFlushed(sessions)
	}
	send()
	if msg.deflated() == nil {
		t.Fatal("message not compressed")
	}
	allocs := testing.AllocsPerRun(50, send)
	if perRecipient := allocs / recipients; perRecipient > 0.1 {
		t.Fatalf("%.2f allocations per recipient", perRecipient)
	} else {
		t.Logf("%.2f allocations per recipient", perRecipient)
	}
}

func TestDeflateCompressedOnceConcurrently(t *testing.T) {
	msg := NewTextMessage([]byte(strings.Repeat("abc", 1000)))
	before := deflateCount.Load()
	var wg sync.WaitGroup
	frames := make([]*deflatedFrame, 8)
	for i := range frames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frames[i] = msg.deflated()
		}()
	}
	wg.Wait()
	if got := deflateCount.Load() - before; got != 1 {
		t.Fatalf("%d compressions", got)
	}
	for _, f := range frames {
		if f != frames[0] || f == nil {
			t.Fatal("writers got different frames")
		}
	}
}

// FuzzInflate: whatever a client sends with RSV1 set, inflating it neither
// panics nor yields more than the limit; and what deflateFrame compresses
// inflates back to itself.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("4hello, hello, hello, hello"), []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add(bytes.Repeat([]byte{0}, 5000), []byte{0x00, 0x00, 0xff, 0xff})
	f.Add([]byte{}, []byte{0x03, 0x00})
	f.Fuzz(func(t *testing.T, plain, compressed []byte) {
		// Small bounds keep the fuzzer fast (compress/flate is
		// instrumented too); the limit logic does not depend on size.
		const limit = 4 << 10
		if len(compressed) > limit || len(plain) > limit {
			return
		}
		if out, err := inflate(compressed, limit); err == nil && len(out) > limit {
			t.Fatalf("inflated %d bytes past a %d limit", len(out), limit)
		}
		m := NewBinaryMessage(plain)
		z := deflateFrame(m)
		if z == notDeflated {
			return
		}
		if len(z.data) >= len(plain) {
			t.Fatalf("a compressed frame of %d bytes for %d bytes", len(z.data), len(plain))
		}
		if z.hdr[0] != 0x80|rsv1|opBinary {
			t.Fatalf("frame header %#x", z.hdr[0])
		}
		out, err := inflate(z.data, limit)
		if err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(plain), len(out), err)
		}
	})
}

// FuzzFrameReaderDeflate is FuzzFrameReader with permessage-deflate
// negotiated.
func FuzzFrameReaderDeflate(f *testing.F) {
	z := compressedFrameBytes(f, opText, []byte("4"+strings.Repeat("hello ", 100)))
	f.Add(z)
	f.Add(append(clientFrame(true, opText, []byte("4plain")), z...))
	f.Fuzz(func(t *testing.T, input []byte) {
		fr := frameReader{r: bufio.NewReader(bytes.NewReader(input)), max: 1 << 16, deflate: true, onCtl: func(byte, []byte) error { return nil }}
		for range 100 {
			data, _, err := fr.readMessage()
			if err != nil {
				return
			}
			if int64(len(data)) > fr.max {
				t.Fatalf("message of %d bytes passed a %d limit", len(data), fr.max)
			}
		}
	})
}

// compressedFrameBytes is a masked client frame with RSV1 set, its payload
// compressed.
func compressedFrameBytes(tb testing.TB, op byte, payload []byte) []byte {
	tb.Helper()
	z := deflateFrame(newMessage(payload, op == opBinary))
	if z == notDeflated {
		tb.Fatal("payload does not compress")
	}
	b := clientFrame(true, op, z.data)
	b[0] |= rsv1
	return b
}

// BenchmarkBroadcastSendDeflate is BenchmarkBroadcastSend with every
// recipient on a permessage-deflate connection and a new 2 kB message per
// broadcast: one compression per broadcast, shared by the recipients.
func BenchmarkBroadcastSendDeflate(b *testing.B) {
	const recipients = 1000
	sessions, _ := webSocketSessions(recipients)
	for _, s := range sessions {
		s.ws.deflate, s.ws.threshold = true, 1024
	}
	// The queues are counted in uncompressed bytes: let them hold a burst
	// of 2 kB messages.
	sessions[0].srv.opts.MaxBufferedBytes = 1 << 30
	payload := []byte(strings.Repeat(`{"username":"ann","message":"hello"} `, 55))
	before := deflateCount.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg := NewTextMessage(payload)
		for _, s := range sessions {
			if err := s.Post(false, msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	waitFlushed(sessions)
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*recipients), "ns/recipient")
	if got := deflateCount.Load() - before; got != int64(b.N) {
		b.Fatalf("%d compressions for %d broadcasts", got, b.N)
	}
}
