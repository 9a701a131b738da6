// Package config defines Switchboard's configuration: the Config type, its
// defaults, and a strict YAML loader.
//
// The YAML schema mirrors the Config struct (see config.yaml at the
// repository root for a commented example). Loading is strict: unknown keys,
// duplicate keys and values of the wrong type are errors, and every error
// names the file, the line and the full key path, for example
//
//	config.yaml:12: socketio.ping_interval: invalid duration "abc" (want e.g. 25s)
//	config.yaml:3: unknown key "listn"
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
	// Pprof serves Go's profiler at /debug/pprof/. Off by default: it
	// exposes internals and can cost CPU; enable it only where the port
	// is not public.
	Pprof bool `yaml:"pprof"`
	// API enables the HTTP API for backends under /api/ (absent =
	// disabled). See apps.go.
	API *API `yaml:"api,omitempty"`
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
}

// CORS configures cross-origin access.
type CORS struct {
	Origins     []string `yaml:"origins"`
	Credentials bool     `yaml:"credentials"`
}

// Namespace binds a Socket.IO namespace to a registered application
// and/or to config-only rules (see apps.go). App may be empty when rules
// are given.
type Namespace struct {
	Name    string      `yaml:"name"`
	App     string      `yaml:"app,omitempty"`
	Auth    *Auth       `yaml:"auth,omitempty"`
	Relay   []RelayRule `yaml:"relay,omitempty"`
	Rooms   *Rooms      `yaml:"rooms,omitempty"`
	Backend *Backend    `yaml:"backend,omitempty"`
}

// EngineIOEcho enables a plain Engine.IO echo endpoint.
type EngineIOEcho struct {
	Path string `yaml:"path"`
}

// Allowed values.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"

	// DefaultEngineIOEchoPath is the echo path used when the engineio_echo
	// section is present but has no path.
	DefaultEngineIOEchoPath = "/engine.io/"
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	transports = []string{TransportPolling, TransportWebSocket}
)

// Default returns the default configuration. Each call returns a new value.
func Default() *Config {
	return &Config{
		Listen:          ":8080",
		StaticDir:       "static",
		ShutdownTimeout: 10 * time.Second,
		Log:             Log{Level: "info", Format: "text"},
		SocketIO: SocketIO{
			Path:             "/socket.io/",
			PingInterval:     25 * time.Second,
			PingTimeout:      20 * time.Second,
			ConnectTimeout:   45 * time.Second,
			UpgradeTimeout:   10 * time.Second,
			MaxPayload:       1000000,
			MaxBufferedBytes: 1 << 20,
			ServeClient:      true,
			Transports:       []string{TransportPolling, TransportWebSocket},
		},
		CORS:       CORS{Origins: []string{"*"}},
		Namespaces: []Namespace{{Name: "/", App: "chat"}},
	}
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
