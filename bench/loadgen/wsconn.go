package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// wsConn is a minimal Engine.IO v4 / Socket.IO v5 client over WebSocket,
// or with wt over a WebTransport stream (wtconn.go). One goroutine reads
// (readPacket); writes are serialized by wmu and built in a scratch
// buffer, so sending allocates nothing.
type wsConn struct {
	c  net.Conn
	br *bufio.Reader
	wt bool // a WebTransport stream: its framing, no masks, no control frames

	rbuf []byte // payload of the last data frame (reader goroutine only)
	hdr  [14]byte

	wmu  sync.Mutex
	mask [4]byte
	wbuf []byte

	opened time.Time // when the Engine.IO open packet arrived
	// pingDeadline is the server's pingInterval+pingTimeout, from its
	// open packet (0 if absent): a client that never answers a ping is
	// dropped about that long after opened.
	pingDeadline time.Duration
}

// errServerClosed is returned by readPacket when the server closes the
// WebSocket or the Engine.IO session.
var errServerClosed = errors.New("server closed the connection")

func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return strings.TrimSuffix(base, "/") + "/socket.io/?EIO=4&transport=websocket"
}

// dialWS opens a WebSocket and completes the Engine.IO handshake (the open
// packet) and the Socket.IO connection to "/". readBuf sizes the read
// buffer.
func dialWS(ctx context.Context, url string, readBuf int) (*wsConn, error) {
	return dialWSFrom(ctx, url, readBuf, "")
}

