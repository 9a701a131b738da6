package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

const recoveryAPIKey = "recovery-test-api-key-0123"

// recoveryBurst is the event bucket of the recovery profile. The rate is
// one event per 100s: nothing refills it during a test.
const recoveryBurst = 10

// recoveryYAML is an app with handshake auth (static tokens), relay rules
// that use the claims (the sender's sub, dm:{sub}:* rooms), one room per
// socket by request, a small event bucket, and recovery on with its
// skip_middlewares as given. adapter is "" (memory) or a Redis URL.
func recoveryYAML(adapter string, skipMiddlewares bool) string {
	y := `
static_dir: ""
api: {key: "` + recoveryAPIKey + `"}
socketio:
  connection_state_recovery: {enabled: true, skip_middlewares: ` + fmt.Sprint(skipMiddlewares) + `}
limits:
  events_per_second: 0.01
  event_burst: ` + fmt.Sprint(recoveryBurst) + `
namespaces:
  - name: /
    auth:
      mode: tokens
      tokens: [{sub: alice, token: alice-secret-token-1}, {sub: bob, token: bob-secret-token-22}]
    relay:
      - {event: say, to: others, attach_sender: true}
    rooms:
      allow: ["dm:{sub}:*", "room:*"]
      max_per_socket: 1
`
	if adapter != "" {
		y += "adapter: {type: redis, url: \"" + adapter + "\", key_prefix: hostile, request_timeout: 3s}\n"
	}
	return y
}

// startYAML serves a configuration given as YAML until the test ends; with
// the Redis adapter it waits until the node has subscribed.
func startYAML(t *testing.T, yaml string) (string, *server.Server) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "recovery.yaml", handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	url, a := testserver.StartApp(t, cfg)
	if c := a.Cluster(); c != nil {
		waitUntil(t, "the node subscribed to redis", c.Healthy)
	}
	return url, a
}

// TestHostileRecoveryKeepsRights: a client whose connection is cut and
// that recovers its session has exactly the rights and limits it had: its
// auth claims (the auth middleware is skipped), its count of rooms joined
// by request, and its event bucket. In memory and with the Redis adapter
// (recovery is per node either way), and with the middlewares run again
// (which must not reset the limits either).
func TestHostileRecoveryKeepsRights(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		url, a := startYAML(t, recoveryYAML("", true))
		recoveryKeepsRights(t, url, a)
	})
	t.Run("redis", func(t *testing.T) {
		url, a := startYAML(t, recoveryYAML(testserver.StartRedis(t).URL(), true))
		recoveryKeepsRights(t, url, a)
	})
	t.Run("middlewares run again", func(t *testing.T) {
		url, a := startYAML(t, recoveryYAML("", false))
		recoveryKeepsRights(t, url, a)
	})
}

