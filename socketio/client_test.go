package socketio

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// startServer serves srv until the test ends and returns its ws:// URL.
func startServer(t *testing.T, opts *Options) (*Server, string) {
	t.Helper()
	srv := NewServer(opts)
	hs := serve.Start(t, srv, srv.Close)
	return srv, strings.Replace(hs.URL, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
}

// rawClient speaks Socket.IO over a WebSocket frame by frame.
type rawClient struct {
	t  *testing.T
	ws *wsclient.Conn
	// conn is the TCP connection and r its incoming bytes, for tests that
	// cut the connection or count bytes.
	conn net.Conn
	r    io.Reader
}

func dial(t *testing.T, url string) *rawClient {
	t.Helper()
	w := wsclient.Dial(t, url, nil)
	c := &rawClient{t: t, ws: w, conn: w.NetConn(), r: w.Reader()}
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
	if err := c.ws.WriteText(text); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteBinary(b); err != nil {
		c.t.Fatal(err)
	}
}

// readFrame returns the next data frame, answering pings.
func (c *rawClient) readFrame(timeout time.Duration) (string, bool, error) {
	for {
		b, op, err := c.ws.Read(timeout)
		if err != nil {
			return "", false, err
		}
		if op == ws.OpText && string(b) == "2" {
			_ = c.ws.WriteText("3")
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
