package relay

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/nocode/auth"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func TestMatchTemplate(t *testing.T) {
	claims := auth.Claims{"sub": "alice", "team": float64(7), "evil": "*", "br": "a[b"}
	for _, tt := range []struct {
		pattern, room string
		want          bool
	}{
		{"game:*", "game:1", true},
		{"game:*", "game:", true},
		{"game:*", "game:a/b", false}, // * stops at /
		{"game:*", "other:1", false},
		{"user:{sub}", "user:alice", true},
		{"user:{sub}", "user:bob", false},
		{"team:{team}:*", "team:7:chat", true},
		{"user:{missing}", "user:", false},
		// A claim's glob characters match only themselves.
		{"user:{evil}", "user:*", true},
		{"user:{evil}", "user:bob", false},
		{"x:{br}", "x:a[b", true},
		{"room-?", "room-1", true},
	} {
		if got := matchTemplate(tt.pattern, tt.room, claims); got != tt.want {
			t.Errorf("matchTemplate(%q, %q) = %v, want %v", tt.pattern, tt.room, got, tt.want)
		}
	}
	if matchTemplate("user:{sub}", "user:", nil) {
		t.Error("a placeholder matched without claims")
	}
}

func TestFillTemplate(t *testing.T) {
	c := auth.Claims{"sub": "alice", "n": float64(3), "obj": map[string]any{}}
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"lobby", "lobby", true},
		{"user:{sub}", "user:alice", true},
		{"{sub}-{n}", "alice-3", true},
		{"user:{obj}", "", false},
		{"user:{none}", "", false},
	} {
		got, ok := fillTemplate(tt.in, c, false)
		if got != tt.want || ok != tt.ok {
			t.Errorf("fillTemplate(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// A rule never silently replaces a Go handler of the same event.
func TestInstallRefusesAppEvents(t *testing.T) {
	srv := socketio.NewServer(nil)
	n := srv.Of("/")
	n.On("new message", func(*socketio.Socket, *socketio.Event) {})
	n.On("join", func(*socketio.Socket, *socketio.Event) {})

	_, err := Install(n, &config.Namespace{Name: "/", App: "chat", Relay: []config.RelayRule{{Event: "new message", To: config.RelayOthers}}}, Options{})
	if err == nil || err.Error() != `relay[0].event: event "new message" is already handled by app "chat"` {
		t.Fatalf("Install = %v", err)
	}
	_, err = Install(n, &config.Namespace{Name: "/", App: "chat", Rooms: &config.Rooms{JoinEvent: "join", LeaveEvent: "leave", Allow: []string{"*"}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `rooms: event "join" is already handled`) {
		t.Fatalf("Install = %v", err)
	}
	_, err = Install(n, &config.Namespace{Name: "/", Relay: []config.RelayRule{{Event: "x", To: config.RelayBackend}}}, Options{})
	if err == nil || err.Error() != "relay[0].to: backend without a forwarder" {
		t.Fatalf("Install = %v", err)
	}
	if _, err := Install(n, &config.Namespace{Name: "/", App: "chat", Relay: []config.RelayRule{{Event: "drawing", To: config.RelayOthers}}}, Options{}); err != nil {
		t.Fatalf("Install of a free event: %v", err)
	}
	if !n.Handles("drawing") {
		t.Fatal("drawing rule not installed")
	}
}

func TestValidRoom(t *testing.T) {
	for room, want := range map[string]bool{"a": true, "": false, strings.Repeat("r", 128): true, strings.Repeat("r", 129): false, "a\x00": false, "a\tb": false, "ünï": true} {
		if got := validRoom(room); got != want {
			t.Errorf("validRoom(%q) = %v", room, got)
		}
	}
}
