package server

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	if f := clientIPFunc(nil); f != nil {
		t.Fatal("without trusted proxies the engine's default (the TCP peer) must be used")
	}
	f := clientIPFunc([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, tt := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"}, // not a proxy: its header is ignored
		{"one proxy", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left part", "10.1.2.3:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:80", []string{"1.1.1.1", "198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"garbage", "10.1.2.3:80", []string{"nonsense"}, "10.1.2.3"},
		{"no header", "[::1]:80", nil, "::1"},
		{"mapped", "10.1.2.3:80", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
	} {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		for _, h := range tt.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := f(r); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
