//go:build unix

package lb

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/lb"
)

// TestAffinity is the baseline that proves the harness: with affinity
// (haproxy hashes a per-client header, so each client's requests all reach
// one node) the clients of every generation, polling-only and upgrading,
// spread over the three nodes and share a room with nothing lost,
// duplicated or reordered, binary and acks included.
func TestAffinity(t *testing.T) {
	c := startCluster(t, lb.ClientHeader, false)
	c.runJS(t, "rooms.test.mjs")
	c.checkLog(t)
}

// checkLog fails on any request haproxy answered with an error, and
// unless the handshakes reached at least two nodes.
func (c *cluster) checkLog(t *testing.T) {
	t.Helper()
	hs := c.handshakes()
	t.Logf("handshakes per node: %v, answers by status: %v", hs, c.statuses())
	if len(hs) < 2 {
		t.Errorf("the handshakes reached %d node(s), want the sessions spread", len(hs))
	}
	for _, r := range c.proxy.Requests() {
		if r.Status >= 400 {
			t.Errorf("haproxy answered %d to %s %s (node %s)", r.Status, r.Method, r.URI, r.Server)
		}
	}
}

// TestRoundRobinWithoutForwarding: round-robin with no affinity, and the
// nodes do not forward requests. A session's requests reach nodes that do
// not hold it: 400 "Session ID unknown", to raw requests and to a real
// client, which cannot connect. This is the documented behaviour of the
// reference, and proves that haproxy spreads one session's requests.
func TestRoundRobinWithoutForwarding(t *testing.T) {
	c := startCluster(t, lb.RoundRobin, false)
	c.runJS(t, "unknown-sid.test.mjs")
	st := c.statuses()
	t.Logf("answers by status: %v, handshakes per node: %v", st, c.handshakes())
	if st[400] < 3 {
		t.Errorf("haproxy logged %d answers 400, want at least 3", st[400])
	}
}

// TestRoundRobinForwarding is TestAffinity under round-robin with no
// affinity: the nodes forward each request to the node holding its
// session (adapter.forward_sessions). Nothing may differ for the clients,
// and haproxy must never have answered an error.
func TestRoundRobinForwarding(t *testing.T) {
	c := startCluster(t, lb.RoundRobin, true)
	c.runJS(t, "rooms.test.mjs")
	c.checkLog(t)
}

// TestRoundRobinForwardingNodeKilled kills one node (SIGKILL) while the
// clients stream messages; see e2e/js/lb/kill.test.mjs for what the
// clients must see.
func TestRoundRobinForwardingNodeKilled(t *testing.T) {
	c := startCluster(t, lb.RoundRobin, true)
	ctl := http.NewServeMux()
	ctl.HandleFunc("POST /kill", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("node")
		for _, n := range c.nodes {
			if n.Name == name {
				n.Kill()
				t.Logf("killed node %s", name)
				return
			}
		}
		http.Error(w, "no node "+name, http.StatusNotFound)
	})
	ctl.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.proxy.Requests())
	})
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	c.runJS(t, "kill.test.mjs", "LB_CONTROL_URL="+srv.URL)
	t.Logf("answers by status: %v", c.statuses())
	// A long-poll is held 2 s at most (the ping interval): longer ones are
	// requests that waited for the dead node. They do not fail the test
	// (the clients reconnect through other requests), but show how long a
	// request for a dead node's session takes to fail.
	for _, r := range c.proxy.Requests() {
		if r.Took > 5*time.Second && r.Status != 101 {
			t.Logf("slow: %+v", r)
		}
	}
}
