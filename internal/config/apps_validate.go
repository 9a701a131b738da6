package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds on the config-only sections.
const (
	minSecretLen = 32 // HS256 secrets and API keys: 256 bits
	minAPIKeyLen = 16
	// A static token is a password a client sends: as for the API key,
	// shorter ones can be guessed.
	minStaticTokenLen = 16
	maxLeeway         = 5 * time.Minute
	maxBackendTime    = 5 * time.Minute
	maxInFlight       = 1024
)

// validateApp checks the config-only keys of namespace ns at key prefix.
func (v *validator) validateApp(key string, ns *Namespace) {
	authed := ns.Auth != nil && ns.Auth.Mode != AuthNone
	if a := ns.Auth; a != nil {
		v.validateAuth(key+".auth", a)
	}
	events := map[string]string{} // event -> key that claims it
	if r := ns.Rooms; r != nil {
		v.validateRooms(key+".rooms", r, events, authed)
	}
	for i, r := range ns.Relay {
		v.validateRelay(key+".relay["+strconv.Itoa(i)+"]", r, ns, events, authed)
	}
	v.validateServerSide(key, ns)
	if b := ns.Backend; b != nil {
		v.validateBackend(key+".backend", b)
	}
}

// claim records that key k handles client event, in events (event -> key);
// an event may be handled once, and not be one Socket.IO reserves.
func (v *validator) claim(events map[string]string, k, event string) {
	switch {
	case event == "":
		v.errorf(k, "must not be empty")
	case slices.Contains(reservedEvents, event):
		v.errorf(k, "%s is reserved by Socket.IO clients and cannot be emitted", quote(event))
	case events[event] != "":
		v.errorf(k, "event %s is already handled by %s", quote(event), events[event])
	default:
		events[event] = k
	}
}

// validateRooms checks a namespace's rooms section at key; the join and
// leave events are claimed in events. authed tells whether room templates
// may use claims.
func (v *validator) validateRooms(key string, r *Rooms, events map[string]string, authed bool) {
	if len(r.Allow) > 0 {
		v.claim(events, key+".join_event", r.JoinEvent)
		v.claim(events, key+".leave_event", r.LeaveEvent)
	}
	for i, p := range r.Allow {
		v.roomTemplate(key+".allow["+strconv.Itoa(i)+"]", p, true, authed)
	}
	if r.MaxPerSocket < 0 {
		v.errorf(key+".max_per_socket", "must be 0 (no limit) or positive, got %d", r.MaxPerSocket)
	}
	if len(r.Allow) == 0 && r.MaxPerSocket > 0 {
		v.errorf(key+".max_per_socket", "set without rooms.allow: clients cannot join rooms by request")
	}
	for i, p := range r.AutoJoin {
		v.roomTemplate(key+".auto_join["+strconv.Itoa(i)+"]", p, false, authed)
	}
}

// validateRelay checks relay rule r of namespace ns at key; its event is
// claimed in events.
func (v *validator) validateRelay(key string, r RelayRule, ns *Namespace, events map[string]string, authed bool) {
	v.claim(events, key+".event", r.Event)
	if !slices.Contains(relayTargets, r.To) {
		v.errorf(key+".to", "unknown target %s (want %s)", quote(r.To), orList(relayTargets))
	}
	if len(r.Rooms) > 0 && r.To != RelayRoom {
		v.errorf(key+".rooms", "only for to: room")
	}
	for j, p := range r.Rooms {
		v.roomTemplate(key+".rooms["+strconv.Itoa(j)+"]", p, true, authed)
	}
	if r.To == RelayBackend {
		if ns.Backend == nil {
			v.errorf(key+".to", "to: backend needs a backend section in this namespace")
		}
		if r.AttachSender {
			v.errorf(key+".attach_sender", "not for to: backend (the backend gets the sender anyway)")
		}
	}
}

