package rawchat

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// A raw WebSocket client, as the tutorial's page is one: it sends text
// frames and reads whatever frames arrive, at the wire level, so that tests
// see exactly what the server sends (close codes included).

const wait = 5 * time.Second

type rawClient struct {
	t    *testing.T
	conn *wsclient.Conn
}

// start serves config.yaml (raw_websocket on "/") with mods applied.
func start(t *testing.T, mods ...func(*config.Config)) string {
	t.Helper()
	return testserver.Start(t, "default", mods...)
}

func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

func dialRaw(t *testing.T, base string, origin string) *rawClient {
	t.Helper()
	c, err := dialRawErr(base+"/", origin)
	if err != nil {
		t.Fatalf("dial raw WebSocket at %s/: %v", wsURL(base), err)
	}
	c.t = t
	t.Cleanup(func() { c.conn.Close() })
	return c
}

// dialRawErr opens a raw WebSocket to url ("http://host:port/path").
func dialRawErr(url, origin string) (*rawClient, error) {
	var o wsclient.Options
	if origin != "" {
		o.Header = http.Header{"Origin": {origin}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, err := wsclient.DialContext(ctx, wsURL(url), &o)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: conn}, nil
}

// writeFrame sends one masked frame.
func (c *rawClient) writeFrame(fin bool, op ws.OpCode, payload []byte) {
	c.t.Helper()
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	if err := c.conn.WriteFrame(ws.MaskFrameInPlace(f)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func (c *rawClient) send(text string) { c.t.Helper(); c.writeFrame(true, ws.OpText, []byte(text)) }

// next returns the next frame (pongs included).
func (c *rawClient) next() (ws.Frame, error) {
	return c.conn.ReadFrame(wait)
}

// expectText reads the next frame and checks that it is text want.
func (c *rawClient) expectText(want string) {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("waiting for text %q: %v", want, err)
	}
	if f.Header.OpCode != ws.OpText || string(f.Payload) != want {
		c.t.Fatalf("got frame op=%v %q, want text %q", f.Header.OpCode, clip(f.Payload), want)
	}
}

// expectClose reads until a close frame and checks its code; the server
// must then close the connection.
func (c *rawClient) expectClose(code ws.StatusCode) {
	c.t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			c.t.Fatalf("waiting for close %d: %v", code, err)
		}
		if f.Header.OpCode != ws.OpClose {
			continue
		}
		if len(f.Payload) < 2 {
			c.t.Fatalf("close frame without code, want %d", code)
		}
		got := ws.StatusCode(binary.BigEndian.Uint16(f.Payload))
		if got != code {
			c.t.Fatalf("close code %d (%q), want %d", got, f.Payload[2:], code)
		}
		c.t.Logf("close %d %q", got, f.Payload[2:])
		break
	}
	// Answer as a browser does; the server then ends the connection.
	c.writeFrame(true, ws.OpClose, ws.NewCloseFrameBody(code, ""))
	c.expectEOF()
}

// expectEOF checks that the server ends the connection.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("server did not close the connection within %v", wait)
			}
			return
		}
		if f.Header.OpCode == ws.OpText {
			continue // frames queued before the close
		}
	}
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}

// chatUser is a Socket.IO client of the chat, logged in as name.
func chatUser(t *testing.T, base, name string) *sioclient.Client {
	t.Helper()
	return chatUserLogin(t, base, name, nil)
}

// chatUserLogin is chatUser, decoding the login event into login if not nil.
func chatUserLogin(t *testing.T, base, name string, login any) *sioclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := sioclient.Dial(ctx, base, "/", nil)
	if err != nil {
		t.Fatalf("socket.io dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Emit("add user", name); err != nil {
		t.Fatal(err)
	}
	e, err := c.Expect(ctx, "login")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if login != nil {
		if err := e.Arg(0, login); err != nil {
			t.Fatalf("%s: login: %v", name, err)
		}
	}
	return c
}

func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// expectEvent skips events until name arrives with an argument for which
// match is true.
func expectEvent[T any](t *testing.T, c *sioclient.Client, name string, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var seen []string
	for {
		e, err := c.Expect(ctx, name)
		if err != nil {
			t.Fatalf("%v (seen %q: %s)", err, name, strings.Join(seen, ", "))
		}
		var v T
		if err := e.Arg(0, &v); err != nil {
			t.Fatalf("%q argument: %v", name, err)
		}
		if match(v) {
			return v
		}
		seen = append(seen, string(e.Args[0]))
	}
}
