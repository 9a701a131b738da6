package rawchat

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Each bad input closes only the offending client, with the close code
// RFC 6455 gives it; the others keep chatting.
func TestBadInputClosesOnlyThatClient(t *testing.T) {
	base := start(t) // max_message 4096
	for _, tt := range []struct {
		name string
		send func(c *rawClient)
		code ws.StatusCode
	}{
		{"binary frame", func(c *rawClient) { c.writeFrame(true, ws.OpBinary, []byte{1, 2, 3}) }, ws.StatusUnsupportedData},
		{"empty binary frame", func(c *rawClient) { c.writeFrame(true, ws.OpBinary, nil) }, ws.StatusUnsupportedData},
		{"binary after text fragment", func(c *rawClient) {
			c.writeFrame(false, ws.OpText, []byte("a"))
			c.writeFrame(true, ws.OpBinary, []byte("b"))
		}, ws.StatusProtocolError},
		{"text over max_message", func(c *rawClient) { c.send(strings.Repeat("y", 4097)) }, ws.StatusMessageTooBig},
		{"huge text", func(c *rawClient) { c.send(strings.Repeat("y", 200_000)) }, ws.StatusMessageTooBig},
		{"fragments over max_message", func(c *rawClient) {
			c.writeFrame(false, ws.OpText, bytes.Repeat([]byte("f"), 3000))
			c.writeFrame(true, ws.OpContinuation, bytes.Repeat([]byte("f"), 1097))
		}, ws.StatusMessageTooBig},
		{"invalid UTF-8", func(c *rawClient) { c.writeFrame(true, ws.OpText, []byte{'a', 0xff, 'b'}) }, ws.StatusInvalidFramePayloadData},
		{"unmasked frame", func(c *rawClient) {
			_ = c.conn.WriteFrame(ws.NewTextFrame([]byte("not masked")))
		}, ws.StatusProtocolError},
		{"reserved opcode", func(c *rawClient) { c.writeFrame(true, ws.OpCode(0x3), []byte("?")) }, ws.StatusProtocolError},
		{"stray continuation", func(c *rawClient) { c.writeFrame(true, ws.OpContinuation, []byte("x")) }, ws.StatusProtocolError},
		{"fragmented ping", func(c *rawClient) { c.writeFrame(false, ws.OpPing, nil) }, ws.StatusProtocolError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := dialRaw(t, base, "")
			good := dialRaw(t, base, "")
			tt.send(bad)
			bad.expectClose(tt.code)

			good.send("still here " + tt.name)
			good.expectText("still here " + tt.name)
		})
	}
}

// The largest message allowed, in fragments with a ping between them,
// goes through whole; the ping is answered.
func TestLimitAndFragments(t *testing.T) {
	base := start(t)
	a := dialRaw(t, base, "")
	b := dialRaw(t, base, "")
	full := strings.Repeat("é", 2048)                   // 4096 bytes
	a.writeFrame(false, ws.OpText, []byte(full[:1001])) // splits a character: UTF-8 is checked on the whole message
	a.writeFrame(true, ws.OpPing, []byte("p"))
	a.writeFrame(true, ws.OpContinuation, []byte(full[1001:]))
	f, err := a.next()
	if err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "p" {
		t.Fatalf("after ping: %v %v %q, want pong \"p\"", err, f.Header.OpCode, f.Payload)
	}
	a.expectText(full)
	b.expectText(full)
}

// The client's close frame is echoed, then the connection ends.
func TestClientClose(t *testing.T) {
	base := start(t)
	c := dialRaw(t, base, "")
	c.writeFrame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
	f, err := c.next()
	if err != nil || f.Header.OpCode != ws.OpClose || len(f.Payload) < 2 || ws.StatusCode(f.Payload[0])<<8|ws.StatusCode(f.Payload[1]) != ws.StatusNormalClosure {
		t.Fatalf("got %v %v %q, want close 1000", err, f.Header.OpCode, f.Payload)
	}
	c.expectEOF()
}

