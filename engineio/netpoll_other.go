//go:build !linux

package engineio

import (
	"errors"
	"net"
)

// Without epoll every WebSocket is read by its own goroutine.
type netpoller struct{}

type pollConn struct{}

func getPoller() *netpoller { return nil }

func (p *netpoller) watch(net.Conn, func(*pollConn)) (*pollConn, error) {
	return nil, errors.New("engineio: no netpoller on this platform")
}

func (p *netpoller) rearm(*pollConn) error { return nil }

func (p *netpoller) forget(*pollConn) {}
