package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Validate checks c (for example a Config built in code) against the rules
// Parse enforces. apps lists the registered application names; if apps is
// nil, namespace apps are not checked. On failure the error is an Errors
// value whose entries have no file or line.
func (c *Config) Validate(apps []string) error {
	if errs := validate(c, apps, "", nil); len(errs) > 0 {
		return errs
	}
	return nil
}

type validator struct {
	file  string
	lines map[string]int
	errs  Errors
}

// lineOf returns the line recorded for key, or for its closest ancestor.
func (v *validator) lineOf(key string) int {
	for key != "" {
		if l, ok := v.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func (v *validator) errorf(key, format string, args ...any) {
	v.errs.add(&Error{File: v.file, Line: v.lineOf(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func validate(c *Config, apps []string, file string, lines map[string]int) Errors {
	v := &validator{file: file, lines: lines}

	if msg := checkListen(c.Listen); msg != "" {
		v.errorf("listen", "%s", msg)
	}
	if d := c.StaticDir; d != strings.TrimSpace(d) || strings.IndexFunc(d, unicode.IsControl) >= 0 {
		v.errorf("static_dir", "%q: no control characters or surrounding spaces allowed", d)
	}
	v.positive("shutdown_timeout", c.ShutdownTimeout)
	v.oneOf("log.level", "level", c.Log.Level, logLevels)
	v.oneOf("log.format", "format", c.Log.Format, logFormats)

	s := &c.SocketIO
	if msg := checkPath(s.Path); msg != "" {
		v.errorf("socketio.path", "%s", msg)
	} else if s.Path == "/" && c.StaticDir != "" {
		v.errorf("socketio.path", `"/" conflicts with static files served at / (set static_dir: "" or use another path)`)
	}
	v.positive("socketio.ping_interval", s.PingInterval)
	v.positive("socketio.ping_timeout", s.PingTimeout)
	v.positive("socketio.connect_timeout", s.ConnectTimeout)
	v.positive("socketio.upgrade_timeout", s.UpgradeTimeout)
	if s.MaxPayload <= 0 {
		v.errorf("socketio.max_payload", "must be positive, got %d", s.MaxPayload)
	}
	if s.MaxBufferedBytes <= 0 {
		v.errorf("socketio.max_buffered_bytes", "must be positive, got %d", s.MaxBufferedBytes)
	}
	if len(s.Transports) == 0 {
		v.errorf("socketio.transports", "must list at least one of polling, websocket")
	}
	for i, t := range s.Transports {
		key := "socketio.transports[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(transports, t):
			v.errorf(key, "unknown transport %s (want polling or websocket)", quote(t))
		case slices.Index(s.Transports, t) < i:
			v.errorf(key, "duplicate transport %s", quote(t))
		}
	}

	for i, o := range c.CORS.Origins {
		key := "cors.origins[" + strconv.Itoa(i) + "]"
		if msg := checkOrigin(o); msg != "" {
			v.errorf(key, "%s", msg)
		} else if slices.Index(c.CORS.Origins, o) < i {
			v.errorf(key, "duplicate origin %s", quote(o))
		}
	}

	if len(c.Namespaces) == 0 {
		v.errorf("namespaces", "must list at least one namespace")
	}
	for i, ns := range c.Namespaces {
		key := "namespaces[" + strconv.Itoa(i) + "]"
		if msg := checkNamespace(ns.Name); msg != "" {
			v.errorf(key+".name", "%s", msg)
		} else if j := slices.IndexFunc(c.Namespaces, func(o Namespace) bool { return o.Name == ns.Name }); j < i {
			v.errorf(key+".name", "duplicate namespace %s (also namespaces[%d])", quote(ns.Name), j)
		}
		if ns.HasRules() {
			v.validateApp(key, &c.Namespaces[i])
		}
		if apps != nil && !slices.Contains(apps, ns.App) && (ns.App != "" || !ns.HasRules()) {
			if len(apps) == 0 {
				v.errorf(key+".app", "unknown app %s (no apps registered)", quote(ns.App))
			} else {
				known := slices.Clone(apps)
				slices.Sort(known)
				known = slices.Compact(known)
				v.errorf(key+".app", "unknown app %s (known: %s)", quote(ns.App), strings.Join(known, ", "))
			}
		}
	}

	if c.API != nil {
		v.validateAPI(c)
	}

	if e := c.EngineIOEcho; e != nil {
		switch msg := checkPath(e.Path); {
		case msg != "":
			v.errorf("engineio_echo.path", "%s", msg)
		case e.Path == s.Path:
			v.errorf("engineio_echo.path", "must differ from socketio.path (both %s)", quote(e.Path))
		case strings.HasPrefix(e.Path, s.Path) || strings.HasPrefix(s.Path, e.Path):
			v.errorf("engineio_echo.path", "%s overlaps socketio.path %s (one is a prefix of the other)", quote(e.Path), quote(s.Path))
		case e.Path == "/" && c.StaticDir != "":
			v.errorf("engineio_echo.path", `"/" conflicts with static files served at / (set static_dir: "" or use another path)`)
		}
	}
	return v.errs
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.errorf(key, "must be positive, got %s", d)
	}
}

func (v *validator) oneOf(key, what, val string, allowed []string) {
	if !slices.Contains(allowed, val) {
		v.errorf(key, "unknown %s %s (want %s)", what, quote(val), orList(allowed))
	}
}

// orList formats ["a","b","c"] as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// checkListen returns a problem with a listen address, or "".
func checkListen(addr string) string {
	const want = `want host:port, e.g. ":8080" or "127.0.0.1:3000"`
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("invalid address %s (%s)", quote(addr), want)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || (len(port) > 1 && port[0] == '0') {
		return fmt.Sprintf("invalid port %s in %s (want a number 0-65535)", quote(port), quote(addr))
	}
	if host == "" {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if strings.ContainsAny(host, ":%") || !validHostname(host) {
		return fmt.Sprintf("invalid host %s in %s (%s)", quote(host), quote(addr), want)
	}
	return ""
}

// validHostname reports whether h looks like a DNS name.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkPath returns a problem with an HTTP mount path, or "".
func checkPath(p string) string {
	if len(p) == 0 || p[0] != '/' || p[len(p)-1] != '/' {
		return fmt.Sprintf(`must start and end with "/", got %s`, quote(p))
	}
	if strings.ContainsFunc(p, badPathRune) {
		return fmt.Sprintf("invalid path %s (no spaces, control characters, ? or #)", quote(p))
	}
	if p != "/" && path.Clean(p)+"/" != p {
		return fmt.Sprintf(`invalid path %s (no empty, "." or ".." segments)`, quote(p))
	}
	return ""
}

func badPathRune(r rune) bool {
	return r == '?' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
}

// checkNamespace returns a problem with a namespace name, or "".
func checkNamespace(name string) string {
	if !strings.HasPrefix(name, "/") {
		return fmt.Sprintf(`must start with "/", got %s`, quote(name))
	}
	if strings.ContainsFunc(name, badPathRune) {
		return fmt.Sprintf("invalid namespace %s (no spaces, control characters, ? or #)", quote(name))
	}
	return ""
}

// checkOrigin returns a problem with a CORS origin, or "".
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	bad := func(why string) string {
		return fmt.Sprintf(`invalid origin %s: %s (want "*" or scheme://host[:port], e.g. "http://localhost:8080")`, quote(o), why)
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "" || !strings.HasPrefix(strings.ToLower(o), u.Scheme+"://"):
		return bad("not scheme://host")
	case u.User != nil:
		return bad("must not contain user info")
	case u.Path == "/" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "":
		return bad(`must not end with "/"`)
	case u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#"):
		return bad("must not have a path, query or fragment")
	case u.Hostname() == "":
		return bad("missing host")
	case o != strings.ToLower(o):
		return bad("must be lowercase, as browsers send it")
	}
	if strings.HasSuffix(u.Host, ":") {
		return bad("empty port")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 || p[0] == '0' {
			return bad("invalid port")
		}
	}
	h := u.Hostname()
	if _, err := netip.ParseAddr(h); err != nil && !validHostname(h) {
		return bad("invalid host")
	}
	return ""
}
