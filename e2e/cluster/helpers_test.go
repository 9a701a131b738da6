package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
)

// startRedis starts a redis-server for the test.
func startRedis(t *testing.T) *testserver.Redis { return testserver.StartRedis(t) }

// node is one in-process Switchboard server.
type node struct {
	app *server.Server
	url string
}

func (n *node) nsp() *socketio.Namespace { return n.app.SocketIO().Of("/") }

// startNode starts Switchboard with the conformance apps and the Redis
// adapter (key prefix "socket.io", as Node's default); mods change the
// configuration before it starts.
func startNode(t *testing.T, redisURL string, mods ...func(*config.Config)) *node {
	t.Helper()
	n := startNodeNoWait(t, redisURL, mods...)
	waitFor(t, 10*time.Second, "node subscribed to redis", func() bool { return n.app.Cluster().Healthy() })
	return n
}

// startNodeNoWait is startNode without waiting for Redis.
func startNodeNoWait(t *testing.T, redisURL string, mods ...func(*config.Config)) *node {
	t.Helper()
	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	cfg.EngineIOEcho = nil
	cfg.Adapter = config.Adapter{Type: config.AdapterRedis, URL: redisURL, KeyPrefix: "socket.io", RequestTimeout: 3 * time.Second}
	cfg.API = &config.API{Key: apiKey}
	for _, m := range mods {
		m(cfg)
	}
	if err := cfg.Validate(nil); err != nil {
		t.Fatal(err)
	}
	url, a := testserver.StartApp(t, cfg)
	return &node{app: a, url: url}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial connects a client to "/" of a node and joins rooms (through the
// conformance app's "join" event, acknowledged once joined).
func dial(t *testing.T, url string, rooms ...string) *sioclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Expect(ctx, "auth"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if ans, err := c.EmitWithAck(ctx, "join", r); err != nil || len(ans) != 1 || string(ans[0]) != "true" {
			t.Fatalf("join %s: %s %v", r, ans, err)
		}
	}
	return c
}

// expectEvent waits for the next event named name.
func expectEvent(t *testing.T, c *sioclient.Client, name string, d time.Duration) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	e, err := c.Expect(ctx, name)
	if err != nil {
		t.Fatalf("client %s: %v", c.ID, err)
	}
	return e
}

// noEvent fails if an event named name arrives within d.
func noEvent(t *testing.T, c *sioclient.Client, name string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		e, err := c.Next(ctx)
		if err != nil {
			return
		}
		if e.Name == name {
			t.Fatalf("client %s: unexpected %q %s", c.ID, name, fmt.Sprint(e.Args))
		}
	}
}