// Origins are checked as for Socket.IO's WebSocket (cors.origins).
func TestOrigin(t *testing.T) {
	base := start(t, func(c *config.Config) { c.CORS.Origins = []string{"http://good.example"} })
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://good.example", true},
		{"http://evil.example", false},
		{"http://good.example.evil", false},
		{"null", false},
	} {
		c, err := dialRawErr(base+"/", tt.origin)
		if c != nil {
			c.conn.Close()
		}
		switch {
		case tt.ok && err != nil:
			t.Errorf("Origin %q refused: %v", tt.origin, err)
		case !tt.ok && err == nil:
			t.Errorf("Origin %q accepted", tt.origin)
		case !tt.ok && !strings.Contains(err.Error(), "403"):
			t.Errorf("Origin %q: %v, want HTTP 403", tt.origin, err)
		}
	}

	// "*" accepts any origin; none configured means same host only.
	any := start(t)
	c, err := dialRawErr(any+"/", "http://anything.example")
	if err != nil {
		t.Fatalf(`cors.origins ["*"]: %v`, err)
	}
	c.conn.Close()
	same := start(t, func(c *config.Config) { c.CORS.Origins = nil })
	host := strings.TrimPrefix(same, "http://")
	if c, err := dialRawErr(same+"/", "http://"+host); err != nil {
		t.Errorf("no cors.origins, same-host Origin refused: %v", err)
	} else {
		c.conn.Close()
	}
	if c, err := dialRawErr(same+"/", "http://other.example"); err == nil {
		c.conn.Close()
		t.Error("no cors.origins, cross-origin upgrade accepted")
	}
}

// A raw client that stops reading is dropped once its queue passes
// socketio.max_buffered_bytes; the others get every message meanwhile.
func TestSlowClientDropped(t *testing.T) {
	base := start(t, func(c *config.Config) {
		c.SocketIO.MaxBufferedBytes = 64 << 10
		c.Limits.EventsPerSecond = 0 // one sender fills the queue: not the rate limit's subject
	})
	observer := chatUser(t, base, "observer")

	// The slow client (guest-1) reads nothing until the end.
	slow := dialRaw(t, base, "")
	expectEvent(t, observer, "user joined", func(e userEvent) bool { return e.Username == "guest-1" })

	sender := dialRaw(t, base, "") // guest-2
	fast := dialRaw(t, base, "")   // guest-3
	expectEvent(t, observer, "user joined", func(e userEvent) bool { return e.Username == "guest-3" })
	count := func(c *rawClient, n *atomic.Int64, done chan<- struct{}) {
		defer close(done)
		for {
			f, err := c.conn.ReadFrame(3 * wait)
			if err != nil || f.Header.OpCode != ws.OpText {
				return
			}
			n.Add(1)
		}
	}
	var fastGot, senderGot atomic.Int64
	fastDone, senderDone := make(chan struct{}), make(chan struct{})
	go count(fast, &fastGot, fastDone)
	go count(sender, &senderGot, senderDone)
	slowLeft := make(chan struct{})
	go func() {
		defer close(slowLeft)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			e, err := observer.Expect(ctx, "user left")
			if err != nil {
				return
			}
			var u userEvent
			if e.Arg(0, &u) == nil && u.Username == "guest-1" {
				return
			}
		}
	}()

	// 4,000 characters: over the chat's limit, so only raw clients get
	// them (the observer's queue is not the subject here).
	msg := strings.Repeat("z", 4000)
	sent := 0
	began := time.Now()
	// In lock-step with the fast readers: each message is read by them
	// before the next is sent (a burst would fill their queues too).
	caughtUp := func() bool {
		for end := time.Now().Add(2 * wait); time.Now().Before(end); {
			if fastGot.Load() >= int64(sent) && senderGot.Load() >= int64(sent) {
				return true
			}
			time.Sleep(20 * time.Microsecond)
		}
		return false
	}
