package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound to
// a source address: its port is then chosen at connect time, unique per
// destination, instead of at bind time, where a port taken by any address
// is taken for all. Without it, 9,500 clients bound to 127.0.0.2 would
// use up 9,500 ports that clients connecting from 127.0.0.1 can then no
// longer use.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
