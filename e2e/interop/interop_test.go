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
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/nodetest"
)

// nodeTimeout bounds the whole `node --test` run; each JS test also has its own
// timeout, so this only catches a hung runner.
const nodeTimeout = 5 * time.Minute

func TestSocketIOClientInterop(t *testing.T) {
	jsDir := nodetest.JSDir(t)
	files, err := filepath.Glob(filepath.Join(jsDir, "*.test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.test.mjs files in %s", jsDir)
	}
	sort.Strings(files)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	url := startServer(t, "conformance")
	t.Logf("server under test: %s", url)
	nodetest.Run(t, jsDir, files, url, nodeTimeout)
}
