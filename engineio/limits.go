package engineio

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound how many sessions clients may open, in total and per client
// address. A handshake over a limit is refused before any session exists,
// with an HTTP error the client's reconnection logic retries later.
//
// In every count and rate, 0 means the default and NoLimit (-1) turns the
// limit off. The zero Limits thus bounds every client, with values for a
// server on the open internet (Switchboard's config.yaml has the same):
// lifting a limit lets one client hold as many sessions, and their memory,
// as it can open.
type Limits struct {
	// MaxSessions caps open sessions (default 100,000); further
	// handshakes get HTTP 503 ("Server full"). It bounds the memory all
	// clients together can make the server hold.
	MaxSessions int
	// MaxSessionsPerIP caps open sessions per client address (default
	// 200); further handshakes from that address get HTTP 429. Many users
	// can share one address (offices, carrier-grade NAT): keep it
	// generous, but bounded, or one host can take every MaxSessions slot.
	MaxSessionsPerIP int
	// HandshakeRate is the sustained handshakes per second allowed per
	// client address (default 20), with bursts up to HandshakeBurst
	// (a token bucket; default 100 when HandshakeRate is defaulted too,
	// else 1); beyond it, HTTP 429. After a server
	// restart every client reconnects within seconds: the burst must
	// absorb that for the users behind one address. Without a rate, one
	// client can make the server do a handshake's work in a loop.
	HandshakeRate  float64
	HandshakeBurst int
	// BindSessionToIP refuses requests for a session (polling requests,
	// the WebSocket upgrade) from another client address than the one that
	// opened it, as if the session did not exist: a leaked session id is
	// then useless elsewhere. Off by default, as in the reference: clients
	// whose address changes between connections (dual-stack hosts picking
	// IPv4 or IPv6 per connection, proxies with several egress addresses)
	// would lose their polling sessions over and over.
	BindSessionToIP bool
	// ClientIP names the address a request counts against (default: the
	// host part of r.RemoteAddr). Behind a reverse proxy every request has
	// the proxy's address; set this to read the proxy's forwarding header,
	// and trust that header only from the proxy: a client can write any
	// header it likes.
	ClientIP func(r *http.Request) string
}

// NoLimit, as a count or rate of Limits, turns that limit off (0 means the
// default).
const NoLimit = -1

// Defaults of the zero Limits.
const (
	DefaultMaxSessions      = 100_000
	DefaultMaxSessionsPerIP = 200
	DefaultHandshakeRate    = 20
	DefaultHandshakeBurst   = 100
)

// DefaultLimits returns the zero Limits' values written out.
func DefaultLimits() Limits {
	return Limits{
		MaxSessions:      DefaultMaxSessions,
		MaxSessionsPerIP: DefaultMaxSessionsPerIP,
		HandshakeRate:    DefaultHandshakeRate,
		HandshakeBurst:   DefaultHandshakeBurst,
	}
}

// withDefaults fills in the defaults of the limits left at 0. A negative
// value (NoLimit) stays: every check below is "> 0", so it is off.
func (l Limits) withDefaults() Limits {
	if l.MaxSessions == 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	if l.MaxSessionsPerIP == 0 {
		l.MaxSessionsPerIP = DefaultMaxSessionsPerIP
	}
	if l.HandshakeRate == 0 {
		l.HandshakeRate = DefaultHandshakeRate
		if l.HandshakeBurst == 0 {
			l.HandshakeBurst = DefaultHandshakeBurst
		}
	}
	return l
}

// Refusals of a handshake over a limit.
var (
	errServerFull       = &requestError{Code: 4, Message: "Server full", status: http.StatusServiceUnavailable, limit: LimitMaxConnections}
	errTooManySessions  = &requestError{Code: 4, Message: "Too many connections from this address", status: http.StatusTooManyRequests, limit: LimitConnectionsPerIP}
	errTooManyHandshake = &requestError{Code: 4, Message: "Too many handshakes from this address", status: http.StatusTooManyRequests, limit: LimitHandshakeRate}
)

// admission counts open sessions and handshakes against the Limits. A
// session's slot is reserved at the handshake, before the transport is set
// up, and released when the session ends (or the handshake fails), so the
// caps are exact even with handshakes in flight.
type admission struct {
	lim   Limits
	perIP bool // per-address accounting needed

	mu      sync.Mutex
	total   int
	ips     map[string]*ipEntry
	reserve int // reservations since the last sweep
}

