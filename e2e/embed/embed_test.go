// Package embed proves that an application outside this module can embed
// Switchboard through its exported packages alone: the module in
// ./outside (example.com/outside, with a replace to this repository) is
// such an application, and this test runs its tests. The go tool refuses
// an internal package imported from another module, so any need for one
// breaks the build.
package embed

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// TestOutsideModule runs `go test ./...` in the outside module, read-only:
// its go.mod and go.sum must be complete (CI has no network but the module
// proxy, and must not change them). Its tests need node, the npm client in
// e2e/js and redis-server: without them it is skipped, or fails under
// CI=true.
func TestOutsideModule(t *testing.T) {
	nodetest.JSDir(t)
	_, err := exec.LookPath("redis-server")
	testserver.Require(t, err == nil, "redis-server not installed (apt-get install redis-server)")
	if testing.Short() {
		t.Skip("-short: the outside module's tests take half a minute")
	}
	dir := filepath.Join(testserver.Root(t), "e2e", "embed", "outside")
	cmd := exec.Command("go", "test", "-mod=readonly", "-count=1", "-v", "./...")
	cmd.Dir = dir
	// No workspace file may stand in for the outside module's go.mod; CI
	// passes through, so that its tests fail rather than skip when a
	// prerequisite is gone.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test in %s: %v\n%s", dir, err, out)
	}
	// A skipped test proves nothing: say so, as the prerequisites were
	// found above.
	if skips := regexp.MustCompile(`(?m)^\s*--- SKIP: .*$`).FindAllString(string(out), -1); len(skips) > 0 {
		t.Fatalf("outside tests skipped:\n%s\n\n%s", strings.Join(skips, "\n"), out)
	}
	if !strings.Contains(string(out), "--- PASS: TestEmbedded") {
		t.Fatalf("TestEmbedded did not run:\n%s", out)
	}
	t.Logf("%s", out)
}
