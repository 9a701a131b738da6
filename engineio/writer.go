package engineio

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// The write path, from a handler's Send down to the socket.
//
// Every session has a queue of Messages. Send, Post and Batch.Post add to
// it; then one of three things gets the queue moving:
//
//   - Send, when nothing is queued: the caller writes its messages itself
//     with one non-blocking system call (an inline write);
//   - Batch.Flush: a few writer goroutines each write, without blocking,
//     to a share of a broadcast's sessions;
//   - otherwise, and for whatever the kernel did not take at once: one
//     writer goroutine per session flushes its queue, blocking (for at
//     most Options.WriteTimeout) when the client reads slowly.
//
// s.flushing says that some goroutine owns writing to the session's
// WebSocket; only that one takes messages from the queue, so frames never
// interleave or reorder. Polling sessions have no writer: their pending GET
// takes the queue (see servePoll).
//
// The file reads from the top down, as a message travels: the session's
// queue, Batch, the writer goroutines, then the frame writes of wsConn,
// the lowest layer, which knows nothing of sessions.

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

// writableLocked reports whether a message would go out right away.
func (s *Session) writableLocked() bool {
	if s.ws != nil {
		return !s.flushing && len(s.queue) == 0
	}
	return s.polling && len(s.queue) == 0
}

// kickLocked gets queued messages moving on the current transport: a
// writer goroutine for a WebSocket, the pending GET for polling.
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

// A Batch delivers one broadcast. Posting to a session through a Batch
// queues the messages as Post does, but instead of waking a writer
// goroutine per session, the sessions that need a write are collected and,
// at Flush, handed to a few writers, each of which writes to its share of
// sessions with non-blocking system calls. A session whose socket is full
// is passed on to a writer of its own, so one slow client never delays the
// others.
//
// A Batch is used by one goroutine: Post any number of times, then Flush
// once. It must not be used after Flush.
type Batch struct {
	sessions []*Session
	posted   uint64  // sessions that accepted the messages
	srv      *Server // whose counters get posted
}

var batchPool = sync.Pool{New: func() any { return new(Batch) }}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return batchPool.Get().(*Batch) }

// Post queues msgs for s; see Session.Post.
func (b *Batch) Post(s *Session, volatile bool, msgs ...*Message) error {
	err := s.send(volatile, sendBatched, msgs, b)
	if err == nil {
		b.posted++
		b.srv = s.srv
	}
	return err
}

// batchChunk is the fewest sessions worth a writer of their own.
const batchChunk = 64

// Flush hands the collected sessions to writers and releases the batch.
func (b *Batch) Flush() {
	all := b.sessions
	n := len(all)
	if n > 0 {
		chunks := min(runtime.GOMAXPROCS(0), (n+batchChunk-1)/batchChunk)
		size := (n + chunks - 1) / chunks
		for i := 0; i < n; i += size {
			// Each writer gets a copy: the batch's slice is reused.
			startWrite(writeJob{sessions: append([]*Session(nil), all[i:min(i+size, n)]...)})
		}
	}
	if b.srv != nil {
		b.srv.stats.recipients.Add(b.posted)
	}
	b.posted, b.srv = 0, nil
	clear(all)
	b.sessions = all[:0]
	if cap(b.sessions) <= 4096 {
		batchPool.Put(b)
	}
}

// The writer pool. A session to write to is handed to an idle writer
// goroutine if there is one, else to a new one; writers that stay idle for
// writerIdle exit. An idle session thus has no writer, and a busy server
// reuses its writers: a recipient costs no goroutine creation (nor the
// allocation that comes with one).
const writerIdle = 2 * time.Second

// writeJob is a writer's task: flush one session until its queue is empty
// (blocking if need be), or write once, without blocking, to each of a
// batch's sessions.
type writeJob struct {
	session  *Session
	sessions []*Session
}

// writeHandoff is where idle writers wait for their next job.
var writeHandoff = make(chan writeJob)

func startFlush(s *Session) { startWrite(writeJob{session: s}) }

