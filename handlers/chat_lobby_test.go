package handlers_test

import (
	"slices"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/socketio"
)

// Guests of the lobby are ordinary users to the Socket.IO clients, and
// OnMessage hears the lobby's messages from Socket.IO users only.
func TestChatLobbyGuests(t *testing.T) {
	srv := socketio.NewServer(nil)
	lobby := handlers.NewChat(srv.Of("/"))
	heard := make(chan handlers.ChatMessage, 16)
	lobby.OnMessage(func(m handlers.ChatMessage) { heard <- m })
	hs := serve.Start(t, srv, srv.Close)

	alice := dial(t, hs.URL)
	_ = alice.Emit("add user", "alice")
	expect(t, alice, "login", nil)

	lobby.Enter("guest-9")
	var joined struct {
		Username string
		NumUsers int
	}
	expect(t, alice, "user joined", &joined)
	if joined.Username != "guest-9" || joined.NumUsers != 2 {
		t.Fatalf("user joined = %+v", joined)
	}
	var users struct {
		Room  string
		Users []string
	}
	for users.Room != "general" || !slices.Contains(users.Users, "guest-9") {
		expect(t, alice, "room users", &users)
	}
	var rooms []struct {
		Name  string
		Count int
	}
	for len(rooms) == 0 || rooms[0].Count != 2 {
		expect(t, alice, "rooms", &rooms)
	}

	lobby.Say("nobody", "not entered")
	lobby.Say("guest-9", "")
	lobby.Say("guest-9", "hi alice")
	var m handlers.ChatMessage
	expect(t, alice, "new message", &m)
	if m.Username != "guest-9" || m.Message != "hi alice" || m.Room != "general" {
		t.Fatalf("new message = %+v, want guest-9's \"hi alice\" (the others are dropped)", m)
	}

	_ = alice.Emit("new message", "hi guest")
	if h := <-heard; h.Username != "alice" || h.Message != "hi guest" || h.Room != "general" {
		t.Fatalf("OnMessage heard %+v", h)
	}
	if _, err := alice.EmitWithAck(ctxT(t), "join room", "side"); err != nil {
		t.Fatal(err)
	}
	_ = alice.Emit("new message", "in side room")
	if _, err := alice.EmitWithAck(ctxT(t), "leave room"); err != nil {
		t.Fatal(err)
	}
	_ = alice.Emit("new message", "back in general")
	if h := <-heard; h.Message != "back in general" {
		t.Fatalf("OnMessage heard %q, want only the lobby's messages", h.Message)
	}

	lobby.Leave("guest-9")
	lobby.Leave("guest-9") // once only
	var left struct {
		Username string
		NumUsers int
	}
	expect(t, alice, "user left", &left)
	if left.Username != "guest-9" || left.NumUsers != 1 {
		t.Fatalf("user left = %+v", left)
	}
}
