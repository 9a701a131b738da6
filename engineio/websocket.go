package engineio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// The WebSocket transport: the connection and how it is closed, sessions
// opened or upgraded over it, and its reads. The frames it writes come from
// the session's queue (Session.Send).

// wsConn is one WebSocket connection, or one WebTransport stream (wt),
// which carries the same packets with another framing (webtransport.go).
// Writes come from the session's flush goroutine and, rarely, from the
// reader (pongs, close replies, probes); mu keeps their frames whole.
type wsConn struct {
	conn net.Conn
	// wt: a WebTransport stream. Set once, at creation.
	wt  bool
	raw syscall.RawConn // for non-blocking writes; nil if conn has no descriptor
	rw  rawWriter       // writes through raw; under mu
	br  *bufio.Reader   // the handshake's reader, until the first idle moment

	// eio3 and b64 select protocol v3 framing of binary messages; set
	// once, before the connection is written to by anyone but accept.
	eio3, b64 bool
	// deflate: permessage-deflate was negotiated; messages of threshold
	// bytes or more go out compressed. Set by accept.
	deflate   bool
	threshold int

	// onCtl is c.onControl, stored once by accept: taking a method
	// value allocates, and doing it for every read burst would cost an
	// allocation per burst.
	onCtl func(op byte, payload []byte) error

	mu     sync.Mutex // held by whoever writes
	closed atomic.Bool
	pc     atomic.Pointer[pollConn] // set while the netpoller watches the connection
}

// closeWith sends a close frame, best effort, and closes the connection.
// If a writer is busy for longer than closeLockWait (blocked on a full
// socket), the frame is skipped: closing never waits for a slow client.
func (c *wsConn) closeWith(code int, reason string) {
	if c.wt {
		// No close frame: the end of the stream, then of the session.
		c.lingerClose()
		return
	}
	sent := false
	if c.lockWithin(closeLockWait) {
		if !c.closed.Load() {
			func() {
				c.setDeadline(time.Second)
				defer c.clearDeadline()
				_, err := c.conn.Write(closeFrame(code, reason))
				sent = err == nil
			}()
		}
		c.mu.Unlock()
	}
	if sent {
		c.lingerClose()
		return
	}
	c.close()
}

// closeLockWait is how long closeWith waits for a writer: one writing to
// a client that reads is done within it, and its close frame then follows
// what was being written instead of being lost.
const closeLockWait = 5 * time.Millisecond

// lockWithin takes c.mu if it can within d.
func (c *wsConn) lockWithin(d time.Duration) bool {
	if c.mu.TryLock() {
		return true
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
		if c.mu.TryLock() {
			return true
		}
	}
	return false
}

// closeLinger is how long a connection stays half-closed after the
// server's close frame.
const closeLinger = time.Second

// lingerClose ends the connection after a close frame: it sends FIN at
// once but keeps the socket for closeLinger before closing it. Closing a
// socket with unread input (a client still sending, such as one whose
// message was too big) makes the kernel reset the connection, and a reset
// can destroy the close frame before the client reads it: the client
// would see a connection error instead of the close code that says why.
// Nothing is read meanwhile; the session is over.
func (c *wsConn) lingerClose() {
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok {
		c.close()
		return
	}
	if c.closed.Swap(true) {
		return
	}
	if pc := c.pc.Load(); pc != nil {
		getPoller().forget(pc)
	}
	_ = c.conn.SetReadDeadline(time.Now()) // a reader still blocked stops
	_ = cw.CloseWrite()
	time.AfterFunc(closeLinger, func() { _ = c.conn.Close() })
}

// close closes the connection at once. It does not take c.mu: a writer
// blocked on a client that does not read holds it until its write times
// out, and close is called from broadcasts, which must not wait for that;
// closing the connection is what unblocks the writer.
func (c *wsConn) close() {
	if c.closed.Swap(true) {
		return
	}
	if pc := c.pc.Load(); pc != nil {
		getPoller().forget(pc)
	}
	_ = c.conn.Close()
}

// onControl answers control frames read from the client.
func (c *wsConn) onControl(op byte, payload []byte) error {
	switch op {
	case opPing:
		b := make([]byte, maxFrameHeader+len(payload))
		n := putFrameHeader(b, opPong, len(payload))
		// A pong that cannot be written (a client that sends pings and
		// reads nothing, for 5s) may be half out: the connection is
		// unusable, and closing it is what bounds such a client.
		if err := c.writeFrame(append(b[:n], payload...)); err != nil {
			return err
		}
	case opClose:
		c.closeWith(closeReply(payload))
		return errClosedByPeer
	}
	return nil // pongs need no answer
}

