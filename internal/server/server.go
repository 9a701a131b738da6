// Package server assembles Switchboard from its configuration: the Gin engine
// serving the static client, the Socket.IO server with each namespace's
// application, and the optional plain Engine.IO echo endpoint.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/handlers/rawchat"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisadapter"
)

// Server is a configured Switchboard server.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	io      *socketio.Server
	echo    *engineio.Server
	handler http.Handler
	lobby   *handlers.ChatLobby // the chat raw WebSocket clients join (raw_websocket)
	raw     *rawchat.Server
	cluster *redisadapter.Cluster // nil with the memory adapter
	redis   io.Closer
	conns   *connCap // TCP connections per address, nil if no cap

	ops              // metrics, health, Admin UI (ops.go)
	rules []*nsRules // config-only rules per namespace (rules.go)
}

// New builds the application. log may be nil.
func New(cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Server{cfg: cfg, log: log}
	a.ops.init()
	a.conns = newConnCap(cfg.Limits.MaxTCPConnectionsPerIP, cfg.Limits.TrustedProxyPrefixes(), log)
	eopts := engineOptions(cfg, log)
	sioEngine := socketIOEngine(cfg, eopts)
	newAdapter, err := a.newAdapter(cfg.Adapter)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && a.cluster != nil {
			_ = a.cluster.Close()
			_ = a.redis.Close()
		}
	}()
	a.io = socketio.NewServer(ioOptions(cfg, sioEngine, newAdapter, log))
	for i := range cfg.Namespaces {
		ns := &cfg.Namespaces[i]
		var n *socketio.Namespace
		if ns.Pattern != "" {
			n = a.io.OfRegexp(regexp.MustCompile(ns.PatternRegexp())) // checked by config
		} else {
			n = a.io.Of(ns.Name)
		}
		if err := a.installAuth(i, ns, n); err != nil {
			return nil, err
		}
		// A namespace has an app, relay rules, or both (config checks
		// that they do not claim the same events).
		if ns.App != "" && !a.installRawChatLobby(*ns) {
			install, ok := handlers.Lookup(ns.App)
			if !ok {
				return nil, fmt.Errorf("namespaces[%d].app: unknown app %q (known: %s)", i, ns.App, strings.Join(handlers.Names(), ", "))
			}
			install(n)
		}
		if err := a.installRules(i, ns, n); err != nil {
			return nil, err
		}
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = false

	// The server answers the client bundle's files itself (socketio
	// Options.DisableServeClient), as for an embedding application.
	r.Any(strings.TrimSuffix(cfg.SocketIO.Path, "/")+"/*rest", gin.WrapH(a.io))

	if cfg.API != nil {
		r.Any("/api/*rest", gin.WrapH(a.apiHandler()))
	}

	if cfg.EngineIOEcho != nil {
		a.echo = engineio.NewServer(newEcho, &eopts)
		r.Any(strings.TrimSuffix(cfg.EngineIOEcho.Path, "/")+"/*rest", gin.WrapH(a.echo))
	}

	if cfg.Pprof {
		r.Any("/debug/pprof/*profile", gin.WrapF(func(w http.ResponseWriter, req *http.Request) {
			switch name := strings.TrimPrefix(req.URL.Path, "/debug/pprof/"); name {
			case "cmdline":
				pprof.Cmdline(w, req)
			case "profile":
				profileWriteDeadline(w, req, 30, cfg.Limits.WriteTimeout)
				pprof.Profile(w, req)
			case "symbol":
				pprof.Symbol(w, req)
			case "trace":
				profileWriteDeadline(w, req, 1, cfg.Limits.WriteTimeout)
				pprof.Trace(w, req)
			default:
				pprof.Index(w, req)
			}
		}))
	}

	if dir := cfg.StaticDir; dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("static_dir: %q is not a directory", dir)
		}
		files := http.FileServer(http.Dir(filepath.Clean(dir)))
		r.NoRoute(func(c *gin.Context) {
			if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
				c.Status(http.StatusNotFound)
				return
			}
			files.ServeHTTP(c.Writer, c.Request)
		})
	}
	a.handler = r
	if err := a.mountRawChat(); err != nil {
		return nil, err
	}
	if err := a.mountOps(); err != nil {
		return nil, err
	}
	a.handler = &bodyGuard{
		next:         a.handler,
		timeout:      cfg.Limits.ReadBodyTimeout,
		writeTimeout: cfg.Limits.WriteTimeout,
		perAddr:      cfg.Limits.MaxConnectionsPerIP,
		key:          eopts.Limits.ClientKey,
		log:          log,
		rejected:     a.io.Engine().Rejected,
		inFlight:     make(map[string]int),
	}
	return a, nil
}

