package cluster

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/sioclient"
	"github.com/switchboard/switchboard/internal/testserver"
	"github.com/switchboard/switchboard/socketio"
)

// redisServer is a redis-server process on a loopback port of its own.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	testserver.Require(t, err == nil, "redis-server not installed (apt-get install redis-server)")
	_ = path
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not start on port %d: %v", r.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server (as a crash would) and waits for it.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// node is one in-process Switchboard server.
type node struct {
	app *app.App
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