flood:
	for sent < 10_000 {
		select {
		case <-slowLeft:
			break flood
		default:
		}
		sender.send(msg)
		sent++
		if !caughtUp() {
			t.Fatalf("message %d: fast %d, sender %d: the readers fell behind", sent, fastGot.Load(), senderGot.Load())
		}
	}
	select {
	case <-slowLeft:
	case <-time.After(wait):
	}
	if time.Since(began) > 20*time.Second {
		t.Errorf("dropping the slow client took %v", time.Since(began))
	}
	select {
	case <-slowLeft:
	default:
		t.Fatalf("slow client not dropped after %d messages of %d bytes (queue bound 64 KiB)", sent, len(msg))
	}
	t.Logf("slow client dropped after %d messages (%v)", sent, time.Since(began).Round(time.Millisecond))

	// The others get every message, in full.
	for _, c := range []struct {
		name string
		got  *atomic.Int64
	}{{"fast", &fastGot}, {"sender", &senderGot}} {
		for end := time.Now().Add(2 * wait); c.got.Load() < int64(sent) && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		if n := c.got.Load(); n != int64(sent) {
			t.Errorf("%s client got %d of %d messages", c.name, n, sent)
		}
	}
	// The slow client finds what the kernel held, then the end.
	got := 0
	for {
		f, err := slow.conn.ReadFrame(wait)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("slow client: connection still open after %d frames", got)
			}
			break
		}
		if f.Header.OpCode == ws.OpText {
			got++
		}
	}
	if got >= sent {
		t.Errorf("slow client received all %d messages: it was not dropped", got)
	}
	t.Logf("slow client had %d of %d messages in flight", got, sent)
	fast.conn.Close()
	sender.conn.Close()
	<-fastDone
	<-senderDone
}

// Shutting the server down closes raw clients with 1001 (going away).
func TestShutdown(t *testing.T) {
	cfg := testserver.Load(t, "default")
	a, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	c := dialRaw(t, srv.URL, "")
	c.send("before")
	c.expectText("before")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done <- a.Shutdown(ctx)
	}()
	c.expectClose(ws.StatusGoingAway)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := dialRawErr(srv.URL+"/", ""); err == nil {
		t.Fatal("raw client accepted after Shutdown")
	}
}

// Chat messages from Socket.IO users reach raw clients without ever
// waiting for them: a raw client that does not read is dropped while the
// Socket.IO users go on receiving every message.
func TestSlowClientNeverBlocksSocketIO(t *testing.T) {
	base := start(t, func(c *config.Config) {
		c.SocketIO.MaxBufferedBytes = 64 << 10
		c.Limits.EventsPerSecond = 0 // alice sends as fast as she can: no event rate limit
	})
	alice := chatUser(t, base, "alice")
	bob := chatUser(t, base, "bob")
	slow := dialRaw(t, base, "") // guest-1, never reads
	expectEvent(t, bob, "user joined", func(e userEvent) bool { return e.Username == "guest-1" })

	text := strings.Repeat("€", 2000) // the chat's largest message: 2,000 characters, 6,000 bytes
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dropped := false
	n := 0
	for ; n < 10_000 && !dropped; n++ {
		if err := alice.Emit("new message", text); err != nil {
			t.Fatal(err)
		}
		// bob gets each message (and, at some point, guest-1 leaving).
		for {
			e, err := bob.Next(ctx)
			if err != nil {
				t.Fatalf("bob, message %d: %v", n+1, err)
			}
			if e.Name == "user left" {
				var u userEvent
				if e.Arg(0, &u) == nil && u.Username == "guest-1" {
					dropped = true
				}
				continue
			}
			if e.Name == "new message" {
				break
			}
		}
	}
	if !dropped {
		t.Fatalf("slow raw client not dropped after %d chat messages", n)
	}
	t.Logf("slow raw client dropped after %d chat messages (%v); bob got every one", n, time.Since(began).Round(time.Millisecond))
	slow.conn.Close()
}
