package cluster

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestCloseFlushesQueue: what a node broadcast just before it closed its
// link to Redis reaches the other nodes. Before, Close dropped the
// publish queue, so a node shutting down lost the broadcasts of its last
// disconnections (the chat's "user left").
func TestCloseFlushesQueue(t *testing.T) {
	r := startRedis(t)
	a := startNode(t, r.URL())
	b := startNode(t, r.URL())
	c := dial(t, b.url)

	const n = 2000
	for i := range n {
		if err := a.nsp().Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.app.Cluster().Close(); err != nil {
		t.Fatal(err)
	}
	if st := a.app.Cluster().Stats(); st.Published != n || st.Dropped != 0 {
		t.Fatalf("node a: %+v, want %d published", st, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		e, err := c.Expect(ctx, "tick")
		if err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
		if got := string(e.Args[0]); got != strconv.Itoa(i) {
			t.Fatalf("tick %d: got %s", i, got)
		}
	}
}
