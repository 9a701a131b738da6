package socketio

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// TestForcedCloseWithFailedFlushReleasesSession: the server closes a
// WebSocket gracefully (here for a malformed packet), flushing what it had
// queued first, and the client resets the connection instead of reading.
// The flush fails; the session must still go, with its queue and its
// connection slot, not linger until shutdown.
func TestForcedCloseWithFailedFlushReleasesSession(t *testing.T) {
	srv, url := startServer(t, &Options{Engine: engineio.Options{MaxBufferedBytes: 64 << 20, WriteTimeout: time.Second}})
	conns := make(chan *Socket, 1)
	srv.Of("/").OnConnection(func(s *Socket) { conns <- s })
	c := connect(t, url, "/", "")
	s := <-conns
	// The client reads nothing: the socket buffers fill and the rest
	// stays queued.
	big := strings.Repeat("x", 64<<10)
	for range 400 {
		if err := s.Emit("big", big); err != nil {
			t.Fatal(err)
		}
	}
	c.send("4x") // malformed: closed gracefully, behind the queue
	waitFor(t, "the socket to be closed", func() bool { return !s.Connected() })
	time.Sleep(50 * time.Millisecond) // the engine close follows at once
	_ = c.conn.(*net.TCPConn).SetLinger(0)
	c.conn.Close() // RST: the pending flush fails
	// Five times the write timeout.
	deadline := time.Now().Add(5 * time.Second)
	for srv.Engine().Count() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d session(s) still open 5s after their transport failed during a graceful close", srv.Engine().Count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
