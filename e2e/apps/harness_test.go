//go:build unix

// Package apps tests the apps Switchboard serves without Go code — relay
// rules, handshake auth, the HTTP API and event forwarding — with real
// clients: the npm socket.io-client 4.8.4 (driven by node on the
// e2e/js/apps/*.apps.mjs files) and internal/sioclient. Each test starts
// Switchboard in-process with its own configuration.
package apps

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/testserver"
)

const apiKey = "test-api-key-0123456789"

// start parses yaml (validated as at start-up), serves it on a loopback
// port until the test ends, and returns the base URL and the app.
func start(t *testing.T, yaml string) (string, *app.App) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", handlers.Names())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return testserver.StartApp(t, cfg)
}

// runNode runs `node --test file` in e2e/js/apps with SWITCHBOARD_URL and
// env set, logging its output; a failing JS test fails t.
func runNode(t *testing.T, file, url string, env ...string) {
	t.Helper()
	jsDir, err := filepath.Abs(filepath.Join("..", "js"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not found in PATH (install Node.js >= 18)")
	_, err = os.Stat(filepath.Join(jsDir, "node_modules", "socket.io-client", "package.json"))
	testserver.Require(t, err == nil, "%s/node_modules/socket.io-client is missing (run `npm ci` in e2e/js)", jsDir)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
	cmd.Dir = filepath.Join(jsDir, "apps")
	cmd.Env = append(os.Environ(), append([]string{"SWITCHBOARD_URL=" + url, "SWITCHBOARD_API_KEY=" + apiKey, "NO_COLOR=1", "FORCE_COLOR=0"}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	tests := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			if n, ok := strings.CutPrefix(strings.TrimSpace(line), "ℹ tests "); ok {
				if v, err := strconv.Atoi(n); err == nil {
					tests = v
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		_ = pw.Close()
		<-done
		t.Fatalf("starting node: %v", err)
	}
	err = cmd.Wait()
	_ = pw.Close()
	<-done
	if ctx.Err() != nil {
		t.Fatalf("node --test %s did not finish in time (killed)", file)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node --test %s failed (exit code %d); see the output above", file, ee.ExitCode())
		}
		t.Fatalf("node --test %s: %v", file, err)
	}
	if tests <= 0 {
		t.Fatalf("node --test %s ran no tests", file)
	}
}
