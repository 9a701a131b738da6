package server

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/adminui"
	"github.com/switchboard/switchboard/socketio/health"
	"github.com/switchboard/switchboard/socketio/metrics"
)

// ops are the operations endpoints: /metrics, /healthz, /readyz and the
// Admin UI. They are matched before the Gin router, so they never conflict
// with a Socket.IO path of "/" nor with the static files.
type ops struct {
	health       *health.Health
	adapterStats *socketio.AdapterStats
	exact        map[string]http.Handler // path -> handler
	prefix       string                  // the Admin UI's page, "" if off
	prefixH      http.Handler
	admin        *adminui.Admin // nil if off
	metricsOwn   http.Handler   // the metrics.listen listener's, nil if none
	stops        []func()
}

func (o *ops) init() {
	o.health = &health.Health{}
	o.adapterStats = &socketio.AdapterStats{}
	o.exact = map[string]http.Handler{}
}

// mountOps builds the operations endpoints and puts them in front of
// a.handler.
func (a *Server) mountOps() error {
	o := &a.ops
	o.exact[config.HealthzPath] = http.HandlerFunc(o.health.Healthz)
	o.exact[config.ReadyzPath] = http.HandlerFunc(o.health.Readyz)
	if err := a.mountAdminUI(); err != nil {
		return err
	}
	if m := a.cfg.Metrics; m.Enabled {
		col := metrics.NewCollector(a.io, o.adapterStats)
		if a.raw != nil {
			col.AddRejections(a.raw.Rejections)
		}
		if a.conns != nil {
			col.AddRejections(a.conns.Rejections)
		}
		if a.admin != nil {
			col.AddRejections(a.admin.Rejections)
			col.AddCounter("admin_login_failures_total", "Admin UI logins refused for wrong credentials.", a.admin.LoginFailures)
		}
		if f := a.forward; f != nil {
			col.AddCounter("forwarded_requests_total", "Polling requests forwarded to the node holding their session.", func() uint64 { return f.Stats().Forwarded })
			col.AddCounter("forwarded_tunnels_total", "WebSocket upgrades tunnelled to the node holding their session.", func() uint64 { return f.Stats().Tunnels })
			col.AddCounter("forward_served_total", "Polling requests and WebSocket tunnels served for other nodes.", func() uint64 {
				s := f.Stats()
				return s.Served + s.TunnelsServed
			})
			col.AddCounter("forward_failures_total", "Forwarded requests and tunnels that failed: owner gone, timeout, a bound.", func() uint64 {
				s := f.Stats()
				return s.OwnerGone + s.Failed + s.Refused + s.TunnelsClosed
			})
		}
		reg := metrics.NewRegistry(col)
		h := metrics.Handler(reg, m.Token)
		if m.Listen == "" {
			o.exact[m.Path] = h
		} else {
			mux := http.NewServeMux()
			mux.Handle(m.Path, h)
			o.metricsOwn = mux
		}
	}
	next := a.handler
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := o.exact[r.URL.Path]; h != nil {
			h.ServeHTTP(w, r)
			return
		}
		if o.prefix != "" && (strings.HasPrefix(r.URL.Path, o.prefix) || r.URL.Path+"/" == o.prefix) {
			o.prefixH.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
	return nil
}

// MetricsServer returns the HTTP server for the metrics' own listener
// (metrics.listen), to be served on that address; nil when the metrics are
// off or served on the main listener. log may be nil.
func (a *Server) MetricsServer(log *slog.Logger) *http.Server {
	if a.metricsOwn == nil {
		return nil
	}
	srv := a.HTTPServer(log)
	srv.Addr = a.cfg.Metrics.Listen
	srv.Handler = a.metricsOwn
	// A scrape is one short request: the whole request and the whole
	// response each get a deadline, so that a client trickling bytes
	// cannot hold the connection. (The clients' listener bounds each body
	// and write instead, as a long-polling request lasts.)
	srv.ReadTimeout = a.cfg.Limits.ReadHeaderTimeout + a.cfg.Limits.ReadBodyTimeout
	srv.WriteTimeout = a.cfg.Limits.WriteTimeout
	return srv
}

func (a *Server) stopOps() {
	for _, stop := range a.stops {
		stop()
	}
	a.stops = nil
}

// Health returns the readiness state; a multi-node adapter registers its
// check there (Health().Add("redis", false, ...)).
func (a *Server) Health() *health.Health { return a.health }

// AdapterStats returns the counters a multi-node adapter reports to; they
// are exported as switchboard_adapter_* metrics.
func (a *Server) AdapterStats() *socketio.AdapterStats { return a.adapterStats }
