package engineio

import (
	"errors"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestSendAlone: what is sent after a SendAlone goes out at least
// AlonePause later, in order, whether sent inline, queued or posted; a
// close during the pause still flushes everything; over polling SendAlone
// is Send.
func TestSendAlone(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	text := func(s string) *Message { return NewTextMessage([]byte(s)) }
	t.Run("websocket", func(t *testing.T) {
		// A new connection each round: SendAlone pauses only a session
		// with nothing being written.
		for range 5 {
			conn := ts.dialWS("")
			r := ts.session()
			readText(t, conn) // open
			start := time.Now()
			if err := r.sess.SendAlone(text("first")); err != nil {
				t.Fatal(err)
			}
			_ = r.sess.Send(false, text("second"))
			_ = r.sess.Post(false, text("third"))
			if got := readText(t, conn); got != "4first" {
				t.Fatalf("got %q, want 4first", got)
			}
			if got := readText(t, conn); got != "4second" {
				t.Fatalf("got %q, want 4second", got)
			}
			if d := time.Since(start); d < AlonePause {
				t.Fatalf("second message %v after the first was sent, want at least %v", d, AlonePause)
			}
			if got := readText(t, conn); got != "4third" {
				t.Fatalf("got %q, want 4third", got)
			}
		}
	})
	t.Run("close during the pause", func(t *testing.T) {
		conn := ts.dialWS("")
		r := ts.session()
		readText(t, conn)
		_ = r.sess.SendAlone(text("last"))
		_ = r.sess.Send(false, text("after"))
		r.sess.Close()
		for _, want := range []string{"4last", "4after"} {
			if got := readText(t, conn); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		_, _, err := conn.Read(5 * time.Second)
		var ce wsutil.ClosedError
		if !errors.As(err, &ce) || ce.Code != ws.StatusNoStatusRcvd {
			t.Fatalf("after the last message: %v, want a close frame without code", err)
		}
	})
	t.Run("polling", func(t *testing.T) {
		sid, r := ts.openPolling()
		_ = r.sess.SendAlone(text("a"))
		_ = r.sess.Send(false, text("b"))
		if _, body := ts.request("GET", "transport=polling&sid="+sid, ""); body != "4a\x1e4b" {
			t.Fatalf("poll = %q, want both messages", body)
		}
	})
}
