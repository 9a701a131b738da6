// Package config defines Switchboard's configuration: the Config type, its
// defaults, and a strict YAML loader.
//
// The YAML schema mirrors the Config struct (see config.yaml at the
// repository root for a commented example). Loading is strict: unknown keys,
// duplicate keys and values of the wrong type are errors, and every error
// names the file, the line and the full key path, for example
//
//	config.yaml:12: socketio.ping_interval: invalid duration "abc" (want e.g. 25s)
//	config.yaml:3: log: unknown key "colour" (allowed: level, format)
//	config.yaml:20: namespaces[1].app: unknown app "x" (known: bench, chat, conformance)
//
// Keys that are absent keep their Default values, so an empty file yields
// Default(). Lists given in the file replace the default list.
package config

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/handlers/rawchat"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisadapter"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// Config is the whole server configuration.
type Config struct {
	Listen          string        `yaml:"listen"`
	StaticDir       string        `yaml:"static_dir"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Log             Log           `yaml:"log"`
	SocketIO        SocketIO      `yaml:"socketio"`
	CORS            CORS          `yaml:"cors"`
	Namespaces      []Namespace   `yaml:"namespaces"`
	EngineIOEcho    *EngineIOEcho `yaml:"engineio_echo,omitempty"`
	Limits          Limits        `yaml:"limits"`
	RawWebSocket    *RawWebSocket `yaml:"raw_websocket,omitempty"`
	// WebTransport serves Socket.IO over WebTransport (HTTP/3 over QUIC,
	// on UDP) beside WebSocket and polling; absent = off.
	WebTransport *WebTransport `yaml:"webtransport,omitempty"`
	// Pprof serves Go's profiler at /debug/pprof/. Off by default: it
	// exposes internals and can cost CPU; enable it only where the port
	// is not public.
	Pprof bool `yaml:"pprof"`
	// Adapter selects how rooms and broadcasts are shared between nodes.
	Adapter Adapter `yaml:"adapter"`
	// Metrics configures the Prometheus endpoint.
	Metrics Metrics `yaml:"metrics"`
	// AdminUI configures the Socket.IO Admin UI.
	AdminUI AdminUI `yaml:"admin_ui"`
	// API enables the HTTP API for backends under /api/ (absent =
	// disabled).
	API *API `yaml:"api,omitempty"`
}

// Adapter configures the Socket.IO adapter. "memory" serves one node;
// "redis" joins a cluster of nodes (Switchboard or Node.js with
// @socket.io/redis-adapter 8.x) through Redis pub/sub; "redis-streams"
// through a Redis stream (Node.js nodes with
// @socket.io/redis-streams-adapter 0.3), which also makes connection state
// recovery cluster-wide.
type Adapter struct {
	Type string `yaml:"type"` // memory, redis or redis-streams
	// URL of the Redis server, redis://[user:password@]host:port[/db]
	// or rediss:// for TLS. Only with type redis. It may hold a password:
	// keep the file private.
	URL string `yaml:"url"`
	// KeyPrefix starts every channel name; all nodes and emitters of a
	// cluster must use the same (the reference's `key`, "socket.io").
	KeyPrefix string `yaml:"key_prefix"`
	// RequestTimeout bounds requests to the other nodes (fetchSockets,
	// allRooms, serverSideEmit with ack).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ForwardSessions serves a request for a session held by another node
	// by forwarding it to that node through Redis, so that the load
	// balancer needs no sticky sessions. Not with type memory.
	ForwardSessions bool `yaml:"forward_sessions"`
	// StreamName is the stream of type redis-streams (the reference's
	// streamName), the same on every node.
	StreamName string `yaml:"stream_name"`
	// MaxLen trims the stream to about that many entries (MAXLEN ~): it
	// bounds Redis's memory and how far back a client can recover.
	MaxLen int64 `yaml:"max_len"`
	// SessionKeyPrefix starts the Redis keys of clients' sessions,
	// connected or not (the reference's sessionKeyPrefix).
	SessionKeyPrefix string `yaml:"session_key_prefix"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// SocketIO configures the Socket.IO (and underlying Engine.IO) endpoint.
type SocketIO struct {
	Path             string        `yaml:"path"`
	PingInterval     time.Duration `yaml:"ping_interval"`
	PingTimeout      time.Duration `yaml:"ping_timeout"`
	ConnectTimeout   time.Duration `yaml:"connect_timeout"`
	UpgradeTimeout   time.Duration `yaml:"upgrade_timeout"`
	MaxPayload       int64         `yaml:"max_payload"`
	MaxBufferedBytes int           `yaml:"max_buffered_bytes"`
	ServeClient      bool          `yaml:"serve_client"`
	Transports       []string      `yaml:"transports"`
	// AllowEIO3 accepts socket.io-client 2.x (Engine.IO v3, Socket.IO
	// protocol v4), like the reference server's allowEIO3. On by default.
	AllowEIO3 bool `yaml:"allow_eio3"`
	// Cookie, when present, sets a sticky-session cookie (the session id)
	// on every handshake response, for load balancers that route by
	// cookie. Absent by default.
	Cookie *Cookie `yaml:"cookie,omitempty"`
	// CleanupEmptyChildNamespaces removes a dynamic namespace (a
	// namespaces entry with a pattern) once its last client has left, so
	// that clients cannot make the server keep one namespace per name they
	// tried. On by default (the reference's cleanupEmptyChildNamespaces
	// is off by default).
	CleanupEmptyChildNamespaces bool `yaml:"cleanup_empty_child_namespaces"`
	// PerMessageDeflate compresses WebSocket messages of Threshold bytes
	// or more (RFC 7692) for clients that offer it (browsers and the
	// Node.js client do). On by default, unlike the reference (whose
	// perMessageDeflate is off since engine.io 4 because Node keeps a
	// zlib context per connection): Switchboard negotiates no context
	// takeover, so it keeps no compression state per connection and
	// compresses a broadcast once for all its recipients.
	PerMessageDeflate Compression `yaml:"per_message_deflate"`
	// HTTPCompression gzip- or deflate-encodes polling responses of
	// Threshold bytes or more, as the client's Accept-Encoding allows.
	// On by default, as in the reference (httpCompression).
	HTTPCompression Compression `yaml:"http_compression"`
	// ConnectionStateRecovery lets a client whose connection was cut get
	// its socket back (same id, rooms and data) with every broadcast it
	// missed, like the reference's connectionStateRecovery. Off by
	// default, as in the reference.
	ConnectionStateRecovery ConnectionStateRecovery `yaml:"connection_state_recovery"`
	// Parser is the packets' wire format for every client: json (the
	// default, socket.io-parser) or msgpack (socket.io-msgpack-parser).
	// As with the reference's `parser` option, clients must be built with
	// the same parser (browsers: socket.io.msgpack.min.js); a client with
	// the other one cannot connect.
	Parser string `yaml:"parser"`
}

// ConnectionStateRecovery configures socketio.RecoveryOptions. Recovery is
// per node with adapter types memory and redis (a client that reconnects
// to another node connects fresh), cluster-wide with redis-streams.
type ConnectionStateRecovery struct {
	Enabled bool `yaml:"enabled"`
	// MaxDisconnectionDuration: how long a cut session, and the
	// broadcasts it may miss, are kept (default 2m).
	MaxDisconnectionDuration time.Duration `yaml:"max_disconnection_duration"`
	// SkipMiddlewares: a recovered socket does not run the namespace's
	// middlewares (handshake auth) again (default true, as the reference).
	SkipMiddlewares bool `yaml:"skip_middlewares"`
	// MaxPackets and MaxBytes bound each namespace's log of broadcasts
	// (default 10000 packets, 32 MiB). A session that missed a packet
	// dropped past a bound connects fresh.
	MaxPackets int `yaml:"max_packets"`
	MaxBytes   int `yaml:"max_bytes"`
}

// DefaultConnectionStateRecovery returns the defaults (recovery off, with
// socketio.DefaultRecoveryOptions for when it is turned on).
func DefaultConnectionStateRecovery() ConnectionStateRecovery {
	r := socketio.DefaultRecoveryOptions()
	return ConnectionStateRecovery{
		MaxDisconnectionDuration: r.MaxDisconnectionDuration,
		SkipMiddlewares:          !r.RunMiddlewares,
		MaxPackets:               r.MaxPackets,
		MaxBytes:                 r.MaxBytes,
	}
}

// Cookie configures the sticky-session cookie, like the reference's
// `cookie` option. Missing keys take the reference's defaults.
type Cookie struct {
	Name     string        `yaml:"name"`      // default "io"
	Path     string        `yaml:"path"`      // default "/"
	Domain   string        `yaml:"domain"`    // default none: this host
	HTTPOnly bool          `yaml:"http_only"` // default true
	Secure   bool          `yaml:"secure"`    // default false; required by same_site: none
	SameSite string        `yaml:"same_site"` // lax (default), strict or none
	MaxAge   time.Duration `yaml:"max_age"`   // 0 (default): a session cookie
}

// DefaultCookie returns the cookie settings a bare `cookie: {}` means.
func DefaultCookie() *Cookie {
	return &Cookie{Name: engineio.DefaultCookieName, Path: engineio.DefaultCookiePath, HTTPOnly: true, SameSite: "lax"}
}

// CORS configures cross-origin access.
type CORS struct {
	// Origins: "*", exact origins, or subdomain wildcards such as
	// "https://*.example.com" (any subdomain, any depth; not example.com
	// itself; the port must match as written).
	Origins     []string `yaml:"origins"`
	Credentials bool     `yaml:"credentials"`
	// Methods answered to preflights (default GET, POST, OPTIONS).
	Methods []string `yaml:"methods,omitempty"`
	// Headers cross-origin pages may send (default: those the preflight
	// asks for).
	Headers []string `yaml:"headers,omitempty"`
}

// Namespace binds a Socket.IO namespace to a registered application
// and/or to config-only rules (auth, relay, rooms, backend, server_side).
// App may be empty when rules are given.
type Namespace struct {
	Name string `yaml:"name,omitempty"`
	App  string `yaml:"app,omitempty"`
	// Pattern, instead of Name, declares dynamic namespaces: every name
	// the regular expression (Go RE2 syntax) matches as a whole is a
	// namespace served by App, created when a client first connects to it
	// (the reference's io.of(/regexp/)). Each has rooms of its own.
	Pattern string      `yaml:"pattern,omitempty"`
	Auth    *Auth       `yaml:"auth,omitempty"`
	Relay   []RelayRule `yaml:"relay,omitempty"`
	Rooms   *Rooms      `yaml:"rooms,omitempty"`
	Backend *Backend    `yaml:"backend,omitempty"`
	// ServerSide answers other nodes' server-side events.
	ServerSide []ServerSideRule `yaml:"server_side,omitempty"`
}

// PatternRegexp returns Pattern anchored to match whole names.
func (n Namespace) PatternRegexp() string { return `^(?:` + n.Pattern + `)$` }

// EngineIOEcho enables a plain Engine.IO echo endpoint.
type EngineIOEcho struct {
	Path string `yaml:"path"`
}

// RawWebSocket enables the bridge for plain WebSocket clients (the
// original tutorial's chat page: `new WebSocket("ws://host/")`, one text
// frame per message). Such clients talk among themselves and with the
// Socket.IO chat users of Namespace, whose main room they join as
// guest-<n>. The section is absent by default (no bridge: it needs a chat);
// the shipped config.yaml turns it on.
type RawWebSocket struct {
	// Path is the exact URL path of the upgrade ("/" in the tutorial). A
	// plain GET of Path is not affected (the static page stays there).
	Path string `yaml:"path"`
	// Namespace is the Socket.IO namespace whose chat raw clients join; it
	// must be listed in namespaces with app chat.
	Namespace string `yaml:"namespace"`
	// MaxMessage is the largest message accepted from a raw client, in
	// bytes; a larger one closes that client with code 1009. It must not
	// exceed socketio.max_buffered_bytes, the bound on each client's
	// outgoing queue (one message would overflow every queue), nor
	// socketio.max_payload. Raw clients also get the heartbeat
	// (socketio.ping_interval, ping_timeout), the event rate
	// (limits.events_per_second, event_burst) and the per-address
	// connection limits of Socket.IO clients.
	MaxMessage int `yaml:"max_message"`
}

// defaultRawWebSocket is what a raw_websocket section without keys means.
func defaultRawWebSocket() *RawWebSocket {
	return &RawWebSocket{
		Path:       DefaultRawWebSocketPath,
		Namespace:  DefaultRawWebSocketNamespace,
		MaxMessage: DefaultRawWebSocketMaxMessage,
	}
}

// Allowed values.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"

	AdapterMemory = "memory"
	AdapterRedis  = "redis"
	// AdapterRedisStreams is the adapter on a Redis stream
	// (socketio/redisstreams).
	AdapterRedisStreams = "redis-streams"

	// DefaultEngineIOEchoPath is the echo path used when the engineio_echo
	// section is present but has no path.
	DefaultEngineIOEchoPath = "/engine.io/"

	// Defaults of the raw_websocket section's keys, when it is present.
	DefaultRawWebSocketPath       = "/"
	DefaultRawWebSocketNamespace  = "/"
	DefaultRawWebSocketMaxMessage = rawchat.DefaultMaxMessage

	// ChatApp is the application raw WebSocket clients are bridged to.
	ChatApp = "chat"
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	transports = []string{TransportPolling, TransportWebSocket}
	adapters   = []string{AdapterMemory, AdapterRedis, AdapterRedisStreams}
	parsers    = []string{ParserJSON, ParserMsgPack}
)

