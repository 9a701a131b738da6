package server

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// The mapping from the configuration to the library's options: one function
// per options struct, so that config.yaml's keys and the Go fields they set
// are read side by side.

// engineOptions maps the socketio and limits sections to the Engine.IO
// options shared by the Socket.IO endpoint and the echo endpoint.
func engineOptions(cfg *config.Config, log *slog.Logger) engineio.Options {
	s := cfg.SocketIO
	return engineio.Options{
		PingInterval:     s.PingInterval,
		PingTimeout:      s.PingTimeout,
		UpgradeTimeout:   s.UpgradeTimeout,
		MaxPayload:       s.MaxPayload,
		MaxBufferedBytes: s.MaxBufferedBytes,
		WriteTimeout:     cfg.Limits.WriteTimeout,
		BodyTimeout:      cfg.Limits.ReadBodyTimeout,
		DisablePolling:   !slices.Contains(s.Transports, config.TransportPolling),
		DisableWebSocket: !slices.Contains(s.Transports, config.TransportWebSocket),
		WebTransport:     cfg.WebTransport != nil,
		CORS:             engineio.CORS{Origins: cfg.CORS.Origins, Credentials: cfg.CORS.Credentials, Methods: cfg.CORS.Methods, Headers: cfg.CORS.Headers},
		Limits: engineio.Limits{
			MaxSessions:      limit(cfg.Limits.MaxConnections),
			MaxSessionsPerIP: limit(cfg.Limits.MaxConnectionsPerIP),
			HandshakeRate:    rateLimit(cfg.Limits.HandshakesPerSecond),
			HandshakeBurst:   cfg.Limits.HandshakeBurst,
			BindSessionToIP:  cfg.Limits.BindSessionToIP,
			ClientIP:         clientIPFunc(cfg.Limits.TrustedProxyPrefixes()),
		},
		PerMessageDeflate: engineio.Compression(s.PerMessageDeflate),
		HTTPCompression:   engineio.Compression(s.HTTPCompression),
		Logger:            log,
	}
}

// socketIOEngine adds to the shared Engine.IO options what only the
// Socket.IO endpoint has: Engine.IO v3 (the plain echo endpoint stays
// v4-only, as the reference's default) and the sticky-session cookie.
func socketIOEngine(cfg *config.Config, shared engineio.Options) engineio.Options {
	e := shared
	e.AllowEIO3 = cfg.SocketIO.AllowEIO3
	e.Cookie = engineCookie(cfg.SocketIO.Cookie)
	return e
}

// ioOptions maps the socketio and limits sections to the Socket.IO server's
// options; engine holds the Engine.IO options of its endpoint.
func ioOptions(cfg *config.Config, engine engineio.Options, newAdapter func(*socketio.Namespace) socketio.Adapter, log *slog.Logger) *socketio.Options {
	return &socketio.Options{
		Engine:         engine,
		ConnectTimeout: cfg.SocketIO.ConnectTimeout,
		Limits: socketio.Limits{
			MaxAttachments:             cfg.Limits.MaxAttachments,
			MaxJSONDepth:               cfg.Limits.MaxJSONDepth,
			EventsPerSecond:            rateLimit(cfg.Limits.EventsPerSecond),
			EventBurst:                 cfg.Limits.EventBurst,
			MaxRoomsPerSocket:          limit(cfg.Limits.MaxRoomsPerSocket),
			MaxNamespacesPerClient:     limit(cfg.Limits.MaxNamespacesPerClient),
			NamespaceConnectsPerSecond: rateLimit(cfg.Limits.NamespaceConnectsPerSecond),
			NamespaceConnectBurst:      cfg.Limits.NamespaceConnectBurst,
		},
		KeepEmptyChildNamespaces: !cfg.SocketIO.CleanupEmptyChildNamespaces,
		ConnectionStateRecovery:  recoveryOptions(cfg.SocketIO.ConnectionStateRecovery),
		Parser:                   parser(cfg.SocketIO.Parser),
		DisableServeClient:       !cfg.SocketIO.ServeClient,
		Logger:                   log,
		NewAdapter:               newAdapter,
	}
}

// limit maps a count of the limits section, where 0 means no limit, to the
// library's options, where 0 means the default and NoLimit means none.
func limit(n int) int {
	if n == 0 {
		return engineio.NoLimit
	}
	return n
}

// rateLimit is limit for a rate.
func rateLimit(r float64) float64 {
	if r == 0 {
		return engineio.NoLimit
	}
	return r
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

// recoveryOptions maps socketio.connection_state_recovery to the server's
// options (nil: off).
func recoveryOptions(c config.ConnectionStateRecovery) *socketio.RecoveryOptions {
	if !c.Enabled {
		return nil
	}
	return &socketio.RecoveryOptions{
		MaxDisconnectionDuration: c.MaxDisconnectionDuration,
		RunMiddlewares:           !c.SkipMiddlewares,
		MaxPackets:               c.MaxPackets,
		MaxBytes:                 c.MaxBytes,
	}
}

// parser maps socketio.parser to the server option; config validated the
// name.
func parser(name string) socketio.Parser {
	p, err := socketio.ParseParser(name)
	if err != nil {
		return socketio.ParserJSON
	}
	return p
}
