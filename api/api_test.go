package api

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// The OpenAPI description lists exactly the served endpoints and methods.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile("../docs/api.yaml")
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