// Values of socketio.parser.
const (
	ParserJSON    = "json"
	ParserMsgPack = "msgpack"
)

// Default returns the default configuration. Each call returns a new value.
// What the library's options cover is taken from their presets
// (socketio.DefaultOptions, socketio.DefaultRecoveryOptions), so that a
// default is written once; the rest (listening, logging, operations) is
// Switchboard's own.
func Default() *Config {
	io := socketio.DefaultOptions()
	eng := io.Engine
	return &Config{
		Listen:          ":8080",
		StaticDir:       "static",
		ShutdownTimeout: 10 * time.Second,
		Log:             Log{Level: "info", Format: "text"},
		SocketIO: SocketIO{
			Path:             "/socket.io/",
			PingInterval:     eng.PingInterval,
			PingTimeout:      eng.PingTimeout,
			ConnectTimeout:   io.ConnectTimeout,
			UpgradeTimeout:   eng.UpgradeTimeout,
			MaxPayload:       eng.MaxPayload,
			MaxBufferedBytes: eng.MaxBufferedBytes,
			ServeClient:      !io.DisableServeClient,
			Transports:       defaultTransports(eng),
			AllowEIO3:        eng.AllowEIO3,

			CleanupEmptyChildNamespaces: !io.KeepEmptyChildNamespaces,
			PerMessageDeflate:           Compression(eng.PerMessageDeflate),
			HTTPCompression:             Compression(eng.HTTPCompression),
			ConnectionStateRecovery:     DefaultConnectionStateRecovery(),
			Parser:                      io.Parser.String(),
		},
		CORS:       CORS{Origins: eng.CORS.Origins, Credentials: eng.CORS.Credentials, Methods: eng.CORS.Methods, Headers: eng.CORS.Headers},
		Namespaces: []Namespace{{Name: "/", App: "chat"}},
		Limits:     DefaultLimits(),
		Adapter: Adapter{
			Type: AdapterMemory, KeyPrefix: redisadapter.DefaultKey, RequestTimeout: redisadapter.DefaultRequestTimeout,
			StreamName: redisstreams.DefaultStreamName, MaxLen: redisstreams.DefaultMaxLen, SessionKeyPrefix: redisstreams.DefaultSessionKeyPrefix,
		},
		Metrics: Metrics{Enabled: true, Path: DefaultMetricsPath, Listen: DefaultMetricsListen},
		AdminUI: AdminUI{Path: DefaultAdminUIPath, Namespace: DefaultAdminNamespace, Mode: AdminModeDevelopment},
	}
}

