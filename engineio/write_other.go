//go:build !unix

package engineio

import "syscall"

func rawWrite(syscall.RawConn, []byte) (int, error) { return 0, nil }
