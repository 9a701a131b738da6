// Package appscluster tests the built-in chat (with its lobby and the
// plain-WebSocket bridge) on three in-process Switchboard nodes sharing a
// real redis-server through the Redis adapter: users on different nodes
// must see one chat, as on a single node.
package appscluster

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
