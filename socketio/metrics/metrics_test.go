package metrics

import (
	"errors"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// TestCollector: every described metric is collected, the names pass
// Prometheus's lint, and the adapter counters come through.
func TestCollector(t *testing.T) {
	io := socketio.NewServer(nil)
	io.Of("/chat")
	var ad socketio.AdapterStats
	ad.Published(nil)
	ad.Published(nil)
	ad.Published(errors.New("redis down"))
	ad.Received(nil)
	c := NewCollector(io, &ad)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP switchboard_adapter_published_total Messages the adapter published to other nodes.
# TYPE switchboard_adapter_published_total counter
switchboard_adapter_published_total 2
# HELP switchboard_adapter_publish_errors_total Messages the adapter failed to publish.
# TYPE switchboard_adapter_publish_errors_total counter
switchboard_adapter_publish_errors_total 1
# HELP switchboard_adapter_received_total Messages the adapter received from other nodes.
# TYPE switchboard_adapter_received_total counter
switchboard_adapter_received_total 1
# HELP switchboard_sockets Connected Socket.IO sockets, by namespace and transport.
# TYPE switchboard_sockets gauge
switchboard_sockets{namespace="/",transport="polling"} 0
switchboard_sockets{namespace="/",transport="websocket"} 0
switchboard_sockets{namespace="/chat",transport="polling"} 0
switchboard_sockets{namespace="/chat",transport="websocket"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"switchboard_adapter_published_total", "switchboard_adapter_publish_errors_total",
		"switchboard_adapter_received_total", "switchboard_sockets"); err != nil {
		t.Error(err)
	}
	// A nil AdapterStats (no multi-node adapter) reads as zeros.
	var none *socketio.AdapterStats
	none.Published(nil)
	if n := testutil.CollectAndCount(NewCollector(io, nil), "switchboard_adapter_received_total"); n != 1 {
		t.Errorf("adapter metric without an adapter: %d samples", n)
	}
}

func TestHandlerToken(t *testing.T) {
	reg := NewRegistry(NewCollector(socketio.NewServer(nil), nil))
	h := Handler(reg, "0123456789abcdef")
	for auth, want := range map[string]int{
		"":                        401,
		"Bearer":                  401,
		"Bearer 0123456789abcdeX": 401,
		"Basic 0123456789abcdef":  401,
		"Bearer 0123456789abcdef": 200,
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, rec.Code, want)
		}
		if want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate", auth)
		}
	}
}

// TestOnlyThisPackageLinksPrometheus: the library packages an embedder
// imports for Socket.IO alone do not pull in the Prometheus client.
func TestOnlyThisPackageLinksPrometheus(t *testing.T) {
	for _, pkg := range []string{"engineio", "socketio", "socketio/redisadapter", "socketio/health", "socketio/adminui"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/switchboard/switchboard/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "prometheus") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
