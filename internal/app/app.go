// Package app assembles Switchboard from its configuration: the Gin engine
// serving the static client, the Socket.IO server with each namespace's
// application, and the optional plain Engine.IO echo endpoint.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/clientbundle"
	"github.com/switchboard/switchboard/internal/rawchat"
	"github.com/switchboard/switchboard/socketio"
)

// App is a configured Switchboard server.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	io      *socketio.Server
	echo    *engineio.Server
	handler http.Handler
	lobby   *handlers.ChatLobby // the chat raw WebSocket clients join (raw_websocket)
	raw     *rawchat.Server
}

// New builds the application. log may be nil.
func New(cfg *config.Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: log}
	eopts := engineOptions(cfg, log)
	sioEngine := eopts
	// Only the Socket.IO endpoint speaks Engine.IO v3: the plain Engine.IO
	// echo endpoint stays v4-only, as the reference's default.
	sioEngine.AllowEIO3 = cfg.SocketIO.AllowEIO3
	sioEngine.Cookie = engineCookie(cfg.SocketIO.Cookie)
	a.io = socketio.NewServer(&socketio.Options{
		Engine:         sioEngine,
		ConnectTimeout: cfg.SocketIO.ConnectTimeout,
		Limits: socketio.Limits{
			MaxAttachments:    cfg.Limits.MaxAttachments,
			MaxJSONDepth:      cfg.Limits.MaxJSONDepth,
			EventsPerSecond:   cfg.Limits.EventsPerSecond,
			EventBurst:        cfg.Limits.EventBurst,
			MaxRoomsPerSocket: cfg.Limits.MaxRoomsPerSocket,
		},
		CleanupEmptyChildNamespaces: cfg.SocketIO.CleanupEmptyChildNamespaces,
		Logger:                      log,
	})
	for i, ns := range cfg.Namespaces {
		install, ok := handlers.Lookup(ns.App)
		if !ok {
			return nil, fmt.Errorf("namespaces[%d].app: unknown app %q (known: %s)", i, ns.App, strings.Join(handlers.Names(), ", "))
		}
		if ns.Pattern != "" {
			install(a.io.OfRegexp(regexp.MustCompile(ns.PatternRegexp()))) // checked by config
			continue
		}
		if a.installRawChatLobby(ns) {
			continue
		}
		install(a.io.Of(ns.Name))
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = false

	sioPath := cfg.SocketIO.Path
	var bundle http.Handler
	if cfg.SocketIO.ServeClient {
		bundle = clientbundle.Handler(sioPath)
	}
	r.Any(strings.TrimSuffix(sioPath, "/")+"/*rest", func(c *gin.Context) {
		if bundle != nil && clientbundle.IsClientFile(strings.TrimPrefix(c.Request.URL.Path, sioPath)) {
			bundle.ServeHTTP(c.Writer, c.Request)
			return
		}
		a.io.ServeHTTP(c.Writer, c.Request)
	})

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
				pprof.Profile(w, req)
			case "symbol":
				pprof.Symbol(w, req)
			case "trace":
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
	return a, nil
}

func engineOptions(cfg *config.Config, log *slog.Logger) engineio.Options {
	s := cfg.SocketIO
	return engineio.Options{
		PingInterval:     s.PingInterval,
		PingTimeout:      s.PingTimeout,
		UpgradeTimeout:   s.UpgradeTimeout,
		MaxPayload:       s.MaxPayload,
		MaxBufferedBytes: s.MaxBufferedBytes,
		DisablePolling:   !slices.Contains(s.Transports, config.TransportPolling),
		DisableWebSocket: !slices.Contains(s.Transports, config.TransportWebSocket),
		CORS:             engineio.CORS{Origins: cfg.CORS.Origins, Credentials: cfg.CORS.Credentials, Methods: cfg.CORS.Methods, Headers: cfg.CORS.Headers},
		Limits: engineio.Limits{
			MaxSessions:      cfg.Limits.MaxConnections,
			MaxSessionsPerIP: cfg.Limits.MaxConnectionsPerIP,
			HandshakeRate:    cfg.Limits.HandshakesPerSecond,
			HandshakeBurst:   cfg.Limits.HandshakeBurst,
			BindSessionToIP:  cfg.Limits.BindSessionToIP,
			ClientIP:         clientIPFunc(cfg.Limits.TrustedProxyPrefixes()),
		},
		PerMessageDeflate: engineio.Compression(s.PerMessageDeflate),
		HTTPCompression:   engineio.Compression(s.HTTPCompression),
		Logger:            log,
	}
}

// HTTPServer returns the HTTP server to serve the application with: the
// handler and the limits on reading requests (slow or oversized headers).
func (a *App) HTTPServer(log *slog.Logger) *http.Server {
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

// engineCookie converts the sticky-session cookie settings (nil: none).
func engineCookie(c *config.Cookie) *engineio.Cookie {
	if c == nil {
		return nil
	}
	same := map[string]http.SameSite{"lax": http.SameSiteLaxMode, "strict": http.SameSiteStrictMode, "none": http.SameSiteNoneMode}
	return &engineio.Cookie{
		Name:     c.Name,
		Path:     c.Path,
		Domain:   c.Domain,
		HTTPOnly: c.HTTPOnly,
		Secure:   c.Secure,
		SameSite: same[c.SameSite],
		MaxAge:   c.MaxAge,
	}
}

// Handler returns the HTTP handler serving everything.
func (a *App) Handler() http.Handler { return a.handler }

// SocketIO returns the Socket.IO server.
func (a *App) SocketIO() *socketio.Server { return a.io }

// Shutdown disconnects every client (they see a transport close and
// reconnect) and waits for the connections to drain, until ctx is done.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.io.Close(ctx)
	if a.echo != nil {
		err = errors.Join(err, a.echo.Close(ctx))
	}
	if a.raw != nil {
		err = errors.Join(err, a.raw.Close(ctx))
	}
	return err
}

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
