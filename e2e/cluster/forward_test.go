//go:build unix

package cluster

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
)

// roundRobin is a load balancer without affinity: each request (polling
// GET, POST, WebSocket upgrade) goes to the next node, and every other
// time to the one after, so that the client's requests do not fall in
// step with the nodes: socket.io-client sends three requests between its
// handshake and its upgrade, so strict round-robin over three nodes
// would send most upgrades to the session's own node.
func roundRobin(t *testing.T, nodes []*node) *httptest.Server {
	t.Helper()
	targets := make([]*url.URL, len(nodes))
	for i, n := range nodes {
		u, err := url.Parse(n.url)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = u
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		n := next.Add(1)
		r.SetURL(targets[(n+n/2)%uint64(len(targets))])
		r.SetXForwarded()
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// socket.io-client in polling-only mode, and with the upgrade, through a
// round-robin proxy in front of three nodes forwarding sessions: it joins
// a room and exchanges events, acks and binary with a client of another
// node.
func TestForwardSessionsRoundRobin(t *testing.T) {
	dir := nodetest.JSDir(t)
	r := startRedis(t)
	forward := func(c *config.Config) {
		c.Adapter.ForwardSessions = true
		c.Metrics = config.Metrics{Enabled: true, Path: "/metrics"} // on the clients' port
	}
	nodes := []*node{startNode(t, r.URL(), forward), startNode(t, r.URL(), forward), startNode(t, r.URL(), forward)}
	lb := roundRobin(t, nodes)
	nodetest.Run(t, filepath.Join(dir, "cluster"), []string{"forward.mjs"}, lb.URL, 2*time.Minute, "PEER_URL="+nodes[2].url)
	var forwarded, tunnels uint64
	for _, n := range nodes {
		s := n.app.Forwarder().Stats()
		forwarded += s.Forwarded
		tunnels += s.Tunnels
	}
	t.Logf("forwarded %d polling requests, %d tunnels", forwarded, tunnels)
	if forwarded == 0 || tunnels == 0 {
		t.Fatalf("forwarded %d requests and %d tunnels: the proxy did not spread the sessions", forwarded, tunnels)
	}
	res, err := http.Get(nodes[0].url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"switchboard_forwarded_requests_total", "switchboard_forwarded_tunnels_total", "switchboard_forward_served_total", "switchboard_forward_failures_total"} {
		if !strings.Contains(string(body), "\n"+m+" ") {
			t.Errorf("metric %s missing", m)
		}
	}
}
