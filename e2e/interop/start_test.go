package interop

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// startServer starts Switchboard in-process with the named configuration
// ("conformance" or "default", see internal/testkit/testserver) and returns its base
// URL; SWITCHBOARD_TEST_URL overrides it.
func startServer(t *testing.T, configName string) string {
	t.Helper()
	return testserver.Start(t, configName, testserver.RelaxedHeartbeat)
}
