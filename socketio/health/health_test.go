package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func TestReady(t *testing.T) {
	var h Health
	if r := h.Ready(context.Background()); r.Status != StatusOK || r.Checks != nil {
		t.Fatalf("no checks: %+v", r)
	}
	var soft, hard error
	h.Add("redis", false, func(context.Context) error { return soft })
	h.Add("db", true, func(context.Context) error { return hard })
	// A check is given a deadline: one that blocks cannot hang /readyz.
	h.Add("slow", false, func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return nil
	})
	cases := []struct {
		soft, hard error
		want       string
		code       int
	}{
		{nil, nil, StatusOK, 200},
		{errors.New("down"), nil, StatusDegraded, 200},
		{nil, errors.New("down"), StatusUnavailable, 503},
		{errors.New("down"), errors.New("down"), StatusUnavailable, 503},
	}
	for _, c := range cases {
		soft, hard = c.soft, c.hard
		r := h.Ready(context.Background())
		if r.Status != c.want || r.Checks["slow"] != "ok" {
			t.Errorf("soft=%v hard=%v: %+v", c.soft, c.hard, r)
		}
		rec := httptest.NewRecorder()
		h.Readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), `"status":"`+c.want+`"`) {
			t.Errorf("soft=%v hard=%v: /readyz %d %s", c.soft, c.hard, rec.Code, rec.Body)
		}
	}
	soft, hard = nil, nil
	h.ShuttingDown()
	if r := h.Ready(context.Background()); r.Status != StatusUnavailable || r.Checks["server"] != "shutting down" {
		t.Fatalf("shutting down: %+v", r)
	}
	rec := httptest.NewRecorder()
	h.Healthz(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Fatalf("/healthz %d %q", rec.Code, rec.Body)
	}
}

func TestReadyCheckTimeout(t *testing.T) {
	var h Health
	h.Add("stuck", true, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	start := time.Now()
	r := h.Ready(context.Background())
	if d := time.Since(start); d > checkTimeout+time.Second || r.Status != StatusUnavailable {
		t.Fatalf("%+v after %v", r, d)
	}
}

// TestSocketIOCheck: the check fails while the engine's session cap is
// reached, and passes again once a session is gone.
func TestSocketIOCheck(t *testing.T) {
	io := socketio.NewServer(&socketio.Options{Engine: engineio.Options{Limits: engineio.Limits{MaxSessions: 1}}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
	}()
	check := SocketIO(io)
	if err := check(context.Background()); err != nil {
		t.Fatalf("empty server: %v", err)
	}
	rec := httptest.NewRecorder()
	io.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil))
	if rec.Code != 200 {
		t.Fatalf("handshake: %d %s", rec.Code, rec.Body)
	}
	if err := check(context.Background()); err == nil || !strings.Contains(err.Error(), "1 of 1") {
		t.Fatalf("full server: %v", err)
	}
	if err := SocketIO(socketio.NewServer(nil))(context.Background()); err != nil {
		t.Fatalf("no cap: %v", err)
	}
}

type fakeCluster struct{ err error }

func (c *fakeCluster) Err() error { return c.err }

func TestAdapterCheckAndRegister(t *testing.T) {
	c := &fakeCluster{}
	var h Health
	h.Add("redis", false, Adapter(c))
	mux := http.NewServeMux()
	h.Register(mux)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"redis":"ok"`) {
		t.Fatalf("up: %d %s", code, body)
	}
	c.err = errors.New("connection refused")
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"status":"degraded"`) ||
		!strings.Contains(body, "connection refused") {
		t.Fatalf("down: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
}
