package engineio

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Inline writes. Most of the time a client's socket buffer has room: the
// goroutine that produced a message (a broadcaster, an event handler) can
// then write it itself with one non-blocking system call, instead of waking
// a writer goroutine per recipient. Only when the kernel would block is the
// rest handed to a writer, so a slow client still never holds up the
// caller.

// maxInlineWrite bounds what is written inline; larger messages go to a
// writer goroutine rather than through a copy.
const maxInlineWrite = 16 << 10

var errWouldBlock = errors.New("engineio: write would block")

// rawConn returns the connection's descriptor access, if it has one (TLS
// connections do not: they are always written by a writer goroutine).
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// tryWrite writes msgs' frames without blocking. It returns the bytes the
// kernel did not take (a copy, to be written by a writer goroutine), or an
// error if the connection failed. c.mu serializes it with other writers.
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

// writeRaw writes bytes left over by tryWrite, blocking at most timeout.
func (c *wsConn) writeRaw(b []byte, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return c.writeLocked(b, timeout)
}
