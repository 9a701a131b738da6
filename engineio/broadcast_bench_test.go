package engineio

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// discardConn is a net.Conn that accepts every write.
type discardConn struct {
	net.Conn
	written atomic.Int64
}

func (c *discardConn) Write(p []byte) (int, error) { c.written.Add(int64(len(p))); return len(p), nil }

func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }
func (c *discardConn) Close() error                     { return nil }

type nopHandler struct{}

func (nopHandler) OnMessage([]byte, bool)     {}
func (nopHandler) OnClose(CloseReason, error) {}

// webSocketSessions returns n open sessions on discarding WebSockets.
func webSocketSessions(n int) ([]*Session, []*discardConn) {
	srv := NewServer(func(*Session) SessionHandler { return nopHandler{} }, nil)
	sessions := make([]*Session, n)
	conns := make([]*discardConn, n)
	for i := range sessions {
		conns[i] = &discardConn{}
		sessions[i] = &Session{srv: srv, id: newID(), handler: nopHandler{}, ws: &wsConn{conn: conns[i]}}
	}
	return sessions, conns
}

func waitFlushed(sessions []*Session) {
	for _, s := range sessions {
		for {
			s.mu.Lock()
			idle := !s.flushing && len(s.queue) == 0
			s.mu.Unlock()
			if idle {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// BenchmarkBroadcastSend measures what one recipient of a broadcast costs
// the engine: queueing a shared, pre-encoded message and writing it.
func BenchmarkBroadcastSend(b *testing.B) {
	const recipients = 1000
	sessions, conns := webSocketSessions(recipients)
	msg := NewTextMessage(bytes.Repeat([]byte("x"), 100))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range sessions {
			if err := s.Post(false, msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	waitFlushed(sessions)
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*recipients), "ns/recipient")
	var total int64
	for _, c := range conns {
		total += c.written.Load()
	}
	if want := int64(b.N) * recipients * int64(len(msg.data)+int(msg.hlen)); total != want {
		b.Fatalf("wrote %d bytes, want %d", total, want)
	}
}

// TestBroadcastAllocations: a recipient costs no allocation once its
// session is warm (queue slice grown, writer goroutines reused).
func TestBroadcastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const recipients = 100
	sessions, _ := webSocketSessions(recipients)
	msg := NewTextMessage([]byte("hello"))
	send := func() {
		for _, s := range sessions {
			_ = s.Post(false, msg)
		}
		waitFlushed(sessions)
	}
	send()
	allocs := testing.AllocsPerRun(50, send)
	if perRecipient := allocs / recipients; perRecipient > 0.1 {
		t.Fatalf("%.2f allocations per recipient", perRecipient)
	} else {
		t.Logf("%.2f allocations per recipient", perRecipient)
	}
}
