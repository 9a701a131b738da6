package server

import (
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// recoveryOptions maps socketio.connection_state_recovery to the server's
// options (nil: off).
func recoveryOptions(c config.ConnectionStateRecovery) *socketio.RecoveryOptions {
	if !c.Enabled {
		return nil
	}
	return &socketio.RecoveryOptions{
		MaxDisconnectionDuration: c.MaxDisconnectionDuration,
		RunMiddlewares:           !c.SkipMiddlewares,
		MaxPackets:               c.MaxPackets,
		MaxBytes:                 c.MaxBytes,
	}
}
