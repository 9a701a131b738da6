package socketio

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// TestBroadcastAllocationsWithRecovery: recovery adds allocations per
// broadcast (the offset, the log entry), none per recipient: going from 50
// to 250 recipients costs as many more allocations with it as without.
// (Without it, the engine's batch allocates per chunk of 64 sessions.)
func TestBroadcastAllocationsWithRecovery(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	var marginals [2]float64
	for i, on := range []bool{false, true} {
		// 250 clients from one address: lift the handshake limits.
		opts := &Options{Engine: engineio.Options{Limits: engineio.Limits{MaxSessionsPerIP: NoLimit, HandshakeRate: NoLimit}}}
		if on {
			opts.ConnectionStateRecovery = &RecoveryOptions{}
		}
		srv, url := startServer(t, opts)
		nsp := srv.Of("/")
		send := func() { _ = nsp.Emit("e", 1) }
		measure := func(clients int) float64 {
			// The clients do not read: the kernel's buffers hold the
			// test's traffic.
			for nsp.Len() < clients {
				connect(t, url, "/", "")
			}
			for range 5 {
				send()
			}
			time.Sleep(50 * time.Millisecond)
			return testing.AllocsPerRun(40, send)
		}
		few, many := measure(50), measure(250)
		marginal := (many - few) / 200
		t.Logf("recovery %v: %.1f allocations per broadcast to 50, %.1f to 250: %.3f per recipient", on, few, many, marginal)
		marginals[i] = marginal
	}
	if marginals[1] > marginals[0]+0.025 {
		t.Fatalf("recovery adds %.3f allocations per recipient", marginals[1]-marginals[0])
	}
}
