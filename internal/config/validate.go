package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// validate checks c section by section; lines (nil for Validate) gives
// the line of each key for the messages.
func validate(c *Config, apps []string, file string, lines map[string]int) Errors {
	v := &validator{file: file, lines: lines}
	v.server(c)
	v.socketIO(c)
	v.cors(&c.CORS)
	v.namespaces(c.Namespaces, apps)
	v.recovery(&c.SocketIO.ConnectionStateRecovery)
	v.cookie(c.SocketIO.Cookie)
	if c.API != nil {
		v.validateAPI(c)
	}
	v.engineIOEcho(c)
	v.limits(&c.Limits)
	v.rawWebSocket(c)
	v.webTransport(c.WebTransport)
	v.adapter(&c.Adapter)
	v.ops(c)
	v.compression("socketio.per_message_deflate", c.SocketIO.PerMessageDeflate)
	v.compression("socketio.http_compression", c.SocketIO.HTTPCompression)
	return v.errs
}

// server checks the top-level keys and the log section.
func (v *validator) server(c *Config) {
	if msg := checkListen(c.Listen); msg != "" {
		v.errorf("listen", "%s", msg)
	}
	if d := c.StaticDir; d != strings.TrimSpace(d) || strings.IndexFunc(d, unicode.IsControl) >= 0 {
		v.errorf("static_dir", "%q: no control characters or surrounding spaces allowed", d)
	}
	v.positive("shutdown_timeout", c.ShutdownTimeout)
	v.oneOf("log.level", "level", c.Log.Level, logLevels)
	v.oneOf("log.format", "format", c.Log.Format, logFormats)
}

// socketIO checks the endpoint keys of the socketio section (its
// subsections have functions of their own).
func (v *validator) socketIO(c *Config) {
	s := &c.SocketIO
	v.oneOf("socketio.parser", "parser", s.Parser, parsers)
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
}

func (v *validator) cors(c *CORS) {
	for i, o := range c.Origins {
		key := "cors.origins[" + strconv.Itoa(i) + "]"
		if msg := checkOrigin(o); msg != "" {
			v.errorf(key, "%s", msg)
		} else if slices.Index(c.Origins, o) < i {
			v.errorf(key, "duplicate origin %s", quote(o))
		} else if o == "*" && c.Credentials {
			// The server would reflect any origin with credentials
			// allowed: every site could act with its visitors' cookies.
			// Browsers refuse "*" with credentials for that reason.
			v.errorf(key, `"*" with cors.credentials: true would let every site send credentialed requests: list the allowed origins (such as "https://app.example.com" or "https://*.example.com"), or set credentials: false`)
		}
	}
	for i, m := range c.Methods {
		if m == "" || strings.IndexFunc(m, notTokenRune) >= 0 || m != strings.ToUpper(m) {
			v.errorf("cors.methods["+strconv.Itoa(i)+"]", "invalid method %s (want an upper-case HTTP method such as GET)", quote(m))
		}
	}
	for i, h := range c.Headers {
		if h == "" || strings.IndexFunc(h, notTokenRune) >= 0 {
			v.errorf("cors.headers["+strconv.Itoa(i)+"]", "invalid header name %s", quote(h))
		}
	}
}

