package config

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// Operations: the Prometheus endpoint and the Socket.IO Admin UI. (The
// health endpoints /healthz and /readyz are always served; pprof is the
// top-level pprof flag.)

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Enabled serves the metrics (default true). They reveal traffic
	// volumes and namespace names, not message contents.
	Enabled bool `yaml:"enabled"`
	// Path is where they are served (default /metrics).
	Path string `yaml:"path"`
	// Token, when set, must come as "Authorization: Bearer <token>";
	// set one when the port is public.
	Token string `yaml:"token"`
	// Listen is the address of a listener of their own (default
	// 127.0.0.1:9090: this host only, out of the clients' reach); ""
	// serves them on the main listener, next to the clients, where they
	// need a token if the port is public.
	Listen string `yaml:"listen"`
}

// AdminUI configures the Socket.IO Admin UI: the server side of
// @socket.io/admin-ui (a Socket.IO namespace) and the UI itself.
type AdminUI struct {
	// Enabled turns the Admin UI on (default false).
	Enabled bool `yaml:"enabled"`
	// Path is where the UI's web page is served (default /admin/).
	Path string `yaml:"path"`
	// Namespace is the Socket.IO namespace the UI talks to (default
	// /admin); it must not be one of the application's namespaces.
	Namespace string `yaml:"namespace"`
	// Readonly hides the join, leave, disconnect and emit actions.
	Readonly bool `yaml:"readonly"`
	// Mode is "development" (every socket, room and event is shown) or
	// "production" (only the server's aggregated statistics, cheaper).
	Mode string `yaml:"mode"`
	// Auth is required when Enabled: the UI's login.
	Auth AdminAuth `yaml:"auth"`
}

// AdminAuth is the Admin UI's basic authentication.
type AdminAuth struct {
	Username string `yaml:"username"`
	// PasswordHash is a bcrypt hash of the password (never the password
	// itself), e.g. from `switchboard -hash-password`.
	PasswordHash string `yaml:"password_hash"`
}

// Defaults and values of the operations sections.
const (
	DefaultMetricsPath    = "/metrics"
	DefaultMetricsListen  = "127.0.0.1:9090"
	DefaultAdminUIPath    = "/admin/"
	DefaultAdminNamespace = "/admin"
	AdminModeDevelopment  = "development"
	AdminModeProduction   = "production"

	// HealthzPath and ReadyzPath are fixed.
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
	// PprofPath is where pprof is served when enabled.
	PprofPath = "/debug/pprof/"

	minMetricsToken = 16
)

var adminModes = []string{AdminModeDevelopment, AdminModeProduction}

// ops validates the metrics and admin_ui sections.
func (v *validator) ops(c *Config) {
	mounts := takenMounts(c)
	v.validateMetrics(c, mounts)
	v.validateAdminUI(c, mounts)
}

// mount is a path prefix another endpoint serves, and the key that sets it.
type mount struct{ key, path string }

// mounts are the prefix mounts an operations endpoint must not overlap.
type mounts []mount

// takenMounts returns the prefix mounts already taken. The operations
// endpoints are matched before anything else, so a mount at "/"
// (Engine.IO uses exactly that path) does not conflict.
func takenMounts(c *Config) mounts {
	var ms mounts
	add := func(key, p string) {
		if p != "/" && checkPath(p) == "" {
			ms = append(ms, mount{key, p})
		}
	}
	add("socketio.path", c.SocketIO.Path)
	if c.EngineIOEcho != nil {
		add("engineio_echo.path", c.EngineIOEcho.Path)
	}
	if c.Pprof {
		add("pprof", PprofPath)
	}
	return ms
}

// under returns the mount p falls under or contains, as named in messages,
// or "".
func (ms mounts) under(p string) string {
	for _, m := range ms {
		if strings.HasPrefix(p, m.path) || strings.HasPrefix(m.path, p) {
			return m.key + " " + quote(m.path)
		}
	}
	return ""
}

