package engineio

import (
	"errors"
	"testing"
)

// TestStatsDropsAndLimits: a volatile message to a busy session is dropped
// and counted; a queue going over MaxBufferedBytes closes the session and
// counts a max_buffered_bytes rejection.
func TestStatsDropsAndLimits(t *testing.T) {
	sessions, _ := webSocketSessions(1)
	s := sessions[0]
	s.srv.opts.MaxBufferedBytes = 100
	s.mu.Lock()
	s.flushing = true // a writer owns the socket: the transport is busy
	s.mu.Unlock()
	if err := s.Post(true, NewTextMessage([]byte("v"))); !errors.Is(err, ErrDropped) {
		t.Fatalf("volatile post: %v", err)
	}
	if err := s.Post(false, NewTextMessage(make([]byte, 60))); err != nil {
		t.Fatal(err)
	}
	if err := s.Post(false, NewTextMessage(make([]byte, 60))); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("over the bound: %v", err)
	}
	st := s.srv.Stats()
	if st.VolatileDropped != 1 || st.Rejections[LimitMaxBufferedBytes] != 1 || st.Rejections[LimitMaxPayload] != 0 ||
		st.Closes[ReasonTransportError] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
