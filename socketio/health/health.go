// Package health serves liveness and readiness endpoints for a Socket.IO
// server, as Switchboard's own /healthz and /readyz.
//
// /healthz answers 200 while the process can serve HTTP at all: a failing
// liveness probe means "restart me". /readyz answers 200 while the server
// accepts clients, and 503 once it is shutting down or a critical check
// fails: a failing readiness probe means "send new clients elsewhere".
// Checks are registered by the parts that can fail: SocketIO for the
// Socket.IO server's session cap, Adapter for a multi-node adapter's link
// to Redis, and any func(context.Context) error of the application's own.
//
// Mount Healthz and Readyz at paths of your choice (in net/http or Gin),
// and call ShuttingDown when a graceful shutdown starts, before
// socketio.Server.Close, so that load balancers stop sending clients while
// the connected ones are drained.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// Check reports a dependency's state: nil when it is fine.
type Check func(ctx context.Context) error

// Status values in /readyz answers.
const (
	StatusOK          = "ok"
	StatusDegraded    = "degraded"    // a non-critical check fails: still serving
	StatusUnavailable = "unavailable" // shutting down, or a critical check fails
)

// checkTimeout bounds all checks of one /readyz request.
const checkTimeout = 2 * time.Second

type named struct {
	name     string
	critical bool
	fn       Check
}

// Health holds the readiness state. The zero value is ready and has no
// checks.
type Health struct {
	shuttingDown atomic.Bool
	mu           sync.RWMutex
	checks       []named
}

// Add registers a readiness check. A failing critical check makes the
// server unready (503); a failing non-critical one makes it "degraded"
// but still ready — e.g. a Redis adapter that lost its server keeps
// serving this node's clients, only without the other nodes.
func (h *Health) Add(name string, critical bool, fn Check) {
	h.mu.Lock()
	h.checks = append(h.checks, named{name, critical, fn})
	h.mu.Unlock()
}

// ShuttingDown marks the server as going away: /readyz answers 503 from now on.
func (h *Health) ShuttingDown() { h.shuttingDown.Store(true) }

// Report is the JSON body of /readyz.
type Report struct {
	Status string            `json:"status"`           // StatusOK, StatusDegraded or StatusUnavailable
	Checks map[string]string `json:"checks,omitempty"` // name -> "ok" or the error
}

// Ready runs the checks and reports.
func (h *Health) Ready(ctx context.Context) Report {
	r := Report{Status: StatusOK}
	h.mu.RLock()
	checks := h.checks
	h.mu.RUnlock()
	if len(checks) > 0 {
		r.Checks = make(map[string]string, len(checks))
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		for _, c := range checks {
			if err := c.fn(ctx); err != nil {
				r.Checks[c.name] = err.Error()
				if c.critical {
					r.Status = StatusUnavailable
				} else if r.Status == StatusOK {
					r.Status = StatusDegraded
				}
			} else {
				r.Checks[c.name] = StatusOK
			}
		}
	}
	if h.shuttingDown.Load() {
		r.Status = StatusUnavailable
		if r.Checks == nil {
			r.Checks = map[string]string{}
		}
		r.Checks["server"] = "shutting down"
	}
	return r
}

// Healthz answers 200 "ok": the process is alive and serving HTTP.
func (h *Health) Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Readyz answers 200 (ok or degraded) or 503 (unavailable) with a Report.
func (h *Health) Readyz(w http.ResponseWriter, r *http.Request) {
	rep := h.Ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status == StatusUnavailable {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}

// SocketIO returns a check that fails while io's Engine.IO server is full:
// its engine.Limits.MaxSessions are open, so it refuses new clients with
// HTTP 503. Register it as critical to send new clients to other nodes
// then. Without a session cap it never fails.
func SocketIO(io *socketio.Server) Check {
	return func(context.Context) error {
		e := io.Engine()
		if max := e.Options().Limits.MaxSessions; max > 0 {
			if n := e.Count(); n >= max {
				return fmt.Errorf("full: %d of %d sessions open", n, max)
			}
		}
		return nil
	}
}

// Adapter returns a check reporting a multi-node adapter's link, such as
// a *redisadapter.Cluster: it fails with c.Err() while the node cannot
// reach the others. Register it as not critical: without Redis the node
// still serves its own clients, and readiness says "degraded".
func Adapter(c interface{ Err() error }) Check {
	return func(context.Context) error { return c.Err() }
}

// Register mounts Healthz at /healthz and Readyz at /readyz on mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", h.Healthz)
	mux.HandleFunc("GET /readyz", h.Readyz)
}
