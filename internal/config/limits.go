package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// Limits bound what clients can make the server do. The counts and rates
// are off at 0; the defaults (DefaultLimits) suit a server on the open
// internet. What each limit does when exceeded is documented in
// config.yaml and README.md.
type Limits struct {
	// Sessions in total and per client address; handshakes per second per
	// client address, with bursts (token bucket).
	MaxConnections      int     `yaml:"max_connections"`
	MaxConnectionsPerIP int     `yaml:"max_connections_per_ip"`
	HandshakesPerSecond float64 `yaml:"handshakes_per_second"`
	HandshakeBurst      int     `yaml:"handshake_burst"`
	// MaxTCPConnectionsPerIP caps the open TCP connections per client
	// address at the listener (IPv6: per /64), whatever phase they are in:
	// sending headers, idle between requests, long-polling, upgraded.
	// Trusted proxies are not counted.
	MaxTCPConnectionsPerIP int `yaml:"max_tcp_connections_per_ip"`
	// Events per second per socket, with bursts (token bucket).
	EventsPerSecond float64 `yaml:"events_per_second"`
	EventBurst      int     `yaml:"event_burst"`
	// Rooms per socket, its own room not counted.
	MaxRoomsPerSocket int `yaml:"max_rooms_per_socket"`
	// Namespaces one connection can be in at once; CONNECT packets
	// (namespace joins) per second per connection, with bursts (token
	// bucket).
	MaxNamespacesPerClient     int     `yaml:"max_namespaces_per_client"`
	NamespaceConnectsPerSecond float64 `yaml:"namespace_connects_per_second"`
	NamespaceConnectBurst      int     `yaml:"namespace_connect_burst"`
	// Parser limits: binary attachments per packet, JSON nesting depth.
	MaxAttachments int `yaml:"max_attachments"`
	MaxJSONDepth   int `yaml:"max_json_depth"`
	// TrustedProxies lists the reverse proxies (IP addresses or CIDR
	// prefixes) whose X-Forwarded-For header names the client address
	// that per-address limits count. Empty: the TCP peer's address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// BindSessionToIP refuses requests for a session from another client
	// address than the one that opened it.
	BindSessionToIP bool `yaml:"bind_session_to_ip"`
	// HTTP server: time to read a request's headers (slowloris), and
	// their size.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
	// ReadBodyTimeout is how long a client may take to send a request
	// body, or a WebSocket message, once it has begun.
	ReadBodyTimeout time.Duration `yaml:"read_body_timeout"`
	// WriteTimeout is how long one write to a client may take: an HTTP
	// response (counted from its request's headers, or for a long poll
	// from the moment its data is ready), a WebSocket write.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// DefaultLimits returns the default limits: the library's presets
// (socketio.DefaultOptions) for what they cover, and Switchboard's own
// for its listener and HTTP server.
func DefaultLimits() Limits {
	io := socketio.DefaultOptions()
	eng := io.Engine
	return Limits{
		MaxConnections:             eng.Limits.MaxSessions,
		MaxConnectionsPerIP:        eng.Limits.MaxSessionsPerIP,
		HandshakesPerSecond:        eng.Limits.HandshakeRate,
		HandshakeBurst:             eng.Limits.HandshakeBurst,
		MaxTCPConnectionsPerIP:     1024,
		EventsPerSecond:            io.Limits.EventsPerSecond,
		EventBurst:                 io.Limits.EventBurst,
		MaxRoomsPerSocket:          io.Limits.MaxRoomsPerSocket,
		MaxNamespacesPerClient:     io.Limits.MaxNamespacesPerClient,
		NamespaceConnectsPerSecond: io.Limits.NamespaceConnectsPerSecond,
		NamespaceConnectBurst:      io.Limits.NamespaceConnectBurst,
		MaxAttachments:             io.Limits.MaxAttachments,
		MaxJSONDepth:               io.Limits.MaxJSONDepth,
		TrustedProxies:             []string{},
		BindSessionToIP:            eng.Limits.BindSessionToIP,
		ReadHeaderTimeout:          10 * time.Second,
		MaxHeaderBytes:             64 << 10,
		ReadBodyTimeout:            eng.BodyTimeout,
		WriteTimeout:               eng.WriteTimeout,
	}
}

// TrustedProxyPrefixes parses TrustedProxies (validated: no errors).
func (l *Limits) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(l.TrustedProxies))
	for _, s := range l.TrustedProxies {
		if p, ok := parseProxy(s); ok {
			out = append(out, p)
		}
	}
	return out
}

// parseProxy parses an IP address or a CIDR prefix.
func parseProxy(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (v *validator) limits(l *Limits) {
	for _, c := range []struct {
		key string
		val int
	}{
		{"limits.max_connections", l.MaxConnections},
		{"limits.max_connections_per_ip", l.MaxConnectionsPerIP},
		{"limits.max_tcp_connections_per_ip", l.MaxTCPConnectionsPerIP},
		{"limits.max_rooms_per_socket", l.MaxRoomsPerSocket},
		{"limits.max_namespaces_per_client", l.MaxNamespacesPerClient},
	} {
		if c.val < 0 {
			v.errorf(c.key, "must be 0 (no limit) or positive, got %d", c.val)
		}
	}
	// A polling session holds two TCP connections (its pending GET and a
	// POST): a TCP cap under twice the session cap would refuse, with a
	// bare close, sessions the session cap lets in.
	if tcp, sess := l.MaxTCPConnectionsPerIP, l.MaxConnectionsPerIP; tcp > 0 && sess > 0 && tcp < 2*sess {
		v.errorf("limits.max_tcp_connections_per_ip", "must be 0 (no limit) or at least twice limits.max_connections_per_ip (%d), got %d", 2*sess, tcp)
	}
	rate := func(key string, perSec float64, burstKey string, burst int) {
		switch {
		case perSec < 0:
			v.errorf(key, "must be 0 (no limit) or positive, got %g", perSec)
		case perSec > 0 && burst < 1:
			v.errorf(burstKey, "must be at least 1 when %s is set, got %d", key[strings.LastIndexByte(key, '.')+1:], burst)
		}
	}
	rate("limits.handshakes_per_second", l.HandshakesPerSecond, "limits.handshake_burst", l.HandshakeBurst)
	rate("limits.events_per_second", l.EventsPerSecond, "limits.event_burst", l.EventBurst)
	rate("limits.namespace_connects_per_second", l.NamespaceConnectsPerSecond, "limits.namespace_connect_burst", l.NamespaceConnectBurst)
	if l.MaxAttachments < 1 || l.MaxAttachments > 1000 {
		v.errorf("limits.max_attachments", "must be 1-1000, got %d", l.MaxAttachments)
	}
	if l.MaxJSONDepth < 2 || l.MaxJSONDepth > 10000 {
		v.errorf("limits.max_json_depth", "must be 2-10000 (an event is an array: 2 lets its arguments be objects or arrays), got %d", l.MaxJSONDepth)
	}
	for i, s := range l.TrustedProxies {
		if _, ok := parseProxy(s); !ok {
			v.errorf("limits.trusted_proxies["+strconv.Itoa(i)+"]", "invalid %s: want an IP address or a CIDR prefix such as 10.0.0.0/8", quote(s))
		}
	}
	v.positive("limits.read_header_timeout", l.ReadHeaderTimeout)
	v.positive("limits.read_body_timeout", l.ReadBodyTimeout)
	v.positive("limits.write_timeout", l.WriteTimeout)
	if l.MaxHeaderBytes < 4096 {
		v.errorf("limits.max_header_bytes", "must be at least 4096, got %d", l.MaxHeaderBytes)
	}
}