// dialWSFrom is dialWS with the client's socket bound to the local IP
// address source ("" for the kernel's choice): a second loopback address
// such as 127.0.0.2 has its own ephemeral ports.
func dialWSFrom(ctx context.Context, url string, readBuf int, source string) (*wsConn, error) {
	d := ws.Dialer{Timeout: 15 * time.Second, ReadBufferSize: readBuf}
	if source != "" {
		ip := net.ParseIP(source)
		if ip == nil {
			return nil, fmt.Errorf("bad source address %q", source)
		}
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Control: bindNoPort}
		d.NetDial = nd.DialContext
	}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, readBuf)
	}
	c := &wsConn{c: conn, br: br, rbuf: make([]byte, 0, 256), wbuf: make([]byte, 0, 256)}
	_, _ = rand.Read(c.mask[:])
	if err := c.connectSocketIO(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// connectSocketIO reads the Engine.IO open packet, sends the Socket.IO
// CONNECT for "/" and waits for the server's CONNECT.
func (c *wsConn) connectSocketIO() error {
	_ = c.c.SetDeadline(time.Now().Add(15 * time.Second))
	defer func() { _ = c.c.SetDeadline(time.Time{}) }()
	msg, err := c.readMessage()
	if err != nil {
		return fmt.Errorf("reading open packet: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return fmt.Errorf("expected an open packet, got %q", msg)
	}
	c.opened = time.Now()
	c.pingDeadline = pingDeadline(msg)
	if err := c.writeText([]byte("40")); err != nil {
		return err
	}
	pkt, err := c.readPacket()
	if err != nil {
		return fmt.Errorf("waiting for CONNECT: %w", err)
	}
	if len(pkt) < 1 || pkt[0] != '0' {
		return fmt.Errorf("expected CONNECT, got %q", pkt)
	}
	return nil
}

// pingDeadline returns pingInterval+pingTimeout from an Engine.IO open
// packet, 0 if either is missing.
func pingDeadline(open []byte) time.Duration {
	iv, ok1 := jsonInt(open, `"pingInterval":`)
	to, ok2 := jsonInt(open, `"pingTimeout":`)
	if !ok1 || !ok2 {
		return 0
	}
	return time.Duration(iv+to) * time.Millisecond
}

// jsonInt finds key (with its colon) in b and parses the integer after it.
func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = bytes.TrimLeft(b[i+len(key):], " ")
	var v int64
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' && n < 15 {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n > 0
}

// joinRoom emits join(room) with an ack and waits for the ack; nothing else
// may be in flight on the connection.
func (c *wsConn) joinRoom(room string) error {
	_ = c.c.SetDeadline(time.Now().Add(15 * time.Second))
	defer func() { _ = c.c.SetDeadline(time.Time{}) }()
	if err := c.writeText([]byte(`421["join",` + jsonString(room) + `]`)); err != nil {
		return err
	}
	for {
		pkt, err := c.readPacket()
		if err != nil {
			return fmt.Errorf("waiting for join ack: %w", err)
		}
		if len(pkt) >= 2 && pkt[0] == '3' && pkt[1] == '1' {
			return nil
		}
	}
}

// readPacket returns the next Socket.IO packet (the Engine.IO message
// without its '4'), answering pings on the way. The slice is valid until the
// next read.
func (c *wsConn) readPacket() ([]byte, error) {
	for {
		msg, err := c.readMessage()
		if err != nil {
			return nil, err
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '4':
			return msg[1:], nil
		case '2': // ping: answer with a pong
			if err := c.writeText([]byte("3")); err != nil {
				return nil, err
			}
		case '1':
			return nil, errServerClosed
		}
	}
}

// readMessage returns the next data message, answering control frames.
func (c *wsConn) readMessage() ([]byte, error) {
	if c.wt {
		return c.readWTMessage()
	}
	c.rbuf = c.rbuf[:0]
	for {
		h := c.hdr[:]
		if _, err := io.ReadFull(c.br, h[:2]); err != nil {
			return nil, err
		}
		fin := h[0]&0x80 != 0
		op := h[0] & 0x0F
		masked := h[1]&0x80 != 0
		n := int(h[1] & 0x7F)
		switch n {
		case 126:
			if _, err := io.ReadFull(c.br, h[2:4]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint16(h[2:4]))
		case 127:
			if _, err := io.ReadFull(c.br, h[2:10]); err != nil {
				return nil, err
			}
			u := binary.BigEndian.Uint64(h[2:10])
			if u > 1<<30 {
				return nil, errors.New("frame too large")
			}
			n = int(u)
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(c.br, mask[:]); err != nil {
				return nil, err
			}
		}
		if op >= 0x8 { // control frame
			payload := make([]byte, n)
			if _, err := io.ReadFull(c.br, payload); err != nil {
				return nil, err
			}
			if masked {
				ws.Cipher(payload, mask, 0)
			}
			switch op {
			case 0x8:
				_ = c.writeFrame(0x8, nil)
				return nil, errServerClosed
			case 0x9:
				if err := c.writeFrame(0xA, payload); err != nil {
					return nil, err
				}
			}
			continue
		}
		start := len(c.rbuf)
		if cap(c.rbuf)-start < n {
			nb := make([]byte, start, start+n+n/2)
			copy(nb, c.rbuf)
			c.rbuf = nb
		}
		c.rbuf = c.rbuf[:start+n]
		if _, err := io.ReadFull(c.br, c.rbuf[start:]); err != nil {
			return nil, err
		}
		if masked {
			ws.Cipher(c.rbuf[start:], mask, 0)
		}
		if fin {
			return c.rbuf, nil
		}
	}
}

// writeText sends one masked text frame.
func (c *wsConn) writeText(payload []byte) error { return c.writeFrame(0x1, payload) }

func (c *wsConn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wt {
		if op != 0x1 {
			return nil // WebTransport has no control frames
		}
		c.wbuf = appendWTText(c.wbuf[:0], payload)
		_, err := c.c.Write(c.wbuf)
		return err
	}
	b := c.wbuf[:0]
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, c.mask[:]...)
	start := len(b)
	b = append(b, payload...)
	ws.Cipher(b[start:], c.mask, 0)
	c.wbuf = b
	_, err := c.c.Write(b)
	return err
}

// disconnect leaves like socket.io-client's disconnect(): a Socket.IO
// DISCONNECT and a WebSocket close frame (nothing more over WebTransport),
// then the connection closes.
func (c *wsConn) disconnect() {
	_ = c.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = c.writeText([]byte("41"))
	_ = c.writeFrame(0x8, []byte{0x03, 0xE8}) // 1000, normal closure
	_ = c.c.Close()
}

// close drops the connection (TCP, or the WebTransport session and its
// QUIC connection) without a goodbye.
func (c *wsConn) close() { _ = c.c.Close() }

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
