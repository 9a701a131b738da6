package server

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

func TestRecoveryOptions(t *testing.T) {
	c := config.DefaultConnectionStateRecovery()
	if recoveryOptions(c) != nil {
		t.Fatal("recovery on while not enabled")
	}
	c.Enabled = true
	want := socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute, MaxPackets: 10000, MaxBytes: 32 << 20}
	if got := recoveryOptions(c); got == nil || *got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	c.SkipMiddlewares = false
	if got := recoveryOptions(c); !got.RunMiddlewares {
		t.Fatal("skip_middlewares: false must run them")
	}
}
