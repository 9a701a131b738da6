package redisstreams_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
