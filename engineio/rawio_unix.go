//go:build unix

package engineio

import (
	"io"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw I/O: a socket's descriptor read and written with plain non-blocking
// system calls, for the hot paths (inline writes, netpoller reads). Other
// systems get stand-ins that fall back to the connection's own methods.

// rawWriter writes what the socket takes right now; it never waits.
// Control, unlike RawConn.Write, ignores the connection's write deadline,
// which belongs to blocking writes; callers serialize writes themselves
// (wsConn.mu). The callback given to Control is made once per connection
// and finds its arguments in the rawWriter: a closure made for each write
// would be allocated on the heap (it is passed through the RawConn
// interface), one allocation per write, that is per broadcast recipient.
type rawWriter struct {
	raw syscall.RawConn
	fn  func(fd uintptr) // w.control, bound once

	b   []byte // the current write's arguments and results
	n   int
	err error
}

func (w *rawWriter) write(b []byte) (int, error) {
	if w.fn == nil {
		w.fn = w.control
	}
	w.b, w.n, w.err = b, 0, nil
	err := w.raw.Control(w.fn)
	n, werr := w.n, w.err
	w.b, w.err = nil, nil
	if err == nil {
		err = werr
	}
	return n, err
}

func (w *rawWriter) control(fd uintptr) {
	for w.n < len(w.b) {
		m, e := write(fd, w.b[w.n:])
		if m > 0 {
			w.n += m
		}
		if e == unix.EINTR {
			continue
		}
		if e == unix.EAGAIN {
			break
		}
		if e != nil {
			w.err = e
			break
		}
		if m <= 0 {
			break
		}
	}
}

// write is write(2), as a raw system call where rawSyscalls allows: the
// descriptor is non-blocking, so the call never waits, and the scheduler
// need not be told about it (why that matters: see rawReader).
func write(fd uintptr, b []byte) (int, error) {
	if !rawSyscalls {
		return unix.Write(int(fd), b)
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawReader reads a connection with read(2) made as a raw system call,
// through its RawConn, which still waits for readiness and honours the read
// deadline. The runtime's own Read tells the scheduler that it enters a
// system call that may block; on a busy server the scheduler's monitor
// thread then keeps moving work to other threads and wakes up at its
// fastest rate. A non-blocking read never waits, so none of that is
// needed.
//
// A rawReader is pooled, and its callback is made once (a closure made
// for each read would be an allocation per read).
type rawReader struct {
	raw syscall.RawConn
	fn  func(fd uintptr) bool // r.read

	b   []byte // the current Read's buffer and results
	n   int
	err error
}

func newRawReader() *rawReader {
	r := new(rawReader)
	r.fn = r.read
	return r
}

// reset points r at conn; with no descriptor to read (e.g. a test's pipe),
// it returns conn itself.
func (r *rawReader) reset(conn net.Conn, raw syscall.RawConn) io.Reader {
	r.raw = raw
	if raw == nil || !rawSyscalls {
		return conn
	}
	return r
}

func (r *rawReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.b, r.n, r.err = b, 0, nil
	err := r.raw.Read(r.fn)
	n, rerr := r.n, r.err
	r.b, r.err = nil, nil
	if err != nil {
		return 0, err
	}
	return n, rerr
}

func (r *rawReader) read(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.b))), uintptr(len(r.b)))
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			return false // wait until readable, or the deadline
		case e != 0:
			r.err = e
		case n == 0:
			r.err = io.EOF
		default:
			r.n = int(n)
		}
		return true
	}
}
