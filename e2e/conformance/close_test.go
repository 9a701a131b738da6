package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Rule (reference): how the server ends a WebSocket, as a client sees it.
// The protocol text says nothing of close frames; the Node server closes
// with the ws library's close() without arguments, which sends a close
// frame with no status code (the client reports 1005), whatever the
// cause. A client's own close frame is echoed, code and reason. A message
// over maxPayload gets 1009 with no reason. Both servers are held to it.
func TestCloseFrames(t *testing.T) {
	cases := []struct {
		name   string
		sio    bool // /socket.io/ only
		do     func(c *wsConn)
		code   ws.StatusCode
		reason string
	}{
		{name: "invalid Engine.IO packet", do: func(c *wsConn) { c.send("x") }, code: ws.StatusNoStatusRcvd},
		{name: "ping from a v4 client", do: func(c *wsConn) { c.send("2") }, code: ws.StatusNoStatusRcvd},
		{name: "invalid Socket.IO packet", sio: true, do: func(c *wsConn) { c.send("4abc") }, code: ws.StatusNoStatusRcvd},
		{name: "ping timeout", do: func(c *wsConn) { c.autoPong = false }, code: ws.StatusNoStatusRcvd},
		{name: "client close frame echoed", do: func(c *wsConn) {
			_ = c.sendErr(ws.OpClose, ws.NewCloseFrameBody(4000, "bye"))
		}, code: 4000, reason: "bye"},
		{name: "client close frame without code", do: func(c *wsConn) { _ = c.sendErr(ws.OpClose, nil) }, code: ws.StatusNoStatusRcvd},
		{name: "client close frame with an invalid code", do: func(c *wsConn) {
			_ = c.sendErr(ws.OpClose, ws.NewCloseFrameBody(1005, ""))
		}, code: ws.StatusProtocolError},
		{name: "message over maxPayload", do: func(c *wsConn) {
			_ = c.sendErr(ws.OpText, []byte("4"+strings.Repeat("a", maxPayload)))
		}, code: ws.StatusMessageTooBig},
	}
	for _, tc := range cases {
		check := func(t *testing.T, e *env, path string) {
			c := e.openWSJoined(path)
			tc.do(c)
			code, reason := c.closeFrame(pingInterval + pingTimeout + closeTimeout)
			if code != tc.code || reason != tc.reason {
				t.Errorf("close frame: %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			if tc.sio { // a Socket.IO packet
				forServers(t, func(t *testing.T, e *env) { check(t, e, sioPath) })
				return
			}
			forPathsAndServers(t, check)
		})
	}
}

// closeFrame waits for the server's close frame, skipping data frames, and
// returns its code and reason; a connection that ends without one fails
// the test.
func (c *wsConn) closeFrame(timeout time.Duration) (ws.StatusCode, string) {
	c.t.Helper()
	code, reason, err := c.conn.WaitClosed(timeout, c.pong)
	if err != nil {
		c.t.Fatalf("connection still open after %v", timeout)
	}
	if code == 0 {
		c.t.Fatal("connection ended without a close frame")
	}
	return code, reason
}
