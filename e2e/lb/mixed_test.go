//go:build unix

package lb

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/lb"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// mixedCluster is a redis-server, two Switchboard nodes (sb1, sb2) and two
// Node.js socket.io 4.8 nodes (js1, js2), all on the Redis Streams adapter
// with connection state recovery, behind haproxy. The nodes alternate in
// haproxy's list, so round-robin alternates kinds.
type mixedCluster struct {
	cluster
	dir string // e2e/js
}

// startMixed starts the mixed cluster with haproxy balancing as given.
func startMixed(t *testing.T, balance lb.Balance) *mixedCluster {
	t.Helper()
	lb.RequireHAProxy(t)
	dir := nodetest.JSDir(t)
	for _, pkg := range []string{"socket.io", "redis", "@socket.io/redis-streams-adapter"} {
		_, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
		testserver.Require(t, err == nil, "npm package %s missing (run npm ci in e2e/js)", pkg)
	}
	bin := binary(t)
	c := &mixedCluster{cluster: cluster{redis: testserver.StartRedis(t)}, dir: dir}
	for i := 1; i <= 2; i++ {
		c.nodes = append(c.nodes, lb.StartNode(t, bin, fmt.Sprintf("sb%d", i), streamsConfig(c.redis.URL())))
		cmd := exec.Command("node", filepath.Join(dir, "lb", "mixed-server.mjs"))
		cmd.Env = append(os.Environ(), "REDIS_URL="+c.redis.URL(), fmt.Sprintf("NODE_NAME=js%d", i))
		c.nodes = append(c.nodes, lb.StartProcess(t, fmt.Sprintf("js%d", i), cmd))
	}
	c.proxy = lb.StartHAProxy(t, c.nodes, balance)
	return c
}

// streamsConfig is a Switchboard node's configuration in the mixed
// cluster: nodeConfig on the redis-streams adapter, with recovery on, for
// as long as the Node.js nodes keep sessions (60 s).
func streamsConfig(redisURL string) string {
	cfg := strings.Replace(nodeConfig(redisURL, false), "  type: redis\n", "  type: redis-streams\n", 1)
	return strings.Replace(cfg, "socketio:\n", `socketio:
  connection_state_recovery:
    enabled: true
    max_disconnection_duration: 60s
`, 1)
}

// run runs e2e/js/lb/mixed.test.mjs with scenario against haproxy, with a
// control server for the script: POST /stop?node=NAME stops a node
// gracefully (SIGTERM) and answers once it is gone; POST /redis/stop and
// /redis/start stop and restart redis-server on its port (the latter
// answers once every node's /readyz no longer says "degraded"); GET
// /requests is haproxy's request log.
func (c *mixedCluster) run(t *testing.T, scenario string) {
	t.Helper()
	ctl := http.NewServeMux()
	ctl.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("node")
		for _, n := range c.nodes {
			if n.Name == name {
				n.Stop()
				t.Logf("stopped node %s", name)
				return
			}
		}
		http.Error(w, "no node "+name, http.StatusNotFound)
	})
	ctl.HandleFunc("POST /redis/stop", func(w http.ResponseWriter, r *http.Request) {
		c.redis.Stop()
		t.Logf("redis stopped")
	})
	ctl.HandleFunc("POST /redis/start", func(w http.ResponseWriter, r *http.Request) {
		c.redis.Start()
		start := time.Now()
		for _, n := range c.nodes {
			for !ready(n.URL()) {
				if time.Since(start) > 15*time.Second {
					http.Error(w, "node "+n.Name+" still degraded", http.StatusGatewayTimeout)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("redis restarted, every node ready after %v", time.Since(start))
	})
	ctl.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.proxy.Requests())
	})
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	start := time.Now()
	nodetest.Run(t, c.dir, []string{filepath.Join("lb", "mixed.test.mjs")}, c.proxy.URL(), 60*time.Second,
		"LB_CONTROL_URL="+srv.URL, "MIXED_SCENARIO="+scenario)
	t.Logf("%s took %v; handshakes per node: %v, answers by status: %v", scenario, time.Since(start), c.handshakes(), c.statuses())
}

// ready reports whether a node answers /readyz with 200 and is not
// degraded (its link to Redis is up).
func ready(url string) bool {
	res, err := http.Get(url + "/readyz")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode == http.StatusOK && !strings.Contains(string(b), "degraded")
}

// TestMixedAffinityStopSwitchboard: polling and upgrading clients, with
// affinity (Node.js nodes need it for polling), spread over the four
// nodes and exchange numbered broadcasts; a Switchboard node stops
// gracefully and its clients recover on a Node.js node (see
// e2e/js/lb/mixed.test.mjs for what the clients must see).
func TestMixedAffinityStopSwitchboard(t *testing.T) {
	startMixed(t, lb.ClientHeader).run(t, "stop-sb")
}

// TestMixedRoundRobinStopNode: WebSocket-only clients, round-robin (they
// need no affinity); a Node.js node stops gracefully and its clients
// recover on a Switchboard node.
func TestMixedRoundRobinStopNode(t *testing.T) {
	startMixed(t, lb.RoundRobin).run(t, "stop-js")
}

// TestMixedRoundRobinTransportCut: WebSocket-only clients, round-robin;
// clients of both kinds of node have their transport closed and recover
// on a node of the other kind.
func TestMixedRoundRobinTransportCut(t *testing.T) {
	startMixed(t, lb.RoundRobin).run(t, "cut")
}

// TestMixedRedisRestart: Redis stops and restarts (empty) mid-stream;
// afterwards the broadcasts of each kind of node reach the clients of the
// other kind, and the script reports what became of those sent while
// Redis was down.
func TestMixedRedisRestart(t *testing.T) {
	startMixed(t, lb.RoundRobin).run(t, "redis")
}