func startWrite(j writeJob) {
	select {
	case writeHandoff <- j:
	default:
		spawnWriter(j)
	}
}

// spawnWriter starts a new writer. It is a function of its own, never
// inlined, so that only this path allocates j on the heap (the go statement
// captures it); handing j to an idle writer allocates nothing.
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

// flush writes the queue to the WebSocket until it is empty, blocking
// while the client's socket is full. The caller holds s.flushing; flush
// gives it up when done, and finishes a session that was closing.
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

// flushNonBlocking writes what is queued for s without waiting for its
// socket; s.flushing is held by the caller's batch. What the socket does
// not take goes to a writer goroutine of its own.
func (s *Session) flushNonBlocking() {
	s.mu.Lock()
	c := s.ws
	if c == nil || c.raw == nil || s.partial != nil || s.queueBytes > 64<<10 || len(s.queue) == 0 {
		// Nothing simple to do here: let a writer handle it.
		startFlush(s)
		s.mu.Unlock()
		return
	}
	msgs := s.queue
	s.queue, s.queueBytes = nil, 0
	s.mu.Unlock()

	rest, err := c.tryWrite(msgs)
	clear(msgs)
	s.mu.Lock()
	if s.queue == nil && cap(msgs) <= 256 {
		s.queue = msgs[:0]
	}
	s.mu.Unlock()
	s.afterTryWrite(c, rest, err)
}

// Inline writes. Most of the time a client's socket buffer has room: the
// goroutine that produced a message (a broadcaster, an event handler) can
// then write it itself with one non-blocking system call, instead of waking
// a writer goroutine per recipient. Only when the kernel would block is the
// rest handed to a writer, so a slow client still never holds up the
// caller.

// maxInlineWrite bounds what is written inline; larger messages go to a
// writer goroutine rather than through a copy.
const maxInlineWrite = 16 << 10

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

// Frame writes. c.mu is held by whoever writes to the connection, so that
// frames from the session's writer and from its reader (pongs, close
// replies, probes) never interleave.

// writeBufPool holds the buffers that messages are framed into, so that
// several frames leave in one system call.
var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// tryWrite writes msgs' frames without blocking. It returns the bytes the
// kernel did not take (a copy, to be written by a writer goroutine), or an
// error if the connection failed.
func (c *wsConn) tryWrite(msgs []*Message) (rest []byte, err error) {
	bp := writeBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	switch {
	case c.eio3:
		for _, m := range msgs {
			buf = c.appendFrameV3(buf, m)
		}
	case c.deflate:
		for _, m := range msgs {
			hdr, data := c.frameParts(m)
			buf = append(buf, hdr...)
			buf = append(buf, data...)
		}
	default:
		for _, m := range msgs {
			buf = append(buf, m.hdr[:m.hlen]...)
			buf = append(buf, m.data...)
		}
	}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		err = net.ErrClosed
	} else {
		var n int
		n, err = c.rw.write(buf)
		c.mu.Unlock()
		if err == nil && n < len(buf) {
			rest = append([]byte(nil), buf[n:]...)
		}
	}
	*bp = buf[:0]
	writeBufPool.Put(bp)
	return rest, err
}