type ipEntry struct {
	sessions int
	bucket   *rate.Limiter // nil without a handshake rate
}

// sweepEvery is how many reservations pass between sweeps of idle
// addresses, which keeps the table as small as the set of addresses that
// have sessions or a recent burst, at amortized O(1) per handshake.
const sweepEvery = 1024

// keyed reports whether sessions need their client key: for limits, or
// to bind sessions to it.
func (l *Limits) keyed() bool {
	return l.BindSessionToIP || l.MaxSessions > 0 || l.MaxSessionsPerIP > 0 || l.HandshakeRate > 0
}

func newAdmission(l Limits) *admission {
	if l.MaxSessions <= 0 && l.MaxSessionsPerIP <= 0 && l.HandshakeRate <= 0 {
		return nil
	}
	if l.HandshakeRate > 0 && l.HandshakeBurst < 1 {
		l.HandshakeBurst = 1
	}
	return &admission{
		lim:   l,
		perIP: l.MaxSessionsPerIP > 0 || l.HandshakeRate > 0,
		ips:   make(map[string]*ipEntry),
	}
}

// ClientKey returns the key r counts against in per-address limits: its
// client address (see ClientIP), or for IPv6 the address's /64 network,
// which is what one subscriber usually gets (counting single IPv6
// addresses would let one client use 2^64). Other per-address limits of
// an application can count with it.
func (l *Limits) ClientKey(r *http.Request) string { return l.clientKey(r) }

func (l *Limits) clientKey(r *http.Request) string {
	var ip string
	if l.ClientIP != nil {
		ip = l.ClientIP(r)
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	} else {
		ip = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip
}

// admit reserves a session slot for ip, or says which limit refuses it.
// A nil admission admits everything.
func (a *admission) admit(ip string) *requestError {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lim.MaxSessions > 0 && a.total >= a.lim.MaxSessions {
		return errServerFull
	}
	if a.perIP {
		e := a.ips[ip]
		if e == nil {
			e = &ipEntry{}
			if a.lim.HandshakeRate > 0 {
				e.bucket = rate.NewLimiter(rate.Limit(a.lim.HandshakeRate), a.lim.HandshakeBurst)
			}
			a.ips[ip] = e
		}
		if a.lim.MaxSessionsPerIP > 0 && e.sessions >= a.lim.MaxSessionsPerIP {
			return errTooManySessions
		}
		if e.bucket != nil && !e.bucket.Allow() {
			return errTooManyHandshake
		}
		e.sessions++
		if a.reserve++; a.reserve >= sweepEvery {
			a.reserve = 0
			a.sweepLocked()
		}
	}
	a.total++
	return nil
}

// release gives back the slot of a session from ip.
func (a *admission) release(ip string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if e := a.ips[ip]; e != nil {
		e.sessions--
		if e.sessions == 0 && e.bucket == nil {
			delete(a.ips, ip) // nothing to remember
		}
	}
}

// sweepLocked forgets addresses without sessions whose token bucket is
// full again: forgetting them changes nothing. (An entry with tokens spent
// is kept, or closing sessions would reset the rate limit.)
func (a *admission) sweepLocked() {
	now := time.Now()
	for ip, e := range a.ips {
		if e.sessions == 0 && (e.bucket == nil || e.bucket.TokensAt(now) >= float64(a.lim.HandshakeBurst)) {
			delete(a.ips, ip)
		}
	}
}

// addresses returns how many client addresses are tracked (for tests).
func (a *admission) addresses() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ips)
}

// Admit applies the connection limits to a connection of another protocol
// served beside Engine.IO (such as a plain WebSocket endpoint), so that
// both count against one budget per client. A refused request has been
// answered (HTTP 503 or 429) and ok is false; otherwise release must be
// called once the connection ends.
func (s *Server) Admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if s.admit == nil {
		return func() {}, true
	}
	key := s.opts.Limits.clientKey(r)
	if err := s.admit.admit(key); err != nil {
		s.stats.rejected(err.limit)
		s.opts.Logger.Debug("engineio: connection refused", "reason", err.Message, "client", key)
		writeRequestError(w, err)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { s.admit.release(key) }) }, true
}

// Rejected counts a refusal by one of the engine's limits that the
// application enforced itself (such as a cap on requests in flight per
// address, in front of the engine), so that Stats reports it with the
// engine's own.
func (s *Server) Rejected(l Limit) { s.stats.rejected(l) }
