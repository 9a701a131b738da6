package socketio

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"
)

// TestEchoAllocations bounds the allocations of one event in and one event
// out, end to end on a real WebSocket: the benchmark's echo, whose server
// CPU is mostly the kernel's, so that what remains is kept small. The
// client writes a prepared frame and only counts the bytes it gets back,
// so the count is the server's. Each round trip starts on an idle
// connection (AllocsPerRun runs one goroutine at a time), so it includes
// the netpoller's wake-up: a new reader goroutine and the re-arming.
//
// What is left per round trip, 11 at the time of writing (20 before): the
// reader goroutine and its read deadline's timeout error, the received
// message and its argument list, the packet and the Event handed to the
// handler, Emit's boxed argument and argument slice, and the outgoing
// message with its buffer and slice.
func TestEchoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	srv, url := startServer(t, nil)
	srv.Of("/").On("echo", func(s *Socket, e *Event) { _ = s.Emit("echo", e.Args) })
	c := connect(t, url, "/", "")

	text := `42["echo","` + strings.Repeat("x", 100) + `"]`
	frame := ws.MaskFrameInPlace(ws.NewTextFrame([]byte(text)))
	out, err := ws.CompileFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	reply := int64(2 + len(text)) // the same text, unmasked, in a short frame

	var received atomic.Int64
	readCounting(t, c, &received)

	want := int64(0)
	roundTrip := func() {
		if _, err := c.conn.Write(out); err != nil {
			t.Fatal(err)
		}
		want += reply
		awaitBytes(t, &received, want)
	}
	for range 20 {
		roundTrip() // warm the pools
	}
	allocs := testing.AllocsPerRun(500, roundTrip)
	t.Logf("%.2f allocations per echo round trip", allocs)
	if allocs > 12 {
		t.Fatalf("%.2f allocations per echo round trip, want at most 12", allocs)
	}
}
