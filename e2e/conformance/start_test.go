package conformance

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// startServer starts the server under test in-process with the conformance
// profile (e2e/conformance/conformance.yaml) and returns its base URL; it is
// stopped when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	return testserver.Start(t, "conformance")
}

// startServerRelaxed is startServer with the default heartbeat (25s/20s).
func startServerRelaxed(t *testing.T) string {
	t.Helper()
	return testserver.Start(t, "conformance", testserver.RelaxedHeartbeat)
}
