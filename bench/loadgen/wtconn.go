package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"
)

// WebTransport clients (-transport webtransport): the same wsConn, the
// same Socket.IO exchange and the same counting as over WebSocket; only
// the connection and the framing differ. The client opens a WebTransport
// session (HTTP/3 over QUIC, its own QUIC connection and UDP socket) at
// the server's /socket.io/, opens one bidirectional stream and sends an
// Engine.IO open packet on it. Packets on the stream are framed as
// engine.io-parser's createPacketEncoderStream frames them: a 1-, 3- or
// 9-byte header giving the payload's length (7 bits, or 126 then 16
// bits, or 127 then 64 bits; the first bit set for binary), then the
// payload. Nothing is masked.

// Transports the load generator speaks for fanout and echo.
const (
	transportWebSocket    = "websocket"
	transportWebTransport = "webtransport"
)

// wtURL is the WebTransport session URL of a server base URL: https, the
// same host and port (the server listens on it in UDP), the engine's
// path. The reference client sends no query.
func wtURL(base string) string {
	base = strings.TrimSuffix(base, "/")
	if rest, ok := strings.CutPrefix(base, "http://"); ok {
		base = "https://" + rest
	}
	return base + "/socket.io/"
}

// newWTTransport is the WebTransport dialer of the clients, trusting the
// certificates in the PEM file caFile.
func newWTTransport(caFile string) (*webtransport.Transport, error) {
	if caFile == "" {
		return nil, errors.New("-transport webtransport needs -ca, the server certificate to trust (PEM)")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	return &webtransport.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"h3"}},
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}, nil
}

// dialWT opens a WebTransport session and its stream, and completes the
// Engine.IO handshake and the Socket.IO connection to "/", as dialWS does
// over WebSocket. readBuf sizes the read buffer.
func dialWT(ctx context.Context, tr *webtransport.Transport, url string, readBuf int) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, sess, err := tr.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	str, err := sess.OpenStreamSync(ctx)
	if err != nil {
		_ = sess.CloseWithError(0, "")
		return nil, err
	}
	conn := wtStream{str, sess}
	c := &wsConn{c: conn, br: bufio.NewReaderSize(conn, readBuf), wt: true,
		rbuf: make([]byte, 0, 256), wbuf: make([]byte, 0, 256)}
	// The client speaks first: an open packet without data, for a new
	// session.
	if err := c.writeText([]byte("0")); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := c.connectSocketIO(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// wtStream is a WebTransport stream as a net.Conn: its session gives the
// addresses, and closing it closes the session (and the QUIC connection).
type wtStream struct {
	*webtransport.Stream
	sess *webtransport.Session
}

func (c wtStream) LocalAddr() net.Addr  { return c.sess.LocalAddr() }
func (c wtStream) RemoteAddr() net.Addr { return c.sess.RemoteAddr() }

func (c wtStream) Close() error {
	c.Stream.CancelRead(0)
	_ = c.Stream.Close()
	return c.sess.CloseWithError(0, "")
}

var _ net.Conn = wtStream{}

// readWTMessage reads the next packet of a WebTransport stream into rbuf.
func (c *wsConn) readWTMessage() ([]byte, error) {
	h := c.hdr[:]
	if _, err := io.ReadFull(c.br, h[:1]); err != nil {
		return nil, err
	}
	n := int(h[0] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(c.br, h[1:3]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(h[1:3]))
	case 127:
		if _, err := io.ReadFull(c.br, h[1:9]); err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint64(h[1:9])
		if u > 1<<30 {
			return nil, errors.New("packet too large")
		}
		n = int(u)
	}
	if n == 0 {
		return nil, errors.New("empty WebTransport packet")
	}
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, n, n+n/2)
	}
	c.rbuf = c.rbuf[:n]
	if _, err := io.ReadFull(c.br, c.rbuf); err != nil {
		return nil, err
	}
	return c.rbuf, nil
}

// appendWTText appends one text packet, framed for a WebTransport stream.
func appendWTText(b, payload []byte) []byte {
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}
