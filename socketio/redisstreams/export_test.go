package redisstreams

import "time"

// SetKeepEvery sets how often c refreshes its kept sessions, for tests
// that cannot wait for the shortest period allowed.
func SetKeepEvery(c *Cluster, d time.Duration) {
	c.keep.mu.Lock()
	c.keep.every = d
	c.keep.mu.Unlock()
	select {
	case c.keep.kick <- struct{}{}:
	default:
	}
}

// LastRead returns the id of the last stream entry c's reader delivered.
func LastRead(c *Cluster) string {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return c.last
}
