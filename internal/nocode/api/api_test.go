package api

import (
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// The OpenAPI description lists exactly the served endpoints and methods.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile("../../../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/api.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	h, err := New(Options{Key: "k", Server: socketio.NewServer(nil), Namespaces: []string{"/"}})
	if err != nil {
		t.Fatal(err)
	}
	routes := h.(*server).routes
	for path, methods := range routes {
		for m := range methods {
			if _, ok := doc.Paths[path][strings.ToLower(m)]; !ok {
				t.Errorf("%s %s is served but not in docs/api.yaml", m, path)
			}
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if _, ok := routes[path][strings.ToUpper(m)]; !ok {
				t.Errorf("docs/api.yaml documents %s %s, which is not served", m, path)
			}
		}
	}
}

func TestNewRefusesEmptyKey(t *testing.T) {
	if _, err := New(Options{Server: socketio.NewServer(nil)}); err == nil {
		t.Fatal("New accepted an empty key")
	}
}

func TestCheckRooms(t *testing.T) {
	for _, tt := range []struct {
		rooms []string
		want  string
	}{
		{nil, ""},
		{[]string{"a", "b:c/d"}, ""},
		{[]string{"a", ""}, "rooms[1]: must not be empty"},
		{[]string{"a\nb"}, "rooms[0]: control characters not allowed"},
		{slices.Repeat([]string{"a"}, maxRooms+1), "rooms: too many rooms (1001, max 1000)"},
	} {
		err := checkRooms("rooms", tt.rooms)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("checkRooms(%d rooms) = %q, want %q", len(tt.rooms), got, tt.want)
		}
	}
}

// GET /api/sockets shows which auth keys a client sent, not their values
// (tokens, recovery secrets), unless ExposeHandshakeAuth.
func TestSocketsRedactHandshakeAuth(t *testing.T) {
	io := socketio.NewServer(nil)
	io.Of("/")
	srv := serve.Start(t, io, io.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, srv.URL, "/", map[string]any{"token": "s3cret-token-value", "n": 7340093})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	list := func(expose bool) string {
		h, err := New(Options{Key: "k", Server: io, Namespaces: []string{"/"}, ExposeHandshakeAuth: expose})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/api/sockets", nil)
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET /api/sockets: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if got := list(false); strings.Contains(got, "s3cret") || strings.Contains(got, "7340093") || !strings.Contains(got, `"auth":{"n":"[redacted]","token":"[redacted]"}`) {
		t.Errorf("default listing: %s\nwant the auth keys with redacted values", got)
	}
	if got := list(true); !strings.Contains(got, `"token":"s3cret-token-value"`) {
		t.Errorf("with ExposeHandshakeAuth: %s\nwant the auth payload", got)
	}
}

func TestRedactQuery(t *testing.T) {
	q := map[string][]string{"EIO": {"4"}, "token": {"abc"}}
	got, u := redactQuery(q, "/socket.io/?EIO=4&token=abc", []string{"token"})
	if got["token"][0] != "[redacted]" || got["EIO"][0] != "4" || u != "/socket.io/?EIO=4&token=%5Bredacted%5D" || q["token"][0] != "abc" {
		t.Errorf("redactQuery = %v %q (input now %v)", got, u, q)
	}
	if got, u := redactQuery(q, "/x?EIO=4&token=abc", nil); got["token"][0] != "abc" || u != "/x?EIO=4&token=abc" {
		t.Errorf("no names: %v %q", got, u)
	}
}
