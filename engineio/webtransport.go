package engineio

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// The WebTransport transport (HTTP/3 over QUIC), as the reference server
// has it since engine.io 6.5. The client opens a WebTransport session at
// the engine's path, then one bidirectional stream, and sends an open
// packet on it: without data for a new session, with {"sid":"..."} to
// upgrade a polling session. Packets on the stream are framed as
// engine.io-parser's createPacketEncoderStream frames them: a header of 1,
// 3 or 9 bytes giving the payload's length (as a WebSocket frame's: 7
// bits, or 126 then 16 bits, or 127 then 64 bits), whose first bit says
// binary (1) or text (0), then the payload, a packet as sent in a
// WebSocket frame.
//
// The stream is served by the WebSocket transport's code (wsConn, with wt
// set): the same queue, writer goroutines, deadlines and limits; only the
// framing and the close differ. WebTransport speaks protocol v4 only.

// WebTransportServer returns an HTTP/3 server for Engine.IO over
// WebTransport: on addr (UDP), with tlsConf's certificate, sessions at
// path (the engine's path, such as "/socket.io/"). Start it with
// ListenAndServe, or Serve on a net.PacketConn; Close stops it. Browsers
// open WebTransport at the page's host and port by default: listen on the
// same port number as the HTTP server, in UDP. Origins are checked as for
// a WebSocket (Options.CORS). Set Options.WebTransport too.
//
// Per connection, QUIC holds at most the flow-control windows set here of
// unread data, and a client opens few streams: one for the HTTP/3
// request, one for Engine.IO, and the HTTP/3 control streams.
func (s *Server) WebTransportServer(addr, path string, tlsConf *tls.Config) *webtransport.Server {
	h3 := &http3.Server{
		Addr:           addr,
		TLSConfig:      http3.ConfigureTLSConfig(tlsConf),
		MaxHeaderBytes: 16 << 10,
		QUICConfig: &quic.Config{
			EnableDatagrams:                  true,
			EnableStreamResetPartialDelivery: true,
			HandshakeIdleTimeout:             5 * time.Second,
			// The heartbeat notices a dead client; QUIC's idle timeout
			// must not come first.
			MaxIdleTimeout:                 s.opts.PingInterval + s.opts.PingTimeout + 5*time.Second,
			MaxIncomingStreams:             4,
			MaxIncomingUniStreams:          4,
			InitialStreamReceiveWindow:     256 << 10,
			MaxStreamReceiveWindow:         uint64(max(1<<20, s.opts.MaxPayload)),
			InitialConnectionReceiveWindow: 512 << 10,
			MaxConnectionReceiveWindow:     uint64(max(2<<20, 2*s.opts.MaxPayload)),
		},
	}
	wts := &webtransport.Server{H3: h3, CheckOrigin: s.opts.CORS.AllowWebSocket}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		sess, err := wts.Upgrade(w, r)
		if err != nil {
			s.opts.Logger.Debug("engineio: WebTransport session refused", "err", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.ServeWebTransport(r, sess)
	})
	h3.Handler = mux
	return wts
}

// ServeWebTransport serves one WebTransport session, which the embedder's
// webtransport.Server has just upgraded from r (a CONNECT request at the
// engine's path). It returns once the client's first stream and open
// packet have been read (within Options.UpgradeTimeout), and the
// Engine.IO session opened or its upgrade begun; the session then runs on
// its own goroutines. Options.AllowRequest sees r, as it sees a handshake; the
// limits on sessions per address apply. Set Options.WebTransport so that
// polling sessions offer the upgrade.
func (s *Server) ServeWebTransport(r *http.Request, ws *webtransport.Session) {
	ctx, cancel := context.WithTimeout(ws.Context(), s.opts.UpgradeTimeout)
	defer cancel()
	str, err := ws.AcceptStream(ctx)
	if err != nil {
		s.opts.Logger.Debug("engineio: no WebTransport stream in time", "err", err)
		_ = ws.CloseWithError(0, "")
		return
	}
	c := newWTConn(ws, str)
	_ = str.SetReadDeadline(time.Now().Add(s.opts.UpgradeTimeout))
	fr := c.frames(c.br, s.opts.MaxPayload, 0)
	data, bin, err := fr.readMessage()
	if err != nil {
		c.close()
		return
	}
	_ = str.SetReadDeadline(time.Time{})
	p, err := decodePacket(data, bin)
	if err != nil || p.typ != PacketOpen {
		s.opts.Logger.Debug("engineio: invalid WebTransport handshake", "err", err)
		c.close()
		return
	}
	if len(p.data) == 0 {
		s.handshakeWebTransport(r, c)
		return
	}
	var open struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(p.data, &open) != nil || open.SID == "" {
		s.opts.Logger.Debug("engineio: invalid WebTransport handshake: open packet without a sid")
		c.close()
		return
	}
	q := wtQuery(r)
	q.Set("sid", open.SID)
	sess, rerr := s.findSession(r, q)
	if rerr != nil {
		c.close()
		return
	}
	go sess.serveUpgradeConn(c, false) // the probe, then the stream's reads
}

