package redisstreams_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// lastOffset is the offset a client remembers: an event's last argument.
func lastOffset(t *testing.T, e sioclient.Event) string {
	t.Helper()
	var off string
	if err := e.Arg(len(e.Args)-1, &off); err != nil {
		t.Fatalf("no offset in %s: %v", e.Args, err)
	}
	return off
}

// sessionKept waits until the node persisted the client's session.
func sessionKept(t *testing.T, url, pid string) {
	t.Helper()
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	waitFor(t, "session persisted", func() bool {
		n, _ := rdb.Exists(context.Background(), "sio:session:"+pid).Result()
		return n == 1
	})
}

// TestRecoveryAcrossNodes: a client cut from node A, while node C
// broadcasts, reconnects to node B and gets its socket back (id, rooms,
// data) and each missed packet once, in order, with its offset; then the
// live ones. Also when A is gone, and not past the cap of missed packets.
func TestRecoveryAcrossNodes(t *testing.T) {
	r, a, b, c, cl, off := threeNodesOneClient(t)
	nspC := c.srv.Of("/")
	id, pid := cl.ID, cl.PID
	_ = cl.Close()
	sessionKept(t, r.URL(), pid)

	for i := 1; i <= 3; i++ {
		_ = nspC.To("r").Emit("m", i)
		_ = nspC.To("other").Emit("m", -i) // not for it
	}
	_ = nspC.Except("r").Emit("m", -10)
	readAll(t, r.URL(), b) // they are then in B's past

	cl2 := dial(t, b, map[string]any{"pid": pid, "offset": off})
	if cl2.ID != id {
		t.Fatalf("id %s, want %s (not recovered)", cl2.ID, id)
	}
	for i := 1; i <= 3; i++ {
		e := expect(t, cl2, "m")
		var n int
		_ = e.Arg(0, &n)
		if n != i || len(e.Args) != 2 {
			t.Fatalf("missed packet %d: got %s", i, e.Args)
		}
		off = lastOffset(t, e)
	}
	// The connection handler that records it may run after the client
	// has its packets.
	waitFor(t, "the socket recorded on B", func() bool { return b.socket(id) != nil })
	s := b.socket(id)
	if s == nil || !s.Recovered() || !slices.Contains(s.Rooms(), "r") {
		t.Fatalf("socket on B: %v", s)
	}
	if d, _ := json.Marshal(s.Data()); string(d) != `{"name":"ann"}` {
		t.Fatalf("data %s", d)
	}
	_ = nspC.To("r").Emit("m", 4)
	e := expect(t, cl2, "m")
	if string(e.Args[0]) != "4" {
		t.Fatalf("live packet %s", e.Args)
	}
	expectNone(t, cl2, 200*time.Millisecond)
	off = lastOffset(t, e)

	// A session is taken once.
	_ = cl2.Close()
	sessionKept(t, r.URL(), pid)
	_ = nspC.To("r").Emit("m", 5)
	cl3 := dial(t, a, map[string]any{"pid": pid, "offset": off})
	if cl3.ID != id {
		t.Fatal("not recovered back on A")
	}
	if e := expect(t, cl3, "m"); string(e.Args[0]) != "5" {
		t.Fatalf("missed %s", e.Args)
	}
	// The session of a connected socket is kept too (so that it survives
	// its node's death): the same client reconnecting elsewhere before A
	// sees the cut takes it over (see TestRecoveryTakeover).
	cl4 := dial(t, b, map[string]any{"pid": pid, "offset": off})
	if cl4.ID != id {
		t.Fatal("a connected socket's session not taken over")
	}
	_ = cl4.Close()

	// Over the cap (MaxPackets 5): the client starts fresh.
	off = lastOffset(t, func() sioclient.Event { _ = nspC.To("r").Emit("m", 6); return expect(t, cl3, "m") }())
	_ = cl3.Close()
	sessionKept(t, r.URL(), pid)
	for i := range 6 {
		_ = nspC.To("r").Emit("m", fmt.Sprint("many", i))
	}
	// B replays up to what its reader has read, and delivers the rest
	// live: only once it has read all six are they all missed packets.
	readAll(t, r.URL(), b)
	cl5 := dial(t, b, map[string]any{"pid": pid, "offset": off})
	if cl5.ID == id {
		t.Fatal("recovered past the cap of missed packets")
	}
	expectNone(t, cl5, 200*time.Millisecond)
}

// TestRecoveryNodeStopped: the node a client was on shuts down (its
// sessions are persisted as it goes); the client recovers on another node
// with what was broadcast meanwhile.
func TestRecoveryNodeStopped(t *testing.T) {
	r := testserver.StartRedis(t)
	a, b := startNode(t, r.URL(), true), startNode(t, r.URL(), true)
	cl := dial(t, a, nil)
	join(t, cl, "r")
	nspB := b.srv.Of("/")
	_ = nspB.To("r").Emit("m", 0)
	off := lastOffset(t, expect(t, cl, "m"))
	a.stop()
	sessionKept(t, r.URL(), cl.PID)
	_ = nspB.To("r").Emit("m", 1)
	_ = nspB.To("r").Emit("m", 2)
	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID != cl.ID {
		t.Fatal("not recovered")
	}
	for i := 1; i <= 2; i++ {
		if e := expect(t, cl2, "m"); string(e.Args[0]) != fmt.Sprint(i) {
			t.Fatalf("missed packet %d: %s", i, e.Args)
		}
	}
	expectNone(t, cl2, 200*time.Millisecond)
}

