package redisforward

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// A WebSocket session whose upgrade reaches a node other than its owner
// is tunnelled: that node takes over the client's connection and passes
// its bytes both ways as Redis messages, and the owner serves the upgrade
// on a virtual connection made of those messages. Each direction is
// published by one goroutine at a time, in order, and numbered; a gap
// closes the tunnel.

// tunnelChunk is the most a tunnel message carries.
const tunnelChunk = 32 << 10

// forwardTunnel takes over the client's connection and opens a tunnel to
// the owner.
func (f *Forwarder) forwardTunnel(w http.ResponseWriter, r *http.Request, owner string, eo engineio.Options) bool {
	if !f.reserve(true) {
		writeError(w, http.StatusServiceUnavailable, 4, "Server busy")
		return true
	}
	id := f.nextID.Add(1)
	t := &clientTunnel{f: f, id: id, owner: owner, wake: make(chan struct{}, 1), done: make(chan struct{}),
		idle: eo.PingInterval + eo.PingTimeout + replyMargin, writeTimeout: eo.WriteTimeout}
	f.mu.Lock()
	f.clients[id] = t
	f.mu.Unlock()
	// The open goes out before the connection is taken over, so that a
	// dead owner still gets the usual answer from the engine.
	ctx, cancel := context.WithTimeout(r.Context(), replyMargin)
	ok, err := f.publish(ctx, owner, requestMessage(kindOpen, f.node, id, r))
	cancel()
	if err != nil || !ok {
		f.stats.ownerGone.Add(1)
		t.forget()
		return false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		f.stats.failed.Add(1)
		f.publishSoon(owner, &message{kind: kindClose, from: f.node, id: id})
		t.forget()
		writeError(w, http.StatusInternalServerError, 3, "Bad request")
		return true
	}
	f.stats.tunnels.Add(1)
	_ = conn.SetDeadline(time.Time{}) // the server's deadlines are for HTTP requests
	t.mu.Lock()
	t.conn = conn
	t.mu.Unlock()
	if f.ctx.Err() != nil { // closing: Close may have missed this tunnel
		t.shut(true)
		return true
	}
	f.spawn(func() { t.readClient(brw.Reader) })
	f.spawn(t.writeClient)
	return true
}

// clientTunnel is a tunnel on the node holding the client's connection.
type clientTunnel struct {
	f            *Forwarder
	id           uint64
	owner        string
	idle         time.Duration // longest silence from the owner (it pings)
	writeTimeout time.Duration

	mu     sync.Mutex
	conn   net.Conn // nil until taken over
	queue  [][]byte // from the owner, to write to the client
	queued int
	nextIn uint64
	eof    bool // the owner closed its side
	closed bool
	wake   chan struct{}
	done   chan struct{}
	forgot sync.Once
}

func (t *clientTunnel) forget() {
	t.forgot.Do(func() {
		t.f.mu.Lock()
		delete(t.f.clients, t.id)
		t.f.mu.Unlock()
		t.f.release(true)
	})
}

// received takes a message from the owner; it never blocks.
func (t *clientTunnel) received(m *message) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if m.kind == kindClosed {
		t.eof = true
		t.mu.Unlock()
		t.signal()
		return
	}
	t.nextIn++
	over := m.seq != t.nextIn || t.queued+len(m.body) > t.f.opts.MaxTunnelBuffer
	if !over {
		t.queue = append(t.queue, m.body) // m.body is this message's own copy
		t.queued += len(m.body)
	}
	t.mu.Unlock()
	if over {
		t.f.stats.tunnelsClosed.Add(1)
		t.f.spawn(func() { t.shut(true) })
		return
	}
	t.signal()
}

