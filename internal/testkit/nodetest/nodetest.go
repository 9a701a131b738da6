//go:build unix

// Package nodetest runs JavaScript test files with `node --test` from Go
// tests: the real npm clients (e2e/js, pinned in its package-lock.json)
// against a server the Go test started.
package nodetest

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

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// JSDir returns the absolute path of e2e/js after checking the
// prerequisites: node in PATH and `npm ci` done there. When one is missing
// the test is skipped, or fails under CI=true.
func JSDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(testserver.Root(t), "e2e", "js")
	_, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not found in PATH (install Node.js >= 18, e.g. `apt-get install nodejs npm`)")
	_, err = os.Stat(filepath.Join(dir, "node_modules", "socket.io-client", "package.json"))
	testserver.Require(t, err == nil, "%s/node_modules/socket.io-client is missing (run `npm ci` in e2e/js)", dir)
	return dir
}

// Run runs `node --test files...` in dir with url as SWITCHBOARD_URL and
// env (NAME=value) added, logging the output. It fails t if a JS test
// fails, if none ran, or if the run takes longer than timeout (each JS
// test also has its own timeout: this only catches a hung runner).
func Run(t testing.TB, dir string, files []string, url string, timeout time.Duration, env ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			if left := time.Until(dl) - 15*time.Second; left < timeout {
				timeout = left
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append([]string{"--test", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "SWITCHBOARD_URL="+url, "NO_COLOR=1", "FORCE_COLOR=0"), env...)
	// node --test runs each file in a child process: kill the whole group on
	// timeout, and do not wait forever for pipes held by a stray child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var summary []string
	testsRun := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			if s := strings.TrimSpace(line); strings.HasPrefix(s, "ℹ ") {
				summary = append(summary, strings.TrimPrefix(s, "ℹ "))
				if n, ok := strings.CutPrefix(s, "ℹ tests "); ok {
					if v, err := strconv.Atoi(n); err == nil {
						testsRun = v
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	t.Logf("running: node %s (in %s)", strings.Join(args, " "), dir)
	if err := cmd.Start(); err != nil {
		_ = pw.Close()
		<-done
		t.Fatalf("starting node: %v", err)
	}
	err = cmd.Wait()
	_ = pw.Close()
	<-done

	if len(summary) > 0 {
		t.Logf("node --test summary: %s", strings.Join(summary, ", "))
	}
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish within %v (killed)", timeout)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node --test failed (exit code %d); see the output above", ee.ExitCode())
		}
		t.Fatalf("node --test: %v", err)
	}
	if testsRun <= 0 {
		t.Fatal("node --test ran no tests")
	}
}
