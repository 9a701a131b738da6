//go:build unix

package engineio

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// rawWrite writes what the socket takes right now; it never waits.
// Control, unlike RawConn.Write, ignores the connection's write deadline,
// which belongs to blocking writes; callers serialize writes themselves.
func rawWrite(raw syscall.RawConn, b []byte) (int, error) {
	var (
		n    int
		werr error
	)
	err := raw.Control(func(fd uintptr) {
		for n < len(b) {
			m, e := unix.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				break
			}
			if e != nil {
				werr = e
				break
			}
			if m <= 0 {
				break
			}
		}
	})
	if err == nil {
		err = werr
	}
	return n, err
}
