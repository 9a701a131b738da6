package redisstreams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestRecoveryNodeKilled: the node a client was on dies without running
// its disconnect path; the client recovers on another node with its id,
// rooms, data (set after it connected) and every broadcast it missed,
// once, in order.
func TestRecoveryNodeKilled(t *testing.T) {
	r, a, b, c, cl, off := threeNodesOneClient(t)
	nspC := c.srv.Of("/")
	sessionHolds(t, r.URL(), cl.PID, "ann") // the keeper wrote it, with the data set after connect
	a.kill()
	for i := 1; i <= 3; i++ {
		_ = nspC.To("r").Emit("m", i)
		_ = nspC.To("other").Emit("m", -i)
	}
	readAll(t, r.URL(), b)
	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID != cl.ID {
		t.Fatalf("id %s, want %s (not recovered)", cl2.ID, cl.ID)
	}
	for i := 1; i <= 3; i++ {
		if e := expect(t, cl2, "m"); string(e.Args[0]) != fmt.Sprint(i) {
			t.Fatalf("missed packet %d: %s", i, e.Args)
		}
	}
	// The connection handler that records it may run after the client
	// has its packets.
	waitFor(t, "the socket recorded on B", func() bool { return b.socket(cl.ID) != nil })
	s := b.socket(cl.ID)
	if s == nil || !s.Recovered() || !slices.Contains(s.Rooms(), "r") {
		t.Fatalf("socket on B: %v", s)
	}
	if d, _ := json.Marshal(s.Data()); string(d) != `{"name":"ann"}` {
		t.Fatalf("data %s", d)
	}
	_ = nspC.To("r").Emit("m", 4)
	if e := expect(t, cl2, "m"); string(e.Args[0]) != "4" {
		t.Fatalf("live packet %s", e.Args)
	}
	expectNone(t, cl2, 200*time.Millisecond)
}

// TestRecoveryTakeover: the client reconnects to B while A has not yet
// seen its connection cut. B takes the session; A's late writes (a room
// joined, the final state when A sees the cut) leave B's alone, and A
// ends its stale socket once a write or a refresh finds the session taken.
func TestRecoveryTakeover(t *testing.T) {
	r := testserver.StartRedis(t)
	rdb := redisClient(t, r.URL())
	a, b := startNode(t, r.URL(), true), startNode(t, r.URL(), true)
	cl := dial(t, a, nil)
	join(t, cl, "r")
	_ = b.srv.Of("/").To("r").Emit("m", 0)
	off := lastOffset(t, expect(t, cl, "m"))
	key := "sio:session:" + cl.PID
	waitFor(t, "session kept", func() bool { return rdb.Exists(context.Background(), key).Val() == 1 })

	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID != cl.ID {
		t.Fatal("not recovered")
	}
	var kept string
	waitFor(t, "B keeps the session", func() bool {
		kept = rdb.Get(context.Background(), key).Val()
		return kept != ""
	})
	// Late, on A: a room joined, then the final state.
	join(t, cl, "late")
	time.Sleep(100 * time.Millisecond)
	if v := rdb.Get(context.Background(), key).Val(); v != kept {
		t.Fatal("A's late join overwrote the session B took")
	}
	waitFor(t, "A ends its stale socket", func() bool { return a.socket(cl.ID) == nil })
	if v := rdb.Get(context.Background(), key).Val(); v != kept {
		t.Fatal("A's final persist overwrote the session B took")
	}
	// The connection handler that records it may run after the client
	// has its packets.
	waitFor(t, "the socket recorded on B", func() bool { return b.socket(cl.ID) != nil })
	s := b.socket(cl.ID)
	if s == nil || slices.Contains(s.Rooms(), "late") {
		t.Fatalf("socket on B: %v", s)
	}
	// Late, on A, for another client: the final state when A sees the
	// cut of a connection whose session B took.
	cl3 := dial(t, a, nil)
	_ = b.srv.Of("/").Emit("m", 1)
	off3 := lastOffset(t, expect(t, cl3, "m"))
	key3 := "sio:session:" + cl3.PID
	waitFor(t, "session kept", func() bool { return rdb.Exists(context.Background(), key3).Val() == 1 })
	if dial(t, b, map[string]any{"pid": cl3.PID, "offset": off3}).ID != cl3.ID {
		t.Fatal("not recovered")
	}
	var kept3 string
	waitFor(t, "B keeps the session", func() bool {
		kept3 = rdb.Get(context.Background(), key3).Val()
		return kept3 != ""
	})
	_ = cl3.Close()
	waitFor(t, "A sees the cut", func() bool { return a.socket(cl3.ID) == nil })
	if v := rdb.Get(context.Background(), key3).Val(); v != kept3 {
		t.Fatal("A's final persist overwrote the session B took")
	}

	// A third client, on A: nothing happens to it there after B took its
	// session; A's next refresh finds it taken and ends the stale socket.
	cl4 := dial(t, a, nil)
	_ = b.srv.Of("/").Emit("m", 2)
	off4 := lastOffset(t, expect(t, cl4, "m"))
	waitFor(t, "session kept", func() bool { return rdb.Exists(context.Background(), "sio:session:"+cl4.PID).Val() == 1 })
	if dial(t, b, map[string]any{"pid": cl4.PID, "offset": off4}).ID != cl4.ID {
		t.Fatal("not recovered")
	}
	time.Sleep(100 * time.Millisecond) // B keeps it
	redisstreams.SetKeepEvery(a.cluster, 100*time.Millisecond)
	waitFor(t, "A's refresh ends its stale socket", func() bool { return a.socket(cl4.ID) == nil })

	// Once taken, never again from what A wrote.
	_ = cl2.Close()
	waitFor(t, "B sees the cut", func() bool { return b.socket(cl.ID) == nil })
	if rdb.Exists(context.Background(), key).Val() != 1 {
		t.Fatal("B's final state not persisted")
	}
}

// TestKeepRefresh: a connected socket's session outlives
// MaxDisconnectionDuration in Redis, its TTL refreshed, and is gone once
// the socket leaves for good.
func TestKeepRefresh(t *testing.T) {
	r := testserver.StartRedis(t)
	rdb := redisClient(t, r.URL())
	short := func(o *socketio.Options) {
		o.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Second}
	}
	a, b := startNode(t, r.URL(), true, short), startNode(t, r.URL(), true, short)
	redisstreams.SetKeepEvery(a.cluster, 200*time.Millisecond)
	cl := dial(t, a, nil)
	key := "sio:session:" + cl.PID
	waitFor(t, "session kept", func() bool { return rdb.Exists(context.Background(), key).Val() == 1 })
	if ttl := rdb.PTTL(context.Background(), key).Val(); ttl <= 0 || ttl > 1200*time.Millisecond {
		t.Fatalf("TTL %v, want MaxDisconnectionDuration + the refresh period", ttl)
	}
	time.Sleep(2500 * time.Millisecond)
	if rdb.Exists(context.Background(), key).Val() != 1 {
		t.Fatal("session expired while its socket is connected")
	}
	_ = b.srv.Of("/").Emit("m", 0)
	off := lastOffset(t, expect(t, cl, "m"))
	a.kill()
	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID != cl.ID {
		t.Fatal("not recovered after the node died")
	}
	// A disconnect that is not recoverable deletes the kept session.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = cl2.EmitWithAck(ctx, "join", "x")
	waitFor(t, "kept again on B", func() bool { return rdb.Exists(context.Background(), key).Val() == 1 })
	b.socket(cl.ID).Disconnect(false)
	waitFor(t, "session deleted", func() bool { return rdb.Exists(context.Background(), key).Val() == 0 })
}
