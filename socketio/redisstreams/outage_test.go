package redisstreams_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// TestRedisRestart: after Redis restarts, the readers resume; an entry
// appended while a node's reader was still reconnecting reaches that
// node's clients (the pub/sub adapter drops such messages).
func TestRedisRestart(t *testing.T) {
	r := testserver.StartRedis(t)
	a, b := startNode(t, r.URL(), false), startNode(t, r.URL(), false)
	cl := dial(t, b, nil)
	_ = a.srv.Of("/").Emit("before")
	expect(t, cl, "before")

	r.Stop()
	waitFor(t, "nodes see the outage", func() bool { return !a.cluster.Healthy() && !b.cluster.Healthy() })
	time.Sleep(1500 * time.Millisecond) // the readers' backoff grows past a few hundred ms
	r.Start()
	// Append as a node does, as soon as Redis answers, before B's reader
	// (in its backoff) is back.
	opts, _ := redis.ParseURL(r.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", MaxLen: 10000, Approx: true, Values: []any{
		"uid", "othernode", "nsp", "/", "type", "3",
		"data", `{"packet":{"type":2,"data":["during",1],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}`,
	}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	readerWasBack := b.cluster.Healthy() // reader or subscription
	e := expect(t, cl, "during")
	if string(e.Args[0]) != "1" {
		t.Fatalf("args %s", e.Args)
	}
	if readerWasBack {
		t.Log("B's reader was already back when the entry was appended: the resumption was not exercised")
	}
	waitFor(t, "nodes healthy", func() bool { return a.cluster.Healthy() && b.cluster.Healthy() })
	_ = a.srv.Of("/").Emit("after")
	expect(t, cl, "after")
}

// TestBroadcastDuringOutage: broadcasts a node sends while Redis is down
// wait on it and reach every node once Redis is back, in order, as the
// reference's (its Redis client queues the XADD); with recovery on, the
// sender's own clients get them then too, with their offset.
func TestBroadcastDuringOutage(t *testing.T) {
	for _, recovery := range []bool{false, true} {
		t.Run(fmt.Sprintf("recovery=%v", recovery), func(t *testing.T) {
			r := testserver.StartRedis(t)
			a, b := startNode(t, r.URL(), recovery), startNode(t, r.URL(), recovery)
			onA, onB := dial(t, a, nil), dial(t, b, nil)
			r.Stop()
			waitFor(t, "nodes see the outage", func() bool { return !a.cluster.Healthy() && !b.cluster.Healthy() })
			for _, ev := range []string{"during1", "during2"} {
				if err := a.srv.Of("/").Emit(ev); err != nil {
					t.Fatal(err)
				}
			}
			if !recovery {
				expect(t, onA, "during1") // delivered locally at once
				expect(t, onA, "during2")
			}
			expectNone(t, onB, 300*time.Millisecond)
			r.Start()
			for _, c := range []*sioclient.Client{onB, onA}[:map[bool]int{false: 1, true: 2}[recovery]] {
				e1, e2 := expect(t, c, "during1"), expect(t, c, "during2")
				if recovery && (len(e1.Args) != 1 || len(e2.Args) != 1) {
					t.Fatalf("no offsets: %s %s", e1.Args, e2.Args)
				}
			}
			_ = a.srv.Of("/").Emit("after")
			expect(t, onB, "after")
			expect(t, onA, "after")
		})
	}
}
