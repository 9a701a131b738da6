//go:build unix

package interop

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// TestStickyCookieWithRealClient: with socketio.cookie on, the handshake
// sets "io=<sid>", and socket.io-client 4.8 (withCredentials) sends it back
// on every later request of the session: polling GETs and POSTs, and the
// WebSocket upgrade. That is what a cookie-routing load balancer needs.
func TestStickyCookieWithRealClient(t *testing.T) {
	jsDir, _ := filepath.Abs(filepath.Join("..", "js"))
	node, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not found in PATH")
	_, err = os.Stat(filepath.Join(jsDir, "node_modules", "socket.io-client", "package.json"))
	testserver.Require(t, err == nil, "%s/node_modules is missing (run `npm ci` in e2e/js)", jsDir)

	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	cfg.SocketIO.Cookie = config.DefaultCookie()
	a, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ sid, cookie, transport, method string }
	var (
		mu   sync.Mutex
		reqs []seen
	)
	base := testserver.ServeApp(t, a, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Get("sid") != "" {
				mu.Lock()
				reqs = append(reqs, seen{q.Get("sid"), r.Header.Get("Cookie"), q.Get("transport"), r.Method})
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "cookie-client.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "SWITCHBOARD_URL="+base)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node cookie-client.mjs: %v\n%s%s", err, out, stderr)
	}
	var res struct{ SID, Transport string }
	if err := json.Unmarshal(out, &res); err != nil || res.SID == "" || res.Transport != "websocket" {
		t.Fatalf("client output %q: %v", out, err)
	}

	mu.Lock()
	defer mu.Unlock()
	var polls, upgrades int
	for _, r := range reqs {
		if r.sid != res.SID {
			continue
		}
		if r.cookie != "io="+res.SID {
			t.Errorf("%s %s request of the session carried Cookie %q, want io=%s", r.method, r.transport, r.cookie, res.SID)
		}
		if r.transport == "websocket" {
			upgrades++
		} else {
			polls++
		}
	}
	if polls == 0 || upgrades == 0 {
		t.Errorf("saw %d polling and %d WebSocket requests of the session, want both", polls, upgrades)
	}
}