// writeMessages writes msgs as frames, batched into as few writes as
// possible: many small broadcast frames become one syscall.
func (c *wsConn) writeMessages(msgs []*Message, timeout time.Duration) error {
	bp := writeBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 64<<10 {
			*bp = buf[:0]
			writeBufPool.Put(bp)
		}
	}()
	if c.deflate {
		// Compress what is not yet (once per message, shared) before
		// taking the connection: a large message takes milliseconds.
		for _, m := range msgs {
			if len(m.data) >= c.threshold && !(c.eio3 && m.binary) {
				m.deflated()
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	if c.eio3 {
		for _, m := range msgs {
			buf = c.appendFrameV3(buf, m)
		}
		return c.writeLocked(buf, timeout)
	}
	if c.wt {
		return c.writeWTLocked(buf, msgs, timeout)
	}
	for _, m := range msgs {
		hdr, data := m.hdr[:m.hlen], m.data
		if c.deflate {
			hdr, data = c.frameParts(m)
		}
		if len(data) > 32<<10 {
			// Large payloads go out directly instead of through a copy.
			if err := c.writeLocked(buf, timeout); err != nil {
				return err
			}
			buf = buf[:0]
			if err := c.writeLocked(hdr, timeout); err != nil {
				return err
			}
			if err := c.writeLocked(data, timeout); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, hdr...)
		buf = append(buf, data...)
		if len(buf) >= 32<<10 {
			if err := c.writeLocked(buf, timeout); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return c.writeLocked(buf, timeout)
}

// writeWTLocked is writeMessages for a WebTransport stream: each packet
// with its stream header, large payloads written directly. It is a
// function of its own so that WebSocket writes pay nothing for it.
func (c *wsConn) writeWTLocked(buf []byte, msgs []*Message, timeout time.Duration) error {
	for _, m := range msgs {
		buf = appendWTHeader(buf, len(m.data), m.binary)
		if len(m.data) > 32<<10 {
			if err := c.writeLocked(buf, timeout); err != nil {
				return err
			}
			buf = buf[:0]
			if err := c.writeLocked(m.data, timeout); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, m.data...)
		if len(buf) >= 32<<10 {
			if err := c.writeLocked(buf, timeout); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return c.writeLocked(buf, timeout)
}

// writeRaw writes bytes left over by tryWrite, blocking at most timeout.
func (c *wsConn) writeRaw(b []byte, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return c.writeLocked(b, timeout)
}

// writeLocked writes b, first without blocking (the socket buffer usually
// has room: no deadline to set and clear), then, for what is left, blocking
// for at most timeout. c.mu is held.
func (c *wsConn) writeLocked(b []byte, timeout time.Duration) error {
	if len(b) == 0 {
		return nil
	}
	if c.raw != nil {
		n, err := c.rw.write(b)
		if err != nil {
			return err
		}
		if b = b[n:]; len(b) == 0 {
			return nil
		}
	}
	c.setDeadline(timeout)
	defer c.clearDeadline()
	_, err := c.conn.Write(b)
	return err
}

// writeMessage writes one message outside the queue (the upgrade probe's
// answer).
func (c *wsConn) writeMessage(m *Message) error {
	if c.wt {
		return c.writeFrame(append(appendWTHeader(nil, len(m.data), m.binary), m.data...))
	}
	return c.writeFrame(append(m.hdr[:m.hlen:m.hlen], m.data...))
}

// writeFrame writes one raw frame (control frames, probes).
func (c *wsConn) writeFrame(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.setDeadline(5 * time.Second)
	defer c.clearDeadline()
	_, err := c.conn.Write(frame)
	return err
}

// setDeadline bounds a blocking write; clearDeadline must follow it: a
// deadline that outlives its write would make later writes time out.
func (c *wsConn) setDeadline(d time.Duration) { _ = c.conn.SetWriteDeadline(time.Now().Add(d)) }

func (c *wsConn) clearDeadline() { _ = c.conn.SetWriteDeadline(time.Time{}) }

// frameParts returns the frame header and payload m is sent with on a
// connection that negotiated permessage-deflate: the compressed frame,
// shared by every such connection, when m reaches the threshold and
// compression makes it smaller; m's own frame otherwise.
func (c *wsConn) frameParts(m *Message) (hdr, data []byte) {
	if len(m.data) >= c.threshold {
		if z := m.deflated(); z != nil {
			return z.hdr[:z.hlen], z.data
		}
	}
	return m.hdr[:m.hlen], m.data
}

// appendFrameV3 appends m as framed for a protocol v3 client. Binary
// messages, which v3 frames with a type byte, are not compressed.
func (c *wsConn) appendFrameV3(dst []byte, m *Message) []byte {
	if c.deflate && !m.binary {
		hdr, data := c.frameParts(m)
		return append(append(dst, hdr...), data...)
	}
	return appendFrameV3(dst, m, c.b64)
}