// validateMetrics checks the metrics section.
func (v *validator) validateMetrics(c *Config, ms mounts) {
	m := &c.Metrics
	switch msg := checkEndpointPath(m.Path); {
	case msg != "":
		v.errorf("metrics.path", "%s", msg)
	case m.Path == HealthzPath || m.Path == ReadyzPath:
		v.errorf("metrics.path", "%s is the health endpoint's path", quote(m.Path))
	case m.Enabled && ms.under(m.Path+"/") != "":
		v.errorf("metrics.path", "%s overlaps %s", quote(m.Path), ms.under(m.Path+"/"))
	}
	if m.Listen != "" {
		if msg := checkListen(m.Listen); msg != "" {
			v.errorf("metrics.listen", "%s", msg)
		} else if m.Enabled && m.Listen == c.Listen && !strings.HasSuffix(m.Listen, ":0") { // port 0: any free port
			v.errorf("metrics.listen", `%s is the main listen address: write "" to serve the metrics there`, quote(m.Listen))
		}
	}
	if t := m.Token; t != "" {
		if strings.ContainsFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) {
			v.errorf("metrics.token", "must be printable ASCII without spaces")
		} else if len(t) < minMetricsToken {
			v.errorf("metrics.token", "too short (%d characters, want at least %d; generate one with `openssl rand -hex 24`)", len(t), minMetricsToken)
		}
	}
}

// validateAdminUI checks the admin_ui section; its login only when it is
// enabled.
func (v *validator) validateAdminUI(c *Config, ms mounts) {
	a, m := &c.AdminUI, &c.Metrics
	switch msg := checkPath(a.Path); {
	case msg != "":
		v.errorf("admin_ui.path", "%s", msg)
	case a.Path == "/":
		v.errorf("admin_ui.path", `must not be "/" (static files and other endpoints are there)`)
	case a.Enabled && ms.under(a.Path) != "":
		v.errorf("admin_ui.path", "%s overlaps %s", quote(a.Path), ms.under(a.Path))
	case m.Enabled && strings.HasPrefix(m.Path, a.Path):
		v.errorf("admin_ui.path", "%s contains metrics.path %s", quote(a.Path), quote(m.Path))
	case a.Enabled && (strings.HasPrefix(HealthzPath, a.Path) || strings.HasPrefix(ReadyzPath, a.Path)):
		v.errorf("admin_ui.path", "%s contains the health endpoints", quote(a.Path))
	}
	if msg := checkNamespace(a.Namespace); msg != "" {
		v.errorf("admin_ui.namespace", "%s", msg)
	} else if a.Namespace == "/" {
		v.errorf("admin_ui.namespace", `must not be "/" (the main namespace)`)
	} else if i := slices.IndexFunc(c.Namespaces, func(n Namespace) bool { return n.Name == a.Namespace }); i >= 0 && a.Enabled {
		v.errorf("admin_ui.namespace", "%s is already namespaces[%d] (app %s)", quote(a.Namespace), i, quote(c.Namespaces[i].App))
	}
	v.oneOf("admin_ui.mode", "mode", a.Mode, adminModes)
	if a.Enabled {
		v.validateAdminAuth(a.Auth)
	}
}

// validateAdminAuth checks the Admin UI's login.
func (v *validator) validateAdminAuth(a AdminAuth) {
	switch u := a.Username; {
	case u == "":
		v.errorf("admin_ui.auth.username", "required when the Admin UI is enabled")
	case u != strings.TrimSpace(u) || strings.ContainsFunc(u, unicode.IsControl):
		v.errorf("admin_ui.auth.username", "%s: no control characters or surrounding spaces allowed", quote(u))
	}
	switch h := a.PasswordHash; {
	case h == "":
		v.errorf("admin_ui.auth.password_hash", "required when the Admin UI is enabled (a bcrypt hash: run `switchboard -hash-password`)")
	default:
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			v.errorf("admin_ui.auth.password_hash", "not a bcrypt hash (want $2a$, $2b$ or $2y$...): %v", err)
		}
	}
}

// checkEndpointPath returns a problem with an exact HTTP path (no trailing
// slash), or "".
func checkEndpointPath(p string) string {
	switch {
	case len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/':
		return fmt.Sprintf(`must start with "/" and not end with "/", got %s`, quote(p))
	case strings.ContainsFunc(p, badPathRune):
		return fmt.Sprintf("invalid path %s (no spaces, control characters, ? or #)", quote(p))
	case path.Clean(p) != p:
		return fmt.Sprintf(`invalid path %s (no empty, "." or ".." segments)`, quote(p))
	}
	return ""
}
