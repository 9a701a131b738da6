//go:build unix

// Package lb tests Switchboard the way it is deployed at scale: three
// switchboard processes sharing a redis-server, behind a real haproxy,
// with the npm clients of every generation (socket.io-client 2.x, 3.x,
// 4.x) connecting through it. With affinity (each client's requests go to
// one node) everything works; with round-robin and no affinity, a node
// that gets a request for a session another node holds answers 400
// "Session ID unknown", unless adapter.forward_sessions has it forward
// the request to that node.
package lb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard/switchboard/internal/testkit/lb"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(leakcheck.Options(), goleak.Cleanup(func(int) {
		if buildDir != "" {
			os.RemoveAll(buildDir)
		}
	}))...)
}

// binary builds the switchboard command once for the whole package, or
// returns $SWITCHBOARD_LB_BIN when set (to test another build).
func binary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SWITCHBOARD_LB_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "switchboard-lb-"); buildErr != nil {
			return
		}
		binPath, buildErr = lb.Build(testserver.Root(t), buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cluster is a redis-server, three switchboard nodes on it and haproxy in
// front of them.
type cluster struct {
	redis *testserver.Redis
	nodes []*lb.Node
	proxy *lb.HAProxy
}

// startCluster starts the cluster with haproxy balancing as given; forward
// sets adapter.forward_sessions on every node.
func startCluster(t *testing.T, balance lb.Balance, forward bool) *cluster {
	t.Helper()
	lb.RequireHAProxy(t)
	bin := binary(t)
	c := &cluster{redis: testserver.StartRedis(t)}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("n%d", i)
		c.nodes = append(c.nodes, lb.StartNode(t, bin, name, nodeConfig(c.redis.URL(), forward)))
	}
	c.proxy = lb.StartHAProxy(t, c.nodes, balance)
	return c
}

// nodeConfig is a node's configuration: the conformance app on "/", the
// Redis adapter, no connection limits (the clients all come from
// 127.0.0.1), and a heartbeat short enough that a client whose node died
// notices within seconds.
func nodeConfig(redisURL string, forward bool) string {
	fwd := ""
	if forward {
		fwd = "\n  forward_sessions: true"
	}
	return fmt.Sprintf(`listen: 127.0.0.1:0
static_dir: ""
shutdown_timeout: 3s
log: {level: info}
socketio:
  ping_interval: 2s
  ping_timeout: 3s
cors: {origins: ["*"]}
namespaces:
  - name: /
    app: conformance
limits:
  max_connections: 0
  max_connections_per_ip: 0
  max_tcp_connections_per_ip: 0
  handshakes_per_second: 0
  events_per_second: 0
  max_rooms_per_socket: 0
metrics: {enabled: false}
adapter:
  type: redis
  url: %s
  request_timeout: 3s%s
`, redisURL, fwd)
}

// runJS runs e2e/js/lb/<file> with node --test against haproxy.
func (c *cluster) runJS(t *testing.T, file string, env ...string) {
	t.Helper()
	dir := nodetest.JSDir(t)
	for _, pkg := range []string{"socket.io-client-v2", "socket.io-client-v3"} {
		_, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
		testserver.Require(t, err == nil, "npm package %s missing (run npm ci in e2e/js)", pkg)
	}
	nodetest.Run(t, dir, []string{filepath.Join("lb", file)}, c.proxy.URL(), 90*time.Second, env...)
}

// handshakes counts, per node, the Engine.IO handshakes haproxy sent it.
func (c *cluster) handshakes() map[string]int {
	n := map[string]int{}
	for _, r := range c.proxy.Requests() {
		if strings.HasPrefix(r.URI, "/socket.io/") && !strings.Contains(r.URI, "sid=") {
			n[r.Server]++
		}
	}
	return n
}

// statuses counts haproxy's answers by status code.
func (c *cluster) statuses() map[int]int {
	n := map[int]int{}
	for _, r := range c.proxy.Requests() {
		n[r.Status]++
	}
	return n
}
