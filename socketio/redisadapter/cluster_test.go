package redisadapter

import "testing"

// TestSendBounds: the publish queue is bounded in messages and bytes, and
// nothing is queued while Redis is down.
func TestSendBounds(t *testing.T) {
	c := &Cluster{opts: Options{QueueBytes: 100}, queue: make(chan outMsg, 3)}
	c.send("ch", make([]byte, 10)) // down: dropped
	if len(c.queue) != 0 || c.Stats().Dropped != 1 {
		t.Fatalf("queued while down: %d, %+v", len(c.queue), c.Stats())
	}
	c.healthy.Store(true)
	c.send("ch", make([]byte, 60))
	c.send("ch", make([]byte, 60)) // over 100 bytes: dropped
	c.send("ch", make([]byte, 40))
	c.send("ch", make([]byte, 0))
	c.send("ch", make([]byte, 0)) // over 3 messages: dropped
	if len(c.queue) != 3 || c.queued.Load() != 100 || c.Stats().Dropped != 3 {
		t.Fatalf("queue %d messages, %d bytes, %+v", len(c.queue), c.queued.Load(), c.Stats())
	}
}