func (t *clientTunnel) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// shut closes the tunnel once; tell says whether the owner is to be told.
func (t *clientTunnel) shut(tell bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	conn := t.conn
	t.queue, t.queued = nil, 0
	t.mu.Unlock()
	close(t.done)
	if conn != nil {
		_ = conn.Close()
	}
	if tell {
		t.f.publishSoon(t.owner, &message{kind: kindClose, from: t.f.node, id: t.id})
	}
	t.forget()
}

// readClient publishes what the client sends, in order.
func (t *clientTunnel) readClient(br *bufio.Reader) {
	buf := make([]byte, tunnelChunk)
	var seq uint64
	for {
		n, err := br.Read(buf)
		if n > 0 {
			seq++
			ctx, cancel := context.WithTimeout(t.f.ctx, replyMargin)
			ok, perr := t.f.publish(ctx, t.owner, &message{kind: kindData, from: t.f.node, id: t.id, seq: seq, body: buf[:n]})
			cancel()
			if perr != nil || !ok {
				t.shut(false) // the owner is gone
				return
			}
		}
		if err != nil {
			t.shut(true)
			return
		}
	}
}

// writeClient writes what the owner sends to the client, each write within
// the engine's WriteTimeout, and closes the tunnel when the owner closes
// its side or falls silent.
func (t *clientTunnel) writeClient() {
	idle := time.NewTimer(t.idle)
	defer idle.Stop()
	for {
		t.mu.Lock()
		q, eof, conn := t.queue, t.eof, t.conn
		t.queue, t.queued = nil, 0
		t.mu.Unlock()
		for _, b := range q {
			_ = conn.SetWriteDeadline(time.Now().Add(t.writeTimeout))
			if _, err := conn.Write(b); err != nil {
				t.f.stats.tunnelsClosed.Add(1)
				t.shut(true)
				return
			}
		}
		if len(q) > 0 {
			idle.Reset(t.idle)
		}
		if eof {
			t.shut(false)
			return
		}
		select {
		case <-t.wake:
		case <-t.done:
			return
		case <-idle.C:
			t.shut(true)
			return
		}
	}
}

