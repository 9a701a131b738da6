package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var testApps = []string{"chat", "conformance", "bench"}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(testApps); err != nil {
		t.Fatalf("Default().Validate: %v", err)
	}
	a, b := Default(), Default()
	a.SocketIO.Transports[0] = "x"
	a.Namespaces[0].App = "x"
	a.CORS.Origins[0] = "x"
	if b.SocketIO.Transports[0] != TransportPolling || b.Namespaces[0].App != "chat" || b.CORS.Origins[0] != "*" {
		t.Fatal("Default() values share slices")
	}
}

func TestDefaultValues(t *testing.T) {
	want := &Config{
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
			MaxBufferedBytes: 1048576,
			ServeClient:      true,
			Transports:       []string{"polling", "websocket"},
			AllowEIO3:        true,

			CleanupEmptyChildNamespaces: true,
			PerMessageDeflate:           Compression{Enabled: true, Threshold: 1024},
			HTTPCompression:             Compression{Enabled: true, Threshold: 1024},
			ConnectionStateRecovery: ConnectionStateRecovery{
				MaxDisconnectionDuration: 2 * time.Minute,
				SkipMiddlewares:          true,
				MaxPackets:               10000,
				MaxBytes:                 32 << 20,
			},
			Parser: "json",
		},
		CORS:       CORS{Origins: []string{"*"}},
		Namespaces: []Namespace{{Name: "/", App: "chat"}},
		Limits: Limits{
			MaxConnections:             100000,
			MaxConnectionsPerIP:        200,
			HandshakesPerSecond:        20,
			HandshakeBurst:             100,
			MaxTCPConnectionsPerIP:     1024,
			EventsPerSecond:            200,
			EventBurst:                 400,
			MaxRoomsPerSocket:          1000,
			MaxNamespacesPerClient:     100,
			NamespaceConnectsPerSecond: 10,
			NamespaceConnectBurst:      100,
			MaxAttachments:             10,
			MaxJSONDepth:               64,
			TrustedProxies:             []string{},
			ReadHeaderTimeout:          10 * time.Second,
			MaxHeaderBytes:             65536,
			ReadBodyTimeout:            10 * time.Second,
			WriteTimeout:               10 * time.Second,
		},
		Adapter: Adapter{Type: "memory", KeyPrefix: "socket.io", RequestTimeout: 5 * time.Second, StreamName: "socket.io", MaxLen: 10000, SessionKeyPrefix: "sio:session:"},
		Metrics: Metrics{Enabled: true, Path: "/metrics", Listen: "127.0.0.1:9090"},
		AdminUI: AdminUI{Path: "/admin/", Namespace: "/admin", Mode: "development"},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v\nwant %+v", got, want)
	}
}

func TestParseEmptyGivesDefault(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n", "null", "---\n# c\n...\n"} {
		c, err := Parse([]byte(in), "config.yaml", testApps)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", in, c)
		}
	}
}

