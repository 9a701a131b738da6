// Package ops tests the operations endpoints of a full Switchboard server:
// the Prometheus metrics as real clients (the Go test client and the npm
// socket.io-client) connect, emit and disconnect, the health endpoints
// through a shutdown, the lifecycle logs, and the Socket.IO Admin UI in
// headless Chromium.
package ops

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