// serveTunnel serves a tunnelled upgrade on this node's engine.
func (f *Forwarder) serveTunnel(m *message) {
	engine := f.engine.Load()
	if engine == nil || !f.reserve(false) {
		f.spawn(func() { f.publishSoon(m.from, &message{kind: kindClosed, from: f.node, id: m.id}) })
		return
	}
	key := servedKey{m.from, m.id}
	c := &tunnelConn{f: f, key: key, remote: addr(m.remote), wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(f.ctx)
	f.mu.Lock()
	f.served[key] = &served{conn: c, cancel: cancel}
	f.mu.Unlock()
	f.stats.tunnelsServed.Add(1)
	f.spawn(func() {
		defer cancel()
		r, err := newRequest(ctx, m, http.NoBody)
		if err != nil {
			c.shut(true)
			return
		}
		r.ContentLength = 0
		w := &tunnelResponse{conn: c, h: http.Header{}}
		engine.ServeHTTP(w, r)
		if !w.hijacked {
			// Refused before the upgrade: the answer goes to the
			// client as an HTTP response on its connection.
			_, _ = c.Write(w.response())
			c.shut(true)
		}
	})
}

type addr string

func (a addr) Network() string { return "redis" }
func (a addr) String() string  { return string(a) }

// tunnelConn is the owner's end of a tunnel: a net.Conn whose reads are the
// bytes the client sent and whose writes are published to the node
// holding the client's connection. It has no descriptor, so the engine
// reads it with a goroutine and writes it with blocking writes.
type tunnelConn struct {
	f      *Forwarder
	key    servedKey
	remote addr
	wake   chan struct{}

	mu        sync.Mutex
	buf       []byte // received, not yet read
	nextIn    uint64
	eof       bool // the client's side is closed
	closed    bool
	readDL    time.Time
	writeDL   time.Time
	wmu       sync.Mutex // one write at a time, in order
	nextOut   uint64
	closeOnce sync.Once
}

var errClosed = errors.New("redisforward: tunnel closed")

// received takes a message from the client's node; it never blocks.
func (c *tunnelConn) received(m *message) {
	c.mu.Lock()
	if m.kind == kindClose {
		c.eof = true
		c.mu.Unlock()
		c.signal()
		return
	}
	c.nextIn++
	over := m.seq != c.nextIn || len(c.buf)+len(m.body) > c.f.opts.MaxTunnelBuffer
	if !over {
		c.buf = append(c.buf, m.body...)
	}
	c.mu.Unlock()
	if over {
		c.f.stats.tunnelsClosed.Add(1)
		c.f.spawn(func() { c.shut(true) })
		return
	}
	c.signal()
}

func (c *tunnelConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *tunnelConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case len(c.buf) > 0:
			n := copy(b, c.buf)
			c.buf = c.buf[n:]
			if len(c.buf) == 0 {
				c.buf = nil
			}
			c.mu.Unlock()
			return n, nil
		case c.eof:
			c.mu.Unlock()
			return 0, io.EOF
		}
		dl := c.readDL
		c.mu.Unlock()
		if dl.IsZero() {
			<-c.wake
			continue
		}
		d := time.Until(dl)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		select {
		case <-c.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (c *tunnelConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	closed, dl := c.closed || c.eof, c.writeDL
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	ctx, cancel := context.WithTimeout(c.f.ctx, replyMargin)
	if !dl.IsZero() {
		if time.Until(dl) <= 0 {
			cancel()
			return 0, os.ErrDeadlineExceeded
		}
		cancel()
		ctx, cancel = context.WithDeadline(c.f.ctx, dl)
	}
	defer cancel()
	for n := 0; n < len(b); {
		chunk := b[n:min(len(b), n+tunnelChunk)]
		c.nextOut++
		ok, err := c.f.publish(ctx, c.key.node, &message{kind: kindDataBack, from: c.f.node, id: c.key.id, seq: c.nextOut, body: chunk})
		if err != nil || !ok {
			c.shut(false)
			if errors.Is(err, context.DeadlineExceeded) {
				return n, os.ErrDeadlineExceeded
			}
			return n, errClosed
		}
		n += len(chunk)
	}
	return len(b), nil
}

// shut closes the connection once; tell says whether the client's node is
// to be told.
func (c *tunnelConn) shut(tell bool) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.buf = nil
		c.mu.Unlock()
		c.signal()
		f := c.f
		f.mu.Lock()
		s := f.served[c.key]
		delete(f.served, c.key)
		f.mu.Unlock()
		if s != nil && s.cancel != nil {
			s.cancel()
		}
		f.release(false)
		if tell {
			f.publishSoon(c.key.node, &message{kind: kindClosed, from: f.node, id: c.key.id})
		}
	})
}

func (c *tunnelConn) Close() error {
	c.shut(true)
	return nil
}

func (c *tunnelConn) LocalAddr() net.Addr  { return addr("redis") }
func (c *tunnelConn) RemoteAddr() net.Addr { return c.remote }

func (c *tunnelConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *tunnelConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL = t
	c.mu.Unlock()
	c.signal() // a blocked Read looks at the new deadline
	return nil
}

func (c *tunnelConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDL = t
	c.mu.Unlock()
	return nil
}

// tunnelResponse is the ResponseWriter of a tunnelled upgrade: the engine
// hijacks it to get the tunnel's connection; an answer written instead
// (a refusal) is sent whole by response.
type tunnelResponse struct {
	conn     *tunnelConn
	h        http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *tunnelResponse) Header() http.Header { return w.h }

func (w *tunnelResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *tunnelResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *tunnelResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

func (w *tunnelResponse) response() []byte {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	w.h.Del("Content-Length")
	w.h.Del("Connection")
	_ = w.h.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", w.body.Len())
	b.Write(w.body.Bytes())
	return b.Bytes()
}
