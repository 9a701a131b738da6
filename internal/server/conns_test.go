package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestConnCapKey(t *testing.T) {
	c := newConnCap(1, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}, slog.New(slog.DiscardHandler))
	for _, tt := range []struct {
		ip, zone, want string
		counted        bool
	}{
		{"203.0.113.9", "", "203.0.113.9/32", true},
		{"::ffff:203.0.113.9", "", "203.0.113.9/32", true}, // IPv4 on a dual-stack socket
		{"2001:db8:1:2:a::1", "", "2001:db8:1:2::/64", true},
		{"2001:db8:1:2:b::2", "", "2001:db8:1:2::/64", true}, // same /64: one subscriber
		{"2001:db8:1:3::1", "", "2001:db8:1:3::/64", true},
		{"fe80::1", "eth0", "fe80::/64", true}, // the zone is not part of the key
		{"10.1.2.3", "", "", false},            // trusted proxy
		{"::ffff:10.1.2.3", "", "", false},     // trusted proxy, mapped
		{"2001:db8:ffff:1::1", "", "", false},  // trusted proxy, IPv6
	} {
		k, ok := c.connKey(&net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 1234, Zone: tt.zone})
		if ok != tt.counted || (ok && k.String() != tt.want) {
			t.Errorf("key(%s) = %v, %v; want %q, %v", tt.ip, k, ok, tt.want, tt.counted)
		}
	}
	if _, ok := c.connKey(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}); ok {
		t.Error("a Unix socket peer counted")
	}
}

// The listener keeps max connections per address, closes the others as
// it accepts them, and gives a slot back once per connection however many
// times it is closed.
func TestCappedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newConnCap(2, nil, slog.New(slog.DiscardHandler))
	capped := &cappedListener{Listener: ln, limit: c}
	accepted := make(chan net.Conn, 10)
	go func() {
		defer close(accepted)
		for {
			conn, err := capped.Accept()
			if err != nil {
				return
			}
			accepted <- conn
		}
	}()
	defer func() {
		capped.Close()
		for conn := range accepted {
			conn.Close()
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	next := func() net.Conn {
		t.Helper()
		select {
		case conn := <-accepted:
			return conn
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	// refused dials and tells whether the connection was closed at once
	// (possibly before the dial returned).
	refused := func() bool {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if errors.Is(err, syscall.ECONNRESET) {
			return true
		}
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		ne, ok := err.(net.Error)
		return err != nil && !(ok && ne.Timeout())
	}

	dial()
	dial()
	a, b := next(), next()
	// The engine's raw I/O (SyscallConn), sendfile (ReadFrom) and
	// CloseWrite still work through the wrapper.
	if _, ok := a.(syscall.Conn); !ok {
		t.Error("accepted connection is not a syscall.Conn")
	}
	if _, ok := a.(io.ReaderFrom); !ok {
		t.Error("accepted connection is not an io.ReaderFrom")
	}
	if _, ok := a.(interface{ CloseWrite() error }); !ok {
		t.Error("accepted connection has no CloseWrite")
	}
	if !refused() {
		t.Fatal("a connection over the cap was kept")
	}
	if got := c.rejected.Load(); got != 1 {
		t.Fatalf("rejected = %d, want 1", got)
	}

	a.Close()
	a.Close() // closed twice: one slot back, not two
	dial()
	next()
	if !refused() {
		t.Fatal("a connection closed twice gave two slots back")
	}
	if got := c.rejected.Load(); got != 2 {
		t.Fatalf("rejected = %d, want 2", got)
	}
	b.Close()
	if n := c.addresses(); n != 1 {
		t.Fatalf("%d addresses counted with one connection open, want 1", n)
	}
}