// namespaces checks each namespace's name or pattern, its app against the
// registered apps, and its config-only rules.
func (v *validator) namespaces(nss []Namespace, apps []string) {
	if len(nss) == 0 {
		v.errorf("namespaces", "must list at least one namespace")
	}
	for i, ns := range nss {
		key := "namespaces[" + strconv.Itoa(i) + "]"
		if ns.Pattern != "" {
			if _, err := regexp.Compile(ns.PatternRegexp()); err != nil {
				v.errorf(key+".pattern", "invalid regular expression %s: %v", quote(ns.Pattern), err)
			} else if j := slices.IndexFunc(nss, func(o Namespace) bool { return o.Pattern == ns.Pattern }); j < i {
				v.errorf(key+".pattern", "duplicate pattern %s (also namespaces[%d])", quote(ns.Pattern), j)
			}
		} else if msg := checkNamespace(ns.Name); msg != "" {
			v.errorf(key+".name", "%s", msg)
		} else if j := slices.IndexFunc(nss, func(o Namespace) bool { return o.Name == ns.Name }); j < i {
			v.errorf(key+".name", "duplicate namespace %s (also namespaces[%d])", quote(ns.Name), j)
		}
		if ns.HasRules() {
			v.validateApp(key, &nss[i])
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
}

func (v *validator) recovery(r *ConnectionStateRecovery) {
	v.positive("socketio.connection_state_recovery.max_disconnection_duration", r.MaxDisconnectionDuration)
	if r.MaxPackets <= 0 {
		v.errorf("socketio.connection_state_recovery.max_packets", "must be positive, got %d", r.MaxPackets)
	}
	if r.MaxBytes <= 0 {
		v.errorf("socketio.connection_state_recovery.max_bytes", "must be positive, got %d", r.MaxBytes)
	}
}

// cookie checks the sticky-session cookie, if configured.
func (v *validator) cookie(ck *Cookie) {
	if ck == nil {
		return
	}
	if ck.Name == "" || strings.IndexFunc(ck.Name, notTokenRune) >= 0 {
		v.errorf("socketio.cookie.name", "invalid cookie name %s (letters, digits and !#$%%&'*+-.^_`|~ only)", quote(ck.Name))
	}
	if ck.Path != "" && (!strings.HasPrefix(ck.Path, "/") || strings.ContainsAny(ck.Path, ";\r\n")) {
		v.errorf("socketio.cookie.path", `invalid cookie path %s (must start with "/", no ";")`, quote(ck.Path))
	}
	if strings.ContainsAny(ck.Domain, "; \t\r\n") {
		v.errorf("socketio.cookie.domain", "invalid cookie domain %s", quote(ck.Domain))
	}
	switch ck.SameSite {
	case "lax", "strict":
	case "none":
		if !ck.Secure {
			v.errorf("socketio.cookie.same_site", "none requires secure: true (browsers drop SameSite=None cookies that are not Secure)")
		}
	default:
		v.errorf("socketio.cookie.same_site", "invalid value %s (want lax, strict or none)", quote(ck.SameSite))
	}
	if ck.MaxAge < 0 {
		v.errorf("socketio.cookie.max_age", "must not be negative, got %s", ck.MaxAge)
	}
}

// engineIOEcho checks the echo endpoint, if enabled.
func (v *validator) engineIOEcho(c *Config) {
	e, s := c.EngineIOEcho, &c.SocketIO
	if e == nil {
		return
	}
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

func (v *validator) adapter(a *Adapter) {
	v.oneOf("adapter.type", "adapter", a.Type, adapters)
	v.positive("adapter.request_timeout", a.RequestTimeout)
	switch p := a.KeyPrefix; {
	case p == "":
		v.errorf("adapter.key_prefix", `must not be empty (the reference's default is "socket.io")`)
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		v.errorf("adapter.key_prefix", "%s: no spaces or control characters allowed", quote(p))
	}
	if a.ForwardSessions && a.Type == AdapterMemory {
		v.errorf("adapter.forward_sessions", "needs a cluster adapter (type redis or redis-streams): with type memory there is no other node to forward to")
	}
	if a.Type == AdapterRedisStreams {
		for _, k := range []struct{ key, val string }{{"adapter.stream_name", a.StreamName}, {"adapter.session_key_prefix", a.SessionKeyPrefix}} {
			switch p := k.val; {
			case p == "":
				v.errorf(k.key, "must not be empty")
			case strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
				v.errorf(k.key, "%s: no spaces or control characters allowed", quote(p))
			}
		}
		if a.MaxLen < 1 {
			v.errorf("adapter.max_len", "must be at least 1 (the stream's length, about; default 10000)")
		}
	}
	if a.Type != AdapterRedis && a.Type != AdapterRedisStreams {
		if a.URL != "" {
			v.errorf("adapter.url", "only used with type: redis or redis-streams (type is %s)", quote(a.Type))
		}
		return
	}
	if msg := checkRedisURL(a.URL); msg != "" {
		v.errorf("adapter.url", "%s", msg)
	}
}

// checkRedisURL returns a problem with a Redis URL, or "". The password,
// if any, is never echoed.
func checkRedisURL(s string) string {
	const want = "want redis://host:port[/db] or rediss://..."
	if s == "" {
		return "missing (" + want + ")"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a valid URL (" + want + ")"
	}
	shown := quote(u.Redacted())
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Sprintf("%s: unknown scheme %s (%s)", shown, quote(u.Scheme), want)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("%s: missing host (%s)", shown, want)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Sprintf("%s: invalid port %s", shown, quote(port))
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Sprintf("%s: invalid database %s (want a number, e.g. /0)", shown, quote(db))
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%s: query parameters are not supported", shown)
	}
	return ""
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

// clip shortens s for use in messages.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 64 {
		return s
	}
	return string([]rune(s)[:64]) + "..."
}

// quote clips and quotes s.
func quote(s string) string {
	if c := clip(s); c != s {
		return strconv.Quote(strings.TrimSuffix(c, "...")) + "..."
	}
	return strconv.Quote(s)
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

// notTokenRune reports whether r cannot appear in an HTTP token (RFC 9110).
func notTokenRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
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
	// A subdomain wildcard, "scheme://*.domain[:port]": the rest must be
	// a valid origin, and the wildcard may only stand first.
	if scheme, rest, ok := strings.Cut(o, "://*."); ok {
		if strings.Contains(rest, "*") || !strings.Contains(rest, ".") && !strings.HasPrefix(rest, "localhost") {
			return fmt.Sprintf(`invalid origin %s: a wildcard stands only for the leading subdomains of a domain, as in "https://*.example.com"`, quote(o))
		}
		if msg := checkOrigin(scheme + "://" + rest); msg != "" {
			return msg
		}
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

// rawWebSocket checks the raw_websocket section, if present.
func (v *validator) rawWebSocket(c *Config) {
	r := c.RawWebSocket
	if r == nil {
		return
	}
	pathOK := false
	if msg := checkExactPath(r.Path); msg != "" {
		v.errorf("raw_websocket.path", "%s", msg)
	} else {
		pathOK = true
	}
	if r.MaxMessage <= 0 {
		v.errorf("raw_websocket.max_message", "must be positive, got %d", r.MaxMessage)
	} else if b := c.SocketIO.MaxBufferedBytes; b > 0 && r.MaxMessage > b {
		v.errorf("raw_websocket.max_message", "%d exceeds socketio.max_buffered_bytes (%d): one message would overflow every client's queue", r.MaxMessage, b)
	} else if p := c.SocketIO.MaxPayload; p > 0 && int64(r.MaxMessage) > p {
		// Bridged clients get no larger messages than Socket.IO clients.
		v.errorf("raw_websocket.max_message", "%d exceeds socketio.max_payload (%d), the bound on a Socket.IO client's messages", r.MaxMessage, p)
	}
	if pathOK {
		// The upgrade is matched on the exact path, before the other
		// endpoints; it must not shadow any of them.
		bare := strings.TrimSuffix(r.Path, "/")
		for _, o := range []struct{ key, path string }{
			{"socketio.path", c.SocketIO.Path},
			{"engineio_echo.path", echoPath(c)},
		} {
			if o.path == "" || v.failed(o.key) {
				continue // reported already
			}
			if strings.HasPrefix(r.Path, o.path) || bare == strings.TrimSuffix(o.path, "/") {
				v.errorf("raw_websocket.path", "%s is inside %s %s", quote(r.Path), o.key, quote(o.path))
			}
		}
	}
	if v.failed("namespaces") {
		return // reported already
	}
	ns := slices.IndexFunc(c.Namespaces, func(n Namespace) bool { return n.Name == r.Namespace })
	switch {
	case ns < 0:
		names := make([]string, len(c.Namespaces))
		for i, n := range c.Namespaces {
			names[i] = quote(n.Name)
		}
		v.errorf("raw_websocket.namespace", "namespace %s is not configured (namespaces lists %s)", quote(r.Namespace), strings.Join(names, ", "))
	case c.Namespaces[ns].App != ChatApp:
		v.errorf("raw_websocket.namespace", "namespace %s runs app %s, not %s: raw clients join a chat", quote(r.Namespace), quote(c.Namespaces[ns].App), ChatApp)
	}
}

// failed reports whether a problem was found at key or below it.
func (v *validator) failed(key string) bool {
	return slices.ContainsFunc(v.errs, func(e *Error) bool {
		return e.Key == key || strings.HasPrefix(e.Key, key+".") || strings.HasPrefix(e.Key, key+"[")
	})
}

func echoPath(c *Config) string {
	if c.EngineIOEcho == nil {
		return ""
	}
	return c.EngineIOEcho.Path
}

// checkExactPath returns a problem with a path matched exactly (not as a
// prefix), or "".
func checkExactPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf(`must start with "/", got %s`, quote(p))
	}
	if strings.ContainsFunc(p, badPathRune) {
		return fmt.Sprintf("invalid path %s (no spaces, control characters, ? or #)", quote(p))
	}
	if t := strings.TrimSuffix(p, "/"); p != "/" && (strings.HasSuffix(t, "/") || path.Clean(t) != t) {
		return fmt.Sprintf(`invalid path %s (no empty, "." or ".." segments)`, quote(p))
	}
	return ""
}

// webTransport checks the webtransport section, if present: the
// certificate and key must load together.
func (v *validator) webTransport(w *WebTransport) {
	if w == nil {
		return
	}
	if w.Listen != "" {
		if msg := checkListen(w.Listen); msg != "" {
			v.errorf("webtransport.listen", "%s", msg)
		}
	}
	switch {
	case w.CertFile == "":
		v.errorf("webtransport.cert_file", "required: WebTransport needs a TLS certificate (PEM file)")
	case w.KeyFile == "":
		v.errorf("webtransport.key_file", "required: the private key of cert_file (PEM file)")
	default:
		if _, err := tls.LoadX509KeyPair(w.CertFile, w.KeyFile); err != nil {
			v.errorf("webtransport.cert_file", "%s with %s: %v", quote(w.CertFile), quote(w.KeyFile), err)
		}
	}
}
