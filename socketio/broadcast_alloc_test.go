package socketio

import (
	"sync/atomic"
	"testing"
)

// TestBroadcastAllocations: a room broadcast costs no allocation per
// recipient with either parser, end to end on real WebSocket connections
// (the engine's own allocation tests use connections without a file
// descriptor, which skip the non-blocking write path). With msgpack the
// frame is encoded once, cached on the packet and shared, so it costs what
// JSON costs. The recipients' readers only count bytes, so that each
// broadcast is measured until its last frame is written.
func TestBroadcastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	perRecipient := map[Parser]float64{}
	for _, parser := range []Parser{ParserJSON, ParserMsgPack} {
		t.Run(parser.String(), func(t *testing.T) {
			const recipients = 100
			srv, url := startServer(t, &Options{Parser: parser})
			joined := make(chan struct{}, recipients)
			srv.Of("/").OnConnection(func(s *Socket) { _ = s.Join("room"); joined <- struct{}{} })
			var received atomic.Int64
			for range recipients {
				var c *rawClient
				if parser == ParserMsgPack {
					c = connectMsgpack(t, url, "/")
				} else {
					c = connect(t, url, "/", "")
				}
				readCounting(t, c, &received)
			}
			for range recipients {
				<-joined // OnConnection may run after the CONNECT answer
			}
			p := NewPacket("/", NoAck, "tick", map[string]any{"n": 1, "s": "hello"}, []byte{1, 2, 3})
			msgs, err := p.framesFor(parser)
			if err != nil {
				t.Fatal(err)
			}
			perBroadcast := int64(0)
			for _, m := range msgs {
				perBroadcast += int64(m.Len() + 2) // WebSocket header of a short frame
			}
			perBroadcast *= recipients
			if parser == ParserMsgPack {
				if len(msgs) != 1 || !msgs[0].Binary() {
					t.Fatalf("msgpack broadcast is %d frames", len(msgs))
				}
			}
			opts := &BroadcastOptions{Rooms: []string{"room"}}
			adapter := srv.Of("/").adapter
			want := received.Load()
			send := func() {
				if err := adapter.Broadcast(p, opts); err != nil {
					t.Fatal(err)
				}
				want += perBroadcast
				awaitBytes(t, &received, want)
			}
			for range 5 {
				send() // warm the queues and writer goroutines
			}
			allocs := testing.AllocsPerRun(50, send)
			perRecipient[parser] = allocs / recipients
			if allocs/recipients > 0.1 {
				t.Fatalf("%.0f allocations per broadcast to %d recipients: %.2f per recipient", allocs, recipients, allocs/recipients)
			}
			t.Logf("%.0f allocations per broadcast to %d recipients: %.2f per recipient", allocs, recipients, allocs/recipients)
		})
	}
	if d := perRecipient[ParserMsgPack] - perRecipient[ParserJSON]; d > 0.05 {
		t.Fatalf("msgpack costs %.2f more allocations per recipient than JSON", d)
	}
}