// profileWriteDeadline moves the write deadline of a CPU profile or an
// execution trace past the seconds it was asked to last (default def):
// the profile writes only after them, the trace while they run.
func profileWriteDeadline(w http.ResponseWriter, r *http.Request, def float64, write time.Duration) {
	sec, err := strconv.ParseFloat(r.FormValue("seconds"), 64)
	if err != nil || !(sec > 0) {
		sec = def
	}
	sec = min(sec, 24*3600) // pprof's business to refuse; no overflow here
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(sec*float64(time.Second)) + write))
}

// HTTPServer returns the HTTP server to serve the application with: the
// handler and the limits on reading requests (slow or oversized headers).
func (a *Server) HTTPServer(log *slog.Logger) *http.Server {
	if log == nil {
		log = a.log
	}
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.Limits.ReadHeaderTimeout,
		MaxHeaderBytes:    a.cfg.Limits.MaxHeaderBytes,
		// Between requests on a kept-alive connection; long-polling
		// requests are not idle time.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Handler returns the HTTP handler serving everything.
func (a *Server) Handler() http.Handler { return a.handler }

// SocketIO returns the Socket.IO server.
func (a *Server) SocketIO() *socketio.Server { return a.io }

// Shutdown disconnects every client (they see a transport close and
// reconnect) and waits for the connections to drain, until ctx is done.
func (a *Server) Shutdown(ctx context.Context) error {
	a.health.ShuttingDown() // /readyz: send new clients elsewhere
	a.stopOps()
	err := a.io.Close(ctx)
	a.closeRules(ctx)
	if a.echo != nil {
		err = errors.Join(err, a.echo.Close(ctx))
	}
	if a.raw != nil {
		err = errors.Join(err, a.raw.Close(ctx))
	}
	if a.cluster != nil {
		err = errors.Join(err, a.cluster.Close(), a.redis.Close())
	}
	return err
}

// newAdapter returns the socketio.Options.NewAdapter for the configured
// adapter (nil: in memory).
func (a *Server) newAdapter(ac config.Adapter) (func(*socketio.Namespace) socketio.Adapter, error) {
	if ac.Type != config.AdapterRedis {
		return nil, nil
	}
	ropts, err := redis.ParseURL(ac.URL)
	if err != nil {
		return nil, fmt.Errorf("adapter.url: %w", err)
	}
	// Fail fast while Redis is down: the cluster counts the outage and
	// keeps serving local clients rather than waiting on a dead socket.
	ropts.DialTimeout = 2 * time.Second
	ropts.MaxRetries = 1
	client := redis.NewClient(ropts)
	c, err := redisadapter.New(redisadapter.Options{
		Client:         client,
		Key:            ac.KeyPrefix,
		RequestTimeout: ac.RequestTimeout,
		Logger:         a.log,
		Stats:          a.AdapterStats(),
	})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	a.cluster, a.redis = c, client
	// Not critical: without Redis the node still serves its own clients
	// (readiness says "degraded").
	a.Health().Add("redis", false, func(context.Context) error { return c.Err() })
	return c.NewAdapter, nil
}

// Cluster returns the Redis cluster link, or nil with the memory adapter.
// Its Healthy and Err methods tell whether the node reaches the cluster.
func (a *Server) Cluster() *redisadapter.Cluster { return a.cluster }

// echo sends every message back: the plain Engine.IO endpoint of the
// conformance profile.
type echo struct{ s *engineio.Session }

func newEcho(s *engineio.Session) engineio.SessionHandler { return &echo{s} }

func (e *echo) OnMessage(data []byte, binary bool) {
	m := engineio.NewBinaryMessage(data)
	if !binary {
		m = engineio.NewTextMessage(data)
	}
	_ = e.s.Send(false, m)
}

func (e *echo) OnClose(engineio.CloseReason, error) {}
