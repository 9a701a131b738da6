package socketio

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// readCounting reads c in a goroutine until the connection fails, adding
// the bytes it gets to n: for tests that only need to know that frames
// arrived, such as the allocation tests, whose count must not include a
// client's parsing. It clears the read deadline connect's reads leave.
func readCounting(t *testing.T, c *rawClient, n *atomic.Int64) {
	_ = c.conn.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			m, err := c.r.Read(buf)
			n.Add(int64(m))
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.conn.Close(); <-done })
}

// awaitBytes yields the CPU until n reaches want, for 5 s at most.
func awaitBytes(t *testing.T, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("received %d bytes, want %d", n.Load(), want)
		}
		runtime.Gosched()
	}
}