// handshakeWebTransport opens a new session over c.
func (s *Server) handshakeWebTransport(r *http.Request, c *wsConn) {
	q := wtQuery(r)
	if s.mayOpen(r) != nil {
		c.close()
		return
	}
	key, rerr := s.admitClient(r)
	if rerr != nil {
		c.close()
		return
	}
	hs := &Handshake{
		Query:      q,
		Header:     r.Header,
		RemoteAddr: c.conn.RemoteAddr().String(),
		Time:       time.Now(),
		Secure:     true,
		URL:        r.URL.RequestURI(),
		Protocol:   4,
	}
	id := s.newID()
	sess := s.newSession(hs, id, c, key)
	if sess == nil {
		c.close()
		return
	}
	// The open packet goes first, before what the handler queues.
	if err := c.writeMessage(s.openPacket(id, true)); err != nil {
		sess.close(ReasonTransportError, err)
		c.close()
		return
	}
	sess.begin()
	go sess.readWebSocket(c)
}

// wtQuery is the query of a WebTransport session's request. The client
// sends none (the reference server reads none): the protocol revision,
// always 4 over WebTransport, is filled in.
func wtQuery(r *http.Request) url.Values {
	q := r.URL.Query()
	if q.Get("EIO") == "" {
		q.Set("EIO", "4")
	}
	return q
}

// wtStream is a WebTransport stream as a net.Conn: its session gives the
// addresses, and closing it closes the session (the client's transport
// then sees its session closed, as the reference's doClose does).
// CloseWrite ends the stream's sending side only, after which the client
// reads what was sent and the end of the stream.
type wtStream struct {
	*webtransport.Stream
	sess *webtransport.Session
}

func (c wtStream) LocalAddr() net.Addr  { return c.sess.LocalAddr() }
func (c wtStream) RemoteAddr() net.Addr { return c.sess.RemoteAddr() }
func (c wtStream) CloseWrite() error    { return c.Stream.Close() }

func (c wtStream) Close() error {
	c.Stream.CancelRead(0)
	_ = c.Stream.Close()
	return c.sess.CloseWithError(0, "")
}

func newWTConn(ws *webtransport.Session, str *webtransport.Stream) *wsConn {
	conn := wtStream{str, ws}
	return &wsConn{conn: conn, wt: true, br: bufio.NewReaderSize(conn, 4096)}
}

// Compile-time check: a wtStream is a net.Conn.
var _ net.Conn = wtStream{}

// appendWTHeader appends the stream header of a payload of n bytes.
func appendWTHeader(dst []byte, n int, binaryData bool) []byte {
	var b0 byte
	if binaryData {
		b0 = 0x80
	}
	switch {
	case n < 126:
		return append(dst, b0|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, b0|126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0|127), uint64(n))
	}
}

// errWTFrame is a stream header the reference decoder refuses: an empty
// packet, or a length beyond what it can represent.
var errWTFrame = &frameError{closeProtocolError, "invalid WebTransport packet length"}

// readWTMessage reads the next packet of a WebTransport stream.
func (fr *frameReader) readWTMessage() (data []byte, binaryData bool, err error) {
	h := fr.hdr[:]
	if fr.r.Buffered() == 0 {
		if _, err = fr.r.Peek(1); err != nil {
			return nil, false, fr.readError(err)
		}
	}
	if err = readField(fr.r, h[:1]); err != nil {
		return nil, false, fr.readError(err)
	}
	binaryData = h[0]&0x80 != 0
	length := int64(h[0] & 0x7f)
	switch length {
	case 126:
		fr.need(2)
		if err = readField(fr.r, h[1:3]); err != nil {
			return nil, false, fr.readError(err)
		}
		length = int64(binary.BigEndian.Uint16(h[1:3]))
	case 127:
		fr.need(8)
		if err = readField(fr.r, h[1:9]); err != nil {
			return nil, false, fr.readError(err)
		}
		u := binary.BigEndian.Uint64(h[1:9])
		if u > 1<<53-1 {
			return nil, false, errWTFrame
		}
		length = int64(u)
	}
	switch {
	case length == 0:
		return nil, false, errWTFrame
	case length > fr.max:
		return nil, false, errMessageTooBig
	}
	if data, err = fr.readPayload(nil, int(length)); err != nil {
		return nil, false, fr.readError(err)
	}
	fr.disarm()
	if !binaryData && !utf8.Valid(data) {
		return nil, false, &frameError{closeInvalidPayload, "invalid UTF-8 in text packet"}
	}
	return data, binaryData, nil
}
