// Package wsclient is the one WebSocket client of the tests: it dials,
// reads and writes frame by frame, so a test sees exactly what the server
// sends and controls exactly what it receives.
//
// A typical test dials, reads the Engine.IO open packet and talks:
//
//	c := wsclient.Dial(t, base+"/socket.io/?EIO=4&transport=websocket", nil)
//	data, op, err := c.Read(5 * time.Second) // "0{...}", ws.OpText
//	err = c.WriteText("40")
//
// The client does the handshake itself (rather than through a library
// dialer) so that a test can see the whole 101 response (Response) and
// send any header, including several extension offers. Read answers
// WebSocket pings and close frames like a browser; Engine.IO pings ("2")
// are data to this package and are the caller's to answer. Tests that
// must send broken bytes (unmasked frames, RSV bits, a half-written frame)
// use WriteFrame and WriteRaw, which send what they are given.
//
// One goroutine may read while others write: writes are serialized, reads
// are not.
package wsclient

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
)

// Timeout bounds the handshake and each write.
const Timeout = 5 * time.Second

// deflateOffer is the permessage-deflate offer browsers send.
const deflateOffer = "permessage-deflate; client_max_window_bits"

// Options change the upgrade request. The zero value (or nil) is a plain
// request with no extension offered.
type Options struct {
	// Header is added to the upgrade request (Origin, Cookie, ...), and
	// replaces the client's own values for the keys it sets.
	Header http.Header
	// Protocols are offered as subprotocols, in order.
	Protocols []string
	// Deflate offers permessage-deflate as browsers do. Whether the
	// server took it is Conn.Deflate.
	Deflate bool
	// NetDial opens the TCP connection; nil dials with a net.Dialer. The
	// hostile tests use it to connect from a chosen source address.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Conn is one client WebSocket connection.
type Conn struct {
	// Response is the server's 101 response: its headers tell the
	// negotiated extension and any cookie set at the handshake.
	Response *http.Response

	conn    net.Conn
	br      *bufio.Reader // the handshake's read buffer: frames sent right after the 101 may already be in it
	deflate bool

	wmu sync.Mutex
}

// Dial connects to url (ws:// or http://, with path and query) and closes
// the connection when the test ends. A failed handshake fails the test;
// tests that expect a refusal use DialContext.
func Dial(t testing.TB, url string, o *Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := DialContext(ctx, url, o)
	if err != nil {
		t.Fatalf("wsclient: dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// DialContext connects to url (ws:// or http://, with path and query). An
// answer other than 101 is a ws.StatusError holding the HTTP status. The
// caller closes the connection.
func DialContext(ctx context.Context, rawURL string, o *Options) (*Conn, error) {
	if o == nil {
		o = &Options{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	dial := o.NetDial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(Timeout)
	}
	_ = conn.SetDeadline(deadline)
	c, err := handshake(conn, u, o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return c, nil
}

func handshake(conn net.Conn, u *url.URL, o *Options) (*Conn, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	h := http.Header{}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Version", "13")
	h.Set("Sec-WebSocket-Key", key)
	if len(o.Protocols) > 0 {
		h.Set("Sec-WebSocket-Protocol", strings.Join(o.Protocols, ", "))
	}
	if o.Deflate {
		h.Set("Sec-WebSocket-Extensions", deflateOffer)
	}
	for k, v := range o.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	_ = h.Write(&req)
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		res.Body.Close()
		return nil, ws.StatusError(res.StatusCode)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := res.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("wsclient: bad Sec-WebSocket-Accept %q", got)
	}
	ext := res.Header.Get("Sec-WebSocket-Extensions")
	return &Conn{
		Response: res,
		conn:     conn,
		br:       br,
		deflate:  strings.HasPrefix(ext, "permessage-deflate"),
	}, nil
}

// Deflate reports whether the server accepted permessage-deflate.
func (c *Conn) Deflate() bool { return c.deflate }

// NetConn is the TCP connection, for tests that act below WebSocket
// (reset it, stop reading). Reading from it directly would skip bytes
// already buffered: use Reader.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Reader returns the bytes the server sends, frames undecoded, for tests
// that count or parse them themselves. Do not mix it with Read.
func (c *Conn) Reader() io.Reader { return c.br }

// Read returns the next data message (text or binary, fragments joined)
// within timeout. On the way a ping is answered with a pong, and a close
// frame is answered and ends the read with a wsutil.ClosedError that holds
// the server's code and reason. When permessage-deflate was negotiated a
// compressed message is inflated. A timeout is a net.Error whose Timeout()
// is true.
func (c *Conn) Read(timeout time.Duration) ([]byte, ws.OpCode, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.conn.SetReadDeadline(time.Time{})
	// The answers to control frames are built in reply and sent in one
	// locked write, so they never land inside a frame another goroutine
	// is writing.
	var reply bytes.Buffer
	ctl := wsutil.ControlFrameHandler(&reply, ws.StateClientSide)
	handle := func(h ws.Header, r io.Reader) error {
		err := ctl(h, r)
		if reply.Len() > 0 {
			if werr := c.WriteRaw(reply.Bytes()); err == nil {
				err = werr
			}
			reply.Reset()
		}
		return err
	}
	var msg wsflate.MessageState
	rd := wsutil.DefaultReader(c.br, ws.StateClientSide)
	rd.OnIntermediate = handle
	if c.deflate {
		rd.State |= ws.StateExtended // RSV1 is allowed
		rd.CheckUTF8 = false         // the reader would check the compressed bytes: checked after inflating
		rd.Extensions = []wsutil.RecvExtension{&msg}
	}
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return nil, 0, err
		}
		if h.OpCode.IsControl() {
			if err := handle(h, rd); err != nil {
				return nil, 0, err
			}
			continue
		}
		var src io.Reader = rd
		if msg.IsCompressed() {
			src = wsflate.NewReader(rd, func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
		}
		data, err := io.ReadAll(src)
		if err == nil && c.deflate && h.OpCode == ws.OpText && !utf8.Valid(data) {
			err = wsutil.ErrInvalidUTF8
		}
		return data, h.OpCode, err
	}
}

// WaitClosed reads until the connection ends, within timeout, and returns
// the code and reason of the server's close frame; code 0 means the
// connection ended without one (EOF, reset). Data messages on the way go
// to onData, which may answer them (an Engine.IO ping); nil drops them. A
// connection still open after timeout gives the read's timeout error.
func (c *Conn) WaitClosed(timeout time.Duration, onData func(data []byte, op ws.OpCode)) (ws.StatusCode, string, error) {
	deadline := time.Now().Add(timeout)
	for {
		data, op, err := c.Read(time.Until(deadline))
		if err == nil {
			if onData != nil {
				onData(data, op)
			}
			continue
		}
		var ce wsutil.ClosedError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			return ce.Code, ce.Reason, nil
		case errors.As(err, &ne) && ne.Timeout():
			return 0, "", err
		default:
			return 0, "", nil
		}
	}
}

// ReadFrame returns the next frame as it came, within timeout: control
// frames are returned, not answered, and nothing is inflated (the RSV1
// bit tells a compressed frame).
func (c *Conn) ReadFrame(timeout time.Duration) (ws.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.conn.SetReadDeadline(time.Time{})
	return ws.ReadFrame(c.br)
}

// Write sends one message as a single masked frame, uncompressed.
func (c *Conn) Write(op ws.OpCode, data []byte) error {
	return c.locked(func(w io.Writer) error { return wsutil.WriteClientMessage(w, op, data) })
}

// WriteText sends a text message.
func (c *Conn) WriteText(s string) error { return c.Write(ws.OpText, []byte(s)) }

// WriteBinary sends a binary message.
func (c *Conn) WriteBinary(b []byte) error { return c.Write(ws.OpBinary, b) }

// WriteFrame sends f as it is: it is not masked for the caller (a valid
// client frame is ws.MaskFrame(f)), so hostile tests can send unmasked
// frames, stray RSV bits or fragments.
func (c *Conn) WriteFrame(f ws.Frame) error {
	return c.locked(func(w io.Writer) error { return ws.WriteFrame(w, f) })
}

// WriteRaw sends b on the connection as it is, for bytes that are not a
// whole frame.
func (c *Conn) WriteRaw(b []byte) error {
	return c.locked(func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// locked runs one write alone on the connection, within Timeout. The
// deadlines are cleared after each read and write, so a test that goes on
// with NetConn meets none left by the client.
func (c *Conn) locked(write func(io.Writer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(Timeout))
	defer c.conn.SetWriteDeadline(time.Time{})
	return write(c.conn)
}

// Close closes the TCP connection without a close frame (send one with
// Write(ws.OpClose, ws.NewCloseFrameBody(code, reason)) first if the test
// needs it). Closing twice is harmless.
func (c *Conn) Close() error {
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
