package cluster

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// TestConfigAnswersServerSideEmit: a Switchboard node without Go code
// answers a Node.js node's serverSideEmitWithAck from its config, with a
// fixed reply and with its backend's reply, promptly: without an answer,
// Node's call would wait out the adapter's whole timeout and fail.
func TestConfigAnswersServerSideEmit(t *testing.T) {
	got := make(chan map[string]any, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &req)
		got <- req
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"stock":3}`)
	}))
	t.Cleanup(backend.Close)

	r := startRedis(t)
	startNode(t, r.URL(), func(c *config.Config) {
		ns := &c.Namespaces[0]
		ns.Backend = &config.Backend{URL: backend.URL, Timeout: 5 * time.Second, MaxInFlight: 4}
		ns.ServerSide = []config.ServerSideRule{
			{Event: "who", Reply: map[string]any{"node": "switchboard"}},
			{Event: "stock", To: config.RelayBackend},
		}
	})
	ns := startNodeServer(t, r.URL())

	ask := func(event string, args ...any) json.RawMessage {
		t.Helper()
		start := time.Now()
		if args == nil {
			args = []any{}
		}
		answers := ns.call(map[string]any{"cmd": "serverSideEmitWithAck", "event": event, "args": args})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s answered after %v: waited for a timeout", event, d)
		}
		return answers
	}
	if a := ask("who"); string(a) != `[{"node":"switchboard"}]` {
		t.Fatalf("answers to who: %s", a)
	}
	if a := ask("stock", "apple"); string(a) != `[{"stock":3}]` {
		t.Fatalf("answers to stock: %s", a)
	}
	select {
	case req := <-got:
		if req["type"] != "server_side_event" || req["event"] != "stock" || req["namespace"] != "/" {
			t.Fatalf("backend got %v", req)
		}
		if args, _ := req["args"].([]any); len(args) != 1 || args[0] != "apple" {
			t.Fatalf("backend got args %v", req["args"])
		}
	default:
		t.Fatal("the backend got no request")
	}
}
