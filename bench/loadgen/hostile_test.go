package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// The short version of bench/hostile.sh: the real server binary, with
// bench/hostile.yaml, under every attack at once beside honest clients
// chatting in rooms. Honest clients lose nothing and are never closed,
// the admin with the right password always gets in, every attack is ended
// by the server, and the server's memory stays under the ceiling.
func TestHostileMix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server for about a minute")
	}
	cfg := defaultConfig()
	cfg.URL, cfg.PID = startServerBinary(t, "bench/hostile.yaml")
	cfg.N, cfg.Rooms = 200, 10
	cfg.Pace = time.Second
	cfg.Churn = 40 * time.Second
	cfg.Sample = time.Second
	cfg.Concurrency = 16
	cfg.MetricsToken = "hostile-soak-metrics-token"
	res, err := runHostile(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	printResult(res)
	h := res.Hostile
	if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Errors != 0 || h.HonestClosed != 0 {
		t.Errorf("honest clients: lost %d, duplicates %d, foreign %d, errors %d, closed %d; want all 0 (notes %v)",
			res.Lost, res.Duplicates, res.OutOfOrder, res.Errors, h.HonestClosed, res.Notes)
	}
	if res.Ops == 0 || res.Ops != res.Expected {
		t.Errorf("honest deliveries %d, expected %d", res.Ops, res.Expected)
	}
	if ceiling := h.RSSHonestKB + hostileCeilingKB; res.RSSMaxKB > ceiling {
		t.Errorf("server RSS reached %d kB, over the ceiling %d kB (%d with the honest clients + %d)",
			res.RSSMaxKB, ceiling, h.RSSHonestKB, hostileCeilingKB)
	}
	for _, a := range h.Attacks {
		if n := a.Outcomes["held"]; n > 0 {
			t.Errorf("attack %q: %d attempts not ended by the server within %v", a.Name, n, attemptWait)
		}
		if a.Attempts == 0 {
			t.Errorf("attack %q made no attempt", a.Name)
		}
		// The admin with the right password is never refused (before the
		// per-address login limit it was, 12 times of 13). On a saturated
		// 2-core machine a rare dial may time out, as for everyone: at
		// least 80% of its attempts log in.
		if strings.Contains(a.Name, "honest") {
			tried := a.Attempts - a.Outcomes["ended by the run"]
			if a.Outcomes["refused"] > 0 || a.Outcomes["no answer in 10s"] > 0 || 5*a.Outcomes["logged in"] < 4*tried {
				t.Errorf("admin with the right password: %v, want no refusal and at least 80%% logged in", a.Outcomes)
			}
		}
	}
}

// hostileCeilingKB bounds what the attacks may add to the server's RSS (see
// RELIABILITY.md, "Under attack"): at most a few hundred attacker
// connections of a few kB each, a handful that may hold a whole message
// (max_payload, 1 MB) or a full queue (max_buffered_bytes, 1 MiB) each, and
// the Go runtime's headroom over its live heap.
const hostileCeilingKB = 64 << 10

// startServerBinary builds the server, starts it with the repository's
// config file at a free port, and returns its URL and process id.
func startServerBinary(t *testing.T, config string) (string, int) {
	t.Helper()
	root := testserver.Root(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b, err := os.ReadFile(filepath.Join(root, config))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), "listen: 127.0.0.1:3000", "listen: "+addr, 1)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up at %s: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
