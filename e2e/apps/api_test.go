//go:build unix

package apps

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

const apiConfig = `
static_dir: ""
api: {key: "` + apiKey + `"}
namespaces:
  - name: /
    relay:
      - {event: drawing, to: others}
    rooms: {allow: ["game:*"]}
  - name: /other
    app: conformance
`

type apiClient struct {
	t    *testing.T
	base string
}

// do sends a request and returns the status and the decoded JSON body.
func (c *apiClient) do(method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: reply %q is not a JSON object: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (c *apiClient) ok(method, path, body string) map[string]any {
	c.t.Helper()
	st, out, _ := c.do(method, path, body)
	if st != http.StatusOK {
		c.t.Fatalf("%s %s %s: status %d %v", method, path, body, st, out)
	}
	return out
}

// next returns the next event a client receives, skipping nothing: with a
// marker event sent after a broadcast, it shows who got the broadcast.
func next(t *testing.T, c *sioclient.Client) sioclient.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("client %s: %v", c.ID, err)
	}
	return ev
}

func dial(t *testing.T, url, nsp string) *sioclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, nsp, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(t *testing.T, c *sioclient.Client, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ans, err := c.EmitWithAck(ctx, "join", room)
	if err != nil || len(ans) != 1 || !strings.Contains(string(ans[0]), `"ok":true`) {
		t.Fatalf("join %s: %s %v", room, ans, err)
	}
}

