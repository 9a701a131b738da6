package handlers_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string) *sioclient.Client {
	t.Helper()
	c, err := sioclient.Dial(ctxT(t), url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func expect(t *testing.T, c *sioclient.Client, event string, dst any) {
	t.Helper()
	e, err := c.Expect(ctxT(t), event)
	if err != nil {
		t.Fatal(err)
	}
	if dst != nil {
		if err := e.Arg(0, dst); err != nil {
			t.Fatalf("%s: %v", event, err)
		}
	}
}

type login struct {
	NumUsers int
	Room     string
	Rooms    []struct {
		Name  string
		Count int
	}
	History []struct{ Username, Message string }
}

// TestChatDemoEvents checks the classic chat demo's event vocabulary.
func TestChatDemoEvents(t *testing.T) {
	url := testserver.Start(t, "default")
	alice, bob := dial(t, url), dial(t, url)

	_ = alice.Emit("add user", "alice")
	var l login
	expect(t, alice, "login", &l)
	if l.NumUsers != 1 || l.Room != "general" {
		t.Fatalf("alice login = %+v", l)
	}
	_ = bob.Emit("add user", "bob")
	expect(t, bob, "login", &l)
	if l.NumUsers != 2 {
		t.Fatalf("bob login = %+v", l)
	}
	var joined struct {
		Username string
		NumUsers int
	}
	expect(t, alice, "user joined", &joined)
	if joined.Username != "bob" || joined.NumUsers != 2 {
		t.Fatalf("user joined = %+v", joined)
	}

	_ = alice.Emit("new message", "hello <b>bob</b>")
	var msg struct{ Username, Message, Room string }
	expect(t, bob, "new message", &msg)
	if msg.Username != "alice" || msg.Message != "hello <b>bob</b>" || msg.Room != "general" {
		t.Fatalf("new message = %+v", msg)
	}

	_ = bob.Emit("typing")
	var typing struct{ Username string }
	expect(t, alice, "typing", &typing)
	_ = bob.Emit("stop typing")
	expect(t, alice, "stop typing", &typing)
	if typing.Username != "bob" {
		t.Fatalf("stop typing = %+v", typing)
	}

	bob.Close()
	var left struct {
		Username string
		NumUsers int
	}
	expect(t, alice, "user left", &left)
	if left.Username != "bob" || left.NumUsers != 1 {
		t.Fatalf("user left = %+v", left)
	}
}

func TestChatRooms(t *testing.T) {
	url := testserver.Start(t, "default")
	alice, bob, carol := dial(t, url), dial(t, url), dial(t, url)
	for c, name := range map[*sioclient.Client]string{alice: "alice", bob: "bob", carol: "carol"} {
		_ = c.Emit("add user", name)
		expect(t, c, "login", nil)
	}
	_ = alice.Emit("new message", "before the move")
	var msg struct{ Username, Message, Room string }
	for _, c := range []*sioclient.Client{bob, carol} {
		expect(t, c, "new message", &msg)
		if msg.Message != "before the move" {
			t.Fatalf("got %+v", msg)
		}
	}

	ack, err := alice.EmitWithAck(ctxT(t), "join room", "  go  ")
	if err != nil {
		t.Fatal(err)
	}
	var joined struct {
		Room    string
		Users   []string
		History []json.RawMessage
	}
	_ = json.Unmarshal(ack[0], &joined)
	if joined.Room != "go" || len(joined.Users) != 1 || joined.Users[0] != "alice" {
		t.Fatalf("join ack = %s", ack[0])
	}
	_, _ = bob.EmitWithAck(ctxT(t), "join room", "go")

	// Messages stay in their room: carol (general) must not see this one,
	// and the next message she gets is the one sent to general.
	_ = alice.Emit("new message", "in go")
	expect(t, bob, "new message", &msg)
	if msg.Message != "in go" || msg.Room != "go" {
		t.Fatalf("bob got %+v", msg)
	}
	_ = carol.Emit("new message", "in general")
	_, _ = alice.EmitWithAck(ctxT(t), "leave room")
	_ = alice.Emit("new message", "back in general")
	expect(t, carol, "new message", &msg)
	if msg.Message != "back in general" {
		t.Fatalf("carol got %+v: a message leaked across rooms", msg)
	}

	rooms, err := carol.EmitWithAck(ctxT(t), "list rooms")
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Name  string
		Count int
	}
	_ = json.Unmarshal(rooms[0], &list)
	if len(list) != 2 || list[0].Name != "general" || list[0].Count != 2 || list[1].Name != "go" || list[1].Count != 1 {
		t.Fatalf("rooms = %s", rooms[0])
	}

	for _, bad := range []any{"", "this room name is far too long to be accepted", 42} {
		ack, err := bob.EmitWithAck(ctxT(t), "join room", bad)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		if json.Unmarshal(ack[0], &e) != nil || e.Error == "" {
			t.Errorf("join room %v: ack %s, want an error", bad, ack[0])
		}
	}
}

func TestChatIgnoresUnnamedUsers(t *testing.T) {
	url := testserver.Start(t, "default")
	alice, anon := dial(t, url), dial(t, url)
	_ = alice.Emit("add user", "alice")
	expect(t, alice, "login", nil)
	_ = anon.Emit("new message", "who am I?")
	_ = anon.Emit("add user", "   ") // blank names are refused
	ack, _ := anon.EmitWithAck(ctxT(t), "join room", "x")
	var e struct{ Error string }
	if json.Unmarshal(ack[0], &e) != nil || e.Error == "" {
		t.Fatalf("join room before add user: %s", ack[0])
	}
	_ = alice.Emit("new message", "ping")
	// alice's packets are handled in order: once this ack is back, "ping"
	// has been delivered to everyone it was for.
	if _, err := alice.EmitWithAck(ctxT(t), "list rooms"); err != nil {
		t.Fatal(err)
	}
	_ = anon.Emit("add user", "bob")
	var msg struct{ Message string }
	expect(t, anon, "login", nil)
	_ = alice.Emit("new message", "second")
	expect(t, anon, "new message", &msg)
	if msg.Message != "second" {
		t.Fatalf("got %q", msg.Message)
	}
}

// TestChatEmptyHistoryIsAnArray: a room without messages has the history
// [] in "login" and in the "join room" ack, not null, as on a cluster
// (clients iterate over it).
func TestChatEmptyHistoryIsAnArray(t *testing.T) {
	url := testserver.Start(t, "default")
	alice := dial(t, url)
	_ = alice.Emit("add user", "alice")
	e, err := alice.Expect(ctxT(t), "login")
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ History json.RawMessage }
	if err := e.Arg(0, &l); err != nil {
		t.Fatal(err)
	}
	if string(l.History) != "[]" {
		t.Errorf("login history = %s, want []", l.History)
	}
	ack, err := alice.EmitWithAck(ctxT(t), "join room", "empty")
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ History json.RawMessage }
	if err := json.Unmarshal(ack[0], &j); err != nil {
		t.Fatal(err)
	}
	if string(j.History) != "[]" {
		t.Errorf("join room ack history = %s, want []", j.History)
	}
}
