package engineio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

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
	// XHR polling; see jsonp.go.
	jsonp string

	counters sessionCounters

	// deliverMu serializes calls into handler.
	deliverMu sync.Mutex
	ended     atomic.Bool // OnClose has been scheduled: deliver nothing more

	mu         sync.Mutex
	state      sessionState
	ws         *wsConn // the WebSocket transport once upgraded (or handshaken) to it
	probe      *wsConn // a WebSocket being probed for an upgrade
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

// Transport returns "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws != nil {
		return "websocket"
	}
	return "polling"
}

// Send sends messages to the client, in order, without waiting for the
// network. All of msgs are sent or none. When nothing is queued for the
// client, the caller's goroutine writes them itself with a non-blocking
// system call; otherwise, and for what the kernel does not take at once, a
// writer goroutine does. A volatile send is dropped (ErrDropped) when the
// transport is busy, as in the reference server.
//
// Use Send for messages to one client (emits, acknowledgements), and Post
// for broadcasts.
func (s *Session) Send(volatile bool, msgs ...*Message) error {
	return s.send(volatile, sendInline, msgs, nil)
}

// Post is Send without the inline write: msgs always go to a writer
// goroutine. A broadcast reaches many clients; writing to each inline would
// cost the broadcaster one system call per client and message, while a
// writer that finds several messages queued for its client sends them in
// one. Post is the faster way when messages to the same clients come in
// quick succession.
func (s *Session) Post(volatile bool, msgs ...*Message) error {
	return s.send(volatile, sendQueued, msgs, nil)
}

// SendAlone is Send for a message the client should read on its own: when
// it can be written at once, what is sent to this client in the next
// AlonePause waits until then, so it reaches the client in a later read.
//
// Socket.IO uses it for a CONNECT answer. A connection handler usually
// emits right away, and a client that reads message by message with a
// one-shot listener (as the official protocol test suites do) loses the
// second of two frames that arrive in one read. The Node server writes
// the two apart (the second waits for the first write's callback); the
// pause keeps them apart at least as reliably. Over polling, and when
// messages are already queued, SendAlone is Send.
func (s *Session) SendAlone(msgs ...*Message) error {
	return s.send(false, sendAlone, msgs, nil)
}

// AlonePause is how long SendAlone holds back what follows its message.
const AlonePause = time.Millisecond

// How send gets messages moving.
type sendMode uint8

const (
	sendInline  sendMode = iota // write in the caller's goroutine if nothing is queued
	sendAlone                   // sendInline, then pause writes for AlonePause
	sendQueued                  // wake a writer goroutine
	sendBatched                 // add the session to a Batch
)

func (s *Session) send(volatile bool, mode sendMode, msgs []*Message, b *Batch) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if volatile && !s.writableLocked() {
		s.mu.Unlock()
		s.srv.stats.volatileDropped.Add(1)
		return ErrDropped
	}
	n := 0
	for _, m := range msgs {
		n += len(m.data)
	}
	if s.queueBytes > 0 && s.queueBytes+n+len(msgs)*QueuedPacketCost > s.srv.opts.MaxBufferedBytes {
		s.mu.Unlock()
		s.queueFull()
		return ErrQueueFull
	}
	s.counters.msgsOut += uint64(len(msgs))
	s.counters.bytesOut += uint64(n)
	if c := s.ws; mode <= sendAlone && c != nil && c.raw != nil && !s.flushing && len(s.queue) == 0 && n <= maxInlineWrite {
		s.flushing = true
		s.mu.Unlock()
		rest, err := c.tryWrite(msgs)
		if mode == sendAlone && err == nil && rest == nil {
			// Keep s.flushing through the pause: sends meanwhile queue.
			time.AfterFunc(AlonePause, s.endPause)
			return nil
		}
		s.afterTryWrite(c, rest, err)
		return nil
	}
	s.queue = append(s.queue, msgs...)
	s.queueBytes += n + len(msgs)*QueuedPacketCost
	if mode == sendBatched && s.ws != nil {
		if !s.flushing {
			s.flushing = true
			b.sessions = append(b.sessions, s)
		}
	} else {
		s.kickLocked()
	}
	s.mu.Unlock()
	return nil
}

