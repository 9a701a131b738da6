package socketio

import (
	"slices"
	"testing"
)

func TestDisconnectReasonStrings(t *testing.T) {
	// Node's RECOVERABLE_DISCONNECT_REASONS, and no other.
	recoverable := []DisconnectReason{ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout, ReasonServerShuttingDown, ReasonForcedServerClose}
	for _, r := range []DisconnectReason{ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonForcedClose, ReasonForcedServerClose, ReasonServerShuttingDown, ReasonServerNamespaceDisconnect, ReasonClientNamespaceDisconnect, ReasonParseError} {
		if got, want := r.Recoverable(), slices.Contains(recoverable, r); got != want {
			t.Errorf("%s: Recoverable %v", r, got)
		}
	}
	if ReasonPingTimeout.String() != "ping timeout" || ReasonForcedServerClose != "forced server close" {
		t.Fatal("reason strings differ from Node's")
	}
}