func recoveryKeepsRights(t *testing.T, url string, a *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nsp := a.SocketIO().Of("/")
	alice := dialSIO(t, ctx, url, map[string]string{"token": "alice-secret-token-1"})
	bob := dialSIO(t, ctx, url, map[string]string{"token": "bob-secret-token-22"})
	if alice.PID == "" {
		t.Fatal("no pid in the CONNECT reply: recovery is off")
	}

	// Before the cut: alice joins her one room and spends all of her
	// bucket but the four events the checks below send.
	spent := 0
	emitAck(t, ctx, alice, `{"ok":true,"room":"room:a"}`, "join", "room:a")
	spent++
	for spent < recoveryBurst-4 {
		emitAck(t, ctx, alice, `{"ok":true}`, "say", "hello")
		spent++
	}
	for range spent - 1 {
		if got := senderOf(t, ctx, bob); got.Sub != "alice" {
			t.Fatalf("before the cut, bob sees sender %+v", got)
		}
	}
	// Alice needs an offset: the last argument of an event she received.
	emitAck(t, ctx, bob, `{"ok":true}`, "say", "hi alice")
	ev, err := alice.Expect(ctx, "say")
	if err != nil {
		t.Fatal(err)
	}
	var offset string
	if err := json.Unmarshal(ev.Args[len(ev.Args)-1], &offset); err != nil {
		t.Fatalf("no offset in %s", ev.Args)
	}

	// The cut: the TCP connection closes, no DISCONNECT packet.
	id, pid := alice.ID, alice.PID
	_ = alice.Close()
	waitUntil(t, "the server to see the cut", func() bool { return nsp.Len() == 1 })
	alice = dialSIO(t, ctx, url, map[string]string{"token": "alice-secret-token-1", "pid": pid, "offset": offset})
	if alice.ID != id {
		t.Fatalf("not recovered: id %q, want %q", alice.ID, id)
	}

	// Her claims: the relay names her, /api/sockets shows them, and she
	// may join dm:alice:* once she has left her one room.
	emitAck(t, ctx, alice, `{"ok":true}`, "say", "I am back")
	if got := senderOf(t, ctx, bob); got.Sub != "alice" || got.ID != id {
		t.Errorf("after recovery, bob sees sender %+v, want sub alice (attach_sender lost the claims)", got)
	}
	if claims := apiClaims(t, url, id); claims["sub"] != "alice" {
		t.Errorf("after recovery, /api/sockets shows claims %v for alice", claims)
	}
	// Her limit: one room by request, and she is in room:a.
	emitAck(t, ctx, alice, `{"error":"room limit reached (1)"}`, "join", "room:b")
	emitAck(t, ctx, alice, `{"ok":true,"room":"room:a"}`, "leave", "room:a")
	emitAck(t, ctx, alice, `{"ok":true,"room":"dm:alice:bob"}`, "join", "dm:alice:bob")
	spent += 4

	// Her bucket: spent as before the cut, not refilled by it.
	if spent != recoveryBurst {
		t.Fatalf("test bug: %d events spent", spent)
	}
	emitAck(t, ctx, alice, `{"message":"rate limit exceeded"}`, "say", "one too many")
	emitAck(t, ctx, bob, `{"ok":true}`, "say", "bob is not limited by alice")
}

