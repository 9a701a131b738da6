package socketio

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// startServer serves srv until the test ends and returns its ws:// URL.
func startServer(t *testing.T, opts *Options) (*Server, string) {
	t.Helper()
	srv := NewServer(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.CloseClientConnections()
		hs.Close()
	})
	return srv, strings.Replace(hs.URL, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
}

// rawClient speaks Socket.IO over a WebSocket frame by frame.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
}

func dial(t *testing.T, url string) *rawClient {
	t.Helper()
	conn, br, _, err := ws.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	if open := c.read(); open[0] != '0' {
		t.Fatalf("open packet = %q", open)
	}
	return c
}

// connect dials and connects to a namespace with an optional auth payload.
func connect(t *testing.T, url, nsp, auth string) *rawClient {
	t.Helper()
	c := dial(t, url)
	c.send(connectPacket(nsp, auth))
	if got := c.read(); !strings.HasPrefix(got, "40") {
		t.Fatalf("connect answer = %q", got)
	}
	return c
}

func connectPacket(nsp, auth string) string {
	p := "40"
	if nsp != "/" {
		p += nsp + ","
	}
	return p + auth
}

func (c *rawClient) send(text string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(text)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatal(err)
	}
}

// readFrame returns the next data frame, answering pings.
func (c *rawClient) readFrame(timeout time.Duration) (string, bool, error) {
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
		b, op, err := wsutil.ReadServerData(&rwc{c.conn, c.r})
		if err != nil {
			return "", false, err
		}
		if op == ws.OpText && string(b) == "2" {
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
			continue
		}
		return string(b), op == ws.OpBinary, nil
	}
}

func (c *rawClient) read() string {
	c.t.Helper()
	s, bin, err := c.readFrame(5 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	if bin {
		c.t.Fatalf("got binary frame %x, want text", s)
	}
	return s
}

func (c *rawClient) readBinary() []byte {
	c.t.Helper()
	s, bin, err := c.readFrame(5 * time.Second)
	if err != nil || !bin {
		c.t.Fatalf("want binary frame, got %q, %v", s, err)
	}
	return []byte(s)
}

// expectNothing checks that no frame arrives for a short while.
func (c *rawClient) expectNothing() {
	c.t.Helper()
	if s, _, err := c.readFrame(150 * time.Millisecond); err == nil {
		c.t.Fatalf("unexpected frame %q", s)
	}
}

// expectClosed waits for the server to close the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		_, _, err := c.readFrame(3 * time.Second)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
	}
}

type rwc struct {
	net.Conn
	r io.Reader
}

func (c *rwc) Read(p []byte) (int, error) { return c.r.Read(p) }
