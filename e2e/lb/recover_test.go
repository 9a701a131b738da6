//go:build unix

package lb

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/lb"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// TestRecoverNodeKilled: round-robin with forwarding, on the Redis Streams
// adapter with connection state recovery. A node is killed (SIGKILL)
// while a room streams numbered messages: every client, whether its
// session was on that node or one of its connections went through it,
// recovers its socket on the others with every message once, in order
// (see e2e/js/lb/recover.test.mjs). The dead node wrote nothing as it
// died: the sessions come from what the nodes keep in Redis while their
// sockets are connected.
func TestRecoverNodeKilled(t *testing.T) {
	runRecover(t, "kill")
}

// TestRecoverNodeStopped is TestRecoverNodeKilled with a graceful stop
// (SIGTERM): the node persists its sessions as it shuts down.
func TestRecoverNodeStopped(t *testing.T) {
	runRecover(t, "stop")
}

func runRecover(t *testing.T, action string) {
	lb.RequireHAProxy(t)
	bin := binary(t)
	c := &cluster{redis: testserver.StartRedis(t)}
	for i := 1; i <= 3; i++ {
		c.nodes = append(c.nodes, lb.StartNode(t, bin, fmt.Sprintf("n%d", i), recoverConfig(c.redis.URL())))
	}
	c.proxy = lb.StartHAProxy(t, c.nodes, lb.RoundRobin)
	ctl := http.NewServeMux()
	for _, act := range []string{"kill", "stop"} {
		ctl.HandleFunc("POST /"+act, func(w http.ResponseWriter, r *http.Request) {
			name := r.URL.Query().Get("node")
			for _, n := range c.nodes {
				if n.Name == name {
					if act == "kill" {
						n.Kill()
					} else {
						n.Stop()
					}
					t.Logf("%s node %s", act, name)
					return
				}
			}
			http.Error(w, "no node "+name, http.StatusNotFound)
		})
	}
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	sender := c.nodes[2]
	c.runJS(t, "recover.test.mjs", "LB_CONTROL_URL="+srv.URL, "LB_SENDER_URL="+sender.URL(),
		"LB_SENDER_NODE="+sender.Name, "LB_ACTION="+action)
	t.Logf("answers by status: %v", c.statuses())
	if t.Failed() {
		for _, n := range c.nodes {
			if log := n.Log(); log != "" {
				t.Logf("node %s log (tail): %s", n.Name, tail(log, 3000))
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[strings.IndexByte(s[len(s)-n:], '\n')+len(s)-n:]
}

// recoverConfig is nodeConfig on the Redis Streams adapter, forwarding
// requests, with connection state recovery for 30 s (long enough for any
// cut client to come back, short enough for a test).
func recoverConfig(redisURL string) string {
	cfg := nodeConfig(redisURL, true)
	cfg = strings.Replace(cfg, "  type: redis\n", "  type: redis-streams\n", 1)
	return strings.Replace(cfg, "  ping_timeout: 3s\n", `  ping_timeout: 3s
  connection_state_recovery:
    enabled: true
    max_disconnection_duration: 30s
`, 1)
}