// dialSIO connects a sioclient to "/" with auth, closed at the end of the
// test.
func dialSIO(t *testing.T, ctx context.Context, url string, auth any) *sioclient.Client {
	t.Helper()
	c, err := sioclient.Dial(ctx, url, "/", auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// emitAck sends an event with an ack and checks the ack's one argument.
func emitAck(t *testing.T, ctx context.Context, c *sioclient.Client, want, event string, args ...any) {
	t.Helper()
	got, err := c.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", event, args, err)
	}
	if len(got) != 1 || string(got[0]) != want {
		t.Errorf("%s %v: ack %s, want %s", event, args, got, want)
	}
}

type senderInfo struct{ ID, Sub string }

// senderOf reads the next "say" and returns its attach_sender identity.
func senderOf(t *testing.T, ctx context.Context, c *sioclient.Client) senderInfo {
	t.Helper()
	ev, err := c.Expect(ctx, "say")
	if err != nil {
		t.Fatal(err)
	}
	var s senderInfo
	if len(ev.Args) < 2 || ev.Arg(1, &s) != nil {
		t.Fatalf("say without a sender: %s", ev.Args)
	}
	return s
}

// apiClaims returns the claims /api/sockets shows for socket id.
func apiClaims(t *testing.T, url, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/api/sockets", nil)
	req.Header.Set("Authorization", "Bearer "+recoveryAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Sockets []struct {
			ID     string
			Claims map[string]any
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, s := range body.Sockets {
		if s.ID == id {
			return s.Claims
		}
	}
	t.Fatalf("socket %s not in /api/sockets", id)
	return nil
}

// waitUntil polls cond for up to 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clusterRoomsYAML lets any client join, and send to, any room without a
// '/' (the widest patterns a configuration can give), on a Redis cluster.
func clusterRoomsYAML(redisURL string) string {
	return `
static_dir: ""
adapter: {type: redis, url: "` + redisURL + `", key_prefix: hostile, request_timeout: 3s}
namespaces:
  - name: /
    relay:
      - {event: tell, to: room, rooms: ["*"]}
    rooms:
      allow: ["*"]
  - name: /auto
    auth:
      mode: tokens
      tokens: [{sub: ` + idShapedSub + `, token: auto-join-token-333}]
    rooms:
      auto_join: ["{sub}", "user:{sub}"]
`
}

// idShapedSub is a subject with a socket id's shape: auto_join must not
// put its socket in the room of the socket that has that id.
const idShapedSub = "AAAAAAAAAAAAAAAAAAAA"

// TestHostileSocketRoomAcrossNodes: with the Redis adapter, a client on
// node A can neither join nor send to the own room (the id) of a socket
// on node B, whatever the patterns allow: a name with a socket id's shape
// is refused without asking the cluster. Ordinary rooms still span nodes.
func TestHostileSocketRoomAcrossNodes(t *testing.T) {
	yaml := clusterRoomsYAML(testserver.StartRedis(t).URL())
	urlA, a := startYAML(t, yaml)
	urlB, b := startYAML(t, yaml)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	victim := dialSIO(t, ctx, urlB, nil)
	attacker := dialSIO(t, ctx, urlA, nil)
	nspB := b.SocketIO().Of("/")

	// Ordinary rooms: joined on both nodes, a message crosses.
	emitAck(t, ctx, victim, `{"ok":true,"room":"game:1"}`, "join", "game:1")
	emitAck(t, ctx, attacker, `{"ok":true,"room":"game:1"}`, "join", "game:1")
	emitAck(t, ctx, attacker, `{"ok":true}`, "tell", "game:1", "hello")
	if ev, err := victim.Expect(ctx, "tell"); err != nil || len(ev.Args) != 1 || string(ev.Args[0]) != `"hello"` {
		t.Fatalf("a room across nodes: %v %v", ev.Args, err)
	}

	// Writing into the victim's private channel.
	emitAck(t, ctx, attacker, `{"error":"not allowed to send to room `+victim.ID+`"}`, "tell", victim.ID, "spoofed")
	// Reading it: a private message to the victim (an application's
	// socket.to(id).emit on node B) must reach the victim only.
	emitAck(t, ctx, attacker, `{"error":"not allowed to join room `+victim.ID+`"}`, "join", victim.ID)
	if err := nspB.To(victim.ID).Emit("private", "secret"); err != nil {
		t.Fatal(err)
	}
	// Node A publishes in order too: its marker comes after the tell.
	if err := a.SocketIO().Of("/").To(victim.ID).Emit("marker A"); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < 2; {
		ev, err := victim.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Name {
		case "private", "marker A":
			got++
		default:
			t.Errorf("the victim on node B got %q %s from the attacker on node A", ev.Name, ev.Args)
		}
	}
	// Node B publishes in order: once the attacker has the marker sent
	// after the private message, it would have had that message too.
	if err := nspB.To(attacker.ID).Emit("marker B"); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := attacker.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Name == "marker B" {
			break
		}
		if ev.Name == "private" {
			t.Errorf("the attacker on node A read the victim's private message %s", ev.Args)
		}
	}

	// auto_join with a claim alone: skipped when the claim has the shape.
	auto, err := sioclient.Dial(ctx, urlA, "/auto", map[string]string{"token": "auto-join-token-333"})
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	// auto_join runs after the CONNECT reply: wait for its last room.
	var rooms []string
	waitUntil(t, "auto_join", func() bool {
		for _, s := range a.SocketIO().Of("/auto").Sockets() {
			rooms = s.Rooms()
		}
		return slices.Contains(rooms, "user:"+idShapedSub)
	})
	if len(rooms) != 2 || rooms[0] != auto.ID || rooms[1] != "user:"+idShapedSub {
		t.Errorf("auto_join [{sub}, user:{sub}] with sub %s: rooms %v, want only its own and user:%s", idShapedSub, rooms, idShapedSub)
	}
}