// validateServerSide checks the server_side rules of namespace ns at key
// prefix. Server-side events are apart from client events: the same name
// may be both.
func (v *validator) validateServerSide(key string, ns *Namespace) {
	serverSide := map[string]string{} // event -> key that answers it
	for i, r := range ns.ServerSide {
		k := key + ".server_side[" + strconv.Itoa(i) + "]"
		switch {
		case r.Event == "":
			v.errorf(k+".event", "must not be empty")
		case serverSide[r.Event] != "":
			v.errorf(k+".event", "event %s is already answered by %s", quote(r.Event), serverSide[r.Event])
		default:
			serverSide[r.Event] = k
		}
		switch r.To {
		case "":
			if _, err := json.Marshal(r.Reply); err != nil {
				v.errorf(k+".reply", "cannot be sent as JSON: %v", err)
			}
		case RelayBackend:
			if ns.Backend == nil {
				v.errorf(k+".to", "to: backend needs a backend section in this namespace")
			}
			if r.Reply != nil {
				v.errorf(k+".reply", "not with to: backend (the backend's reply is the answer)")
			}
		default:
			v.errorf(k+".to", "unknown target %s (want backend, or a reply instead)", quote(r.To))
		}
	}
}

func (v *validator) validateAuth(key string, a *Auth) {
	v.oneOf(key+".mode", "mode", a.Mode, authModes)
	if a.AuthField == "" {
		v.errorf(key+".auth_field", "must not be empty")
	}
	if a.QueryParam != "" && strings.ContainsAny(a.QueryParam, "&=?# ") {
		v.errorf(key+".query_param", "invalid parameter name %s", quote(a.QueryParam))
	}
	if a.Mode != AuthTokens && len(a.Tokens) > 0 {
		v.errorf(key+".tokens", "only for mode: tokens")
	}
	if a.Mode != AuthJWT && a.JWT != nil {
		v.errorf(key+".jwt", "only for mode: jwt")
	}
	switch a.Mode {
	case AuthTokens:
		if len(a.Tokens) == 0 {
			v.errorf(key+".tokens", "must list at least one token for mode: tokens")
		}
		seen := map[string]int{}
		for i, t := range a.Tokens {
			k := key + ".tokens[" + strconv.Itoa(i) + "]"
			if t.Sub == "" {
				v.errorf(k+".sub", "must not be empty (it names who the token authenticates)")
			}
			tok, ok := v.secret(k, "token", t.Token, t.TokenEnv, minStaticTokenLen)
			if !ok {
				continue
			}
			if j, dup := seen[tok]; dup {
				v.errorf(k, "same token as tokens[%d]", j)
			}
			seen[tok] = i
		}
	case AuthJWT:
		if a.JWT == nil {
			v.errorf(key+".jwt", "missing: mode: jwt needs a jwt section (algorithm and key)")
			return
		}
		v.validateJWT(key+".jwt", a.JWT)
	}
}

func (v *validator) validateJWT(key string, j *JWT) {
	if !slices.Contains(jwtAlgorithms, j.Algorithm) {
		v.errorf(key+".algorithm", "unknown algorithm %s (want %s)", quote(j.Algorithm), orList(jwtAlgorithms))
		return
	}
	if j.Leeway < 0 || j.Leeway > maxLeeway {
		v.errorf(key+".leeway", "must be between 0s and %s, got %s", maxLeeway, j.Leeway)
	}
	hasSecret := j.Secret != "" || j.SecretEnv != ""
	hasFile := j.PublicKeyFile != "" || j.JWKSFile != ""
	if j.Algorithm == "HS256" {
		if hasFile {
			v.errorf(key, "HS256 verifies with a shared secret: remove public_key_file/jwks_file")
		}
		v.secret(key, "secret", j.Secret, j.SecretEnv, minSecretLen)
		return
	}
	if hasSecret {
		v.errorf(key, "%s verifies with a public key: remove secret/secret_env", j.Algorithm)
	}
	switch {
	case j.PublicKeyFile != "" && j.JWKSFile != "":
		v.errorf(key, "give public_key_file or jwks_file, not both")
	case j.PublicKeyFile == "" && j.JWKSFile == "":
		v.errorf(key, "%s needs public_key_file or jwks_file", j.Algorithm)
	}
	// The key files themselves are read and checked by package auth,
	// which uses them, when the server is built.
}

