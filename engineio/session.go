package engineio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A session's state, its heartbeat, the delivery of what the client sends
// to the handler, and its close. What the server sends goes through the
// session's queue (Session.Send); what the client sends, each transport
// reads for itself: polling from its POSTs, a WebSocket from its connection.

type sessionState uint8

const (
	stateOpen sessionState = iota
	// stateClosing: closed by the server, flushing what was queued (and a
	// close packet) before the transport goes away.
	stateClosing
	stateClosed
)

// Session is one Engine.IO client connection, across transport upgrades.
// Its methods are safe for concurrent use.
type Session struct {
	srv     *Server
	id      string
	hs      *Handshake
	handler SessionHandler
	// clientKey is the address the session's admission slot counts
	// against ("" without limits).
	clientKey string
	// eio3: protocol v3 (socket.io-client 2.x): the client pings, and
	// binary packets are framed differently. b64: a v3 client that wants
	// binary as base64 text (b64=1). Both are fixed at the handshake.
	eio3, b64 bool
	// jsonp is the start of a JSONP response ("___eio[3]("), "" for
	// XHR polling. JSONP serves browsers without XHR: GETs answer with a
	// script, POSTs carry the payload as a form field.
	jsonp string

	counters sessionCounters

	// deliverMu serializes calls into handler.
	deliverMu sync.Mutex
	ended     atomic.Bool // OnClose has been scheduled: deliver nothing more

	mu         sync.Mutex
	state      sessionState
	ws         *wsConn // the WebSocket transport once upgraded (or handshaken) to it
	probe      *wsConn // a WebSocket being probed for an upgrade
	accepting  int     // WebSocket handshakes for an upgrade in progress
	upgrading  bool    // probe answered: pending GETs are released with a noop
	queue      []*Message
	queueBytes int
	flushing   bool   // a goroutine owns writing to ws (inline, a writer, or a SendAlone pause)
	partial    []byte // bytes an inline write left over: written first

	// Polling state.
	poll     chan struct{} // wakes the pending GET
	polling  bool          // a GET is pending
	posting  bool          // a POST is being read
	closeMsg *Message      // what the last GET gets when the session closes

	timer        *time.Timer
	awaitingPong bool
	pongDeadline time.Time // when the timer closes the session, awaitingPong
	refreshed    bool      // the pong deadline was extended once for incoming data
	closeTimer   *time.Timer
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Handshake returns what the client sent when opening the session.
func (s *Session) Handshake() *Handshake { return s.hs }

// Transport returns "polling", "websocket" or "webtransport".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return transportName(s.ws)
}

// begin starts a session whose open packet is written, on a WebSocket or
// WebTransport stream: the heartbeat, the handler's OnOpen, then what
// OnOpen queued.
func (s *Session) begin() {
	s.startHeartbeat()
	s.opened()
	s.mu.Lock()
	if len(s.queue) > 0 {
		s.kickLocked()
	}
	s.mu.Unlock()
}

func (s *Session) startHeartbeat() {
	s.mu.Lock()
	s.timer = time.AfterFunc(s.heartbeatDelay(), s.onTimer)
	s.mu.Unlock()
}

// heartbeatDelay is when the heartbeat timer first fires: the first server
// ping in v4; in v3, where the client pings, the deadline for its ping.
func (s *Session) heartbeatDelay() time.Duration {
	if s.eio3 {
		return s.srv.opts.PingInterval + s.srv.opts.PingTimeout
	}
	return s.srv.opts.PingInterval
}

// onPingV3 answers a v3 client's ping and pushes its deadline back.
func (s *Session) onPingV3() {
	s.mu.Lock()
	if s.state == stateOpen {
		s.timer.Reset(s.heartbeatDelay())
		if !s.queueControlLocked(msgPong) {
			s.mu.Unlock()
			s.queueFull()
			return
		}
		s.kickLocked()
	}
	s.mu.Unlock()
}

