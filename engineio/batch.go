package engineio

import (
	"runtime"
	"sync"
)

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
