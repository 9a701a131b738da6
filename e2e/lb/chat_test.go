//go:build unix

package lb

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/internal/testkit/lb"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// shippedConfig is the repository's config.yaml, what `go run .` runs,
// with only what a node of a test cluster must change: its listen address
// and the metrics listener's (free ports), static_dir (an absolute path,
// the process runs elsewhere), and, when redisURL is set, the adapter: the
// Redis pub/sub adapter with forward_sessions, so that haproxy needs no
// affinity. Everything else (the chat at "/", the raw WebSocket bridge,
// the limits, the heartbeat) is as shipped.
func shippedConfig(t *testing.T, redisURL string) string {
	t.Helper()
	root := testserver.Root(t)
	raw, err := os.ReadFile(filepath.Join(root, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["listen"] = "127.0.0.1:0"
	cfg["static_dir"] = filepath.Join(root, "static")
	metrics, _ := cfg["metrics"].(map[string]any)
	if metrics == nil {
		t.Fatal("config.yaml has no metrics section")
	}
	metrics["listen"] = "127.0.0.1:0"
	if redisURL != "" {
		adapter, _ := cfg["adapter"].(map[string]any)
		if adapter == nil {
			t.Fatal("config.yaml has no adapter section")
		}
		adapter["type"] = "redis"
		adapter["url"] = redisURL
		adapter["forward_sessions"] = true
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// startChatCluster starts three nodes running the shipped configuration
// on one redis-server, behind haproxy round-robin with no affinity.
func startChatCluster(t *testing.T) *cluster {
	t.Helper()
	lb.RequireHAProxy(t)
	bin := binary(t)
	c := &cluster{redis: testserver.StartRedis(t)}
	config := shippedConfig(t, c.redis.URL())
	for i := 1; i <= 3; i++ {
		c.nodes = append(c.nodes, lb.StartNode(t, bin, fmt.Sprintf("n%d", i), config))
	}
	c.proxy = lb.StartHAProxy(t, c.nodes, lb.RoundRobin)
	return c
}

// nodeTags maps each node's session-id tag (the first 8 characters of
// every session id it makes, with forward_sessions) to its name, as JSON
// for the scripts: they tell from a client's session id which node holds
// it. A handshake made directly to each node shows its tag.
func (c *cluster) nodeTags(t *testing.T) string {
	t.Helper()
	b, _ := json.Marshal(c.tagMap(t))
	return string(b)
}

// tagMap maps each node's session-id tag to its name.
func (c *cluster) tagMap(t *testing.T) map[string]string {
	t.Helper()
	tags := map[string]string{}
	for _, n := range c.nodes {
		res, err := http.Get(n.URL() + "/socket.io/?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var open struct{ Sid string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(string(body), "0")), &open); err != nil || len(open.Sid) < 8 {
			t.Fatalf("handshake with node %s: %q (%v)", n.Name, body, err)
		}
		tags[open.Sid[:8]] = n.Name
	}
	if len(tags) != len(c.nodes) {
		t.Fatalf("nodes share session-id tags: %v", tags)
	}
	return tags
}

// TestChatOneNode runs the chat script against one node with the shipped
// configuration as it is (memory adapter, no load balancer): the script's
// assertions are what one node does, the reference for the cluster.
func TestChatOneNode(t *testing.T) {
	n := lb.StartNode(t, binary(t), "single", shippedConfig(t, ""))
	runChatJS(t, n.URL(), "chat.test.mjs")
}

// TestChatRoundRobin runs the same script through haproxy round-robin
// in front of three nodes: every user must see one chat, as on one node.
func TestChatRoundRobin(t *testing.T) {
	c := startChatCluster(t)
	runChatJS(t, c.proxy.URL(), "chat.test.mjs", "LB_NODE_TAGS="+c.nodeTags(t))
	c.checkLog(t)
}

// runChatJS runs e2e/js/lb/<file> with node --test against url.
func runChatJS(t *testing.T, url, file string, env ...string) {
	t.Helper()
	nodetest.Run(t, nodetest.JSDir(t), []string{filepath.Join("lb", file)}, url, 60*time.Second, env...)
}
