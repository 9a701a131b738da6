//go:build unix

package engineio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawWriter writes what the socket takes right now; it never waits.
// Control, unlike RawConn.Write, ignores the connection's write deadline,
// which belongs to blocking writes; callers serialize writes themselves
// (wsConn.mu). The callback Control takes is bound once per connection: a
// closure over the arguments would escape through the RawConn interface
// and cost allocations on every write, that is per broadcast recipient.
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
// descriptor is non-blocking, so the call never waits, and the scheduler's
// syscall bookkeeping (see rawReader) is not needed.
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
