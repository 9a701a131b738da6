//go:build !linux

package main

import "syscall"

// bindNoPort: IP_BIND_ADDRESS_NO_PORT is Linux's.
func bindNoPort(network, address string, c syscall.RawConn) error { return nil }