// closeReply is the answer to a client's close frame: its own code and
// reason, as the ws library under the Node server echoes them, or a
// protocol error (1002) or invalid payload (1007) for a malformed one.
func closeReply(payload []byte) (int, string) {
	if len(payload) == 0 {
		return closeNoStatus, ""
	}
	if len(payload) == 1 {
		return closeProtocolError, ""
	}
	code, reason := int(binary.BigEndian.Uint16(payload)), string(payload[2:])
	valid := code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006 || code >= 3000 && code <= 4999
	switch {
	case !valid:
		return closeProtocolError, ""
	case !utf8.ValidString(reason):
		return closeInvalidPayload, ""
	}
	return code, reason
}

func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request, hs *Handshake, key string) {
	id := s.newID()
	// The open packet must be the first frame: it goes out with the 101
	// response, before anything the handler may queue.
	var header string
	if ck := s.opts.Cookie; ck != nil {
		header = "Set-Cookie: " + ck.header(id) + "\r\n"
	}
	// The client may use the sid as soon as it reads the open packet,
	// before newSession has registered the session.
	ready := s.reserveOpening(id)
	c, err := accept(w, r, header, s.openPacket(id, true), s.opts.PerMessageDeflate)
	if err != nil {
		s.openingDone(id, ready)
		s.admit.release(key)
		return
	}
	c.eio3, c.b64 = hs.Protocol == 3, hs.Query.Get("b64") != ""
	sess := s.newSession(hs, id, c, key)
	s.openingDone(id, ready)
	if sess == nil {
		c.closeWith(closeGoingAway, "server shutting down")
		return
	}
	sess.begin()
	sess.readWebSocket(c)
}

// serveUpgrade takes a WebSocket that wants to replace the polling transport.
//
// A second one, while the session is upgrading or once it has upgraded, is
// refused as the reference refuses it: the WebSocket handshake succeeds,
// then a close frame without a status code ends the connection. The
// session is unaffected.
func (s *Session) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	open := s.state == stateOpen
	if open {
		s.accepting++ // a GET meanwhile waits for this probe (awaitUpgrade)
	}
	s.mu.Unlock()
	if !open {
		writeRequestError(w, errBadRequest)
		return
	}
	c, err := accept(w, r, "", nil, s.srv.opts.PerMessageDeflate)
	if err != nil {
		s.mu.Lock()
		s.accepting--
		s.mu.Unlock()
		return
	}
	c.eio3, c.b64 = s.eio3, r.URL.Query().Get("b64") != ""
	s.serveUpgradeConn(c, true)
}

// serveUpgradeConn probes c, a WebSocket or a WebTransport stream that
// wants to replace the polling transport, and reads it once upgraded.
// accepted: c is a WebSocket counted in s.accepting, which is given back
// in the same critical section that makes c the probe, so that a GET
// never finds the session with neither (it would not wait for the
// upgrade, and the client's upgrade packet may already be on its way).
func (s *Session) serveUpgradeConn(c *wsConn, accepted bool) {
	s.mu.Lock()
	if accepted {
		s.accepting--
	}
	if s.ws != nil || s.probe != nil || s.state != stateOpen {
		s.mu.Unlock()
		switch {
		case c.wt:
			c.close() // as the reference closes the WebTransport session
		case c.writeFrame([]byte{0x80 | opClose, 0}) == nil:
			c.lingerClose()
		default:
			c.close()
		}
		return
	}
	s.probe = c
	s.mu.Unlock()
	_ = c.conn.SetReadDeadline(time.Now().Add(s.srv.opts.UpgradeTimeout))
	if !s.probeWebSocket(c) {
		s.mu.Lock()
		if s.probe == c {
			s.probe = nil
			s.upgrading = false
		}
		s.mu.Unlock()
		c.close()
		return
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	s.readWebSocket(c)
}

// probeWebSocket runs the upgrade dialogue: "2probe" -> "3probe", then "5".
func (s *Session) probeWebSocket(c *wsConn) bool {
	// No message deadline: the upgrade's deadline bounds the whole probe.
	fr := c.frames(c.br, s.srv.opts.MaxPayload, 0)
	for {
		data, binary, err := fr.readMessage()
		if err != nil {
			return false
		}
		p, err := c.decode(data, binary)
		if err != nil {
			return false
		}
		switch {
		case p.typ == PacketPing && string(p.data) == "probe":
			if c.writeMessage(msgProbe) != nil {
				return false
			}
			s.mu.Lock()
			s.upgrading = true
			s.kickLocked() // release a pending GET with a noop
			s.mu.Unlock()
		case p.typ == PacketUpgrade:
			s.mu.Lock()
			if s.state != stateOpen || s.probe != c || !s.upgrading {
				s.mu.Unlock()
				return false
			}
			s.probe = nil
			s.upgrading = false
			s.ws = c
			s.srv.stats.upgrades.Add(1)
			s.srv.stats.openPolling.Add(-1)
			s.srv.stats.open(c).Add(1)
			select { // release a pending GET
			case s.poll <- struct{}{}:
			default:
			}
			if len(s.queue) > 0 {
				s.kickLocked()
			}
			s.mu.Unlock()
			s.upgraded()
			return true
		default:
			return false
		}
	}
}

// blockingReads makes every WebSocket use a reader goroutine even where a
// netpoller exists; tests set it to cover both paths.
var blockingReads atomic.Bool

// connReader is what onReadable reads with, pooled: a connection holds
// neither while it is idle.
type connReader struct {
	br  *bufio.Reader
	raw *rawReader
}

var readerPool = sync.Pool{New: func() any { return &connReader{br: bufio.NewReaderSize(nil, 4096), raw: newRawReader()} }}

// readWebSocket reads the active WebSocket transport. With a netpoller it
// returns as soon as the connection is idle; later data is read by
// onReadable. Otherwise it reads until the connection ends.
func (s *Session) readWebSocket(c *wsConn) {
	br := c.br
	c.br = nil // the handshake's buffer is not kept while idle
	if br.Buffered() > 0 && !s.readBurst(c, br) {
		return
	}
	if p := getPoller(); p != nil && !blockingReads.Load() {
		if c.closed.Load() {
			return
		}
		pc, err := p.watch(c.conn, func(pc *pollConn) { s.onReadable(c, pc) })
		if err == nil {
			c.pc.Store(pc)
			if c.closed.Load() { // closed meanwhile: close may have missed pc
				p.forget(pc)
			}
			return
		}
	}
	for s.readBurst(c, br) {
	}
}

// readLinger is how long a reader waits for more data before handing its
// connection back to the netpoller. A busy connection is thus read by one
// goroutine, blocking as usual, instead of paying an epoll re-arm and a new
// goroutine per message; an idle one holds nothing after this delay.
const readLinger = 5 * time.Millisecond

// onReadable reads what arrived on an idle connection, then re-arms it.
func (s *Session) onReadable(c *wsConn, pc *pollConn) {
	rd := readerPool.Get().(*connReader)
	br := rd.br
	br.Reset(rd.raw.reset(c.conn, c.raw))
	ok := s.readBurst(c, br)
	for ok {
		_ = c.conn.SetReadDeadline(time.Now().Add(readLinger))
		_, err := br.Peek(1)
		_ = c.conn.SetReadDeadline(time.Time{})
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			break // quiet: back to the netpoller
		}
		ok = s.readBurst(c, br) // more data, or an error readBurst reports
	}
	br.Reset(nil)
	rd.raw.reset(nil, nil)
	readerPool.Put(rd)
	if !ok {
		return
	}
	if err := getPoller().rearm(pc); err != nil {
		s.close(ReasonTransportClose, err)
		c.close()
	}
}

