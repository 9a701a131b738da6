package server

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// connCap caps the open TCP connections per client address, at the
// listener, and the QUIC connections of WebTransport (acceptQUIC). The engine's per-address caps count sessions and bodies in
// flight; connections sending their headers (bounded in time by
// read_header_timeout, not in number) or idle between requests are seen
// by no handler, so one address could open them by the thousand. A
// connection past the cap is closed as soon as it is accepted, before
// anything is read from it.
//
// Addresses are keyed as the engine keys them (IPv6 per /64). The TCP peer
// is all there is at this point: trusted proxies, which carry many
// clients' connections, are not counted.
type connCap struct {
	max     int
	trusted []netip.Prefix
	log     *slog.Logger

	rejected atomic.Uint64

	mu   sync.Mutex
	open map[netip.Prefix]int
}

func newConnCap(max int, trusted []netip.Prefix, log *slog.Logger) *connCap {
	if max <= 0 {
		return nil
	}
	return &connCap{max: max, trusted: trusted, log: log, open: make(map[netip.Prefix]int)}
}

// connKey returns the key a peer counts against, and false for peers that
// are not counted (trusted proxies, non-IP addresses).
func (c *connCap) connKey(addr net.Addr) (netip.Prefix, bool) {
	var ip net.IP
	switch ta := addr.(type) {
	case *net.TCPAddr:
		ip = ta.IP
	case *net.UDPAddr: // QUIC (WebTransport)
		ip = ta.IP
	default:
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	for _, p := range c.trusted {
		if p.Contains(a) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

func (c *connCap) acquire(k netip.Prefix) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[k] >= c.max {
		return false
	}
	c.open[k]++
	return true
}

func (c *connCap) release(k netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[k]--; c.open[k] <= 0 {
		delete(c.open, k)
	}
}

// addresses returns how many addresses have connections counted (for
// tests).
func (c *connCap) addresses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// Rejections returns the refused connections, for
// limit_rejections_total.
func (c *connCap) Rejections() map[string]uint64 {
	return map[string]uint64{limitTCPConnectionsPerIP: c.rejected.Load()}
}

const limitTCPConnectionsPerIP = "max_tcp_connections_per_ip"

// cappedListener applies a connCap to the connections it accepts.
type cappedListener struct {
	net.Listener
	limit *connCap
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, ok := conn.(*net.TCPConn)
		if !ok {
			return conn, nil
		}
		k, counted := l.limit.connKey(conn.RemoteAddr())
		if !counted {
			return conn, nil
		}
		if !l.limit.acquire(k) {
			l.limit.rejected.Add(1)
			l.limit.log.Debug("connection refused: too many open connections from its address", "client", k)
			// A reset rather than a FIN: the refused connection leaves
			// nothing behind (no TIME_WAIT on our side).
			_ = tc.SetLinger(0)
			_ = tc.Close()
			continue
		}
		return &cappedConn{TCPConn: tc, limit: l.limit, key: k}, nil
	}
}

// cappedConn gives its slot back when it is first closed: by net/http (a
// client that left, a header or idle timeout, shutdown) or, once hijacked
// by a WebSocket upgrade, by the WebSocket's owner. It embeds the
// *net.TCPConn so that the methods net/http and the engine look for
// (SyscallConn for the engine's raw I/O, ReadFrom for sendfile, CloseWrite)
// are still there.
type cappedConn struct {
	*net.TCPConn
	limit  *connCap
	key    netip.Prefix
	closed atomic.Bool
}

func (c *cappedConn) Close() error {
	err := c.TCPConn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.limit.release(c.key)
	}
	return err
}

// Listener returns ln with the cap on open TCP connections per client
// address (limits.max_tcp_connections_per_ip) applied, or ln itself when
// the cap is off. Serve the application's HTTP server on it.
func (a *Server) Listener(ln net.Listener) net.Listener {
	if a.conns == nil {
		return ln
	}
	return &cappedListener{Listener: ln, limit: a.conns}
}
