//go:build !unix

package engineio

import (
	"io"
	"net"
	"syscall"
)

// Stand-ins for the raw I/O of unix systems.

// rawWriter writes nothing without unix.Write: callers fall back to
// blocking writes.
type rawWriter struct{ raw syscall.RawConn }

func (w *rawWriter) write([]byte) (int, error) { return 0, nil }

// rawReader reads through the connection itself where there is no
// unix.RawSyscall.
type rawReader struct{}

func newRawReader() *rawReader { return &rawReader{} }

func (r *rawReader) reset(conn net.Conn, _ syscall.RawConn) io.Reader { return conn }
