// Package testserver starts Switchboard in-process for tests, with one of
// the repository's configuration files.
package testserver

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/serve"
)

// Configs maps the names tests use to files relative to the repository root.
var Configs = map[string]string{
	"default":     "config.yaml",
	"conformance": "e2e/conformance/conformance.yaml",
	"bench":       "bench/bench.yaml",
}

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testserver: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Load reads one of the named configurations, with static_dir made
// absolute so it works from any package directory.
func Load(t testing.TB, name string) *config.Config {
	t.Helper()
	file, ok := Configs[name]
	if !ok {
		t.Fatalf("testserver: unknown config %q", name)
	}
	root := Root(t)
	cfg, err := config.Load(filepath.Join(root, file), handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StaticDir != "" && !filepath.IsAbs(cfg.StaticDir) {
		cfg.StaticDir = filepath.Join(root, cfg.StaticDir)
	}
	return cfg
}

// Start serves the named configuration on a loopback port until the test
// ends and returns its base URL ("http://127.0.0.1:PORT"). When
// SWITCHBOARD_TEST_URL is set, it returns that instead, so a suite can be
// pointed at another server (such as the Node.js reference).
func Start(t testing.TB, name string, mods ...func(*config.Config)) string {
	t.Helper()
	if u := os.Getenv("SWITCHBOARD_TEST_URL"); u != "" {
		return u
	}
	cfg := Load(t, name)
	for _, m := range mods {
		m(cfg)
	}
	return StartConfig(t, cfg)
}

// RelaxedHeartbeat sets the default heartbeat (25s/20s). The conformance
// profile's 300ms/200ms is right for the protocol tests, but on a loaded
// machine it can drop a client in the middle of a long interop test (the
// Node reference server does the same).
func RelaxedHeartbeat(cfg *config.Config) {
	d := config.Default()
	cfg.SocketIO.PingInterval = d.SocketIO.PingInterval
	cfg.SocketIO.PingTimeout = d.SocketIO.PingTimeout
}

// StartConfig serves cfg until the test ends and returns its base URL.
func StartConfig(t testing.TB, cfg *config.Config) string {
	t.Helper()
	url, _ := StartApp(t, cfg)
	return url
}

// StartApp is StartConfig that also returns the application.
func StartApp(t testing.TB, cfg *config.Config) (string, *server.Server) {
	t.Helper()
	a, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ServeApp(t, a, nil), a
}

// ServeApp serves a until the test ends, with the same HTTP server
// settings as `go run .` (header limits, timeouts), and shuts it down
// gracefully at the end. wrap, if not nil, wraps the application's
// handler (to add routes or watch requests). It returns the base URL.
func ServeApp(t testing.TB, a *server.Server, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	hs := a.HTTPServer(nil)
	if wrap != nil {
		hs.Handler = wrap(hs.Handler)
	}
	srv := httptest.NewUnstartedServer(hs.Handler)
	srv.Config = hs
	srv.Listener = a.Listener(srv.Listener)
	// The webtransport section's endpoint, if any, on the same port in UDP.
	if _, err := a.ServeWebTransport(srv.Listener.Addr()); err != nil {
		t.Fatal(err)
	}
	serve.StartServer(t, srv, a.Shutdown)
	return srv.URL
}

// Require skips the test when a prerequisite (a tool, a browser, npm
// packages) is missing, or fails it under CI=true, where everything must
// be installed: a missing tool must not pass silently there.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("CI=true and a prerequisite is missing: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}
