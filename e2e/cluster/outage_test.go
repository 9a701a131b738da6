package cluster

import (
	"strconv"
	"testing"
	"time"
)

// TestRedisOutage: Redis is killed and restarted while two nodes serve
// clients. Local delivery never stops, the outage is reported and
// counted, and cluster delivery resumes once Redis is back.
func TestRedisOutage(t *testing.T) {
	r := startRedis(t)
	a, b := startNode(t, r.URL()), startNode(t, r.URL())
	ca, cb := dial(t, a.url, "r"), dial(t, b.url, "r")

	send := func(i int) {
		t.Helper()
		if err := a.nsp().To("r").Emit("tick", i); err != nil {
			t.Fatalf("emit during outage: %v", err)
		}
	}

	send(0)
	expectEvent(t, ca, "tick", 5*time.Second)
	expectEvent(t, cb, "tick", 5*time.Second)

	r.Stop()
	waitFor(t, 10*time.Second, "outage detected", func() bool { return !a.app.Cluster().Healthy() && !b.app.Cluster().Healthy() })
	if a.app.Cluster().Err() == nil || a.app.Cluster().Stats().Outages < 1 {
		t.Fatalf("outage not reported: %v %+v", a.app.Cluster().Err(), a.app.Cluster().Stats())
	}
	// Local delivery goes on, promptly, while Redis is down.
	for i := 1; i <= 5; i++ {
		start := time.Now()
		send(i)
		e := expectEvent(t, ca, "tick", 2*time.Second)
		if string(e.Args[0]) != strconv.Itoa(i) {
			t.Fatalf("tick %s, want %d", e.Args[0], i)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("local delivery took %v during the outage", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	noEvent(t, cb, "tick", 100*time.Millisecond) // B is cut off, not crashed
	// FetchSockets degrades to the local answer with an error.
	if socks, err := a.nsp().In("r").FetchSockets(t.Context()); err == nil || len(socks) != 1 || socks[0].ID != ca.ID {
		t.Fatalf("fetchSockets during outage: %v, %v", remoteIDs(socks), err)
	}

	// Long enough for the re-subscription backoff to reach its cap (0.1 s
	// doubling to 5 s): the resumption measured below is the worst case.
	time.Sleep(7 * time.Second)
	r.Start()
	back := time.Now()
	waitFor(t, 15*time.Second, "cluster resumed", func() bool { return a.app.Cluster().Healthy() && b.app.Cluster().Healthy() })
	// README's Redis section quotes this bound: the capped backoff (at
	// most 5 s), plus the reconnection itself.
	resumed := time.Since(back)
	t.Logf("cluster delivery resumed %v after Redis came back", resumed)
	if resumed > 7*time.Second {
		t.Errorf("cluster delivery resumed %v after Redis came back, want within the 5 s backoff cap (+2 s)", resumed)
	}
	send(100)
	if e := expectEvent(t, cb, "tick", 5*time.Second); string(e.Args[0]) != "100" {
		t.Fatalf("after restart B got tick %s", e.Args[0])
	}
	expectEvent(t, ca, "tick", 5*time.Second)
	// And the other way round.
	if err := b.nsp().To("r").Emit("tock"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ca, "tock", 5*time.Second)
	if s := a.app.Cluster().Stats(); s.Dropped == 0 {
		t.Fatalf("no dropped messages counted during the outage: %+v", s)
	}
}

// TestStartWithoutRedis: a node whose Redis is down at start serves its
// clients anyway and joins the cluster once Redis is up.
func TestStartWithoutRedis(t *testing.T) {
	r := startRedis(t)
	r.Stop()
	a := startNodeNoWait(t, r.URL())
	ca := dial(t, a.url, "r")
	if err := a.nsp().To("r").Emit("local"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ca, "local", 5*time.Second)
	if a.app.Cluster().Healthy() || a.app.Cluster().Err() == nil {
		t.Fatal("healthy without Redis")
	}
	waitFor(t, 5*time.Second, "outage counted", func() bool { return a.app.Cluster().Stats().Outages == 1 })

	r.Start()
	waitFor(t, 15*time.Second, "node joined the cluster", func() bool { return a.app.Cluster().Healthy() })
	b := startNode(t, r.URL())
	cb := dial(t, b.url, "r")
	if err := a.nsp().To("r").Emit("cluster"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, cb, "cluster", 5*time.Second)
	expectEvent(t, ca, "cluster", 5*time.Second)
}
