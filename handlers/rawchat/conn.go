package rawchat

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/time/rate"
)

const (
	// lingerTimeout bounds the wait for the client's reply to our close
	// frame. Closing at once, with its input unread, would make the kernel
	// reset the connection and could destroy the close frame (and its
	// code) before the client reads it.
	lingerTimeout = 2 * time.Second
	// maxLinger bounds what is read and thrown away meanwhile.
	maxLinger = 1 << 20
	// frameOverhead is what a queued frame costs besides its bytes (its
	// slice header), so that many tiny frames are bounded too.
	frameOverhead = 24
)

// conn is one raw client: its goroutine reads (serve), a writer
// goroutine drains the outgoing queue.
type conn struct {
	s    *Server
	nc   net.Conn
	br   *bufio.Reader // the handshake's reader: may hold the first frames
	name string
	// events is the client's message bucket (nil: no rate limit); only
	// serve uses it.
	events *rate.Limiter

	mu      sync.Mutex
	queue   [][]byte // frames to write, encoded
	queued  int      // their cost against MaxBufferedBytes
	closing bool     // nothing more is queued: a close frame is last, or the connection is cut

	wake       chan struct{} // capacity 1: the queue has frames or closing was set
	writerDone chan struct{}
}

func newConn(s *Server, nc net.Conn, br *bufio.Reader, name string) *conn {
	c := &conn{s: s, nc: nc, br: br, name: name, wake: make(chan struct{}, 1), writerDone: make(chan struct{})}
	if o := &s.opts; o.EventsPerSecond > 0 {
		c.events = rate.NewLimiter(rate.Limit(o.EventsPerSecond), o.EventBurst)
	}
	return c
}

// send queues a frame without blocking. A client whose queue would pass
// the bound is cut off: it is not reading, and waiting for it would slow
// everyone else. An empty queue takes any one frame, so that a message as
// large as the bound is not taken for a slow client.
func (c *conn) send(frame []byte) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.queued > 0 && c.queued+len(frame)+frameOverhead > c.s.opts.MaxBufferedBytes {
		c.closing = true
		c.mu.Unlock()
		c.s.opts.Logger.Debug("rawchat: send queue full, dropping client", "name", c.name)
		_ = c.nc.Close() // unblocks the writer and the reader
		c.signal()
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame) + frameOverhead
	c.mu.Unlock()
	c.signal()
}

// sendClose queues a close frame as the last frame. It reports false if
// the connection was already closing.
func (c *conn) sendClose(code ws.StatusCode, reason string, echo bool) bool {
	var payload []byte
	if echo {
		payload = ws.NewCloseFrameBody(code, reason)
	}
	frame := controlFrame(ws.OpClose, payload)
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	c.closing = true
	c.queue = append(c.queue, frame) // past the bound if need be: it is small and last
	c.mu.Unlock()
	c.signal()
	return true
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// goAway starts the closing handshake for a server shutdown.
func (c *conn) goAway() {
	if c.sendClose(ws.StatusGoingAway, "server shutting down", true) {
		_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	}
}

// closeNow cuts the connection.
func (c *conn) closeNow() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = c.nc.Close()
	c.signal()
}

// writer writes queued frames until the connection closes, and queues a
// ping every PingInterval. Frames queued together leave in one writev.
func (c *conn) writer() {
	defer close(c.writerDone)
	ping := time.NewTicker(c.s.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.wake:
		case <-ping.C:
			c.send(controlFrame(ws.OpPing, nil))
			continue
		}
		c.mu.Lock()
		q, closing := c.queue, c.closing
		c.queue, c.queued = nil, 0
		c.mu.Unlock()
		if len(q) > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
			bufs := net.Buffers(q)
			if _, err := bufs.WriteTo(c.nc); err != nil {
				c.s.opts.Logger.Debug("rawchat: write failed, dropping client", "name", c.name, "err", err)
				c.closeNow()
				return
			}
		}
		if closing {
			return
		}
	}
}

// serve reads the client's messages until the connection ends, then
// closes it.
func (c *conn) serve() {
	go c.writer()
	var in io.Reader = c.nc
	if c.br != nil && c.br.Buffered() > 0 {
		in = io.MultiReader(io.LimitReader(c.br, int64(c.br.Buffered())), c.nc)
	}
	c.br = nil
	fr := &frameReader{
		r:   in,
		max: c.s.opts.MaxMessage,
		onPing: func(p []byte) {
			c.send(controlFrame(ws.OpPong, p))
		},
		// Each frame, pongs included, must arrive whole in time: a client
		// that is gone, never reads (so never answers our pings) or
		// trickles a frame is cut off.
		onFrame: func() {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.PingInterval + c.s.opts.PingTimeout))
		},
	}
	var err error
	for {
		var msg []byte
		if msg, err = fr.readMessage(); err != nil {
			break
		}
		if c.events != nil && !c.events.Allow() {
			c.s.rejected(LimitEventsPerSecond)
			c.s.opts.Logger.Debug("rawchat: message over the rate limit dropped", "name", c.name)
			continue
		}
		c.s.relay(c, msg)
	}

	var (
		ce *closeError
		pc peerClose
	)
	switch {
	case errors.As(err, &ce):
		if ce.code == ws.StatusMessageTooBig {
			c.s.rejected(LimitMaxPayload)
		}
		c.s.opts.Logger.Debug("rawchat: closing client", "name", c.name, "err", err)
		if c.sendClose(ce.code, ce.reason, true) {
			<-c.writerDone // the close frame is out (or the write failed)
			c.linger(in, ce.skip)
		}
	case errors.As(err, &pc):
		// The client started the closing handshake (or answered ours):
		// echo its code, then close.
		if pc.protocol {
			c.sendClose(ws.StatusProtocolError, "invalid close frame", true)
		} else {
			c.sendClose(pc.code, "", pc.hasCode)
		}
		<-c.writerDone
	}
	c.closeNow()
	<-c.writerDone
}

// linger reads, after our close frame, until the client's close frame
// arrives or the connection ends: the skip bytes left of the offending
// frame, then whole frames, thrown away.
func (c *conn) linger(in io.Reader, skip int64) {
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	if skip > maxLinger {
		return
	}
	budget := &io.LimitedReader{R: in, N: maxLinger}
	if _, err := io.CopyN(io.Discard, budget, skip); err != nil {
		return
	}
	var hdr [ws.MaxHeaderSize - 2]byte
	for {
		h, err := ws.ReadHeaderBuffer(budget, hdr[:])
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
		if _, err := io.CopyN(io.Discard, budget, h.Length); err != nil {
			return
		}
	}
}
