// Package rawchat tests the plain-WebSocket chat bridge (handlers/rawchat,
// config raw_websocket) end to end: Switchboard runs in-process with
// config.yaml, raw clients speak WebSocket at the wire level (so that
// close codes are seen as sent) and Socket.IO users are real chat clients
// (internal/testkit/sioclient).
package rawchat

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
