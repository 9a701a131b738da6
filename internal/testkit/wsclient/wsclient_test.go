package wsclient

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
)

// server upgrades with gobwas/ws (offering permessage-deflate), sends a
// compressed text when deflate was taken, pings and echoes one message, and
// closes with 4000 "bye" if the ping was answered, 4001 if not.
func server(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		ext := wsflate.Extension{Parameters: wsflate.DefaultParameters}
		u := ws.HTTPUpgrader{Negotiate: ext.Negotiate}
		conn, _, _, err := u.Upgrade(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		if _, ok := ext.Accepted(); ok {
			f, _ := wsflate.CompressFrame(ws.NewTextFrame([]byte("squeezed")))
			_ = ws.WriteFrame(conn, f)
		}
		data, op, err := wsutil.ReadClientData(conn)
		if err != nil {
			return
		}
		_ = ws.WriteFrame(conn, ws.NewPingFrame([]byte("p")))
		_ = wsutil.WriteServerMessage(conn, op, data)
		code := ws.StatusCode(4000)
		if f, err := ws.ReadFrame(conn); err != nil || f.Header.OpCode != ws.OpPong {
			code = 4001
		}
		_ = wsutil.WriteServerMessage(conn, ws.OpClose, ws.NewCloseFrameBody(code, "bye"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConn(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		base := server(t)
		c := Dial(t, base+"/x?y=1", &Options{Deflate: deflate})
		if c.Deflate() != deflate {
			t.Fatalf("deflate %v: negotiated %v (%q)", deflate, c.Deflate(), c.Response.Header.Get("Sec-WebSocket-Extensions"))
		}
		if deflate {
			if data, op, err := c.Read(time.Second); err != nil || op != ws.OpText || string(data) != "squeezed" {
				t.Fatalf("compressed message: %q %v %v", data, op, err)
			}
		}
		if err := c.WriteBinary([]byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		if data, op, err := c.Read(time.Second); err != nil || op != ws.OpBinary || string(data) != "\x01\x02" {
			t.Fatalf("echo: %q %v %v (the ping must be answered)", data, op, err)
		}
		if code, reason, err := c.WaitClosed(time.Second, nil); err != nil || code != 4000 || reason != "bye" {
			t.Fatalf("close: %d %q %v", code, reason, err)
		}
		if code, _, err := c.WaitClosed(time.Second, nil); err != nil || code != 0 {
			t.Fatalf("after the close: %d %v, want the end of the connection", code, err)
		}
	}
}

func TestWaitClosedTimeout(t *testing.T) {
	c := Dial(t, server(t), nil)
	var ne net.Error
	if _, _, err := c.WaitClosed(50*time.Millisecond, nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestRefused(t *testing.T) {
	var se ws.StatusError
	if _, err := DialContext(t.Context(), server(t)+"/refuse", nil); !errors.As(err, &se) || se != 403 {
		t.Fatalf("got %v, want status 403", err)
	}
}
