//go:build unix

// Package interop runs the official socket.io-client (npm, pinned in
// e2e/js/package-lock.json) against a Switchboard server: it starts the server
// with the "conformance" configuration and runs `node --test` on the test files
// in e2e/js with SWITCHBOARD_URL set to the server's base URL.
//
// Prerequisites: node (>= 18) in PATH and `npm ci` done in e2e/js. When they are
// missing the test is skipped, or fails when CI=true.
package interop

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testserver"
)

// nodeTimeout bounds the whole `node --test` run; each JS test also has its own
// timeout, so this only catches a hung runner.
const nodeTimeout = 5 * time.Minute

func TestSocketIOClientInterop(t *testing.T) {
	jsDir, err := filepath.Abs(filepath.Join("..", "js"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not found in PATH (install Node.js >= 18, e.g. `apt-get install nodejs npm`)")
	_, err = os.Stat(filepath.Join(jsDir, "node_modules", "socket.io-client", "package.json"))
	testserver.Require(t, err == nil, "%s/node_modules/socket.io-client is missing (run `npm ci` in e2e/js)", jsDir)

	files, err := filepath.Glob(filepath.Join(jsDir, "*.test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.test.mjs files in %s", jsDir)
	}
	sort.Strings(files)

	url := startServer(t, "conformance")
	t.Logf("server under test: %s", url)

	timeout := nodeTimeout
	if dl, ok := t.Deadline(); ok {
		if left := time.Until(dl) - 15*time.Second; left < timeout {
			timeout = left
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	args := []string{"--test", "--test-reporter=spec"}
	for _, f := range files {
		args = append(args, filepath.Base(f))
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "SWITCHBOARD_URL="+url, "NO_COLOR=1", "FORCE_COLOR=0")
	// node --test runs each file in a child process: kill the whole group on
	// timeout, and do not wait forever for pipes held by a stray child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
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

	t.Logf("running: node %s (in %s)", strings.Join(args, " "), jsDir)
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
	if testsRun == 0 {
		t.Fatal("node --test ran no tests")
	}
}
