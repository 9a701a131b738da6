package ops

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/socketio/health"
)

// TestHealthAndReadiness: /healthz is 200 throughout; /readyz is 200 while
// serving, reports a failing non-critical check as degraded (still 200), a
// failing critical one as 503, and is 503 once the server is shutting down,
// while /healthz still answers.
func TestHealthAndReadiness(t *testing.T) {
	s := start(t, conformance(t))
	ready := func(wantCode int, wantStatus string) health.Report {
		t.Helper()
		code, body := httpGet(t, s.url+"/readyz")
		var rep health.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		if code != wantCode || rep.Status != wantStatus {
			t.Fatalf("/readyz = %d %s, want %d %s", code, body, wantCode, wantStatus)
		}
		return rep
	}
	if code, body := httpGet(t, s.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	ready(200, "ok")

	adapterUp := true
	s.app.Health().Add("adapter", false, func(context.Context) error {
		if !adapterUp {
			return errors.New("redis: connection refused")
		}
		return nil
	})
	if rep := ready(200, "ok"); rep.Checks["adapter"] != "ok" {
		t.Fatalf("checks %v", rep.Checks)
	}
	adapterUp = false
	if rep := ready(200, "degraded"); rep.Checks["adapter"] != "redis: connection refused" {
		t.Fatalf("checks %v", rep.Checks)
	}
	critical := errors.New("disk full")
	s.app.Health().Add("critical", true, func(context.Context) error { return critical })
	ready(503, "unavailable")
	critical = nil
	adapterUp = true

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready(200, "ok")
	if err := s.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); err == nil {
		// The client may first get queued events; it must then see the end.
		for err == nil {
			_, err = c.Next(ctx)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("client not disconnected by the shutdown")
	}
	if rep := ready(503, "unavailable"); rep.Checks["server"] != "shutting down" {
		t.Fatalf("checks %v", rep.Checks)
	}
	if code, _ := httpGet(t, s.url+"/healthz"); code != 200 {
		t.Fatalf("/healthz during shutdown = %d", code)
	}
}