func (v *validator) validateBackend(key string, b *Backend) {
	u, err := url.Parse(b.URL)
	switch {
	case b.URL == "":
		v.errorf(key+".url", "missing (want e.g. http://127.0.0.1:9000/socketio)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "":
		v.errorf(key+".url", "invalid URL %s (want http:// or https:// with a host, no user info or fragment)", quote(b.URL))
	}
	if b.Timeout <= 0 || b.Timeout > maxBackendTime {
		v.errorf(key+".timeout", "must be between 1ns and %s, got %s", maxBackendTime, b.Timeout)
	}
	if b.MaxInFlight < 1 || b.MaxInFlight > maxInFlight {
		v.errorf(key+".max_in_flight", "must be between 1 and %d, got %d", maxInFlight, b.MaxInFlight)
	}
	if b.Key != "" || b.KeyEnv != "" {
		v.secret(key, "key", b.Key, b.KeyEnv, 1)
	}
}

func (v *validator) validateAPI(c *Config) {
	v.secret("api", "key", c.API.Key, c.API.KeyEnv, minAPIKeyLen)
	const apiPath = "/api/"
	overlaps := func(p string) bool { return strings.HasPrefix(p, apiPath) || strings.HasPrefix(apiPath, p) }
	if overlaps(c.SocketIO.Path) {
		v.errorf("socketio.path", "%s overlaps the API's %s (one is a prefix of the other)", quote(c.SocketIO.Path), apiPath)
	}
	if e := c.EngineIOEcho; e != nil && overlaps(e.Path) {
		v.errorf("engineio_echo.path", "%s overlaps the API's %s (one is a prefix of the other)", quote(e.Path), apiPath)
	}
}

// secret checks that exactly one of a literal (key name) and an environment
// variable (name_env) is given, that the variable is set, and that the
// value has at least min bytes. It returns the value.
func (v *validator) secret(key, name, lit, env string, min int) (string, bool) {
	switch {
	case lit != "" && env != "":
		v.errorf(key, "give %s or %s_env, not both", name, name)
		return "", false
	case lit == "" && env == "":
		v.errorf(key, "missing %s (or %s_env naming an environment variable)", name, name)
		return "", false
	case env != "":
		val, ok := os.LookupEnv(env)
		if !ok || val == "" {
			v.errorf(key+"."+name+"_env", "environment variable %s is not set or empty", env)
			return "", false
		}
		if len(val) < min {
			v.errorf(key+"."+name+"_env", "environment variable %s is too short (%d bytes, want at least %d)", env, len(val), min)
			return "", false
		}
		return val, true
	default:
		if len(lit) < min {
			v.errorf(key+"."+name, "too short (%d bytes, want at least %d)", len(lit), min)
			return "", false
		}
		return lit, true
	}
}

// roomTemplate checks a room name or pattern with {claim} placeholders.
func (v *validator) roomTemplate(key, tmpl string, pattern, authed bool) {
	names, rest, err := ParseTemplate(tmpl)
	switch {
	case tmpl == "":
		v.errorf(key, "must not be empty")
	case err != nil:
		v.errorf(key, "%s: %v", quote(tmpl), err)
	case len(names) > 0 && !authed:
		v.errorf(key, "%s uses {%s} but the namespace has no auth (claims come from auth)", quote(tmpl), names[0])
	case pattern:
		if _, err := path.Match(rest, ""); err != nil {
			v.errorf(key, "invalid pattern %s (path.Match syntax: * ? [a-z] \\)", quote(tmpl))
		}
	case strings.ContainsAny(rest, "*?[\\"):
		v.errorf(key, "%s: a room name, not a pattern (no * ? [ \\)", quote(tmpl))
	}
}

// ParseTemplate splits a room template such as "user:{sub}" into the claim
// names it uses and the text without placeholders.
func ParseTemplate(s string) (names []string, rest string, err error) {
	var b strings.Builder
	for {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			b.WriteString(s)
			return names, b.String(), nil
		}
		if s[i] == '}' {
			return nil, "", fmt.Errorf("unmatched }")
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, "", fmt.Errorf("unclosed {")
		}
		name := s[i+1 : i+j]
		if !validClaimName(name) {
			return nil, "", fmt.Errorf("invalid placeholder {%s} (want a claim name such as {sub})", name)
		}
		names = append(names, name)
		s = s[i+j+1:]
	}
}

func validClaimName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