func (s *Session) onTimer() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.awaitingPong || s.eio3 {
		s.mu.Unlock()
		s.close(ReasonPingTimeout, nil)
		return
	}
	s.awaitingPong = true
	s.refreshed = false
	s.timer.Reset(s.srv.opts.PingTimeout)
	s.pongDeadline = time.Now().Add(s.srv.opts.PingTimeout)
	if !s.queueControlLocked(msgPing) {
		s.mu.Unlock()
		s.queueFull()
		return
	}
	s.kickLocked()
	s.mu.Unlock()
}

// pongOverdue reports whether the pong deadline has passed while the
// timer that enforces it has not run yet. The Node server's timers run
// before it reads new requests, so a request that comes after the
// deadline finds the session gone; checking here keeps that order when
// the timer's goroutine is late.
func (s *Session) pongOverdue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.awaitingPong && s.state == stateOpen && !time.Now().Before(s.pongDeadline)
}

func (s *Session) onPong() {
	s.mu.Lock()
	if s.awaitingPong && s.state == stateOpen {
		s.awaitingPong = false
		s.timer.Reset(s.srv.opts.PingInterval)
	}
	s.mu.Unlock()
}

// extendPongDeadline gives a client that is sending data while we wait for
// its pong one more pingTimeout (a large message can hold the pong up), as
// the reference server does.
func (s *Session) extendPongDeadline() {
	s.mu.Lock()
	if s.awaitingPong && !s.refreshed && s.state == stateOpen {
		s.refreshed = true
		s.timer.Reset(s.srv.opts.PingTimeout)
		s.pongDeadline = time.Now().Add(s.srv.opts.PingTimeout)
	}
	s.mu.Unlock()
}

// onPacket handles a packet from the active transport. It returns an error
// when the packet ends the session.
func (s *Session) onPacket(p packet) error {
	if p.typ != PacketPong {
		s.extendPongDeadline()
	}
	switch p.typ {
	case PacketMessage:
		s.counters.msgsIn.Add(1)
		s.counters.bytesIn.Add(uint64(len(p.data)))
		s.deliver(p.data, p.binary)
	case PacketPong:
		if s.eio3 {
			s.close(ReasonTransportError, errors.New("engineio: invalid heartbeat direction"))
			return errInvalidPacket
		}
		s.onPong()
	case PacketClose:
		s.close(ReasonTransportClose, nil)
		return errClosedByPeer
	case PacketPing:
		if s.eio3 {
			s.onPingV3()
			return nil
		}
		// Protocol v4 heartbeats go from server to client only.
		s.close(ReasonParseError, errors.New("engineio: invalid heartbeat direction"))
		return errInvalidPacket
	default:
		// open, upgrade and noop from a client mean nothing here; the
		// reference server ignores them too.
	}
	return nil
}

// opened calls the handler's OnOpen, if it has one.
func (s *Session) opened() {
	o, ok := s.handler.(SessionOpener)
	if !ok {
		return
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.ended.Load() {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.srv.opts.Logger.Error("engineio: panic in open handler", "panic", v)
			s.close(ReasonTransportError, fmt.Errorf("engineio: handler panic: %v", v))
		}
	}()
	o.OnOpen()
}

func (s *Session) deliver(data []byte, binary bool) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.ended.Load() {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.srv.opts.Logger.Error("engineio: panic in message handler", "remote", s.hs.RemoteAddr, "panic", v)
			s.close(ReasonTransportError, fmt.Errorf("engineio: handler panic: %v", v))
		}
	}()
	s.handler.OnMessage(data, binary)
}

// Close closes the session from the server side: what is already queued is
// still written, then the client is told to close.
func (s *Session) Close() { s.close(ReasonForcedClose, nil) }

