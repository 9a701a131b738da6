package socketio

import "time"

// Defaults of the zero ServerOptions and RecoveryOptions (the reference's
// values), exported so that a configuration layer can show them.
const (
	DefaultConnectTimeout = 45 * time.Second

	DefaultMaxDisconnectionDuration = 2 * time.Minute
	DefaultRecoveryMaxPackets       = 10000
	DefaultRecoveryMaxBytes         = 32 << 20
)
