package streams

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// startApp starts the Switchboard program with the conformance apps on
// adapter type redis-streams, connection state recovery on.
func startApp(t *testing.T, redisURL string) (string, *server.Server) {
	t.Helper()
	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	cfg.EngineIOEcho = nil
	cfg.Adapter.Type, cfg.Adapter.URL = config.AdapterRedisStreams, redisURL
	cfg.SocketIO.ConnectionStateRecovery.Enabled = true
	if err := cfg.Validate(nil); err != nil {
		t.Fatal(err)
	}
	url, a := testserver.StartApp(t, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for !a.StreamsCluster().Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("node not connected to redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return url, a
}

// TestConfigRecoveryAcrossNodes: with adapter.type redis-streams in the
// configuration, a client cut from one node recovers on another with the
// broadcast it missed.
func TestConfigRecoveryAcrossNodes(t *testing.T) {
	r := testserver.StartRedis(t)
	urlA, a := startApp(t, r.URL())
	urlB, b := startApp(t, r.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := sioclient.Dial(ctx, urlA, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.SocketIO().Of("/").Emit("news", 1)
	e, err := cl.Expect(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	var off string
	if err := e.Arg(len(e.Args)-1, &off); err != nil || len(e.Args) != 2 {
		t.Fatalf("no offset: %s %v", e.Args, err)
	}
	_ = cl.Close()
	opts, _ := redis.ParseURL(r.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	for n := int64(0); n == 0; time.Sleep(10 * time.Millisecond) {
		if n, err = rdb.Exists(ctx, "sio:session:"+cl.PID).Result(); err != nil || ctx.Err() != nil {
			t.Fatalf("session not persisted: %v", err)
		}
		if n == 1 {
			break
		}
	}
	_ = b.SocketIO().Of("/").Emit("news", 2)
	cl2, err := sioclient.Dial(ctx, urlB, "/", map[string]any{"pid": cl.PID, "offset": off})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if cl2.ID != cl.ID {
		t.Fatal("not recovered on the other node")
	}
	e, err = cl2.Expect(ctx, "news")
	if err != nil || string(e.Args[0]) != "2" {
		t.Fatalf("missed packet: %v %v", e.Args, err)
	}
}
