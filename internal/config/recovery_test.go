package config

import (
	"testing"
	"time"
)

func TestConnectionStateRecovery(t *testing.T) {
	c, err := Parse(nil, "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.SocketIO.ConnectionStateRecovery; r.Enabled || r != DefaultConnectionStateRecovery() {
		t.Fatalf("default = %+v: want off, with the reference's defaults", r)
	}
	in := "socketio:\n  connection_state_recovery:\n    enabled: true\n    max_disconnection_duration: 30s\n    skip_middlewares: false\n    max_packets: 50\n    max_bytes: 4096\n"
	if c, err = Parse([]byte(in), "x.yaml", nil); err != nil {
		t.Fatal(err)
	}
	want := ConnectionStateRecovery{Enabled: true, MaxDisconnectionDuration: 30 * time.Second, MaxPackets: 50, MaxBytes: 4096}
	if got := c.SocketIO.ConnectionStateRecovery; got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Missing keys keep their defaults.
	if c, err = Parse([]byte("socketio:\n  connection_state_recovery: {enabled: true}\n"), "x.yaml", nil); err != nil {
		t.Fatal(err)
	}
	want = DefaultConnectionStateRecovery()
	want.Enabled = true
	if got := c.SocketIO.ConnectionStateRecovery; got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestConnectionStateRecoveryErrors(t *testing.T) {
	const p = "socketio:\n  connection_state_recovery:\n"
	tests := []struct{ name, in, want string }{
		{"unknown key", p + "    enabled: true\n    max_disconnect_duration: 1m\n", `x.yaml:4: socketio.connection_state_recovery: unknown key "max_disconnect_duration" (allowed: enabled, max_disconnection_duration, skip_middlewares, max_packets, max_bytes)`},
		{"not a mapping", "socketio:\n  connection_state_recovery: true\n", `x.yaml:2: socketio.connection_state_recovery: want a mapping, got boolean true`},
		{"enabled not bool", p + "    enabled: yes please\n", `x.yaml:3: socketio.connection_state_recovery.enabled: want a boolean (true or false), got string "yes please"`},
		{"zero duration", p + "    max_disconnection_duration: 0s\n", `x.yaml:3: socketio.connection_state_recovery.max_disconnection_duration: must be positive, got 0s`},
		{"duration unit", p + "    max_disconnection_duration: 120\n", `x.yaml:3: socketio.connection_state_recovery.max_disconnection_duration: invalid duration 120: missing unit (want e.g. 25s)`},
		{"zero packets", p + "    max_packets: 0\n", `x.yaml:3: socketio.connection_state_recovery.max_packets: must be positive, got 0`},
		{"negative bytes", p + "    max_bytes: -1\n", `x.yaml:3: socketio.connection_state_recovery.max_bytes: must be positive, got -1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "x.yaml", nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
