package redisstreams_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// node is one in-process Switchboard node on the streams adapter.
type node struct {
	srv     *socketio.Server
	cluster *redisstreams.Cluster
	url     string
	mu      sync.Mutex
	sockets map[string]*socketio.Socket // connected, by id
	// stop shuts the node down (its clients' sessions are persisted);
	// the test's cleanup calls it too.
	stop func()
	// kill ends the node as a SIGKILL would, as far as the cluster
	// sees: its Redis clients, then its connections, are cut, so that its
	// disconnect path writes nothing.
	kill func()
}

func startNode(t *testing.T, redisURL string, recovery bool, mods ...func(*socketio.Options)) *node {
	t.Helper()
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ropts.DialTimeout, ropts.MaxRetries = time.Second, 1
	rdb := redis.NewClient(ropts)
	c, err := redisstreams.New(redisstreams.Options{Client: rdb, RequestTimeout: 2 * time.Second, BlockTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	opts := &socketio.Options{NewAdapter: c.NewAdapter, Logger: slog.New(slog.DiscardHandler)}
	if recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute, MaxPackets: 5}
	}
	for _, m := range mods {
		m(opts)
	}
	n := &node{srv: socketio.NewServer(opts), cluster: c, sockets: map[string]*socketio.Socket{}}
	n.srv.OnConnection(func(s *socketio.Socket) {
		n.mu.Lock()
		n.sockets[s.ID()] = s
		n.mu.Unlock()
		s.OnDisconnect(func(socketio.DisconnectReason) {
			n.mu.Lock()
			delete(n.sockets, s.ID())
			n.mu.Unlock()
		})
		socketio.Handle(s.Namespace(), "join", func(s *socketio.Socket, room string) string {
			_ = s.Join(room)
			return "ok"
		})
		socketio.Handle(s.Namespace(), "setData", func(s *socketio.Socket, v map[string]any) string {
			s.SetData(v)
			return "ok"
		})
	})
	hs := httptest.NewServer(n.srv)
	n.url = hs.URL
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.srv.Close(ctx)
			hs.Close()
			_ = c.Close()
			_ = rdb.Close()
		})
	}
	n.kill = func() {
		_ = rdb.Close()
		_ = c.Close()
		hs.CloseClientConnections()
		n.stop()
	}
	t.Cleanup(n.stop)
	waitFor(t, "node healthy", c.Healthy)
	return n
}

func (n *node) socket(id string) *socketio.Socket {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sockets[id]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, n *node, auth any) *sioclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, n.url, "/", auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func join(t *testing.T, c *sioclient.Client, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, "join", room); err != nil {
		t.Fatal(err)
	}
}

// expectNone checks that c gets no event for a while.
func expectNone(t *testing.T, c *sioclient.Client, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if e, err := c.Next(ctx); err == nil {
		t.Fatalf("unexpected event %s %s", e.Name, e.Args)
	}
}

func expect(t *testing.T, c *sioclient.Client, name string) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	if e.Name != name {
		t.Fatalf("got event %s %s, want %s", e.Name, e.Args, name)
	}
	return e
}

// TestCluster: three nodes share broadcasts to rooms, acknowledgements,
// fetchSockets, socketsJoin and server-side events.
func TestCluster(t *testing.T) {
	r := testserver.StartRedis(t)
	nodes := []*node{startNode(t, r.URL(), false), startNode(t, r.URL(), false), startNode(t, r.URL(), false)}
	in1, in2, out2 := dial(t, nodes[1], nil), dial(t, nodes[2], nil), dial(t, nodes[2], nil)
	join(t, in1, "r")
	join(t, in2, "r")
	nsp0 := nodes[0].srv.Of("/")

	if err := nsp0.To("r").Emit("hello", "world", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*sioclient.Client{in1, in2} {
		e := expect(t, c, "hello")
		if len(e.Args) != 2 || string(e.Args[0]) != `"world"` {
			t.Fatalf("args %s", e.Args)
		}
	}
	expectNone(t, out2, 200*time.Millisecond)

	// Acknowledgements from the clients of the other nodes.
	go func() {
		for _, c := range []*sioclient.Client{in1, in2} {
			e, err := c.Expect(context.Background(), "ask")
			if err == nil {
				_ = c.Ack(e.AckID, "yes from "+c.ID)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := nsp0.To("r").EmitWithAck(ctx, "ask")
	if err != nil || len(answers) != 2 {
		t.Fatalf("acks: %v %v", answers, err)
	}

	socks, err := nsp0.FetchSockets(ctx)
	if err != nil || len(socks) != 3 {
		t.Fatalf("fetchSockets: %d %v", len(socks), err)
	}
	rooms, err := nodes[0].srv.Of("/").Adapter().AllRooms(ctx)
	if err != nil || !slices.Contains(rooms, "r") {
		t.Fatalf("allRooms: %v %v", rooms, err)
	}

	// socketsJoin from node 0 reaches node 2's socket.
	if err := nsp0.In(out2.ID).SocketsJoin("r2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "remote join", func() bool {
		s := nodes[2].socket(out2.ID)
		return s != nil && slices.Contains(s.Rooms(), "r2")
	})

	for _, n := range nodes[1:] {
		n.srv.Of("/").OnServerSideEmit("ping", func(args socketio.Args, ack func(any)) { ack("pong") })
	}
	res, err := nsp0.ServerSideEmitWithAck(ctx, "ping")
	if err != nil || len(res) != 2 {
		t.Fatalf("serverSideEmit: %v %v", res, err)
	}
	var s string
	if err := json.Unmarshal(res[0].Raw(0), &s); err != nil || s != "pong" {
		t.Fatalf("answer %s %v", res[0].Raw(0), err)
	}
}

// TestPendingRequestsBound: past MaxPendingRequests, a request fails at
// once rather than adding to what awaits answers.
func TestPendingRequestsBound(t *testing.T) {
	r := testserver.StartRedis(t)
	opts, _ := redis.ParseURL(r.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	c, err := redisstreams.New(redisstreams.Options{Client: rdb, RequestTimeout: time.Second, MaxPendingRequests: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := socketio.NewServer(&socketio.Options{NewAdapter: c.NewAdapter, Logger: slog.New(slog.DiscardHandler)})
	defer srv.Close(context.Background())
	waitFor(t, "healthy", c.Healthy)
	// A silent member: counted as a node, never answers.
	ps := rdb.Subscribe(context.Background(), "socket.io#/#")
	defer ps.Close()
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := srv.Of("/").FetchSockets(context.Background())
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := srv.Of("/").FetchSockets(context.Background()); !errors.Is(err, redisstreams.ErrTooManyRequests) {
		t.Fatalf("second request: %v, want ErrTooManyRequests", err)
	}
	if err := <-done; !errors.Is(err, redisstreams.ErrTimeout) {
		t.Fatalf("first request: %v, want ErrTimeout", err)
	}
	if _, err := srv.Of("/").FetchSockets(context.Background()); !errors.Is(err, redisstreams.ErrTimeout) {
		t.Fatalf("after the first ended: %v, want ErrTimeout", err)
	}
}
