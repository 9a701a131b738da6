//go:build unix

package apps

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const backendKey = "backend-key-for-tests"

// backend is a real HTTP app backend: it answers forwarded events by name
// and records notifications.
type backend struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []map[string]any
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+backendKey {
		http.Error(w, "bad key", http.StatusUnauthorized)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.mu.Unlock()
	if req["type"] != "event" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch req["event"] {
	case "order", "fire":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "request": req})
	case "slow", "hang":
		// Longer than the configured timeout; ends early when Switchboard
		// gives up (the request's context is cancelled).
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
			w.Write([]byte(`{"late":true}`))
		}
	case "fail":
		http.Error(w, `{"secret":"internal detail"}`, http.StatusInternalServerError)
	case "notjson":
		w.Write([]byte("hello"))
	case "empty":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unknown event", http.StatusNotFound)
	}
}

func (b *backend) notifications(typ string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, r := range b.reqs {
		if r["type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

// TestForwarding runs e2e/js/apps/forward.apps.mjs against a namespace
// whose events go to a real HTTP backend started here: the reply becomes
// the ack; a slow backend, a 500, a non-JSON reply and an unreachable
// backend become error acks within the timeout; the per-socket bound on
// requests in flight refuses the excess at once. Then the backend must
// have received connect and disconnect notifications with the claims.
func TestForwarding(t *testing.T) {
	be := &backend{t: t}
	srv := httptest.NewServer(be)
	defer srv.Close()
	// A port nothing listens on, for the unreachable backend.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String() + "/"
	l.Close()

	cfg := `
static_dir: ""
namespaces:
  - name: /
    app: conformance
  - name: /fwd
    auth:
      mode: tokens
      tokens: [{sub: alice, token: alice-forward-token}]
    relay:
      - {event: order, to: backend}
      - {event: fire, to: backend}
      - {event: slow, to: backend}
      - {event: hang, to: backend}
      - {event: fail, to: backend}
      - {event: notjson, to: backend}
      - {event: empty, to: backend}
    backend:
      url: ` + srv.URL + `/socketio
      timeout: 500ms
      max_in_flight: 2
      connect: true
      disconnect: true
      key: ` + backendKey + `
  - name: /down
    relay:
      - {event: order, to: backend}
    backend: {url: "` + deadURL + `", timeout: 2s}
`
	url, a := start(t, cfg)
	runNode(t, "forward.apps.mjs", url, "SWITCHBOARD_BACKEND_TIMEOUT_MS=500")

	// Disconnect notifications are sent after the clients have gone.
	deadline := time.Now().Add(5 * time.Second)
	for len(be.notifications("disconnect")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	conns, discs := be.notifications("connect"), be.notifications("disconnect")
	if len(conns) == 0 || len(discs) == 0 {
		t.Fatalf("backend got %d connect and %d disconnect notifications, want some of each", len(conns), len(discs))
	}
	c := conns[0]
	hs, _ := c["handshake"].(map[string]any)
	if c["namespace"] != "/fwd" || c["socket_id"] == "" || c["claims"].(map[string]any)["sub"] != "alice" || hs == nil || hs["address"] == "" {
		t.Errorf("connect notification = %v", c)
	}
	d := discs[0]
	if d["namespace"] != "/fwd" || d["reason"] == "" || d["claims"].(map[string]any)["sub"] != "alice" {
		t.Errorf("disconnect notification = %v", d)
	}
	fired := false
	for _, r := range be.notifications("event") {
		if r["event"] == "fire" {
			args, _ := r["args"].([]any)
			fired = len(args) == 1 && args[0] == "no-ack"
		}
	}
	if !fired {
		t.Error(`the backend did not receive the "fire" event emitted without an ack`)
	}
	st := a.Stats()["/fwd"].Backend
	if st == nil || st.Errors == 0 || st.Overloaded == 0 || st.NotifyDelivered == 0 {
		t.Errorf("backend stats = %+v", st)
	}
	t.Logf("backend stats: %+v", *st)
}