// TestRecoveryKeepsNodeValues: values set with SetValue stay on their
// node: a socket that has some recovers there, with them, and connects
// fresh on another node; its event bucket is not refilled elsewhere.
func TestRecoveryKeepsNodeValues(t *testing.T) {
	r := testserver.StartRedis(t)
	a, b := startNode(t, r.URL(), true), startNode(t, r.URL(), true)
	a.srv.Of("/").Use(func(s *socketio.Socket) error {
		s.SetValue("claims", "alice")
		return nil
	})
	cl := dial(t, a, nil)
	_ = b.srv.Of("/").Emit("m", 0)
	off := lastOffset(t, expect(t, cl, "m"))
	_ = cl.Close()
	sessionKept(t, r.URL(), cl.PID)
	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID == cl.ID {
		t.Fatal("recovered on another node without its values")
	}

	cl3 := dial(t, a, nil)
	off = lastOffset(t, func() sioclient.Event { _ = b.srv.Of("/").Emit("m", 1); return expect(t, cl3, "m") }())
	_ = cl3.Close()
	sessionKept(t, r.URL(), cl3.PID)
	cl4 := dial(t, a, map[string]any{"pid": cl3.PID, "offset": off})
	if cl4.ID != cl3.ID {
		t.Fatal("not recovered on its own node")
	}
	waitFor(t, "the socket recorded on A", func() bool { return a.socket(cl4.ID) != nil })
	if s := a.socket(cl4.ID); s == nil || s.Value("claims") != "alice" {
		t.Fatalf("values not restored: %v", s)
	}
}

// TestRecoveryKeepsEventBucket: a socket recovered on another node has
// its event rate limit's bucket as it was, not a fresh burst.
func TestRecoveryKeepsEventBucket(t *testing.T) {
	r := testserver.StartRedis(t)
	limit := func(o *socketio.Options) { o.Limits.EventsPerSecond, o.Limits.EventBurst = 0.001, 5 }
	a, b := startNode(t, r.URL(), true, limit), startNode(t, r.URL(), true, limit)
	cl := dial(t, a, nil)
	for range 4 {
		join(t, cl, "r")
	}
	_ = b.srv.Of("/").Emit("m", 0)
	off := lastOffset(t, expect(t, cl, "m"))
	_ = cl.Close()
	sessionKept(t, r.URL(), cl.PID)
	cl2 := dial(t, b, map[string]any{"pid": cl.PID, "offset": off})
	if cl2.ID != cl.ID {
		t.Fatal("not recovered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The last token, then one past the bucket's level, which the server
	// refuses (its answer is an error, not the handler's "ok").
	for i, want := range []bool{true, false} {
		ans, err := cl2.EmitWithAck(ctx, "join", "r")
		if err != nil || len(ans) == 0 {
			t.Fatalf("join %d: %v %v", i, ans, err)
		}
		if got := string(ans[0]) == `"ok"`; got != want {
			t.Fatalf("join %d answered %s: the bucket was refilled or emptied by recovery", i, ans[0])
		}
	}
}

// readAll waits until n's reader has read the stream to its last entry.
func readAll(t *testing.T, url string, n *node) {
	t.Helper()
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	msgs, err := rdb.XRevRangeN(context.Background(), "socket.io", "+", "-", 1).Result()
	if err != nil || len(msgs) == 0 {
		t.Fatalf("the stream's last entry: %v %v", msgs, err)
	}
	waitFor(t, "the reader at "+msgs[0].ID, func() bool { return redisstreams.LastRead(n.cluster) == msgs[0].ID })
}

// threeNodesOneClient starts Redis and three nodes with recovery, and a
// client on the first (a) in room "r" with data {"name":"ann"} that got
// one broadcast from the third (c), whose offset it returns.
func threeNodesOneClient(t *testing.T) (r *testserver.Redis, a, b, c *node, cl *sioclient.Client, off string) {
	t.Helper()
	r = testserver.StartRedis(t)
	a, b, c = startNode(t, r.URL(), true), startNode(t, r.URL(), true), startNode(t, r.URL(), true)
	cl = dial(t, a, nil)
	join(t, cl, "r")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.EmitWithAck(ctx, "setData", map[string]any{"name": "ann"}); err != nil {
		t.Fatal(err)
	}
	_ = c.srv.Of("/").To("r").Emit("m", 0)
	return r, a, b, c, cl, lastOffset(t, expect(t, cl, "m"))
}

// sessionHolds waits until the session kept for pid holds text (a room,
// a value of its data: msgpack keeps strings as they are).
func sessionHolds(t *testing.T, url, pid, text string) {
	t.Helper()
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	waitFor(t, "session kept with "+text, func() bool {
		b, _ := base64.StdEncoding.DecodeString(rdb.Get(context.Background(), "sio:session:"+pid).Val())
		return bytes.Contains(b, []byte(text))
	})
}
