package engineio

import (
	"log/slog"
	"net/http"
	"reflect"
	"testing"
)

// The zero Options bounds clients: a burst of handshakes from one address
// ends at DefaultHandshakeBurst, while another address still gets in.
func TestZeroOptionsLimitHandshakes(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	if got := ts.srv.Options().Limits; !reflect.DeepEqual(got, DefaultLimits()) {
		t.Fatalf("zero Limits became %+v, want %+v", got, DefaultLimits())
	}
	for i := range DefaultHandshakeBurst {
		if code, _, _ := ts.handshakeFrom("127.0.0.1"); code != http.StatusOK {
			t.Fatalf("handshake %d within the default burst: status %d", i, code)
		}
	}
	// The bucket refills at DefaultHandshakeRate meanwhile: a few more
	// may pass, not a burst more.
	for i := 0; ; i++ {
		code, _, _ := ts.handshakeFrom("127.0.0.1")
		if code == http.StatusTooManyRequests {
			break
		}
		if i == DefaultHandshakeBurst {
			t.Fatalf("%d handshakes past the default burst, none refused", i)
		}
	}
	if code, _, _ := ts.handshakeFrom("127.0.0.2"); code != http.StatusOK {
		t.Fatalf("another address: status %d, want 200", code)
	}
}

// NoLimit turns each limit off; with all off the server does no
// per-address accounting at all.
func TestNoLimitLiftsLimits(t *testing.T) {
	ts := newTestServer(t, &Options{Limits: Limits{MaxSessions: NoLimit, MaxSessionsPerIP: NoLimit, HandshakeRate: NoLimit}}, nil)
	if ts.srv.admit != nil {
		t.Fatal("limits all NoLimit, yet the server counts sessions")
	}
	for i := range DefaultHandshakeBurst + 10 {
		if code, _, _ := ts.handshakeFrom("127.0.0.1"); code != http.StatusOK {
			t.Fatalf("handshake %d without limits: status %d", i, code)
		}
	}
}

// A nil Logger is slog.Default(): refusals and panics are not lost.
func TestZeroOptionsLogToDefault(t *testing.T) {
	if got := NewServer(nil, nil).Options().Logger; got != slog.Default() {
		t.Fatalf("nil Logger became %v, want slog.Default()", got)
	}
}

// DefaultOptions is the zero value's defaults written out, plus the
// features config.yaml turns on; the server changes nothing in it.
func TestDefaultOptions(t *testing.T) {
	d := DefaultOptions()
	got := NewServer(nil, &d).Options()
	got.Logger = nil
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("the server changed DefaultOptions:\n got %+v\nwant %+v", got, d)
	}
	if !d.AllowEIO3 || !d.PerMessageDeflate.Enabled || !d.HTTPCompression.Enabled || len(d.CORS.Origins) != 1 || d.CORS.Origins[0] != "*" {
		t.Fatalf("DefaultOptions lacks a feature of config.yaml: %+v", d)
	}
	if z := NewServer(nil, nil).Options(); z.AllowEIO3 || z.PerMessageDeflate.Enabled || z.HTTPCompression.Enabled || len(z.CORS.Origins) != 0 {
		t.Fatalf("the zero Options turned on a feature: %+v", z)
	}
}
