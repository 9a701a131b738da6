//go:build unix

package lb

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/lb"
)

// TestExampleConfigsValid has haproxy check the configurations shipped in
// examples/deploy (haproxy -c), so that a reader copying one gets a file
// that loads.
func TestExampleConfigsValid(t *testing.T) {
	bin := lb.RequireHAProxy(t)
	files, err := filepath.Glob("../../examples/deploy/haproxy-*.cfg")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples/deploy/haproxy-*.cfg: %v %v, want the sticky and round-robin examples", files, err)
	}
	for _, f := range files {
		if out, err := exec.Command(bin, "-c", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("%s: haproxy -c: %v\n%s", filepath.Base(f), err, out)
		}
	}
}
