package engineio

import (
	"bytes"
	"testing"
)

// TestMixedBroadcastAllocations: a binary broadcast to v4 and v3 sessions
// alike costs no allocation per recipient; the v3 framing (type byte) is
// written from the shared message, and the bytes on each wire are right.
func TestMixedBroadcastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const recipients = 100
	sessions, conns := webSocketSessions(recipients)
	for i, s := range sessions {
		if i%2 == 1 {
			s.eio3, s.ws.eio3 = true, true
		}
	}
	text := NewTextMessage([]byte(`51-["e",{"_placeholder":true,"num":0}]`))
	bin := NewBinaryMessage(bytes.Repeat([]byte{7}, 100))
	send := func() {
		b := NewBatch()
		for _, s := range sessions {
			_ = b.Post(s, false, text, bin)
		}
		b.Flush()
		waitFlushed(sessions)
	}
	send()
	const runs = 50
	allocs := testing.AllocsPerRun(runs, send)
	if perRecipient := allocs / recipients; perRecipient > 0.1 {
		t.Fatalf("%.2f allocations per recipient", perRecipient)
	} else {
		t.Logf("%.2f allocations per recipient", perRecipient)
	}
	sends := int64(runs + 2) // AllocsPerRun runs once more to warm up
	v4 := int64(int(text.hlen) + len(text.data) + int(bin.hlen) + len(bin.data))
	for i, c := range conns {
		want := sends * v4
		if i%2 == 1 {
			want += sends // the type byte of each binary frame
		}
		if got := c.written.Load(); got != want {
			t.Errorf("session %d (v3: %v): wrote %d bytes, want %d", i, i%2 == 1, got, want)
		}
	}
}
