// Package streams tests the Redis Streams adapter (socketio/redisstreams)
// in a mixed cluster with a Node.js socket.io server running
// @socket.io/redis-streams-adapter, with npm socket.io-client clients.
package streams

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// jsDir returns e2e/js, after checking that node and the npm packages the
// script uses are installed.
func jsDir(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not installed")
	dir := filepath.Join(testserver.Root(t), "e2e", "js")
	for _, pkg := range []string{"socket.io", "socket.io-client", "redis", "@socket.io/redis-streams-adapter"} {
		_, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
		testserver.Require(t, err == nil, "npm package %s missing (run npm ci in e2e/js)", pkg)
	}
	return dir
}

// startSwitchboard starts a Switchboard node on the streams adapter, with
// recovery on, and the handlers the scripts of e2e/js/streams use; the
// "shutdown" event shuts the node down.
func startSwitchboard(t *testing.T, redisURL string) string {
	t.Helper()
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	c, err := redisstreams.New(redisstreams.Options{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.Options{
		NewAdapter:              c.NewAdapter,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute},
		Logger:                  slog.New(slog.DiscardHandler),
	})
	var once sync.Once
	var stop func()
	srv.Of("/").OnServerSideEmit("ping", func(_ socketio.Args, ack func(any)) { ack("pong-sb") })
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.SetData(map[string]any{"side": "sb"})
		}
		n := s.Namespace()
		socketio.Handle(n, "join", func(s *socketio.Socket, room string) string {
			_ = s.Join(room)
			return "ok"
		})
		socketio.Handle(n, "bcast", func(s *socketio.Socket, room, ev string, arg any) string {
			_ = n.To(room).Emit(ev, arg)
			return "ok"
		})
		socketio.Handle(n, "bcastbin", func(s *socketio.Socket, room, ev string) string {
			_ = n.To(room).Emit(ev, []byte{1, 2, 3})
			return "ok"
		})
		socketio.Handle(n, "whoami", func(s *socketio.Socket) map[string]any {
			return map[string]any{"data": s.Data(), "rooms": s.Rooms()}
		})
		s.On("shutdown", func(*socketio.Socket, *socketio.Event) { go once.Do(stop) })
		// The requests over pub/sub, from this node to the Node.js one;
		// in a goroutine, since the asking client answers "ask" too.
		s.On("sbcheck", func(s *socketio.Socket, _ *socketio.Event) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				res := map[string]any{}
				socks, err := n.FetchSockets(ctx)
				res["sockets"], res["fetchErr"] = len(socks), errString(err)
				for _, rs := range socks {
					if rs.ID != s.ID() {
						res["otherData"] = rs.Data
					}
				}
				pongs, err := n.ServerSideEmitWithAck(ctx, "ping")
				res["pongs"], res["pingErr"] = rawArgs(pongs), errString(err)
				acks, err := n.To("r").EmitWithAck(ctx, "ask")
				res["acks"], res["askErr"] = rawArgs(acks), errString(err)
				_ = s.Emit("sbcheck", res)
			}()
		})
	})
	hs := httptest.NewServer(srv)
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
		_ = c.Close()
		_ = rdb.Close()
	}
	t.Cleanup(func() { once.Do(stop) })
	deadline := time.Now().Add(10 * time.Second)
	for !c.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("switchboard node not connected to redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return hs.URL
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// rawArgs is each answer's first argument, as JSON.
func rawArgs(answers []socketio.Args) []json.RawMessage {
	out := []json.RawMessage{}
	for _, a := range answers {
		out = append(out, a.Raw(0))
	}
	return out
}

// TestMixedCluster: broadcasts both ways between a Node.js node and a
// Switchboard node on one stream, and a client recovered from Node to
// Switchboard and from Switchboard to Node (id, rooms, data, each missed
// packet once and in order, then the live ones).
func TestMixedCluster(t *testing.T) {
	dir := jsDir(t)
	r := testserver.StartRedis(t)
	sb := startSwitchboard(t, r.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("streams", "mixed.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL(), "SB_URL="+sb)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("mixed.mjs: %v\n%s", err, out)
	}
}

// TestRecoveryAcrossSwitchboardNodes: npm socket.io-client 4.x clients cut
// from node A (by a transport close, then by A shutting down) recover on
// node B with their id, rooms, data and every packet node C broadcast
// meanwhile, once and in order.
func TestRecoveryAcrossSwitchboardNodes(t *testing.T) {
	dir := jsDir(t)
	r := testserver.StartRedis(t)
	a, b, c := startSwitchboard(t, r.URL()), startSwitchboard(t, r.URL()), startSwitchboard(t, r.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("streams", "sb-recover.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SB_A="+a, "SB_B="+b, "SB_C="+c)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("script took %v", time.Since(start))
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("sb-recover.mjs: %v\n%s", err, out)
	}
}