// defaultTransports lists the transports the engine's options leave on.
func defaultTransports(eng engineio.Options) []string {
	var t []string
	if !eng.DisablePolling {
		t = append(t, TransportPolling)
	}
	if !eng.DisableWebSocket {
		t = append(t, TransportWebSocket)
	}
	return t
}

// SlogLevel returns c.Log.Level as a slog.Level (slog.LevelInfo if unset or
// unknown).
func (c *Config) SlogLevel() slog.Level {
	switch c.Log.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Error is one configuration problem.
type Error struct {
	File string // file name as given to Load or Parse; "" for Validate
	Line int    // 1-based line; 0 when unknown (e.g. the value is a default)
	Key  string // full key path such as "socketio.ping_interval" or "namespaces[1].app"; "" for the document itself
	Msg  string
}

// Error formats e as "file:line: key: msg", leaving out the unknown parts.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is the error returned by Parse, Load (for content problems) and
// Validate: one or more problems, in document order. errors.As(err, &e) with
// e of type *Error yields the first one.
type Errors []*Error

// Error returns the problems, one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// WebTransport configures the WebTransport endpoint. Browsers open it at
// the page's host and port (in UDP) unless the page says otherwise, and
// accept it only over TLS: there is no plain-text WebTransport.
type WebTransport struct {
	// Listen is the UDP address, host:port. Empty: listen's, so that the
	// page's own host and port serve it.
	Listen string `yaml:"listen"`
	// CertFile and KeyFile are the TLS certificate (PEM, the chain after
	// the leaf) and its private key. Required.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}