// readBurst reads and handles messages until a message ends where the
// buffered input does. It returns false once the connection is finished.
func (s *Session) readBurst(c *wsConn, br *bufio.Reader) bool {
	fr := c.frames(br, s.srv.opts.MaxPayload, s.srv.opts.BodyTimeout)
	for {
		data, binary, err := fr.readMessage()
		if err != nil {
			var fe *frameError
			switch {
			case errors.As(err, &fe):
				// Counted before the client can see the close.
				reason := ReasonTransportError
				switch fe {
				case errMessageTooBig:
					s.srv.stats.rejected(LimitMaxPayload)
				case errMessageSlow:
					s.srv.stats.rejected(LimitBodyTimeout)
				default:
					reason = ReasonParseError
				}
				// The code alone, as the ws library sends it; the
				// message goes to the log with err.
				c.closeWith(fe.code, "")
				s.close(reason, err)
			case errors.Is(err, errClosedByPeer), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				s.close(ReasonTransportClose, nil)
			default:
				s.close(ReasonTransportClose, err)
			}
			c.close()
			return false
		}
		p, err := c.decode(data, binary)
		if err != nil {
			c.closeWith(closeNoStatus, "")
			s.close(ReasonParseError, err)
			return false
		}
		if p.typ == PacketClose {
			// Ignored, as the reference does (it acts on one over
			// polling only): a client ends a WebSocket by closing it.
			p.typ = PacketNoop
		}
		if err := s.onPacket(p); err != nil {
			c.closeWith(closeNoStatus, "")
			return false
		}
		if br.Buffered() == 0 {
			return true
		}
	}
}

// frames returns a reader of c's frames from br; a message must arrive
// within timeout of its first byte (0: no deadline).
func (c *wsConn) frames(br *bufio.Reader, max int64, timeout time.Duration) frameReader {
	fr := frameReader{r: br, max: max, deflate: c.deflate, onCtl: c.onCtl, timeout: timeout, wt: c.wt}
	if timeout > 0 {
		fr.conn = c.conn
	}
	return fr
}

// decode decodes one WebSocket message in the connection's protocol.
func (c *wsConn) decode(data []byte, binary bool) (packet, error) {
	if c.eio3 {
		if binary {
			return decodeBinaryV3(data)
		}
		return decodeTextV3(data)
	}
	return decodePacket(data, binary)
}
