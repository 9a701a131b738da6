package appscluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

const wait = 5 * time.Second

// cluster starts a redis-server and n nodes serving config.yaml (the chat
// on "/", raw WebSocket clients at "/") with the Redis adapter.
func cluster(t *testing.T, n int) []string {
	t.Helper()
	r := testserver.StartRedis(t)
	urls := make([]string, n)
	for i := range urls {
		urls[i], _ = startNode(t, r.URL())
	}
	return urls
}

func startNode(t *testing.T, redisURL string) (string, *server.Server) {
	t.Helper()
	cfg := testserver.Load(t, "default")
	testserver.RelaxedHeartbeat(cfg)
	cfg.Adapter = config.Adapter{Type: config.AdapterRedis, URL: redisURL, KeyPrefix: "socket.io", RequestTimeout: 3 * time.Second}
	if err := cfg.Validate(nil); err != nil {
		t.Fatal(err)
	}
	url, a := testserver.StartApp(t, cfg)
	waitHealthy(t, a)
	return url, a
}

func waitHealthy(t *testing.T, a *server.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !a.Cluster().Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("node not subscribed to redis")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// user is a chat user: a Socket.IO client that sent "add user".
type user struct {
	t    *testing.T
	name string
	c    *sioclient.Client
}

// login holds what "login" carries.
type login struct {
	NumUsers int           `json:"numUsers"`
	Room     string        `json:"room"`
	Rooms    []roomInfo    `json:"rooms"`
	History  []chatMessage `json:"history"`
}

type roomInfo struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type chatMessage struct {
	Username string `json:"username"`
	Message  string `json:"message"`
	Room     string `json:"room"`
	Time     int64  `json:"time"`
}

type userEvent struct {
	Username string `json:"username"`
	NumUsers int    `json:"numUsers"`
}

type roomUsers struct {
	Room  string   `json:"room"`
	Users []string `json:"users"`
}

// join connects name to the chat at base and returns the user and its
// login.
func join(t *testing.T, base, name string) (*user, login) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := sioclient.Dial(ctx, base, "/", nil)
	if err != nil {
		t.Fatalf("socket.io dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Emit("add user", name); err != nil {
		t.Fatal(err)
	}
	e, err := c.Expect(ctx, "login")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var l login
	if err := e.Arg(0, &l); err != nil {
		t.Fatalf("%s: login: %v", name, err)
	}
	return &user{t: t, name: name, c: c}, l
}

// ask emits event with args and decodes the ack's first argument into v.
func (u *user) ask(v any, event string, args ...any) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ans, err := u.c.EmitWithAck(ctx, event, args...)
	if err != nil || len(ans) == 0 {
		u.t.Fatalf("%s: %s: %v %s", u.name, event, err, ans)
	}
	if err := jsonUnmarshal(ans[0], v); err != nil {
		u.t.Fatalf("%s: %s ack: %v", u.name, event, err)
	}
}

// expect skips events until name arrives with an argument for which match
// is true.
func expect[T any](u *user, name string, match func(T) bool) T {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var seen []string
	for {
		e, err := u.c.Expect(ctx, name)
		if err != nil {
			u.t.Fatalf("%s: %v (seen %q: %s)", u.name, err, name, strings.Join(seen, ", "))
		}
		var v T
		if err := e.Arg(0, &v); err != nil {
			u.t.Fatalf("%s: %q argument: %v", u.name, name, err)
		}
		if match(v) {
			return v
		}
		seen = append(seen, string(e.Args[0]))
	}
}

// messages returns the texts of the "new message" events u gets, in
// order, until one is last (included).
func (u *user) messages(last string) []string {
	u.t.Helper()
	var got []string
	expect(u, "new message", func(m chatMessage) bool {
		got = append(got, m.Username+": "+m.Message)
		return m.Message == last
	})
	return got
}

// raw is a plain WebSocket client of the chat bridge.
type raw struct {
	t *testing.T
	c *wsclient.Conn
}

func dialRaw(t *testing.T, base string) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := wsclient.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/", nil)
	if err != nil {
		t.Fatalf("dial raw WebSocket: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c}
}

func (r *raw) send(text string) {
	r.t.Helper()
	f := ws.MaskFrameInPlace(ws.NewTextFrame([]byte(text)))
	if err := r.c.WriteFrame(f); err != nil {
		r.t.Fatal(err)
	}
}

// texts returns the text frames r gets, in order, until last (included).
func (r *raw) texts(last string) []string {
	r.t.Helper()
	var got []string
	for {
		f, err := r.c.ReadFrame(wait)
		if err != nil {
			r.t.Fatalf("raw client: waiting for %q (got %q): %v", last, got, err)
		}
		if f.Header.OpCode != ws.OpText {
			continue
		}
		got = append(got, string(f.Payload))
		if string(f.Payload) == last || strings.HasSuffix(string(f.Payload), ": "+last) {
			return got
		}
	}
}

func eq[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// pending returns the events named name that arrive within 100ms.
func (u *user) pending(name string) []string {
	var got []string
	for _, e := range u.pendingEvents() {
		if e.Name == name {
			got = append(got, string(e.Args[0]))
		}
	}
	return got
}

// pendingEvents returns the events that arrive within 100ms.
func (u *user) pendingEvents() []sioclient.Event {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var got []sioclient.Event
	for {
		e, err := u.c.Next(ctx)
		if err != nil {
			return got
		}
		got = append(got, e)
	}
}

// settle reads u's events until the last "rooms" it got is rooms and the
// last "room users" is users.
func (u *user) settle(rooms []roomInfo, users []string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var lastRooms []roomInfo
	var lastUsers roomUsers
	for !slices.Equal(lastRooms, rooms) || !slices.Equal(lastUsers.Users, users) {
		e, err := u.c.Next(ctx)
		if err != nil {
			u.t.Fatalf("%s: %v (last rooms %v, room users %v)", u.name, err, lastRooms, lastUsers)
		}
		switch e.Name {
		case "rooms":
			lastRooms = nil
			_ = e.Arg(0, &lastRooms)
		case "room users":
			lastUsers = roomUsers{}
			_ = e.Arg(0, &lastUsers)
		}
	}
}