// TestHTTPAPI exercises every endpoint with sioclient sockets as the
// recipients, then every kind of bad input.
func TestHTTPAPI(t *testing.T) {
	url, _ := start(t, apiConfig)
	api := &apiClient{t: t, base: url}
	a, b, c := dial(t, url, "/"), dial(t, url, "/"), dial(t, url, "/")
	join(t, a, "game:1")
	join(t, b, "game:1")
	join(t, c, "game:2")

	// received reports, for each client, the events before the marker.
	marker := func() {
		t.Helper()
		api.ok("POST", "/api/emit", `{"event":"marker"}`)
	}
	received := func(cl *sioclient.Client) []string {
		t.Helper()
		var got []string
		for {
			ev := next(t, cl)
			if ev.Name == "marker" {
				return got
			}
			got = append(got, ev.Name+string(must(json.Marshal(ev.Args))))
		}
	}

	t.Run("emit to the namespace", func(t *testing.T) {
		api.ok("POST", "/api/emit", `{"event":"news","args":[1,"two",{"three":[3]}]}`)
		marker()
		for _, cl := range []*sioclient.Client{a, b, c} {
			if got := received(cl); !slices.Equal(got, []string{`news[1,"two",{"three":[3]}]`}) {
				t.Errorf("%s got %v", cl.ID, got)
			}
		}
	})
	t.Run("emit to rooms except rooms, volatile", func(t *testing.T) {
		api.ok("POST", "/api/emit", `{"namespace":"/","event":"r","rooms":["game:1","game:2"],"except":["`+b.ID+`"]}`)
		marker()
		if got := received(a); !slices.Equal(got, []string{`r[]`}) {
			t.Errorf("a got %v", got)
		}
		if got := received(b); len(got) != 0 {
			t.Errorf("b (excepted) got %v", got)
		}
		if got := received(c); !slices.Equal(got, []string{`r[]`}) {
			t.Errorf("c got %v", got)
		}
		// A volatile emit is dropped for a client whose transport is
		// still busy (writing the marker, say), as the reference drops
		// it: it is sent again until one reaches c, and never elsewhere.
		for try := 1; ; try++ {
			api.ok("POST", "/api/emit", `{"event":"v","rooms":["game:2"],"volatile":true}`)
			marker()
			for _, cl := range []*sioclient.Client{a, b} {
				if got := received(cl); len(got) != 0 {
					t.Fatalf("%s (not in game:2) got %v", cl.ID, got)
				}
			}
			got := received(c)
			if slices.Equal(got, []string{`v[]`}) {
				break
			}
			if len(got) != 0 || try == 20 {
				t.Fatalf("c got %v (try %d)", got, try)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("list rooms", func(t *testing.T) {
		out := api.ok("GET", "/api/rooms?namespace=/", "")
		got := string(must(json.Marshal(out["rooms"])))
		if want := `[{"name":"game:1","sockets":2},{"name":"game:2","sockets":1}]`; got != want {
			t.Errorf("rooms = %s, want %s", got, want)
		}
	})
	t.Run("list sockets with rooms and handshake", func(t *testing.T) {
		out := api.ok("GET", "/api/sockets?room=game:1", "")
		socks, _ := out["sockets"].([]any)
		if len(socks) != 2 {
			t.Fatalf("sockets = %v", out)
		}
		ids := []string{a.ID, b.ID}
		slices.Sort(ids)
		for i, s := range socks {
			m := s.(map[string]any)
			hs, _ := m["handshake"].(map[string]any)
			rooms := string(must(json.Marshal(m["rooms"])))
			if m["id"] != ids[i] || !strings.Contains(rooms, `"game:1"`) || !strings.Contains(rooms, ids[i]) || hs == nil || hs["address"] == "" || hs["query"].(map[string]any)["EIO"] == nil {
				t.Errorf("socket %d = %v", i, m)
			}
		}
		out = api.ok("GET", "/api/sockets", "")
		if n := len(out["sockets"].([]any)); n != 3 {
			t.Errorf("all sockets: %d, want 3", n)
		}
	})
	t.Run("join and leave", func(t *testing.T) {
		api.ok("POST", "/api/join", `{"rooms":["`+a.ID+`","`+c.ID+`"],"join":["vip","vip2"]}`)
		api.ok("POST", "/api/emit", `{"event":"vip","rooms":["vip"]}`)
		api.ok("POST", "/api/leave", `{"rooms":["game:2"],"leave":["vip"]}`)
		api.ok("POST", "/api/emit", `{"event":"vip-after-leave","rooms":["vip"]}`)
		marker()
		if got := received(a); !slices.Equal(got, []string{`vip[]`, `vip-after-leave[]`}) {
			t.Errorf("a got %v", got)
		}
		if got := received(b); len(got) != 0 {
			t.Errorf("b got %v", got)
		}
		if got := received(c); !slices.Equal(got, []string{`vip[]`}) {
			t.Errorf("c got %v", got)
		}
		out := api.ok("GET", "/api/rooms", "")
		if got := string(must(json.Marshal(out["rooms"]))); !strings.Contains(got, `{"name":"vip","sockets":1}`) || !strings.Contains(got, `{"name":"vip2","sockets":2}`) {
			t.Errorf("rooms = %s", got)
		}
		api.ok("POST", "/api/leave", `{"all":true,"leave":["vip2"]}`)
		out = api.ok("GET", "/api/rooms", "")
		if got := string(must(json.Marshal(out["rooms"]))); strings.Contains(got, `vip2`) {
			t.Errorf("rooms after leaving vip2 = %s", got)
		}
	})
	t.Run("stats", func(t *testing.T) {
		out := api.ok("GET", "/api/stats", "")
		root, _ := out["/"].(map[string]any)
		if root == nil || root["sockets"] != float64(3) || root["relay"] == nil {
			t.Errorf("stats = %v", out)
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		api.ok("POST", "/api/disconnect", `{"rooms":["game:2"],"close":true}`)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for {
			if _, err := c.Next(ctx); err != nil {
				break // the connection is closed
			}
		}
		if ctx.Err() != nil {
			t.Fatal("c was not disconnected")
		}
		out := api.ok("GET", "/api/sockets", "")
		if n := len(out["sockets"].([]any)); n != 2 {
			t.Errorf("sockets after disconnect: %d, want 2", n)
		}
	})

	t.Run("auth", func(t *testing.T) {
		st, out, h := api.do("GET", "/api/rooms", "", "Authorization", "")
		if st != 401 || h.Get("WWW-Authenticate") == "" || out["error"] != "missing Authorization: Bearer <key> header" {
			t.Errorf("no header: %d %v %v", st, out, h)
		}
		st, out, _ = api.do("GET", "/api/rooms", "", "Authorization", "Basic "+apiKey)
		if st != 401 || out["error"] != "malformed Authorization header (want Bearer <key>)" {
			t.Errorf("basic: %d %v", st, out)
		}
		st, out, _ = api.do("POST", "/api/emit", `{"event":"x"}`, "Authorization", "Bearer "+apiKey+"x")
		if st != 403 || out["error"] != "wrong API key" {
			t.Errorf("wrong key: %d %v", st, out)
		}
		st, _, _ = api.do("GET", "/api/nope", "")
		if st != 404 {
			t.Errorf("unknown endpoint: %d", st)
		}
		st, _, h = api.do("GET", "/api/emit", "")
		if st != 405 || h.Get("Allow") != "POST" {
			t.Errorf("GET /api/emit: %d Allow %q", st, h.Get("Allow"))
		}
	})

	bad := []struct {
		name, method, path, body, field, msg string
	}{
		{"no event", "POST", "/api/emit", `{}`, "event", "event: must not be empty"},
		{"reserved event", "POST", "/api/emit", `{"event":"connect"}`, "event", `event: "connect" is reserved by Socket.IO clients`},
		{"event type", "POST", "/api/emit", `{"event":5}`, "event", "event: want a string, got number"},
		{"args type", "POST", "/api/emit", `{"event":"x","args":{"a":1}}`, "args", "args: want an array, got object"},
		{"rooms type", "POST", "/api/emit", `{"event":"x","rooms":"game:1"}`, "rooms", "rooms: want an array, got string"},
		{"empty room", "POST", "/api/emit", `{"event":"x","rooms":["a",""]}`, "rooms[1]", "rooms[1]: must not be empty"},
		{"long room", "POST", "/api/emit", `{"event":"x","except":["` + strings.Repeat("r", 129) + `"]}`, "except[0]", "except[0]: longer than 128 bytes"},
		{"volatile type", "POST", "/api/emit", `{"event":"x","volatile":"yes"}`, "volatile", "volatile: want a boolean, got string"},
		{"unknown namespace", "POST", "/api/emit", `{"event":"x","namespace":"/nope"}`, "namespace", `namespace: unknown namespace "/nope" (configured: /, /other)`},
		{"unknown field", "POST", "/api/emit", `{"event":"x","room":"a"}`, "room", "room: unknown field"},
		{"not json", "POST", "/api/emit", `{"event":`, "", "body truncated or larger than 1 MiB"},
		{"array body", "POST", "/api/emit", `[1]`, "", "body must be a JSON object, got array"},
		{"trailing", "POST", "/api/emit", `{"event":"x"} {}`, "", "trailing data after the JSON object"},
		{"join without rooms", "POST", "/api/join", `{"join":["x"]}`, "rooms", `rooms: empty: this would select every socket of the namespace; list rooms (socket ids are rooms too) or set "all": true`},
		{"join nothing", "POST", "/api/join", `{"rooms":["a"]}`, "join", "join: must list at least one room"},
		{"join with leave", "POST", "/api/join", `{"rooms":["a"],"join":["b"],"leave":["c"]}`, "leave", "leave: not for this endpoint"},
		{"leave nothing", "POST", "/api/leave", `{"all":true}`, "leave", "leave: must list at least one room"},
		{"all and rooms", "POST", "/api/disconnect", `{"all":true,"rooms":["a"]}`, "all", `all: "all": true with rooms: give one or the other`},
		{"disconnect all implicit", "POST", "/api/disconnect", `{}`, "rooms", `rooms: empty: this would select every socket of the namespace; list rooms (socket ids are rooms too) or set "all": true`},
		{"close type", "POST", "/api/disconnect", `{"all":true,"close":1}`, "close", "close: want a boolean, got number"},
		{"rooms query", "GET", "/api/rooms?namespace=/nope", "", "namespace", `namespace: unknown namespace "/nope" (configured: /, /other)`},
		{"rooms filter", "GET", "/api/rooms?room=a", "", "room", "room: rooms lists every room of a namespace: only namespace is accepted"},
		{"sockets param", "GET", "/api/sockets?rooms=a", "", "rooms", "rooms: unknown query parameter (want namespace, room, except)"},
		{"sockets empty room", "GET", "/api/sockets?room=", "", "rooms[0]", "rooms[0]: must not be empty"},
	}
	for _, tt := range bad {
		t.Run("400 "+tt.name, func(t *testing.T) {
			st, out, _ := api.do(tt.method, tt.path, tt.body)
			field, _ := out["field"].(string)
			if st != 400 || field != tt.field || out["error"] != tt.msg {
				t.Errorf("%s %s %s:\n got %d %v\nwant 400 field %q error %q", tt.method, tt.path, tt.body, st, out, tt.field, tt.msg)
			}
		})
	}
	t.Run("400 content type", func(t *testing.T) {
		st, out, _ := api.do("POST", "/api/emit", `{"event":"x"}`, "Content-Type", "text/plain")
		if st != 400 || out["error"] != "Content-Type must be application/json, got text/plain" {
			t.Errorf("got %d %v", st, out)
		}
	})
	t.Run("400 body too large", func(t *testing.T) {
		st, out, _ := api.do("POST", "/api/emit", `{"event":"x","args":["`+strings.Repeat("a", 1<<20)+`"]}`)
		if st != 400 || out["error"] != "body truncated or larger than 1 MiB" {
			t.Errorf("got %d %v", st, out)
		}
	})
	// Nothing above reached a or b (bad requests emit nothing).
	marker()
	for _, cl := range []*sioclient.Client{a, b} {
		if got := received(cl); len(got) != 0 {
			t.Errorf("%s got %v after bad requests", cl.ID, got)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
