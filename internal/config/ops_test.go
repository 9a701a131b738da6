package config

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func testHash(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestOpsParseValues(t *testing.T) {
	hash := testHash(t)
	in := `
metrics:
  enabled: true
  path: /internal/metrics
  token: 0123456789abcdef0123
  listen: ""
admin_ui:
  enabled: true
  path: /ops/admin/
  namespace: /ops
  readonly: true
  mode: production
  auth:
    username: admin
    password_hash: "` + hash + `"
`
	c, err := Parse([]byte(in), "x.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	wantM := Metrics{Enabled: true, Path: "/internal/metrics", Token: "0123456789abcdef0123"}
	wantA := AdminUI{Enabled: true, Path: "/ops/admin/", Namespace: "/ops", Readonly: true, Mode: "production",
		Auth: AdminAuth{Username: "admin", PasswordHash: hash}}
	if !reflect.DeepEqual(c.Metrics, wantM) || !reflect.DeepEqual(c.AdminUI, wantA) {
		t.Fatalf("got %+v %+v\nwant %+v %+v", c.Metrics, c.AdminUI, wantM, wantA)
	}
	c, err = Parse([]byte("metrics: {enabled: false}\n"), "x.yaml", testApps)
	if err != nil || c.Metrics.Enabled || c.Metrics.Path != DefaultMetricsPath {
		t.Fatalf("metrics off: %+v, %v", c.Metrics, err)
	}
	// By default the metrics have a loopback listener of their own.
	c, err = Parse([]byte("metrics: {path: /m}\n"), "x.yaml", testApps)
	if err != nil || c.Metrics.Listen != "127.0.0.1:9090" {
		t.Fatalf("metrics.listen default: %+v, %v", c.Metrics, err)
	}
	c, err = Parse([]byte("metrics: {listen: \"10.0.0.1:9100\"}\n"), "x.yaml", testApps)
	if err != nil || c.Metrics.Listen != "10.0.0.1:9100" {
		t.Fatalf("metrics.listen: %+v, %v", c.Metrics, err)
	}
}

func TestOpsParseErrors(t *testing.T) {
	hash := testHash(t)
	auth := "  auth: {username: admin, password_hash: \"" + hash + "\"}\n"
	tests := []struct{ name, in, want string }{
		// 9090 is taken as the text "9090", which validation refuses.
		{"metrics listen", "metrics:\n  listen: 9090\n", `config.yaml:2: metrics.listen: invalid address "9090" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"metrics listen address", "metrics:\n  listen: \"localhost\"\n", `config.yaml:2: metrics.listen: invalid address "localhost" (want host:port, e.g. ":8080" or "127.0.0.1:3000")`},
		{"metrics listen is main", "listen: \":9000\"\nmetrics:\n  listen: \":9000\"\n", `config.yaml:3: metrics.listen: ":9000" is the main listen address: write "" to serve the metrics there`},
		{"metrics unknown key", "metrics:\n  pth: /m\n", `config.yaml:2: metrics: unknown key "pth" (allowed: enabled, path, token, listen)`},
		{"metrics enabled type", "metrics:\n  enabled: yes please\n", `config.yaml:2: metrics.enabled: want a boolean (true or false), got string "yes please"`},
		{"metrics path slash", "metrics:\n  path: /metrics/\n", `config.yaml:2: metrics.path: must start with "/" and not end with "/", got "/metrics/"`},
		{"metrics path relative", "metrics:\n  path: metrics\n", `config.yaml:2: metrics.path: must start with "/" and not end with "/", got "metrics"`},
		{"metrics path dots", "metrics:\n  path: /a/../m\n", `config.yaml:2: metrics.path: invalid path "/a/../m" (no empty, "." or ".." segments)`},
		{"metrics path healthz", "metrics:\n  path: /healthz\n", `config.yaml:2: metrics.path: "/healthz" is the health endpoint's path`},
		{"metrics under socketio", "metrics:\n  path: /socket.io/metrics\n", `config.yaml:2: metrics.path: "/socket.io/metrics" overlaps socketio.path "/socket.io/"`},
		{"metrics token short", "metrics:\n  token: abc\n", "config.yaml:2: metrics.token: too short (3 characters, want at least 16; generate one with `openssl rand -hex 24`)"},
		{"metrics token space", "metrics:\n  token: \"0123456789 abcdef\"\n", `config.yaml:2: metrics.token: must be printable ASCII without spaces`},
		{"admin unknown key", "admin_ui:\n  passwd: x\n", `config.yaml:2: admin_ui: unknown key "passwd" (allowed: enabled, path, namespace, readonly, mode, auth)`},
		{"admin auth unknown key", "admin_ui:\n  auth:\n    password: x\n", `config.yaml:3: admin_ui.auth: unknown key "password" (allowed: username, password_hash)`},
		{"admin no auth", "admin_ui:\n  enabled: true\n", "config.yaml:1: admin_ui.auth.username: required when the Admin UI is enabled\nconfig.yaml:1: admin_ui.auth.password_hash: required when the Admin UI is enabled (a bcrypt hash: run `switchboard -hash-password`)"},
		{"admin plain password", "admin_ui:\n  enabled: true\n  auth: {username: admin, password_hash: secret}\n", `config.yaml:3: admin_ui.auth.password_hash: not a bcrypt hash (want $2a$, $2b$ or $2y$...): crypto/bcrypt: hashedSecret too short to be a bcrypted password`},
		{"admin username spaces", "admin_ui:\n  enabled: true\n  auth: {username: \" a\", password_hash: \"" + hash + "\"}\n", `config.yaml:3: admin_ui.auth.username: " a": no control characters or surrounding spaces allowed`},
		{"admin path", "admin_ui:\n  enabled: true\n  path: /admin\n" + auth, `config.yaml:3: admin_ui.path: must start and end with "/", got "/admin"`},
		{"admin path root", "admin_ui:\n  enabled: true\n  path: /\n" + auth, `config.yaml:3: admin_ui.path: must not be "/" (static files and other endpoints are there)`},
		{"admin path under socketio", "admin_ui:\n  enabled: true\n  path: /socket.io/admin/\n" + auth, `config.yaml:3: admin_ui.path: "/socket.io/admin/" overlaps socketio.path "/socket.io/"`},
		{"admin path holds metrics", "metrics:\n  path: /ops/metrics\nadmin_ui:\n  enabled: true\n  path: /ops/\n" + auth, `config.yaml:5: admin_ui.path: "/ops/" contains metrics.path "/ops/metrics"`},
		{"admin path pprof", "pprof: true\nadmin_ui:\n  enabled: true\n  path: /debug/\n" + auth, `config.yaml:4: admin_ui.path: "/debug/" overlaps pprof "/debug/pprof/"`},
		{"admin namespace taken", "namespaces:\n  - {name: /, app: chat}\n  - {name: /admin, app: bench}\nadmin_ui:\n  enabled: true\n" + auth, `config.yaml:4: admin_ui.namespace: "/admin" is already namespaces[1] (app "bench")`},
		{"admin namespace root", "admin_ui:\n  namespace: /\n", `config.yaml:2: admin_ui.namespace: must not be "/" (the main namespace)`},
		{"admin namespace bad", "admin_ui:\n  namespace: admin\n", `config.yaml:2: admin_ui.namespace: must start with "/", got "admin"`},
		{"admin mode", "admin_ui:\n  mode: prod\n", `config.yaml:2: admin_ui.mode: unknown mode "prod" (want development or production)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "config.yaml", testApps)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.in, c, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

// A disabled Admin UI's namespace may be an application namespace, and its
// path may overlap: nothing is mounted.
func TestOpsDisabledDoesNotConflict(t *testing.T) {
	in := "namespaces:\n  - {name: /, app: chat}\n  - {name: /admin, app: bench}\nadmin_ui:\n  path: /socket.io/x/\nmetrics:\n  enabled: false\n  path: /socket.io/m\n"
	if _, err := Parse([]byte(in), "config.yaml", testApps); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte("static_dir: \"\"\nsocketio: {path: /}\n"), "config.yaml", testApps); err != nil {
		t.Fatalf("socketio.path / with metrics on: %v", err)
	}
}

func TestOpsValidateNamesKeys(t *testing.T) {
	c := Default()
	c.AdminUI.Enabled = true
	err := c.Validate(nil)
	if err == nil || !strings.Contains(err.Error(), "admin_ui.auth.username: required") {
		t.Fatalf("Validate: %v", err)
	}
}