func TestParseValues(t *testing.T) {
	in := `
listen: "[::1]:9000"
static_dir: ""
shutdown_timeout: 1m30s
log: {level: debug, format: json}
socketio:
  path: /sio/
  ping_interval: 300ms
  ping_timeout: 200ms
  connect_timeout: 1s
  upgrade_timeout: 2s
  max_payload: 1_000
  max_buffered_bytes: 0x100
  serve_client: false
  transports: [websocket]
  allow_eio3: false
  cleanup_empty_child_namespaces: false
  per_message_deflate: {enabled: false, threshold: 10}
  http_compression:
    enabled: false
    threshold: 0
  parser: msgpack
cors:
  origins: ["http://localhost:8080", "https://[::1]:3000", "https://example.com", "https://*.example.org:8443"]
  credentials: true
  methods: [GET, POST]
  headers: [X-Token]
namespaces:
  - {name: /, app: chat}
  - name: /admin
    app: bench
engineio_echo:
  path: /eio/
limits:
  max_connections: 0
  max_connections_per_ip: 5
  handshakes_per_second: 0.5
  handshake_burst: 3
  max_tcp_connections_per_ip: 10
  events_per_second: 10
  event_burst: 20
  max_rooms_per_socket: 7
  max_namespaces_per_client: 3
  namespace_connects_per_second: 0.5
  namespace_connect_burst: 4
  max_attachments: 2
  max_json_depth: 8
  trusted_proxies: [10.0.0.0/8, "::1"]
  bind_session_to_ip: true
  read_header_timeout: 3s
  max_header_bytes: 8192
  read_body_timeout: 4s
  write_timeout: 5s
`
	c, err := Parse([]byte(in), "x.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen:          "[::1]:9000",
		StaticDir:       "",
		ShutdownTimeout: 90 * time.Second,
		Log:             Log{Level: "debug", Format: "json"},
		SocketIO: SocketIO{
			Path:              "/sio/",
			PingInterval:      300 * time.Millisecond,
			PingTimeout:       200 * time.Millisecond,
			ConnectTimeout:    time.Second,
			UpgradeTimeout:    2 * time.Second,
			MaxPayload:        1000,
			MaxBufferedBytes:  256,
			ServeClient:       false,
			Transports:        []string{"websocket"},
			PerMessageDeflate: Compression{Threshold: 10},

			ConnectionStateRecovery: DefaultConnectionStateRecovery(),
			Parser:                  "msgpack",
		},
		CORS:         CORS{Origins: []string{"http://localhost:8080", "https://[::1]:3000", "https://example.com", "https://*.example.org:8443"}, Credentials: true, Methods: []string{"GET", "POST"}, Headers: []string{"X-Token"}},
		Namespaces:   []Namespace{{Name: "/", App: "chat"}, {Name: "/admin", App: "bench"}},
		EngineIOEcho: &EngineIOEcho{Path: "/eio/"},
		Limits: Limits{
			MaxConnectionsPerIP:        5,
			HandshakesPerSecond:        0.5,
			HandshakeBurst:             3,
			MaxTCPConnectionsPerIP:     10,
			EventsPerSecond:            10,
			EventBurst:                 20,
			MaxRoomsPerSocket:          7,
			MaxNamespacesPerClient:     3,
			NamespaceConnectsPerSecond: 0.5,
			NamespaceConnectBurst:      4,
			MaxAttachments:             2,
			MaxJSONDepth:               8,
			TrustedProxies:             []string{"10.0.0.0/8", "::1"},
			BindSessionToIP:            true,
			ReadHeaderTimeout:          3 * time.Second,
			MaxHeaderBytes:             8192,
			ReadBodyTimeout:            4 * time.Second,
			WriteTimeout:               5 * time.Second,
		},
		Adapter: Default().Adapter,
		Metrics: Metrics{Enabled: true, Path: "/metrics", Listen: "127.0.0.1:9090"},
		AdminUI: AdminUI{Path: "/admin/", Namespace: "/admin", Mode: "development"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if p := c.Limits.TrustedProxyPrefixes(); len(p) != 2 || p[0].String() != "10.0.0.0/8" || p[1].String() != "::1/128" {
		t.Errorf("TrustedProxyPrefixes = %v", p)
	}
	if c.SlogLevel() != slog.LevelDebug {
		t.Errorf("SlogLevel = %v", c.SlogLevel())
	}
}

func TestMissingKeysKeepDefaults(t *testing.T) {
	c, err := Parse([]byte("socketio:\n  ping_interval: 1s\nlog:\ncors: {}\n"), "c.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.SocketIO.PingInterval = time.Second
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
}

func TestEngineIOEcho(t *testing.T) {
	for in, want := range map[string]*EngineIOEcho{
		"":                                 nil,
		"engineio_echo:\n":                 nil,
		"engineio_echo: null\n":            nil,
		"engineio_echo: {}\n":              {Path: "/engine.io/"},
		"engineio_echo:\n  path: /echo/\n": {Path: "/echo/"},
	} {
		c, err := Parse([]byte(in), "c.yaml", nil)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(c.EngineIOEcho, want) {
			t.Errorf("Parse(%q).EngineIOEcho = %+v, want %+v", in, c.EngineIOEcho, want)
		}
	}
}

func TestNilAppsSkipsAppCheck(t *testing.T) {
	in := "namespaces: [{name: /, app: whatever}]\n"
	if _, err := Parse([]byte(in), "c.yaml", nil); err != nil {
		t.Fatalf("apps=nil: %v", err)
	}
	_, err := Parse([]byte(in), "c.yaml", []string{})
	if err == nil || err.Error() != `c.yaml:1: namespaces[0].app: unknown app "whatever" (no apps registered)` {
		t.Fatalf("apps=[]: %v", err)
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo,
	} {
		c := Default()
		c.Log.Level = level
		if got := c.SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", level, got, want)
		}
	}
}

// TestParseErrors checks every rule and the exact message, including
// file:line and the key path.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Syntax and structure.
		{"syntax", "listen: [\n", `config.yaml:1: invalid YAML: did not find expected node content`},
		{"tab indent", "log:\n\tlevel: info\n", `config.yaml:2: invalid YAML: found character that cannot start any token`},
		{"multiple documents", "listen: \":1\"\n---\nlisten: \":2\"\n", `config.yaml:2: multiple YAML documents; want exactly one`},
		{"top level list", "- a\n", `config.yaml:1: top level: want a mapping of keys, got a list`},
		{"top level scalar", "hello\n", `config.yaml:1: top level: want a mapping of keys, got string "hello"`},
		{"unknown top key", "listen: \":1\"\nstatic_dir: x\nlistn: \":2\"\n", `config.yaml:3: unknown key "listn" (allowed: listen, static_dir, shutdown_timeout, log, socketio, cors, namespaces, engineio_echo, limits, raw_websocket, webtransport, pprof, adapter, metrics, admin_ui, api)`},
		{"unknown nested key", "socketio:\n  path: /s/\n  ping_intervall: 1s\n", `config.yaml:3: socketio: unknown key "ping_intervall" (allowed: path, ping_interval, ping_timeout, connect_timeout, upgrade_timeout, max_payload, max_buffered_bytes, serve_client, transports, allow_eio3, cookie, cleanup_empty_child_namespaces, per_message_deflate, http_compression, connection_state_recovery, parser)`},
		{"unknown namespace key", "namespaces:\n  - name: /\n    app: chat\n    room: x\n", `config.yaml:4: namespaces[0]: unknown key "room" (allowed: name, app, pattern, auth, relay, rooms, backend, server_side)`},
		{"unknown echo key", "engineio_echo:\n  pth: /e/\n", `config.yaml:2: engineio_echo: unknown key "pth" (allowed: path)`},
		{"duplicate key", "listen: \":1\"\nlog: {}\nlisten: \":2\"\n", `config.yaml:3: duplicate key "listen" (first at line 1)`},
		{"duplicate nested key", "log:\n  level: info\n  level: warn\n", `config.yaml:3: log: duplicate key "level" (first at line 2)`},
		{"anchor holder key", "base: &b {level: info}\n", `config.yaml:1: unknown key "base" (allowed: listen, static_dir, shutdown_timeout, log, socketio, cors, namespaces, engineio_echo, limits, raw_websocket, webtransport, pprof, adapter, metrics, admin_ui, api)`},
		{"non-string key", "[a]: 1\n", `config.yaml:1: invalid key: want a string, got a list`},
		{"null key", "~: 1\n", `config.yaml:1: unknown key "~" (allowed: listen, static_dir, shutdown_timeout, log, socketio, cors, namespaces, engineio_echo, limits, raw_websocket, webtransport, pprof, adapter, metrics, admin_ui, api)`},
		{"unknown key merged", "log:\n  <<: {colour: red}\n", `config.yaml:2: log: unknown key "colour" (allowed: level, format)`},
		{"unknown key merged from a list", "a: &a {colour: red}\nlog:\n  <<: [{level: info}, *a]\n", "config.yaml:1: unknown key \"a\" (allowed: listen, static_dir, shutdown_timeout, log, socketio, cors, namespaces, engineio_echo, limits, raw_websocket, webtransport, pprof, adapter, metrics, admin_ui, api)\nconfig.yaml:1: log: unknown key \"colour\" (allowed: level, format)"},
		{"same line, wrong one", "log: {level: [x], format: text}\nsocketio: {path: abc, max_payload: abc}\n", "config.yaml:1: log.level: want a string, got a list\nconfig.yaml:2: socketio.max_payload: want an integer, got string \"abc\""},
		{"section not mapping", "socketio: 5\n", `config.yaml:1: socketio: want a mapping, got integer 5`},
		{"section is list", "log:\n  - level\n", `config.yaml:2: log: want a mapping, got a list`},

		// Types.
		// A scalar of another type is taken as its text (8080 as "8080"): validation judges it.
		{"listen int", "listen: 8080\n", `config.yaml:1: listen: invalid address "8080" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"listen null", "listen:\n", `config.yaml:1: listen: missing value (want a string)`},
		{"static_dir null", "static_dir:\n", `config.yaml:1: static_dir: missing value (want a string; use "" for none)`},
		{"string is mapping", "log:\n  level: {a: b}\n", `config.yaml:2: log.level: want a string, got a mapping`},
		// yes/no and on/off are booleans too (YAML 1.1, which the library accepts); other words are not.
		{"bool string", "socketio:\n  serve_client: sure\n", `config.yaml:2: socketio.serve_client: want a boolean (true or false), got string "sure"`},
		{"cookie same_site none without secure", "socketio:\n  cookie: {same_site: none}\n", `config.yaml:2: socketio.cookie.same_site: none requires secure: true (browsers drop SameSite=None cookies that are not Secure)`},
		{"cookie bad same_site", "socketio:\n  cookie:\n    same_site: sometimes\n", `config.yaml:3: socketio.cookie.same_site: invalid value "sometimes" (want lax, strict or none)`},
		{"cookie bad name", "socketio:\n  cookie:\n    name: \"my cookie\"\n", "config.yaml:3: socketio.cookie.name: invalid cookie name \"my cookie\" (letters, digits and !#$%&'*+-.^_`|~ only)"},
		{"cookie unknown key", "socketio:\n  cookie:\n    httponly: true\n", `config.yaml:3: socketio.cookie: unknown key "httponly" (allowed: name, path, domain, http_only, secure, same_site, max_age)`},
		{"allow_eio3 not a bool", "socketio:\n  allow_eio3: 3\n", `config.yaml:2: socketio.allow_eio3: want a boolean (true or false), got integer 3`},
		{"bool int", "cors:\n  credentials: 1\n", `config.yaml:2: cors.credentials: want a boolean (true or false), got integer 1`},
		{"int string", "socketio:\n  max_payload: \"100\"\n", `config.yaml:2: socketio.max_payload: want an integer, got string "100"`},
		{"int float", "socketio:\n  max_payload: 1.5\n", `config.yaml:2: socketio.max_payload: want an integer, got number 1.5`},
		{"number nan", "limits:\n  events_per_second: .nan\n", `config.yaml:2: limits.events_per_second: invalid number .nan`},
		{"number huge", "limits:\n  events_per_second: 1e300\n", `config.yaml:2: limits.events_per_second: invalid number 1e300`},
		{"number null", "limits:\n  events_per_second:\n", `config.yaml:2: limits.events_per_second: missing value (want a number)`},
		{"bool null", "socketio:\n  serve_client: ~\n", `config.yaml:2: socketio.serve_client: missing value (want a boolean (true or false))`},
		{"item null", "cors:\n  origins: [~]\n", `config.yaml:2: cors.origins[0]: missing value (want a string)`},
		{"int exp", "socketio:\n  max_payload: 1e6\n", `config.yaml:2: socketio.max_payload: want an integer, got number 1e6`},
		{"int overflow", "socketio:\n  max_payload: 99999999999999999999999\n", `config.yaml:2: socketio.max_payload: integer 99999999999999999999999 out of range`},
		{"int uint64", "socketio:\n  max_buffered_bytes: 18446744073709551615\n", `config.yaml:2: socketio.max_buffered_bytes: integer 18446744073709551615 out of range`},
		{"int null", "socketio:\n  max_payload: ~\n", `config.yaml:2: socketio.max_payload: missing value (want an integer)`},
		{"duration bad", "socketio:\n  path: /s/\n  ping_interval: abc\n", `config.yaml:3: socketio.ping_interval: invalid duration "abc" (want e.g. 25s)`},
		{"duration number", "shutdown_timeout: 25\n", `config.yaml:1: shutdown_timeout: invalid duration 25: missing unit (want e.g. 25s)`},
		{"duration quoted number", "shutdown_timeout: \"25\"\n", `config.yaml:1: shutdown_timeout: invalid duration "25" (want e.g. 25s)`},
		{"duration float", "socketio:\n  ping_timeout: 1.5\n", `config.yaml:2: socketio.ping_timeout: invalid duration 1.5: missing unit (want e.g. 25s)`},
		{"duration list", "socketio:\n  ping_timeout: [1s]\n", `config.yaml:2: socketio.ping_timeout: want a duration such as 25s, got a list`},
		{"duration null", "socketio:\n  connect_timeout:\n", `config.yaml:2: socketio.connect_timeout: missing value (want a duration such as 25s)`},
		{"duration bool", "socketio:\n  upgrade_timeout: true\n", `config.yaml:2: socketio.upgrade_timeout: want a duration such as 25s, got boolean true`},
		{"list is string", "socketio:\n  transports: websocket\n", `config.yaml:2: socketio.transports: want a list of strings, got string "websocket"`},
		{"list null", "cors:\n  origins:\n", `config.yaml:2: cors.origins: missing value (want a list of strings)`},
		{"list item type", "cors:\n  origins:\n    - \"*\"\n    - [5]\n", `config.yaml:4: cors.origins[1]: want a string, got a list`},
		{"namespaces mapping", "namespaces: {name: /}\n", `config.yaml:1: namespaces: want a list of {name, app} mappings, got a mapping`},
		{"namespace item string", "namespaces:\n  - /\n", `config.yaml:2: namespaces[0]: want a mapping with keys name, app, pattern, auth, relay, rooms, backend, server_side, got string "/"`},
		{"namespace item null", "namespaces:\n  -\n", `config.yaml:2: namespaces[0]: missing value (want a mapping with keys name, app, pattern, auth, relay, rooms, backend, server_side)`},
		{"namespace missing app", "namespaces:\n  - name: /\n", `config.yaml:2: namespaces[0]: missing key "app"`},
		{"namespace missing name", "namespaces:\n  - {app: chat}\n", `config.yaml:2: namespaces[0]: missing key "name" (or "pattern")`},
		{"namespace name and pattern", "namespaces:\n  - {name: /, pattern: /x, app: chat}\n", `config.yaml:2: namespaces[0]: keys "name" and "pattern" exclude each other (a namespace, or a pattern of namespaces)`},
		{"namespace bad pattern", "namespaces:\n  - {name: /, app: chat}\n  - {pattern: \"/room-(\", app: chat}\n", "config.yaml:3: namespaces[1].pattern: invalid regular expression \"/room-(\": error parsing regexp: missing closing ): `^(?:/room-()$`"},
		{"namespace duplicate pattern", "namespaces:\n  - {pattern: /a+, app: chat}\n  - {pattern: /a+, app: chat}\n", `config.yaml:3: namespaces[1].pattern: duplicate pattern "/a+" (also namespaces[0])`},
		{"namespace app type", "namespaces:\n  - name: /\n    app: [chat]\n", `config.yaml:3: namespaces[0].app: want a string, got a list`},
		{"echo not mapping", "engineio_echo: /e/\n", `config.yaml:1: engineio_echo: want a mapping, got string "/e/"`},
		// A string with an unknown tag is still its text.
		{"custom tag", "listen: !foo bar\n", `config.yaml:1: listen: invalid address "bar" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"custom tag not a string", "socketio:\n  max_payload: !foo 5\n", `config.yaml:2: socketio.max_payload: want an integer, got value "5" tagged !foo`},
		{"unknown anchor", "listen: *x\n", `config.yaml: invalid YAML: unknown anchor 'x' referenced`},
		{"alias to wrong type", "log: &l {level: *l}\n", `config.yaml:1: log.level: want a string, got a mapping`},
		{"duplicate key in a value", "namespaces:\n  - name: /\n    server_side: [{event: e, reply: {a: 1, a: 2}}]\n", `config.yaml:3: namespaces[0].server_side[0].reply: mapping key "a" already defined at line 3`},
		{"long value clipped", "listen: " + strings.Repeat("a", 100) + "\n", `config.yaml:1: listen: invalid address "` + strings.Repeat("a", 64) + `"... (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},

		// Validation rules.
		{"listen no port", "listen: localhost\n", `config.yaml:1: listen: invalid address "localhost" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"listen empty", "listen: \"\"\n", `config.yaml:1: listen: invalid address "" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"listen bad port", "listen: \":http\"\n", `config.yaml:1: listen: invalid port "http" in ":http" (want a number 0-65535)`},
		{"listen empty port", "listen: \"localhost:\"\n", `config.yaml:1: listen: invalid port "" in "localhost:" (want a number 0-65535)`},
		{"listen port range", "listen: \":65536\"\n", `config.yaml:1: listen: invalid port "65536" in ":65536" (want a number 0-65535)`},
		{"listen bad host", "listen: \"my host:80\"\n", `config.yaml:1: listen: invalid host "my host" in "my host:80" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"listen ipv6 unbracketed", "listen: \"::1:80\"\n", `config.yaml:1: listen: invalid address "::1:80" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"shutdown zero", "shutdown_timeout: 0s\n", `config.yaml:1: shutdown_timeout: must be positive, got 0s`},
		{"log level", "log:\n  level: verbose\n", `config.yaml:2: log.level: unknown level "verbose" (want debug, info, warn or error)`},
		{"log level case", "log:\n  level: INFO\n", `config.yaml:2: log.level: unknown level "INFO" (want debug, info, warn or error)`},
		{"log format", "log:\n  format: xml\n", `config.yaml:2: log.format: unknown format "xml" (want text or json)`},
		{"parser unknown", "socketio:\n  parser: protobuf\n", `config.yaml:2: socketio.parser: unknown parser "protobuf" (want json or msgpack)`},
		{"parser case", "socketio:\n  parser: MsgPack\n", `config.yaml:2: socketio.parser: unknown parser "MsgPack" (want json or msgpack)`},
		{"parser empty", "socketio:\n  parser: \"\"\n", `config.yaml:2: socketio.parser: unknown parser "" (want json or msgpack)`},
		{"parser not a string", "socketio:\n  parser: [msgpack]\n", `config.yaml:2: socketio.parser: want a string, got a list`},
		{"sio path no leading slash", "socketio:\n  path: socket.io/\n", `config.yaml:2: socketio.path: must start and end with "/", got "socket.io/"`},
		{"sio path no trailing slash", "socketio:\n  path: /socket.io\n", `config.yaml:2: socketio.path: must start and end with "/", got "/socket.io"`},
		{"sio path empty", "socketio:\n  path: \"\"\n", `config.yaml:2: socketio.path: must start and end with "/", got ""`},
		{"sio path unclean", "socketio:\n  path: /a//b/\n", `config.yaml:2: socketio.path: invalid path "/a//b/" (no empty, "." or ".." segments)`},
		{"sio path dotdot", "socketio:\n  path: /a/../b/\n", `config.yaml:2: socketio.path: invalid path "/a/../b/" (no empty, "." or ".." segments)`},
		{"sio path query", "socketio:\n  path: /a?b/\n", `config.yaml:2: socketio.path: invalid path "/a?b/" (no spaces, control characters, ? or #)`},
		{"sio path root with static", "socketio:\n  path: /\n", `config.yaml:2: socketio.path: "/" conflicts with static files served at / (set static_dir: "" or use another path)`},
		{"ping_interval zero", "socketio:\n  ping_interval: 0s\n", `config.yaml:2: socketio.ping_interval: must be positive, got 0s`},
		{"ping_timeout negative", "socketio:\n  ping_timeout: -5s\n", `config.yaml:2: socketio.ping_timeout: must be positive, got -5s`},
		{"connect_timeout zero", "socketio:\n  connect_timeout: 0ms\n", `config.yaml:2: socketio.connect_timeout: must be positive, got 0s`},
		{"upgrade_timeout negative", "socketio:\n  upgrade_timeout: -1ms\n", `config.yaml:2: socketio.upgrade_timeout: must be positive, got -1ms`},
		{"max_payload zero", "socketio:\n  max_payload: 0\n", `config.yaml:2: socketio.max_payload: must be positive, got 0`},
		{"max_payload negative", "socketio:\n  max_payload: -1\n", `config.yaml:2: socketio.max_payload: must be positive, got -1`},
		{"max_buffered_bytes zero", "socketio:\n  max_buffered_bytes: 0\n", `config.yaml:2: socketio.max_buffered_bytes: must be positive, got 0`},
		{"limits unknown key", "limits:\n  max_conections: 1\n", `config.yaml:2: limits: unknown key "max_conections" (allowed: max_connections, max_connections_per_ip, handshakes_per_second, handshake_burst, max_tcp_connections_per_ip, events_per_second, event_burst, max_rooms_per_socket, max_namespaces_per_client, namespace_connects_per_second, namespace_connect_burst, max_attachments, max_json_depth, trusted_proxies, bind_session_to_ip, read_header_timeout, max_header_bytes, read_body_timeout, write_timeout)`},
		{"limits negative", "limits:\n  max_connections_per_ip: -1\n", `config.yaml:2: limits.max_connections_per_ip: must be 0 (no limit) or positive, got -1`},
		{"tcp cap negative", "limits:\n  max_tcp_connections_per_ip: -1\n", `config.yaml:2: limits.max_tcp_connections_per_ip: must be 0 (no limit) or positive, got -1`},
		{"tcp cap under the session cap", "limits:\n  max_connections_per_ip: 300\n  max_tcp_connections_per_ip: 512\n", `config.yaml:3: limits.max_tcp_connections_per_ip: must be 0 (no limit) or at least twice limits.max_connections_per_ip (600), got 512`},
		{"limits rate string", "limits:\n  events_per_second: fast\n", `config.yaml:2: limits.events_per_second: want a number, got string "fast"`},
		{"limits rate negative", "limits:\n  handshakes_per_second: -2.5\n", `config.yaml:2: limits.handshakes_per_second: must be 0 (no limit) or positive, got -2.5`},
		{"limits burst zero", "limits:\n  events_per_second: 5\n  event_burst: 0\n", `config.yaml:3: limits.event_burst: must be at least 1 when events_per_second is set, got 0`},
		{"limits connect burst zero", "limits:\n  namespace_connect_burst: 0\n", `config.yaml:2: limits.namespace_connect_burst: must be at least 1 when namespace_connects_per_second is set, got 0`},
		{"limits negative namespaces", "limits:\n  max_namespaces_per_client: -1\n", `config.yaml:2: limits.max_namespaces_per_client: must be 0 (no limit) or positive, got -1`},
		{"limits attachments", "limits:\n  max_attachments: 0\n", `config.yaml:2: limits.max_attachments: must be 1-1000, got 0`},
		{"limits depth", "limits:\n  max_json_depth: 1\n", `config.yaml:2: limits.max_json_depth: must be 2-10000 (an event is an array: 2 lets its arguments be objects or arrays), got 1`},
		{"limits proxy", "limits:\n  trusted_proxies: [10.0.0.0/33]\n", `config.yaml:2: limits.trusted_proxies[0]: invalid "10.0.0.0/33": want an IP address or a CIDR prefix such as 10.0.0.0/8`},
		{"limits header timeout", "limits:\n  read_header_timeout: 0s\n", `config.yaml:2: limits.read_header_timeout: must be positive, got 0s`},
		{"limits body timeout", "limits:\n  read_body_timeout: 0s\n", `config.yaml:2: limits.read_body_timeout: must be positive, got 0s`},
		{"limits write timeout", "limits:\n  write_timeout: 0s\n", `config.yaml:2: limits.write_timeout: must be positive, got 0s`},
		{"limits header bytes", "limits:\n  max_header_bytes: 100\n", `config.yaml:2: limits.max_header_bytes: must be at least 4096, got 100`},
		{"transports empty", "socketio:\n  transports: []\n", `config.yaml:2: socketio.transports: must list at least one of polling, websocket`},
		{"transports unknown", "socketio:\n  transports:\n    - polling\n    - webtransport\n", `config.yaml:4: socketio.transports[1]: unknown transport "webtransport" (want polling or websocket)`},
		{"transports duplicate", "socketio:\n  transports: [websocket, polling,\n    websocket]\n", `config.yaml:3: socketio.transports[2]: duplicate transport "websocket"`},
		{"origin trailing slash", "cors:\n  origins: [\"http://localhost:8080/\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://localhost:8080/": must not end with "/" (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin path", "cors:\n  origins: [\"http://a.com/x\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://a.com/x": must not have a path, query or fragment (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin query", "cors:\n  origins: [\"http://a.com?x\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://a.com?x": must not have a path, query or fragment (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin no scheme", "cors:\n  origins: [localhost:8080]\n", `config.yaml:2: cors.origins[0]: invalid origin "localhost:8080": not scheme://host (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin bare host", "cors:\n  origins: [example.com]\n", `config.yaml:2: cors.origins[0]: invalid origin "example.com": not scheme://host (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin wildcard inside", "cors:\n  origins: [\"https://a.*.com\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "https://a.*.com": invalid host (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin double wildcard", "cors:\n  origins: [\"https://*.*.a.com\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "https://*.*.a.com": a wildcard stands only for the leading subdomains of a domain, as in "https://*.example.com"`},
		{"origin wildcard tld", "cors:\n  origins: [\"https://*.com\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "https://*.com": a wildcard stands only for the leading subdomains of a domain, as in "https://*.example.com"`},
		{"origin wildcard path", "cors:\n  origins: [\"https://*.a.com/x\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "https://a.com/x": must not have a path, query or fragment (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"any origin with credentials", "cors:\n  origins: [\"http://a.com\", \"*\"]\n  credentials: true\n", `config.yaml:2: cors.origins[1]: "*" with cors.credentials: true would let every site send credentialed requests: list the allowed origins (such as "https://app.example.com" or "https://*.example.com"), or set credentials: false`},
		{"cors method", "cors:\n  methods: [GET, post]\n", `config.yaml:2: cors.methods[1]: invalid method "post" (want an upper-case HTTP method such as GET)`},
		{"cors header", "cors:\n  headers: [\"x token\"]\n", `config.yaml:2: cors.headers[0]: invalid header name "x token"`},
		{"origin uppercase", "cors:\n  origins: [\"http://Example.com\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://Example.com": must be lowercase, as browsers send it (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin userinfo", "cors:\n  origins: [\"http://u@a.com\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://u@a.com": must not contain user info (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin bad port", "cors:\n  origins: [\"http://a.com:0\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://a.com:0": invalid port (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin empty port", "cors:\n  origins: [\"http://a.com:\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "http://a.com:": empty port (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin empty", "cors:\n  origins: [\"\"]\n", `config.yaml:2: cors.origins[0]: invalid origin "": not scheme://host (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin duplicate", "cors:\n  origins:\n    - http://a.com\n    - http://a.com\n", `config.yaml:4: cors.origins[1]: duplicate origin "http://a.com"`},
		{"namespaces empty", "namespaces: []\n", `config.yaml:1: namespaces: must list at least one namespace`},
		{"namespace no slash", "namespaces:\n  - name: chat\n    app: chat\n", `config.yaml:2: namespaces[0].name: must start with "/", got "chat"`},
		{"namespace space", "namespaces:\n  - name: /a b\n    app: chat\n", `config.yaml:2: namespaces[0].name: invalid namespace "/a b" (no spaces, control characters, ? or #)`},
		{"namespace duplicate", "namespaces:\n  - {name: /, app: chat}\n  - {name: /x, app: chat}\n  - {name: /x, app: bench}\n", `config.yaml:4: namespaces[2].name: duplicate namespace "/x" (also namespaces[1])`},
		{"namespace unknown app", "namespaces:\n  - name: /\n    app: chat\n  - name: /y\n    app: x\n", `config.yaml:5: namespaces[1].app: unknown app "x" (known: bench, chat, conformance)`},
		{"echo path", "engineio_echo:\n  path: /engine.io\n", `config.yaml:2: engineio_echo.path: must start and end with "/", got "/engine.io"`},
		{"echo same path", "engineio_echo:\n  path: /socket.io/\n", `config.yaml:2: engineio_echo.path: must differ from socketio.path (both "/socket.io/")`},
		{"echo default path same", "socketio: {path: /engine.io/}\nengineio_echo: {}\n", `config.yaml:2: engineio_echo.path: must differ from socketio.path (both "/engine.io/")`},
		{"echo overlaps", "engineio_echo:\n  path: /socket.io/echo/\n", `config.yaml:2: engineio_echo.path: "/socket.io/echo/" overlaps socketio.path "/socket.io/" (one is a prefix of the other)`},
		{"echo root", "static_dir: \"\"\nsocketio:\n  path: /\nengineio_echo:\n  path: /e/\n", `config.yaml:5: engineio_echo.path: "/e/" overlaps socketio.path "/" (one is a prefix of the other)`},

		// Several problems are all reported.
		{"several", "listn: 1\nlog:\n  level: [5]\n", "config.yaml:1: unknown key \"listn\" (allowed: listen, static_dir, shutdown_timeout, log, socketio, cors, namespaces, engineio_echo, limits, raw_websocket, webtransport, pprof, adapter, metrics, admin_ui, api)\nconfig.yaml:3: log.level: want a string, got a list"},
		{"several validation", "log: {level: x, format: y}\n", "config.yaml:1: log.level: unknown level \"x\" (want debug, info, warn or error)\nconfig.yaml:1: log.format: unknown format \"y\" (want text or json)"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate test name %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "config.yaml", testApps)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.in, c, tt.want)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "config.yaml" {
				t.Errorf("errors.As(*Error) failed or wrong file: %#v", e)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Errorf("errors.As(Errors) failed")
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	in := "listen: \":1\"\nsocketio:\n  path: /s/\n  ping_interval: abc\n"
	_, err := Parse([]byte(in), "dir/config.yaml", nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := Error{File: "dir/config.yaml", Line: 4, Key: "socketio.ping_interval", Msg: `invalid duration "abc" (want e.g. 25s)`}
	if *e != want {
		t.Fatalf("got %#v, want %#v", *e, want)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 3, Key: "a.b", Msg: "m"}, "f:3: a.b: m"},
		{Error{File: "f", Line: 3, Msg: "m"}, "f:3: m"},
		{Error{File: "f", Key: "k", Msg: "m"}, "f: k: m"},
		{Error{Line: 2, Key: "k", Msg: "m"}, "line 2: k: m"},
		{Error{Key: "k", Msg: "m"}, "k: m"},
		{Error{Msg: "m"}, "m"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// A validation error about a value taken from the defaults has no line of its
// own; it borrows the line of the closest key in the file.
func TestValidationLineFallback(t *testing.T) {
	_, err := Parse([]byte("log: {}\nstatic_dir: x\nsocketio:\n  path: /\n"), "c.yaml", nil)
	if err == nil || err.Error() != `c.yaml:4: socketio.path: "/" conflicts with static files served at / (set static_dir: "" or use another path)` {
		t.Fatalf("err = %v", err)
	}
	// A default value that conflicts with nothing in the file: no line.
	_, err = Parse([]byte("socketio:\n  path: /engine.io/\nengineio_echo: {}\n"), "c.yaml", nil)
	if err == nil || err.Error() != `c.yaml:3: engineio_echo.path: must differ from socketio.path (both "/engine.io/")` {
		t.Fatalf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"listen", func(c *Config) { c.Listen = "nope" }, `listen: invalid address "nope" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, `shutdown_timeout: must be positive, got 0s`},
		{"level", func(c *Config) { c.Log.Level = "" }, `log.level: unknown level "" (want debug, info, warn or error)`},
		{"format", func(c *Config) { c.Log.Format = "" }, `log.format: unknown format "" (want text or json)`},
		{"path", func(c *Config) { c.SocketIO.Path = "" }, `socketio.path: must start and end with "/", got ""`},
		{"ping interval", func(c *Config) { c.SocketIO.PingInterval = 0 }, `socketio.ping_interval: must be positive, got 0s`},
		{"ping timeout", func(c *Config) { c.SocketIO.PingTimeout = -1 }, `socketio.ping_timeout: must be positive, got -1ns`},
		{"connect timeout", func(c *Config) { c.SocketIO.ConnectTimeout = 0 }, `socketio.connect_timeout: must be positive, got 0s`},
		{"upgrade timeout", func(c *Config) { c.SocketIO.UpgradeTimeout = 0 }, `socketio.upgrade_timeout: must be positive, got 0s`},
		{"max payload", func(c *Config) { c.SocketIO.MaxPayload = 0 }, `socketio.max_payload: must be positive, got 0`},
		{"max buffered", func(c *Config) { c.SocketIO.MaxBufferedBytes = -3 }, `socketio.max_buffered_bytes: must be positive, got -3`},
		{"transports nil", func(c *Config) { c.SocketIO.Transports = nil }, `socketio.transports: must list at least one of polling, websocket`},
		{"transport", func(c *Config) { c.SocketIO.Transports = []string{"Polling"} }, `socketio.transports[0]: unknown transport "Polling" (want polling or websocket)`},
		{"origin", func(c *Config) { c.CORS.Origins = []string{"*", "ftp://"} }, `cors.origins[1]: invalid origin "ftp://": missing host (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`},
		{"origin dup star", func(c *Config) { c.CORS.Origins = []string{"*", "*"} }, `cors.origins[1]: duplicate origin "*"`},
		{"namespaces nil", func(c *Config) { c.Namespaces = nil }, `namespaces: must list at least one namespace`},
		{"namespace name", func(c *Config) { c.Namespaces[0].Name = "" }, `namespaces[0].name: must start with "/", got ""`},
		{"namespace app", func(c *Config) { c.Namespaces[0].App = "" }, `namespaces[0].app: unknown app "" (known: bench, chat, conformance)`},
		{"echo", func(c *Config) { c.EngineIOEcho = &EngineIOEcho{} }, `engineio_echo.path: must start and end with "/", got ""`},
		{"echo root", func(c *Config) { c.EngineIOEcho = &EngineIOEcho{Path: "/"} }, `engineio_echo.path: "/" overlaps socketio.path "/socket.io/" (one is a prefix of the other)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			err := c.Validate(testApps)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate() = %v\nwant %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "" || e.Line != 0 {
				t.Fatalf("errors.As: %#v", e)
			}
		})
	}
}

func TestValidAccepted(t *testing.T) {
	for _, in := range []string{
		"listen: \":0\"\n",
		"listen: \"0.0.0.0:80\"\n",
		"listen: \"[::]:8080\"\n",
		"listen: \"[fe80::1%eth0]:8080\"\n",
		"listen: localhost:3000\n",
		"listen: my-host.example.com.:3000\n",
		"listen: :8080\n",
		"cors: {origins: []}\n",
		"cors: {origins: [\"*\", \"http://127.0.0.1:5173\", \"app://x\"]}\n",
		"socketio: {path: /a/b-c_d.e/}\n",
		"socketio: {transports: [websocket, polling]}\n",
		"static_dir: \"\"\nsocketio: {path: /}\n",
		"namespaces: [{name: /, app: chat}, {name: /a/b, app: chat}]\n",
		"socketio: {ping_interval: 1h2m3.5s}\n",
	} {
		if _, err := Parse([]byte(in), "c.yaml", testApps); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
	// Merge keys (<<) work, as the YAML library reads them.
	c, err := Parse([]byte("log:\n  <<: {level: warn}\n  format: json\n"), "c.yaml", testApps)
	if err != nil || c.Log != (Log{Level: "warn", Format: "json"}) {
		t.Errorf("merge key: %+v, %v", c, err)
	}
	// yes/no and on/off are booleans (YAML 1.1), as the library reads them.
	c, err = Parse([]byte("socketio: {serve_client: no, allow_eio3: off}\npprof: yes\n"), "c.yaml", testApps)
	if err != nil || c.SocketIO.ServeClient || c.SocketIO.AllowEIO3 || !c.Pprof {
		t.Errorf("yes/no: %+v, %v", c, err)
	}
	// Aliases to a whole section work.
	c, err = Parse([]byte("log: &l {level: warn}\nsocketio:\n  path: &p /p/\nengineio_echo: {path: /q/}\n"), "c.yaml", testApps)
	if err != nil || c.Log.Level != "warn" || c.SocketIO.Path != "/p/" {
		t.Errorf("aliases: %+v, %v", c, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("listen: 127.0.0.1:1\nlog:\n  level: bogus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, testApps)
	if err == nil || err.Error() != p+`:3: log.level: unknown level "bogus" (want debug, info, warn or error)` {
		t.Fatalf("Load: %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"), testApps)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

// TestRepoFiles checks the shipped config.yaml, the examples and the test profiles.
func TestRepoFiles(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"../../config.yaml", "../../e2e/conformance/conformance.yaml", "../../bench/bench.yaml"}, files...)
	byName := map[string]*Config{}
	for _, f := range files {
		c, err := Load(f, testApps)
		if err != nil {
			t.Errorf("Load(%s): %v", f, err)
			continue
		}
		byName[filepath.Base(f)] = c
	}

	if c := byName["config.yaml"]; c != nil {
		// The defaults, and the raw WebSocket bridge (off by default).
		want := Default()
		want.RawWebSocket = &RawWebSocket{Path: "/", Namespace: "/", MaxMessage: 4096}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("config.yaml = %+v, want Default() with raw_websocket %+v", c, *want.RawWebSocket)
		}
	}
	if c := byName["conformance.yaml"]; c == nil {
		t.Error("e2e/conformance/conformance.yaml missing")
	} else {
		want := Default()
		want.Listen = "127.0.0.1:3000"
		want.StaticDir = ""
		want.SocketIO.PingInterval = 300 * time.Millisecond
		want.SocketIO.PingTimeout = 200 * time.Millisecond
		want.SocketIO.ConnectTimeout = time.Second
		want.Namespaces = []Namespace{{Name: "/", App: "conformance"}, {Name: "/custom", App: "conformance"}, {Pattern: `/dynamic-\d+`, App: "conformance"}}
		want.EngineIOEcho = &EngineIOEcho{Path: "/engine.io/"}
		noConnectionLimits(&want.Limits)
		if !reflect.DeepEqual(c, want) {
			t.Errorf("conformance.yaml = %+v\nwant %+v", c, want)
		}
	}
	if c := byName["bench.yaml"]; c == nil {
		t.Error("bench/bench.yaml missing")
	} else {
		want := Default()
		want.Listen = "127.0.0.1:3000"
		want.StaticDir = ""
		want.Log.Level = "warn"
		want.Namespaces = []Namespace{{Name: "/", App: "bench"}}
		noConnectionLimits(&want.Limits)
		if !reflect.DeepEqual(c, want) {
			t.Errorf("bench.yaml = %+v\nwant %+v", c, want)
		}
	}
}

// noConnectionLimits turns off what the test and benchmark profiles turn
// off: the connection, rate and room limits.
func noConnectionLimits(l *Limits) {
	l.MaxConnections, l.MaxConnectionsPerIP, l.MaxRoomsPerSocket = 0, 0, 0
	l.MaxTCPConnectionsPerIP = 0
	l.HandshakesPerSecond, l.EventsPerSecond = 0, 0
}

// A marshalled Config parses back to itself.
func TestMarshalRoundTrip(t *testing.T) {
	c := Default()
	c.EngineIOEcho = &EngineIOEcho{Path: "/e/"}
	c.SocketIO.PingInterval = 1500 * time.Millisecond
	c.ShutdownTimeout = 1<<63 - 1
	c.StaticDir = "a\u2028b \"x: #y"
	c.Listen = "[::1]:0"
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, "marshalled", testApps)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("namespaces:\n")
	for range 50 {
		b.WriteString("  - {name: x, app: chat}\n")
	}
	_, err := Parse([]byte(b.String()), "c.yaml", testApps)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	if len(es) != maxErrors+1 || es[maxErrors].Msg != "too many errors" {
		t.Fatalf("got %d errors, last %v", len(es), es[len(es)-1])
	}
}

func TestStaticDirControlCharacters(t *testing.T) {
	for _, dir := range []string{"\t", " static", "static ", "a\nb", "a\x00b"} {
		c := Default()
		c.StaticDir = dir
		if err := c.Validate(nil); err == nil {
			t.Errorf("static_dir %q accepted", dir)
		}
	}
}

func TestPprofKey(t *testing.T) {
	c, err := Parse([]byte("pprof: true\n"), "x.yaml", nil)
	if err != nil || !c.Pprof {
		t.Fatalf("pprof: true -> %+v, %v", c.Pprof, err)
	}
	if _, err := Parse([]byte("pprof: 1\n"), "x.yaml", nil); err == nil {
		t.Fatal("pprof: 1 accepted")
	}
	if Default().Pprof {
		t.Fatal("pprof on by default")
	}
}

func TestParseCookie(t *testing.T) {
	c, err := Parse([]byte("socketio:\n  cookie: {}\n"), "config.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.SocketIO.Cookie, DefaultCookie()) {
		t.Errorf("cookie: {} = %+v, want the defaults %+v", c.SocketIO.Cookie, DefaultCookie())
	}
	in := "socketio:\n  cookie:\n    name: sticky\n    path: /app\n    domain: example.com\n    http_only: false\n    secure: true\n    same_site: none\n    max_age: 1h\n"
	if c, err = Parse([]byte(in), "config.yaml", testApps); err != nil {
		t.Fatal(err)
	}
	want := &Cookie{Name: "sticky", Path: "/app", Domain: "example.com", Secure: true, SameSite: "none", MaxAge: time.Hour}
	if !reflect.DeepEqual(c.SocketIO.Cookie, want) {
		t.Errorf("cookie = %+v, want %+v", c.SocketIO.Cookie, want)
	}
	if c, _ = Parse(nil, "config.yaml", testApps); c.SocketIO.Cookie != nil {
		t.Error("the cookie is on by default")
	}
}

func TestAdapterSection(t *testing.T) {
	in := "adapter:\n  type: redis\n  url: redis://:secret@127.0.0.1:6390/2\n  key_prefix: app1\n  request_timeout: 1500ms\n  forward_sessions: true\n"
	c, err := Parse([]byte(in), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Adapter{Type: "redis", URL: "redis://:secret@127.0.0.1:6390/2", KeyPrefix: "app1", RequestTimeout: 1500 * time.Millisecond, ForwardSessions: true, StreamName: "socket.io", MaxLen: 10000, SessionKeyPrefix: "sio:session:"}
	if c.Adapter != want {
		t.Fatalf("adapter = %+v, want %+v", c.Adapter, want)
	}
	if c, err := Parse([]byte("adapter:\n  type: memory\n"), "x.yaml", nil); err != nil || c.Adapter != Default().Adapter {
		t.Fatalf("memory: %+v %v", c, err)
	}
}

func TestAdapterErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"forward with memory", "adapter:\n  forward_sessions: true\n", `x.yaml:2: adapter.forward_sessions: needs a cluster adapter (type redis or redis-streams): with type memory there is no other node to forward to`},
		{"empty stream name", "adapter:\n  type: redis-streams\n  url: redis://h:1\n  stream_name: \"\"\n", `x.yaml:4: adapter.stream_name: must not be empty`},
		{"max_len 0", "adapter:\n  type: redis-streams\n  url: redis://h:1\n  max_len: 0\n", `x.yaml:4: adapter.max_len: must be at least 1 (the stream's length, about; default 10000)`},
		{"unknown type", "adapter:\n  type: etcd\n", `x.yaml:2: adapter.type: unknown adapter "etcd" (want memory, redis or redis-streams)`},
		{"unknown key", "adapter:\n  type: redis\n  urll: redis://a\n", `x.yaml:3: adapter: unknown key "urll" (allowed: type, url, key_prefix, request_timeout, forward_sessions, stream_name, max_len, session_key_prefix)`},
		{"not a mapping", "adapter: redis\n", `x.yaml:1: adapter: want a mapping, got string "redis"`},
		{"redis without url", "adapter:\n  type: redis\n", `x.yaml:1: adapter.url: missing (want redis://host:port[/db] or rediss://...)`},
		{"url with memory", "adapter:\n  url: redis://h:1\n", `x.yaml:2: adapter.url: only used with type: redis or redis-streams (type is "memory")`},
		{"bad scheme", "adapter:\n  type: redis\n  url: http://h:1\n", `x.yaml:3: adapter.url: "http://h:1": unknown scheme "http" (want redis://host:port[/db] or rediss://...)`},
		{"no host", "adapter:\n  type: redis\n  url: redis:///0\n", `x.yaml:3: adapter.url: "redis:///0": missing host (want redis://host:port[/db] or rediss://...)`},
		{"bad port", "adapter:\n  type: redis\n  url: redis://h:99999\n", `x.yaml:3: adapter.url: "redis://h:99999": invalid port "99999"`},
		{"bad db", "adapter:\n  type: redis\n  url: redis://h:1/x\n", `x.yaml:3: adapter.url: "redis://h:1/x": invalid database "x" (want a number, e.g. /0)`},
		{"password redacted", "adapter:\n  type: redis\n  url: redis://:hunter2@h:1/x\n", `x.yaml:3: adapter.url: "redis://:xxxxx@h:1/x": invalid database "x" (want a number, e.g. /0)`},
		{"query", "adapter:\n  type: redis\n  url: redis://h:1?timeout=1\n", `x.yaml:3: adapter.url: "redis://h:1?timeout=1": query parameters are not supported`},
		{"empty prefix", "adapter:\n  key_prefix: \"\"\n", `x.yaml:2: adapter.key_prefix: must not be empty (the reference's default is "socket.io")`},
		{"space in prefix", "adapter:\n  key_prefix: \"a b\"\n", `x.yaml:2: adapter.key_prefix: "a b": no spaces or control characters allowed`},
		{"zero timeout", "adapter:\n  request_timeout: 0s\n", `x.yaml:2: adapter.request_timeout: must be positive, got 0s`},
		{"timeout unit", "adapter:\n  request_timeout: 5000\n", `x.yaml:2: adapter.request_timeout: invalid duration 5000: missing unit (want e.g. 25s)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "x.yaml", nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("password in error message")
			}
		})
	}
}

// TestUnknownKeyInEverySection checks that every section refuses a key
// its struct has no tag for, naming the section's full path and the line.
func TestUnknownKeyInEverySection(t *testing.T) {
	ns := "namespaces:\n  - name: /\n    app: chat\n"
	for _, tc := range []struct{ in, want string }{
		{"log:\n  colour: red\n", `c.yaml:2: log: unknown key "colour" (allowed: level, format)`},
		{"adapter:\n  host: x\n", `c.yaml:2: adapter: unknown key "host" (allowed: type, url, key_prefix, request_timeout, forward_sessions, stream_name, max_len, session_key_prefix)`},
		{"cors:\n  origin: x\n", `c.yaml:2: cors: unknown key "origin" (allowed: origins, credentials, methods, headers)`},
		{"limits:\n  max: 1\n", `c.yaml:2: limits: unknown key "max" (allowed: max_connections, max_connections_per_ip, handshakes_per_second, handshake_burst, max_tcp_connections_per_ip, events_per_second, event_burst, max_rooms_per_socket, max_namespaces_per_client, namespace_connects_per_second, namespace_connect_burst, max_attachments, max_json_depth, trusted_proxies, bind_session_to_ip, read_header_timeout, max_header_bytes, read_body_timeout, write_timeout)`},
		{ns + "    auth:\n      mod: none\n", `c.yaml:5: namespaces[0].auth: unknown key "mod" (allowed: mode, tokens, jwt, auth_field, query_param)`},
		{ns + "    auth:\n      tokens:\n        - {sub: a, tok: b}\n", `c.yaml:6: namespaces[0].auth.tokens[0]: unknown key "tok" (allowed: sub, token, token_env)`},
		{ns + "    rooms:\n      allowed: [x]\n", `c.yaml:5: namespaces[0].rooms: unknown key "allowed" (allowed: join_event, leave_event, allow, max_per_socket, auto_join)`},
		{ns + "    backend:\n      uri: http://x\n", `c.yaml:5: namespaces[0].backend: unknown key "uri" (allowed: url, timeout, max_in_flight, connect, disconnect, key, key_env)`},
	} {
		_, err := Parse([]byte(tc.in), "c.yaml", testApps)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

// A section named without a value: the top-level switches (and the cookie)
// are off, as if absent; a namespace's auth, rooms and backend are on with
// their defaults, as if {}.
func TestNullSections(t *testing.T) {
	c, err := Parse([]byte("engineio_echo:\nraw_websocket: ~\napi:\nsocketio:\n  cookie:\n"), "c.yaml", testApps)
	if err != nil || c.EngineIOEcho != nil || c.RawWebSocket != nil || c.API != nil || c.SocketIO.Cookie != nil {
		t.Fatalf("top-level sections: %+v, %v", c, err)
	}
	in := "namespaces:\n  - name: /\n    auth:\n    rooms:\n    backend:\n      url: http://127.0.0.1:9000/\n  - {name: /x, app: chat, rooms: ~}\n"
	if c, err = Parse([]byte(in), "c.yaml", testApps); err != nil {
		t.Fatal(err)
	}
	ns := c.Namespaces[0]
	if !reflect.DeepEqual(ns.Auth, defaultAuth()) || !reflect.DeepEqual(ns.Rooms, defaultRooms()) || ns.Backend.Timeout != defaultBackend().Timeout {
		t.Errorf("namespace sections: auth %+v, rooms %+v, backend %+v", ns.Auth, ns.Rooms, ns.Backend)
	}
	if !reflect.DeepEqual(c.Namespaces[1].Rooms, defaultRooms()) {
		t.Errorf("rooms: ~ = %+v", c.Namespaces[1].Rooms)
	}
}

// An empty list is the same as none: it decodes to nil, so that a config
// survives a marshal/parse round trip (yaml.Marshal leaves out empty lists
// with omitempty).
func TestEmptyListsAreNil(t *testing.T) {
	in := "cors: {methods: [], headers: []}\nnamespaces:\n  - name: /\n    app: chat\n    relay: [{event: e, to: room, rooms: []}]\n    server_side: []\n    auth: {tokens: []}\n    rooms: {allow: [], auto_join: []}\n"
	c, err := Parse([]byte(in), "c.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	ns := c.Namespaces[0]
	for name, isNil := range map[string]bool{
		"cors.methods": c.CORS.Methods == nil, "cors.headers": c.CORS.Headers == nil,
		"relay[0].rooms": ns.Relay[0].Rooms == nil, "server_side": ns.ServerSide == nil,
		"auth.tokens": ns.Auth.Tokens == nil, "rooms.allow": ns.Rooms.Allow == nil, "rooms.auto_join": ns.Rooms.AutoJoin == nil,
	} {
		if !isNil {
			t.Errorf("%s: not nil", name)
		}
	}
}

// Aliases can make a short document hold billions of values. The library
// refuses that (excessive aliasing), except where it does not go, such as
// a mapping it drops for a duplicate key: finding the lines must not go
// there either.
func TestAliasExpansionBounded(t *testing.T) {
	list := func(item string) string { return "[" + strings.Repeat(item+",", 299) + item + "]" }
	in := "cors: {methods: &rooms " + list("x") + "}\n" +
		"x1: &r1 {event: e, to: room, rooms: *rooms}\n" +
		"x2: &rl " + list("*r1") + "\n" +
		"x3: &n1 {name: /, app: chat, relay: *rl}\n" +
		"namespaces: " + list("*n1") + "\nlisten: x\nlisten: y\n"
	done := make(chan error, 1)
	go func() {
		_, err := Parse([]byte(in), "c.yaml", testApps)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `c.yaml:7: duplicate key "listen" (first at line 6)`) {
			t.Fatalf("err = %.500v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Parse still busy after 20s")
	}
}

// TestWebTransportSection: the section is off when absent; present, it
// needs a certificate and key that load together, and names the key that
// is wrong.
func TestWebTransportSection(t *testing.T) {
	c, err := Parse([]byte("listen: \":1\"\n"), "c.yaml", testApps)
	if err != nil || c.WebTransport != nil {
		t.Fatalf("absent: %+v %v", c.WebTransport, err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"webtransport:\n  key_file: k.pem\n", `c.yaml:1: webtransport.cert_file: required: WebTransport needs a TLS certificate (PEM file)`},
		{"webtransport:\n  cert_file: c.pem\n", `c.yaml:1: webtransport.key_file: required: the private key of cert_file (PEM file)`},
		{"webtransport:\n  listen: nope\n  cert_file: " + bad + "\n  key_file: " + bad + "\n",
			`c.yaml:2: webtransport.listen: invalid address "nope" (want host:port, e.g. ":8080" or "127.0.0.1:3000")` + "\n" +
				`c.yaml:3: webtransport.cert_file: "` + bad + `" with "` + bad + `": tls: failed to find any PEM data in certificate input`},
	} {
		_, err := Parse([]byte(tc.in), "c.yaml", testApps)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got: %v\nwant: %s", tc.in, err, tc.want)
		}
	}
}
