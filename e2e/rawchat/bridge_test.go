package rawchat

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

type userEvent struct {
	Username string `json:"username"`
	NumUsers int    `json:"numUsers"`
}

type roomUsers struct {
	Room  string   `json:"room"`
	Users []string `json:"users"`
}

// Raw clients and Socket.IO users of the chat meet in its main room: raw
// text goes unchanged to every raw client and as "new message" from
// guest-<n> to the Socket.IO users; their messages reach raw clients as
// "name: text".
func TestRelayBothWays(t *testing.T) {
	base := start(t)
	alice := chatUser(t, base, "alice")

	a := dialRaw(t, base, "")
	joined := expectEvent(t, alice, "user joined", func(e userEvent) bool { return e.Username == "guest-1" })
	if joined.NumUsers != 2 {
		t.Errorf("user joined guest-1: numUsers %d, want 2", joined.NumUsers)
	}
	b := dialRaw(t, base, "")
	expectEvent(t, alice, "room users", func(r roomUsers) bool {
		return r.Room == "general" && slices.Equal(r.Users, []string{"alice", "guest-1", "guest-2"})
	})

	// Raw -> raw (the sender too, as in the tutorial) and -> Socket.IO.
	a.send("hello from a raw page")
	a.expectText("hello from a raw page")
	b.expectText("hello from a raw page")
	m := expectEvent(t, alice, "new message", func(m handlers.ChatMessage) bool { return true })
	if m.Username != "guest-1" || m.Message != "hello from a raw page" || m.Room != "general" || m.Time == 0 {
		t.Errorf("alice got new message %+v, want from guest-1 in general", m)
	}

	// Socket.IO -> raw, as "name: text".
	if err := alice.Emit("new message", "hi raw pages"); err != nil {
		t.Fatal(err)
	}
	a.expectText("alice: hi raw pages")
	b.expectText("alice: hi raw pages")

	// Messages posted in another room stay there: once carol, there too,
	// has alice's message, bob's in general is the raw clients' next.
	bob := chatUser(t, base, "bob")
	carol := chatUser(t, base, "carol")
	for _, u := range []*sioclient.Client{alice, carol} {
		if _, err := u.EmitWithAck(ctxWait(t), "join room", "elsewhere"); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.Emit("new message", "only for elsewhere"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, carol, "new message", func(m handlers.ChatMessage) bool { return m.Message == "only for elsewhere" })
	if err := bob.Emit("new message", "bob in general"); err != nil {
		t.Fatal(err)
	}
	a.expectText("bob: bob in general") // not "alice: only for elsewhere" first
	b.expectText("bob: bob in general")

	// A raw client that leaves is announced.
	a.conn.Close()
	left := expectEvent(t, bob, "user left", func(e userEvent) bool { return e.Username == "guest-1" })
	if left.NumUsers != 4 { // alice, bob, carol, guest-2
		t.Errorf("user left guest-1: numUsers %d, want 4", left.NumUsers)
	}
}

// The history a Socket.IO user gets at login holds the raw clients'
// messages.
func TestRawMessageInHistory(t *testing.T) {
	base := start(t)
	a := dialRaw(t, base, "")
	a.send("first")
	a.expectText("first")
	var login struct {
		History []handlers.ChatMessage `json:"history"`
	}
	chatUserLogin(t, base, "dora", &login)
	if len(login.History) != 1 || login.History[0].Username != "guest-1" || login.History[0].Message != "first" {
		t.Fatalf("login history %+v, want guest-1's \"first\"", login.History)
	}
}

// Messages the chat refuses from its own users (over 2,000 characters) do
// not reach the Socket.IO side, but raw clients still relay them.
func TestLongMessageStaysRaw(t *testing.T) {
	base := start(t)
	alice := chatUser(t, base, "alice")
	a := dialRaw(t, base, "")
	long := strings.Repeat("x", 2001)
	a.send(long)
	a.expectText(long)
	a.send("short")
	a.expectText("short")
	m := expectEvent(t, alice, "new message", func(handlers.ChatMessage) bool { return true })
	if m.Message != "short" {
		t.Fatalf("alice got %q first, want \"short\" (the long message is not the chat's)", clipS(m.Message))
	}
}

// A plain GET of the raw path still serves the static page, and Socket.IO
// is where it was.
func TestStaticAndSocketIOUnaffected(t *testing.T) {
	base := start(t)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET / = %d %q, want the static page", resp.StatusCode, clipS(string(body)))
	}
	resp, err = http.Get(base + "/socket.io/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /socket.io/socket.io.min.js = %d", resp.StatusCode)
	}
	chatUser(t, base, "eve") // Socket.IO over WebSocket at /socket.io/
	// An upgrade elsewhere is not a raw client.
	if _, err := dialRawErr(base+"/nope", ""); err == nil {
		t.Fatal("upgrade of /nope accepted")
	}
}

// Without the raw_websocket section, / is only the static page.
func TestDisabled(t *testing.T) {
	base := start(t, func(c *config.Config) { c.RawWebSocket = nil })
	if c, err := dialRawErr(base+"/", ""); err == nil {
		c.conn.Close()
		t.Fatal("raw WebSocket accepted with raw_websocket absent")
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
}

// The path is configurable.
func TestOtherPath(t *testing.T) {
	base := start(t, func(c *config.Config) {
		c.RawWebSocket = &config.RawWebSocket{Path: "/tutorial", Namespace: "/", MaxMessage: 100}
	})
	if c, err := dialRawErr(base+"/", ""); err == nil {
		c.conn.Close()
		t.Fatal("raw WebSocket accepted at / with path /tutorial")
	}
	c, err := dialRawErr(base+"/tutorial", "")
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	defer c.conn.Close()
	c.send("at /tutorial")
	c.expectText("at /tutorial")
}

func clipS(s string) string { return clip([]byte(s)) }
