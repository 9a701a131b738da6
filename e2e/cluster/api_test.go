package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// apiKey is the HTTP API key of every node in these tests.
const apiKey = "cluster-test-key-0123456789"

func apiCall(t *testing.T, method, url string, body any, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// The HTTP API of any node acts on the whole cluster: it lists the sockets
// and rooms of the other nodes, and its emits and joins reach them.
func TestHTTPAPIAcrossNodes(t *testing.T) {
	r := startRedis(t)
	a, b := startNode(t, r.URL()), startNode(t, r.URL())
	c := dial(t, b.url, "lobby") // on node b only

	var socks struct {
		Sockets []struct {
			ID    string
			Rooms []string
		}
		Partial string
	}
	apiCall(t, "GET", a.url+"/api/sockets?namespace=/", nil, &socks)
	if socks.Partial != "" || len(socks.Sockets) != 1 || socks.Sockets[0].ID != c.ID || !slices.Contains(socks.Sockets[0].Rooms, "lobby") {
		t.Fatalf("node a's /api/sockets = %+v, want node b's socket %s in lobby", socks, c.ID)
	}
	var rooms struct {
		Rooms []struct {
			Name    string
			Sockets int
		}
	}
	apiCall(t, "GET", a.url+"/api/rooms?namespace=/", nil, &rooms)
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "lobby" || rooms.Rooms[0].Sockets != 1 {
		t.Fatalf("node a's /api/rooms = %+v, want lobby with 1 socket", rooms)
	}

	apiCall(t, "POST", a.url+"/api/emit", map[string]any{"namespace": "/", "rooms": []string{"lobby"}, "event": "news", "args": []any{"from a"}}, nil)
	if e := expectEvent(t, c, "news", 5*time.Second); len(e.Args) != 1 || string(e.Args[0]) != `"from a"` {
		t.Fatalf("news = %+v", e)
	}
	apiCall(t, "POST", a.url+"/api/join", map[string]any{"namespace": "/", "rooms": []string{c.ID}, "join": []string{"vip"}}, nil)
	waitFor(t, 5*time.Second, "the socket on node b joined vip", func() bool {
		return slices.Contains(b.nsp().Adapter().Rooms(), "vip")
	})
}
