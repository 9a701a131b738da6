//go:build !unix

package engineio

import "syscall"

// rawWriter writes nothing without unix.Write: callers fall back to
// blocking writes.
type rawWriter struct{ raw syscall.RawConn }

func (w *rawWriter) write([]byte) (int, error) { return 0, nil }
