package adminui

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Login attempts are limited per client address, so that wrong passwords
// sent from some addresses never lock the admin out from another: each
// address has a bucket of loginBurst password checks, refilled one per
// loginRefill. A check takes a token before bcrypt runs (concurrent
// attempts cannot pass together) and a successful login gives it back.
// An attempt from an address with no token left is refused without
// bcrypt, and its connection is closed: retrying on one session is no
// cheaper than opening new ones, which limits.handshakes_per_second
// bounds.
const (
	loginBurst  = 5
	loginRefill = 10 * time.Second
	// maxLoginAddresses bounds the addresses remembered. Past it, full
	// buckets are forgotten first (forgetting them changes nothing), then
	// arbitrary ones: only an attacker with that many addresses gains.
	maxLoginAddresses = 10000
	// bcryptWait bounds the wait for one of the maxConcurrentBcrypt slots;
	// the per-address buckets keep the queue short, so a real admin waits
	// behind at most a few attempts instead of being refused.
	bcryptWait = 10 * time.Second
)

type loginBucket struct {
	tokens float64
	at     time.Time
}

// loginLimiter holds the per-address buckets.
type loginLimiter struct {
	mu    sync.Mutex
	addrs map[string]*loginBucket
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{addrs: make(map[string]*loginBucket)}
}

// fill returns b's tokens at now.
func (b *loginBucket) fill(now time.Time) float64 {
	return min(loginBurst, b.tokens+float64(now.Sub(b.at))/float64(loginRefill))
}

// take takes a token for a password check from addr, or reports false.
func (l *loginLimiter) take(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= maxLoginAddresses {
			l.evictLocked(now)
		}
		b = &loginBucket{tokens: loginBurst, at: now}
		l.addrs[addr] = b
	}
	b.tokens, b.at = b.fill(now), now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund gives back the token of a successful login.
func (l *loginLimiter) refund(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.addrs[addr]; b != nil {
		b.tokens, b.at = min(loginBurst, b.fill(now)+1), now
	}
}

func (l *loginLimiter) evictLocked(now time.Time) {
	for k, b := range l.addrs {
		if b.fill(now) >= loginBurst {
			delete(l.addrs, k)
		}
	}
	for k := range l.addrs {
		if len(l.addrs) < maxLoginAddresses {
			break
		}
		delete(l.addrs, k)
	}
}

// addressKey is the key an address counts against: the host, or for IPv6
// its /64 network (what one subscriber usually gets), as the engine's
// per-address limits count.
func addressKey(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr
}