// close ends the session for reason; err, if any, is what failed, for the
// log and the handler's OnClose.
func (s *Session) close(reason CloseReason, err error) {
	graceful := reason == ReasonForcedClose || reason == ReasonServerShutdown
	s.mu.Lock()
	if s.state != stateOpen {
		finish := s.closeAgainLocked(reason, graceful)
		s.mu.Unlock()
		if finish {
			s.finish()
		}
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	if reason == ReasonTransportClose {
		s.closeMsg = msgNoop // the client asked: release its GET quietly
	} else {
		s.closeMsg = msgClose
	}
	probe := s.probe
	s.probe = nil
	var sayClose *wsConn // gets a close frame before it goes
	var finishNow bool
	if s.ws != nil {
		sayClose, finishNow = s.closeWebSocketLocked(reason, graceful)
	} else {
		finishNow = s.closePollingLocked(reason, graceful)
	}
	s.mu.Unlock()
	if probe != nil {
		probe.close()
	}
	if sayClose != nil {
		sayClose.closeWith(closeNoStatus, "")
	}
	if finishNow {
		s.finish()
	}
	s.reportClose(reason, err)
}

// closeAgainLocked handles a close of a session that is already closing
// or closed, and reports whether to finish it now.
func (s *Session) closeAgainLocked(reason CloseReason, graceful bool) bool {
	// A WebSocket closing gracefully is finished by its flush, once
	// the close frame is written. When its transport fails first (the
	// flush's write, or the read side), no flush will: finish it
	// here, or it would keep its slot and queue until shutdown.
	failed := s.state == stateClosing && s.ws != nil && !graceful
	// A polling session closed by Session.Close waits for its client's
	// next GET; on shutdown it does not wait, as that client may never
	// come back.
	abandoned := s.state == stateClosing && s.ws == nil && !s.polling && reason == ReasonServerShutdown
	return failed || abandoned
}

// closeWebSocketLocked moves a WebSocket session to closing or closed. It
// returns the connection to send a close frame to (nil: none), and
// whether to finish the session now.
func (s *Session) closeWebSocketLocked(reason CloseReason, graceful bool) (sayClose *wsConn, finishNow bool) {
	switch {
	case graceful:
		s.state = stateClosing
		s.kickLocked() // the flush writes the close frame when done
		return nil, false
	case reason == ReasonPingTimeout || reason == ReasonParseError:
		// The Node server sends a close frame here too; a transport
		// error or a client gone needs none.
		s.state = stateClosed
		return s.ws, true
	default:
		s.state = stateClosed
		s.ws.close()
		return nil, true
	}
}

// closePollingLocked moves a polling session to closing, and reports
// whether to finish it now rather than when its client collects the close
// packet.
func (s *Session) closePollingLocked(reason CloseReason, graceful bool) (finishNow bool) {
	switch {
	case reason == ReasonServerShutdown && !s.polling:
		// No GET is waiting for the close packet, and the server is going
		// away: a client between polls may never come back for it, and
		// Server.Close would wait for it in vain. Closed at once, what was
		// queued dropped, as the reference server does on shutdown.
		s.state = stateClosing
		return true
	case reason == ReasonForcedClose && !s.polling:
		// Keep the session until the client's next GET collects what was
		// queued, or for at most a ping period.
		s.state = stateClosing
		s.closeTimer = time.AfterFunc(s.srv.opts.PingInterval+s.srv.opts.PingTimeout, s.finish)
		return false
	case reason == ReasonTransportClose && !s.polling:
		// The client's close packet: a GET it sent at the same time may
		// reach us after its POST. The Node server serves requests in the
		// order they came, so that GET gets a noop, and any later one
		// "Session ID unknown".
		s.queue, s.queueBytes = nil, 0
		s.state = stateClosing
		s.closeTimer = time.AfterFunc(closeRaceGrace, s.finish)
		return false
	default:
		if !graceful {
			s.queue, s.queueBytes = nil, 0
		}
		s.state = stateClosing
		s.kickLocked() // the pending GET (if any) returns the close packet
		return !s.polling
	}
}

// reportClose records the end of the session and tells its handler, after any
// message being delivered.
func (s *Session) reportClose(reason CloseReason, err error) {
	s.ended.Store(true)
	s.srv.stats.closed(reason)
	s.srv.opts.Logger.Debug("engineio: session closed", "reason", string(reason), "err", err)
	go func() {
		s.deliverMu.Lock()
		defer s.deliverMu.Unlock()
		s.handler.OnClose(reason, err)
	}()
}

// closeRaceGrace is how long a polling session closed by its client waits
// for a GET sent together with the close packet.
const closeRaceGrace = 500 * time.Millisecond

// finish releases the session for good.
func (s *Session) finish() {
	s.mu.Lock()
	s.state = stateClosed
	s.queue, s.queueBytes = nil, 0
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.close()
	}
	s.srv.remove(s)
}