// endPause ends SendAlone's pause: s.flushing is held, and what was sent
// (or a graceful close) meanwhile goes to a writer goroutine.
func (s *Session) endPause() {
	s.mu.Lock()
	if s.state == stateClosed || (len(s.queue) == 0 && s.partial == nil && s.state == stateOpen) {
		s.flushing = false
	} else {
		startFlush(s) // also finishes a close that came in meanwhile
	}
	s.mu.Unlock()
}

// afterTryWrite ends a non-blocking write made while holding s.flushing:
// it lets go of the session if everything went out, or hands what is left
// (and what was queued meanwhile) to a writer goroutine.
func (s *Session) afterTryWrite(c *wsConn, rest []byte, err error) {
	if err != nil {
		s.writeFailed(c, err)
		return
	}
	s.mu.Lock()
	if rest == nil && len(s.queue) == 0 && s.state == stateOpen {
		s.flushing = false
	} else {
		s.partial = rest
		s.queueBytes += len(rest)
		startFlush(s) // also finishes a close that came in meanwhile
	}
	s.mu.Unlock()
}

// writeFailed gives up the session after a failed write.
func (s *Session) writeFailed(c *wsConn, err error) {
	s.mu.Lock()
	s.flushing = false
	s.mu.Unlock()
	s.srv.stats.rejectedBy(err)
	// On a session closing gracefully, this close finishes it: the flush
	// it was waiting for has failed.
	s.close(ReasonTransportError, err)
	c.close()
}

// writableLocked reports whether a message would go out right away.
func (s *Session) writableLocked() bool {
	if s.ws != nil {
		return !s.flushing && len(s.queue) == 0
	}
	return s.polling && len(s.queue) == 0
}

// kickLocked gets queued messages moving on the current transport.
func (s *Session) kickLocked() {
	if s.ws != nil {
		if !s.flushing {
			s.flushing = true
			startFlush(s)
		}
		return
	}
	select {
	case s.poll <- struct{}{}:
	default:
	}
}

// Writers. A session being written to is handed to an idle writer
// goroutine if there is one, else to a new one; writers that stay idle for
// writerIdle exit. An idle session thus has no writer, and a busy
// server reuses its writers: a recipient costs no goroutine creation (nor
// the allocation that comes with one).
const writerIdle = 2 * time.Second

// writeJob is a writer's task: flush one session until its queue is empty
// (blocking if need be), or write once, without blocking, to each of a
// batch's sessions.
type writeJob struct {
	session  *Session
	sessions []*Session
}

var writeHandoff = make(chan writeJob)

func startFlush(s *Session) { startWrite(writeJob{session: s}) }

func startWrite(j writeJob) {
	select {
	case writeHandoff <- j:
	default:
		spawnWriter(j)
	}
}

// spawnWriter is apart so that only this path moves j to the heap: a
// handoff to an idle writer allocates nothing.
//
//go:noinline
func spawnWriter(j writeJob) { go writer(j) }

func writer(j writeJob) {
	idle := time.NewTimer(writerIdle)
	defer idle.Stop()
	for {
		if j.session != nil {
			j.session.flush()
		}
		for _, s := range j.sessions {
			s.flushNonBlocking()
		}
		idle.Reset(writerIdle)
		select {
		case j = <-writeHandoff:
		case <-idle.C:
			return
		}
	}
}

