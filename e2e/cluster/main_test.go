// Package cluster tests Switchboard nodes sharing rooms and broadcasts
// through a real redis-server, with each other, with a Node.js socket.io
// server running @socket.io/redis-adapter, and with
// @socket.io/redis-emitter.
package cluster

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
