package socketio

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engineio"
)

// Socket.IO protocol v4 (socket.io-client 2.x over Engine.IO v3), at the
// wire: what the reference's `conn.protocol === 3` paths send.

func startLegacyServer(t *testing.T) (*Server, string) {
	t.Helper()
	srv, url := startServer(t, &Options{Engine: engineio.Options{AllowEIO3: true}})
	return srv, strings.Replace(url, "EIO=4", "EIO=3", 1)
}

func TestLegacyConnect(t *testing.T) {
	srv, url := startLegacyServer(t)
	ids := make(chan string, 4)
	auths := make(chan string, 4)
	for _, name := range []string{"/", "/chat", "/other"} {
		n := srv.Of(name)
		n.OnConnection(func(s *Socket) {
			ids <- s.ID()
			auths <- string(s.Handshake().Auth)
		})
		n.Use(func(s *Socket) error {
			var a struct{ Deny, Data string }
			_ = s.Handshake().AuthInto(&a)
			switch {
			case a.Data != "":
				return &ConnectError{Message: "denied", Data: map[string]string{"why": a.Data}}
			case a.Deny != "":
				return &ConnectError{Message: a.Deny}
			}
			return nil
		})
	}

	c := dial(t, url)
	// "/" is connected without being asked, with an empty CONNECT.
	if got := c.read(); got != "40" {
		t.Fatalf("implicit CONNECT = %q, want 40", got)
	}
	sid := <-ids
	if <-auths != "" {
		t.Error("implicit connect has an auth payload")
	}
	// The namespace's query string is the auth; the answer has no payload
	// and the socket id is "<nsp>#<engine id>".
	c.send("40/chat?token=abc&n=1&n=2,")
	if got := c.read(); got != "40/chat," {
		t.Fatalf("CONNECT answer = %q, want 40/chat,", got)
	}
	if got := <-ids; got != "/chat#"+sid {
		t.Errorf("socket id %q, want /chat#%s", got, sid)
	}
	var auth map[string]string
	if err := json.Unmarshal([]byte(<-auths), &auth); err != nil || auth["token"] != "abc" || auth["n"] != "2" {
		t.Errorf("auth = %v (%v), want token=abc n=2", auth, err)
	}
	// A refusal is a string, or the error's data when it has some.
	c.send("40/other?deny=nope,")
	if got := c.read(); got != `44/other,"nope"` {
		t.Errorf("CONNECT_ERROR = %q", got)
	}
	c.send("40/other?data=x,")
	if got := c.read(); got != `44/other,{"why":"x"}` {
		t.Errorf("CONNECT_ERROR with data = %q", got)
	}
	c.send("40/nowhere,")
	if got := c.read(); got != `44/nowhere,{"message":"Invalid namespace"}` {
		t.Errorf("unknown namespace = %q", got)
	}
}

// v4 and v3 recipients of one broadcast get the same text packet; the
// binary attachment differs only by the v3 type byte.
func TestLegacyBroadcastBinary(t *testing.T) {
	srv, url := startLegacyServer(t)
	joined := make(chan struct{}, 2)
	srv.Of("/").OnConnection(func(s *Socket) { s.Join("r"); joined <- struct{}{} })
	v3 := dial(t, url)
	if got := v3.read(); got != "40" {
		t.Fatalf("implicit CONNECT = %q", got)
	}
	v4 := connect(t, strings.Replace(url, "EIO=3", "EIO=4", 1), "/", "")
	<-joined
	<-joined
	if err := srv.Of("/").To("r").Emit("bin", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rawClient{v3, v4} {
		if got := c.read(); got != `451-["bin",{"_placeholder":true,"num":0}]` {
			t.Errorf("text part = %q", got)
		}
	}
	if got := v3.readBinary(); !bytes.Equal(got, []byte{4, 1, 2}) {
		t.Errorf("v3 attachment = %v, want [4 1 2]", got)
	}
	if got := v4.readBinary(); !bytes.Equal(got, []byte{1, 2}) {
		t.Errorf("v4 attachment = %v, want [1 2]", got)
	}
}

// DISCONNECT both ways, as in v5.
func TestLegacyDisconnect(t *testing.T) {
	srv, url := startLegacyServer(t)
	sockets := make(chan *Socket, 2)
	reasons := make(chan DisconnectReason, 2)
	n := srv.Of("/chat")
	n.OnConnection(func(s *Socket) { sockets <- s })
	n.OnDisconnect(func(_ *Socket, reason DisconnectReason) { reasons <- reason })

	c := dial(t, url)
	if got := c.read(); got != "40" {
		t.Fatalf("implicit CONNECT = %q", got)
	}
	c.send("40/chat,")
	if got := c.read(); got != "40/chat," {
		t.Fatalf("CONNECT answer = %q", got)
	}
	(<-sockets).Disconnect(false)
	if got := c.read(); got != "41/chat," {
		t.Errorf("server DISCONNECT = %q", got)
	}
	if got := <-reasons; got != ReasonServerNamespaceDisconnect {
		t.Errorf("reason %q", got)
	}
	c.send("40/chat,")
	if got := c.read(); got != "40/chat," {
		t.Fatalf("CONNECT answer = %q", got)
	}
	<-sockets
	c.send("41/chat,")
	if got := <-reasons; got != ReasonClientNamespaceDisconnect {
		t.Errorf("reason %q", got)
	}
}
