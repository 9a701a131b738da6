//go:build unix

// Package apps tests the apps Switchboard serves without Go code — relay
// rules, handshake auth, the HTTP API and event forwarding — with real
// clients: the npm socket.io-client 4.8.4 (driven by node on the
// e2e/js/apps/*.apps.mjs files) and internal/testkit/sioclient. Each test starts
// Switchboard in-process with its own configuration.
package apps

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

const apiKey = "test-api-key-0123456789"

// start parses yaml (validated as at start-up), serves it on a loopback
// port until the test ends, and returns the base URL and the app.
func start(t *testing.T, yaml string) (string, *server.Server) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", handlers.Names())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return testserver.StartApp(t, cfg)
}

// runNode runs `node --test file` in e2e/js/apps with SWITCHBOARD_URL,
// SWITCHBOARD_API_KEY and env set; a failing JS test fails t.
func runNode(t *testing.T, file, url string, env ...string) {
	t.Helper()
	dir := filepath.Join(nodetest.JSDir(t), "apps")
	nodetest.Run(t, dir, []string{file}, url, 2*time.Minute, append([]string{"SWITCHBOARD_API_KEY=" + apiKey}, env...)...)
}
