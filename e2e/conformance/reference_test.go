//go:build unix

package conformance

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/nodetest"
)

// startReference starts the Node.js reference with the conformance profile
// (e2e/js/reference/conformance-server.mjs: npm socket.io and engine.io set
// up as the official test suites set them up). It is skipped without node
// and e2e/js/node_modules, unless CI=true.
func startReference(t *testing.T) string {
	t.Helper()
	return nodetest.StartServer(t, "reference/conformance-server.mjs")
}
