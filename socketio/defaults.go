package socketio

import (
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// Defaults of the zero Options and RecoveryOptions (the reference's
// values), exported so that a configuration layer can show them.
const (
	DefaultConnectTimeout = 45 * time.Second

	DefaultMaxDisconnectionDuration = 2 * time.Minute
	DefaultRecoveryMaxPackets       = 10000
	DefaultRecoveryMaxBytes         = 32 << 20
)

// DefaultOptions returns the options of Switchboard's shipped
// configuration (config.yaml): the zero value's defaults written out, with
// engineio.DefaultOptions as the Engine (every origin allowed,
// socket.io-client 2.x accepted, compression on). Connection state
// recovery stays off, as in config.yaml; DefaultRecoveryOptions is its
// preset. Each call returns a new value.
func DefaultOptions() Options {
	return Options{
		Engine:         engineio.DefaultOptions(),
		ConnectTimeout: DefaultConnectTimeout,
		Limits:         DefaultLimits(),
		Parser:         ParserJSON,
	}
}

// DefaultRecoveryOptions returns the zero RecoveryOptions' values written
// out (those of config.yaml's connection_state_recovery section), for
// Options.ConnectionStateRecovery.
func DefaultRecoveryOptions() RecoveryOptions {
	return RecoveryOptions{
		MaxDisconnectionDuration: DefaultMaxDisconnectionDuration,
		MaxPackets:               DefaultRecoveryMaxPackets,
		MaxBytes:                 DefaultRecoveryMaxBytes,
	}
}