// flush writes the queue to the WebSocket until it is empty. Exactly one
// flush runs per session at a time (s.flushing).
func (s *Session) flush() {
	var batch []*Message
	for {
		s.mu.Lock()
		c := s.ws
		partial := s.partial
		s.partial = nil
		if len(s.queue) == 0 && partial == nil {
			s.flushing = false
			closing := s.state == stateClosing
			if cap(batch) > 0 && cap(batch) <= 256 && s.queue == nil {
				s.queue = batch[:0]
			}
			s.mu.Unlock()
			if closing {
				c.closeWith(closeNoStatus, "")
				s.finish()
			}
			return
		}
		batch, s.queue = s.queue, batch[:0]
		s.queueBytes = 0
		s.mu.Unlock()

		var err error
		if partial != nil {
			err = c.writeRaw(partial, s.srv.opts.WriteTimeout)
		}
		if err == nil && len(batch) > 0 {
			err = c.writeMessages(batch, s.srv.opts.WriteTimeout)
		}
		clear(batch)
		if err != nil {
			s.writeFailed(c, err)
			return
		}
	}
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

// QueuedPacketCost is what a queued packet counts toward
// Options.MaxBufferedBytes beyond its data: its place in the queue (a
// pointer, and room for the queue to grow). Without it a client could
// have millions of small packets (pongs) queued within the bound.
const QueuedPacketCost = 16

// queueControlLocked queues a packet the server sends of its own accord
// (a pong, a ping), under the same bound as any other: it reports false,
// queueing nothing, if the queue would pass MaxBufferedBytes.
func (s *Session) queueControlLocked(m *Message) bool {
	n := len(m.data) + QueuedPacketCost
	if s.queueBytes > 0 && s.queueBytes+n > s.srv.opts.MaxBufferedBytes {
		return false
	}
	s.queue = append(s.queue, m)
	s.queueBytes += n
	return true
}

// queueFull closes the session of a client that lets its queue pass
// MaxBufferedBytes, as a slow consumer's.
func (s *Session) queueFull() {
	s.srv.stats.rejected(LimitMaxBufferedBytes)
	s.close(ReasonTransportError, ErrQueueFull)
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

func (s *Session) close(reason CloseReason, err error) {
	graceful := reason == ReasonForcedClose || reason == ReasonServerShutdown
	s.mu.Lock()
	if s.state != stateOpen {
		// A WebSocket closing gracefully is finished by its flush, once
		// the close frame is written. When its transport fails first (the
		// flush's write, or the read side), no flush will: finish it
		// here, or it would keep its slot and queue until shutdown.
		failed := s.state == stateClosing && s.ws != nil && !graceful
		s.mu.Unlock()
		if failed {
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
	finishNow := false
	var sayClose *wsConn // gets a close frame before it goes
	switch {
	case s.ws != nil:
		switch {
		case graceful:
			s.state = stateClosing
			s.kickLocked() // the flush writes the close frame when done
		case reason == ReasonPingTimeout || reason == ReasonParseError:
			// The Node server sends a close frame here too; a transport
			// error or a client gone needs none.
			s.state = stateClosed
			sayClose = s.ws
			finishNow = true
		default:
			s.state = stateClosed
			s.ws.close()
			finishNow = true
		}
	case graceful && !s.polling:
		// Keep the session until the client's next GET collects what was
		// queued, or for at most a ping period.
		s.state = stateClosing
		s.closeTimer = time.AfterFunc(s.srv.opts.PingInterval+s.srv.opts.PingTimeout, s.finish)
	case reason == ReasonTransportClose && !s.polling:
		// The client's close packet: a GET it sent at the same time may
		// reach us after its POST. The Node server serves requests in the
		// order they came, so that GET gets a noop, and any later one
		// "Session ID unknown".
		s.queue, s.queueBytes = nil, 0
		s.state = stateClosing
		s.closeTimer = time.AfterFunc(closeRaceGrace, s.finish)
	default:
		if !graceful {
			s.queue, s.queueBytes = nil, 0
		}
		s.state = stateClosing
		s.kickLocked() // the pending GET (if any) returns the close packet
		if !s.polling {
			finishNow = true
		}
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
