package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIPFunc returns how per-address limits find a request's client:
// nil (the TCP peer's address) without trusted proxies. With them, a
// request from a trusted proxy counts against the address its
// X-Forwarded-For names: the rightmost entry that is not itself a trusted
// proxy. Entries further left were written by the client or by proxies we
// do not know, and anyone can forge them.
func clientIPFunc(trusted []netip.Prefix) func(*http.Request) string {
	if len(trusted) == 0 {
		return nil
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		peer, err := netip.ParseAddr(host)
		if err != nil || !isTrusted(peer) {
			return host
		}
		client := host
		hops := r.Header.Values("X-Forwarded-For")
		for i := len(hops) - 1; i >= 0; i-- {
			parts := strings.Split(hops[i], ",")
			for j := len(parts) - 1; j >= 0; j-- {
				a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
				if err != nil {
					return client // garbage: stop at the last address we could trust
				}
				client = a.Unmap().String()
				if !isTrusted(a) {
					return client
				}
			}
		}
		return client
	}
}
