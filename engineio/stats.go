package engineio

import (
	"errors"
	"os"
	"sync/atomic"
)

// Counters for monitoring. A send (a broadcast's recipient included) adds
// to its session's own counters inside the critical section it holds
// anyway: two plain additions, no atomic instruction, no shared cache line,
// no allocation. A received message is one atomic add on the session's
// counters. Server.Stats adds the open sessions' counters to the totals of
// the closed ones when it is called, at scrape time.

// Stats is a snapshot of an engine's counters since it started.
type Stats struct {
	// OpenPolling, OpenWebSocket and OpenWebTransport are the open
	// sessions by transport.
	OpenPolling, OpenWebSocket, OpenWebTransport int64
	// HandshakesPolling, HandshakesWebSocket and HandshakesWebTransport
	// count the sessions opened, by the transport of the handshake.
	HandshakesPolling, HandshakesWebSocket, HandshakesWebTransport uint64
	// Upgrades counts completed upgrades from polling (to WebSocket or
	// WebTransport).
	Upgrades uint64
	// Closes counts ended sessions by reason.
	Closes map[CloseReason]uint64
	// MessagesIn and BytesIn count the message packets received from
	// clients and their payload bytes; MessagesOut and BytesOut the message
	// packets accepted for sending (queued or written) and their bytes.
	// Heartbeats and framing are not counted.
	MessagesIn, BytesIn, MessagesOut, BytesOut uint64
	// VolatileDropped counts volatile messages dropped because the
	// client's transport was busy.
	VolatileDropped uint64
	// BroadcastRecipients counts the sessions a Batch posted to.
	BroadcastRecipients uint64
	// Rejections counts sessions closed for going over a limit, by limit.
	Rejections map[Limit]uint64
}

// Limit names a bound that closes a session when a client goes over it.
type Limit string

// Limits enforced by the engine.
const (
	// LimitMaxPayload: a message or polling body over Options.MaxPayload.
	LimitMaxPayload Limit = "max_payload"
	// LimitMaxBufferedBytes: a send queue over Options.MaxBufferedBytes.
	LimitMaxBufferedBytes Limit = "max_buffered_bytes"
	// LimitWriteTimeout: one write blocked for Options.WriteTimeout.
	LimitWriteTimeout Limit = "write_timeout"
	// LimitBodyTimeout: a WebSocket message or a polling request body not
	// complete Options.BodyTimeout after it began.
	LimitBodyTimeout Limit = "read_body_timeout"
	// Handshakes refused (and plain WebSocket connections refused through
	// Server.Admit) by Options.Limits: sessions in total, per client
	// address, and the handshake rate per address.
	LimitMaxConnections   Limit = "max_connections"
	LimitConnectionsPerIP Limit = "max_connections_per_ip"
	LimitHandshakeRate    Limit = "handshakes_per_second"
	// LimitSessionBinding: a request for a session from another address
	// than its own (Limits.BindSessionToIP).
	LimitSessionBinding Limit = "bind_session_to_ip"
)

var (
	closeReasons = [...]CloseReason{ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonParseError, ReasonForcedClose, ReasonServerShutdown}
	limits       = [...]Limit{LimitMaxPayload, LimitMaxBufferedBytes, LimitWriteTimeout, LimitBodyTimeout, LimitMaxConnections, LimitConnectionsPerIP, LimitHandshakeRate, LimitSessionBinding}
)

// sessionCounters are one session's traffic counters; only the session's
// own goroutines write them, so their cache line is not shared.
type sessionCounters struct {
	msgsIn, bytesIn atomic.Uint64 // written by the session's reader
	msgsOut         uint64        // guarded by Session.mu, like the queue
	bytesOut        uint64        // guarded by Session.mu
}

// out returns the sent counters.
func (s *Session) out() (msgs, bytes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters.msgsOut, s.counters.bytesOut
}

// serverStats are the engine-wide counters. The traffic totals hold the
// closed sessions' counts; open sessions are added at snapshot time.
type serverStats struct {
	// Open sessions by transport: see open.
	openPolling, openWebSocket, openWebTransport atomic.Int64
	handshakesPolling                            atomic.Uint64
	handshakesWebSocket, handshakesWebTransport  atomic.Uint64
	upgrades                                     atomic.Uint64
	closes                                       [len(closeReasons)]atomic.Uint64
	rejections                                   [len(limits)]atomic.Uint64
	volatileDropped                              atomic.Uint64
	recipients                                   atomic.Uint64
	msgsIn, bytesIn                              atomic.Uint64
	msgsOut, bytesOut                            atomic.Uint64
}

func (st *serverStats) closed(r CloseReason) {
	for i, c := range closeReasons {
		if c == r {
			st.closes[i].Add(1)
			return
		}
	}
}

func (st *serverStats) rejected(l Limit) {
	if l == "" {
		return
	}
	for i, c := range limits {
		if c == l {
			st.rejections[i].Add(1)
			return
		}
	}
}

// rejectedBy counts a failed write that hit the write timeout.
func (st *serverStats) rejectedBy(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		st.rejected(LimitWriteTimeout)
	}
}

// fold adds a closing session's traffic to the totals; s.srv.mu is held
// so that Stats never sees it twice or not at all.
func (st *serverStats) fold(sess *Session) {
	c := &sess.counters
	st.msgsIn.Add(c.msgsIn.Load())
	st.bytesIn.Add(c.bytesIn.Load())
	msgs, bytes := sess.out()
	st.msgsOut.Add(msgs)
	st.bytesOut.Add(bytes)
}

// Stats returns the engine's counters. It reads every open session's
// counters (briefly taking each session's lock): call it at scrape time,
// not per message.
func (s *Server) Stats() Stats {
	st := &s.stats
	out := Stats{
		Closes:     make(map[CloseReason]uint64, len(closeReasons)),
		Rejections: make(map[Limit]uint64, len(limits)),
	}
	s.mu.RLock()
	out.MessagesIn, out.BytesIn = st.msgsIn.Load(), st.bytesIn.Load()
	out.MessagesOut, out.BytesOut = st.msgsOut.Load(), st.bytesOut.Load()
	for _, sess := range s.sessions {
		c := &sess.counters
		out.MessagesIn += c.msgsIn.Load()
		out.BytesIn += c.bytesIn.Load()
		msgs, bytes := sess.out()
		out.MessagesOut += msgs
		out.BytesOut += bytes
	}
	s.mu.RUnlock()
	out.OpenPolling, out.OpenWebSocket, out.OpenWebTransport = st.openPolling.Load(), st.openWebSocket.Load(), st.openWebTransport.Load()
	out.HandshakesPolling, out.HandshakesWebSocket, out.HandshakesWebTransport = st.handshakesPolling.Load(), st.handshakesWebSocket.Load(), st.handshakesWebTransport.Load()
	out.Upgrades = st.upgrades.Load()
	for i, r := range closeReasons {
		out.Closes[r] = st.closes[i].Load()
	}
	for i, l := range limits {
		out.Rejections[l] = st.rejections[i].Load()
	}
	out.VolatileDropped = st.volatileDropped.Load()
	out.BroadcastRecipients = st.recipients.Load()
	return out
}

// open returns the gauge of open sessions on c's transport (polling if
// c is nil).
func (st *serverStats) open(c *wsConn) *atomic.Int64 {
	switch {
	case c == nil:
		return &st.openPolling
	case c.wt:
		return &st.openWebTransport
	}
	return &st.openWebSocket
}
