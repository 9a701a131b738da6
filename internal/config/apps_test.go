package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const secret32 = "0123456789abcdef0123456789abcdef"

func TestAppsParseValues(t *testing.T) {
	t.Setenv("SB_TEST_TOKEN", "tok-from-env-0123456789")
	t.Setenv("SB_TEST_API_KEY", "0123456789abcdef")
	in := `
api: {key_env: SB_TEST_API_KEY, expose_handshake_auth: true}
namespaces:
  - name: /
    auth:
      mode: tokens
      tokens:
        - {sub: alice, token: tok-a-0123456789abcdef}
        - {sub: bob, token_env: SB_TEST_TOKEN}
      query_param: ""
    relay:
      - {event: drawing, to: others}
      - {event: say, to: rooms, attach_sender: true}
      - {event: msg, to: room, rooms: ["public:*", "user:{sub}"]}
      - {event: order, to: backend}
    rooms:
      allow: ["game:*"]
      max_per_socket: 3
      auto_join: ["user:{sub}", lobby]
    backend:
      url: http://127.0.0.1:9000/io
      connect: true
  - name: /hs
    app: chat
    auth:
      mode: jwt
      auth_field: jwt
      jwt: {algorithm: HS256, secret: ` + secret32 + `, issuer: me, audience: you, leeway: 30s}
`
	c, err := Parse([]byte(in), "c.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	want := []Namespace{
		{
			Name: "/",
			Auth: &Auth{Mode: "tokens", Tokens: []Token{{Sub: "alice", Token: "tok-a-0123456789abcdef"}, {Sub: "bob", TokenEnv: "SB_TEST_TOKEN"}}, AuthField: "token", QueryParam: ""},
			Relay: []RelayRule{
				{Event: "drawing", To: "others"},
				{Event: "say", To: "rooms", AttachSender: true},
				{Event: "msg", To: "room", Rooms: []string{"public:*", "user:{sub}"}},
				{Event: "order", To: "backend"},
			},
			Rooms:   &Rooms{JoinEvent: "join", LeaveEvent: "leave", Allow: []string{"game:*"}, MaxPerSocket: 3, AutoJoin: []string{"user:{sub}", "lobby"}},
			Backend: &Backend{URL: "http://127.0.0.1:9000/io", Timeout: 5 * time.Second, MaxInFlight: 4, Connect: true},
		},
		{
			Name: "/hs", App: "chat",
			Auth: &Auth{Mode: "jwt", AuthField: "jwt", QueryParam: "token", JWT: &JWT{Algorithm: "HS256", Secret: secret32, Issuer: "me", Audience: "you", Leeway: 30 * time.Second}},
		},
	}
	if !reflect.DeepEqual(c.Namespaces, want) {
		t.Fatalf("namespaces:\n got %+v\nwant %+v", c.Namespaces, want)
	}
	if c.API == nil || c.API.KeyEnv != "SB_TEST_API_KEY" || !c.API.ExposeHandshakeAuth {
		t.Fatalf("api = %+v", c.API)
	}
}

// TestAppsKeyFilesNotRead checks that Parse leaves the key files to
// package auth, which reads them when the server is built.
func TestAppsKeyFilesNotRead(t *testing.T) {
	for _, key := range []string{"public_key_file", "jwks_file"} {
		in := "namespaces:\n  - name: /\n    auth:\n      mode: jwt\n      jwt: {algorithm: RS256, " + key + ": /nonexistent}\n"
		if _, err := Parse([]byte(in), "c.yaml", testApps); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

func TestAppsParseErrors(t *testing.T) {
	ns := func(body string) string { return "namespaces:\n  - name: /\n" + body }
	tests := []struct{ name, in, want string }{
		{"no app no rules", ns(""), `c.yaml:2: namespaces[0]: missing key "app"`},
		{"unknown ns key", ns("    relays: []\n"), `c.yaml:3: namespaces[0]: unknown key "relays" (allowed: name, app, pattern, auth, relay, rooms, backend, server_side)`},
		{"relay not list", ns("    relay: {event: x}\n"), `c.yaml:3: namespaces[0].relay: want a list of {event, to} mappings, got a mapping`},
		{"relay missing to", ns("    relay:\n      - {event: x}\n"), `c.yaml:4: namespaces[0].relay[0]: missing key "to" (want others, rooms, room or backend)`},
		{"relay missing event", ns("    relay:\n      - {to: others}\n"), `c.yaml:4: namespaces[0].relay[0]: missing key "event"`},
		{"relay bad target", ns("    relay:\n      - {event: x, to: everyone}\n"), `c.yaml:4: namespaces[0].relay[0].to: unknown target "everyone" (want others, rooms, room or backend)`},
		{"relay unknown key", ns("    relay:\n      - {event: x, to: others, sender: true}\n"), `c.yaml:4: namespaces[0].relay[0]: unknown key "sender" (allowed: event, to, rooms, attach_sender)`},
		{"relay reserved", ns("    relay:\n      - {event: disconnect, to: others}\n"), `c.yaml:4: namespaces[0].relay[0].event: "disconnect" is reserved by Socket.IO clients and cannot be emitted`},
		{"relay duplicate", ns("    relay:\n      - {event: x, to: others}\n      - {event: x, to: rooms}\n"), `c.yaml:5: namespaces[0].relay[1].event: event "x" is already handled by namespaces[0].relay[0].event`},
		{"relay empty event", ns("    relay:\n      - {event: \"\", to: others}\n"), `c.yaml:4: namespaces[0].relay[0].event: must not be empty`},
		{"relay rooms wrong target", ns("    relay:\n      - {event: x, to: others, rooms: [a]}\n"), `c.yaml:4: namespaces[0].relay[0].rooms: only for to: room`},
		{"relay bad pattern", ns("    relay:\n      - {event: x, to: room, rooms: [\"a[\"]}\n"), `c.yaml:4: namespaces[0].relay[0].rooms[0]: invalid pattern "a[" (path.Match syntax: * ? [a-z] \)`},
		{"relay backend missing", ns("    relay:\n      - {event: x, to: backend}\n"), `c.yaml:4: namespaces[0].relay[0].to: to: backend needs a backend section in this namespace`},
		{"join collides", ns("    rooms: {allow: [\"a*\"]}\n    relay:\n      - {event: join, to: others}\n"), `c.yaml:5: namespaces[0].relay[0].event: event "join" is already handled by namespaces[0].rooms.join_event`},
		{"room placeholder without auth", ns("    rooms: {allow: [\"user:{sub}\"]}\n"), `c.yaml:3: namespaces[0].rooms.allow[0]: "user:{sub}" uses {sub} but the namespace has no auth (claims come from auth)`},
		{"room placeholder unclosed", ns("    auth: {mode: tokens, tokens: [{sub: a, token: t123456789abcdef}]}\n    rooms: {auto_join: [\"user:{sub\"]}\n"), `c.yaml:4: namespaces[0].rooms.auto_join[0]: "user:{sub": unclosed {`},
		{"auto_join pattern", ns("    rooms: {auto_join: [\"a*\"]}\n"), `c.yaml:3: namespaces[0].rooms.auto_join[0]: "a*": a room name, not a pattern (no * ? [ \)`},
		{"max per socket negative", ns("    rooms: {allow: [a], max_per_socket: -1}\n"), `c.yaml:3: namespaces[0].rooms.max_per_socket: must be 0 (no limit) or positive, got -1`},
		{"max per socket without allow", ns("    rooms: {max_per_socket: 2}\n"), `c.yaml:3: namespaces[0].rooms.max_per_socket: set without rooms.allow: clients cannot join rooms by request`},
		{"auth mode", ns("    auth: {mode: basic}\n"), `c.yaml:3: namespaces[0].auth.mode: unknown mode "basic" (want none, tokens or jwt)`},
		{"auth tokens empty", ns("    auth: {mode: tokens}\n"), `c.yaml:3: namespaces[0].auth.tokens: must list at least one token for mode: tokens`},
		{"auth token both", ns("    auth: {mode: tokens, tokens: [{sub: a, token: x, token_env: Y}]}\n"), `c.yaml:3: namespaces[0].auth.tokens[0]: give token or token_env, not both`},
		{"auth token env unset", ns("    auth: {mode: tokens, tokens: [{sub: a, token_env: SB_TEST_UNSET_VAR}]}\n"), `c.yaml:3: namespaces[0].auth.tokens[0].token_env: environment variable SB_TEST_UNSET_VAR is not set or empty`},
		{"auth token no sub", ns("    auth: {mode: tokens, tokens: [{token: x123456789abcdef}]}\n"), `c.yaml:3: namespaces[0].auth.tokens[0].sub: must not be empty (it names who the token authenticates)`},
		{"auth token dup", ns("    auth:\n      mode: tokens\n      tokens:\n        - {sub: a, token: x123456789abcdef}\n        - {sub: b, token: x123456789abcdef}\n"), `c.yaml:7: namespaces[0].auth.tokens[1]: same token as tokens[0]`},
		{"auth token short", ns("    auth: {mode: tokens, tokens: [{sub: a, token: x}]}\n"), `c.yaml:3: namespaces[0].auth.tokens[0].token: too short (1 bytes, want at least 16)`},
		{"auth tokens wrong mode", ns("    auth: {mode: none, tokens: [{sub: a, token: x}]}\n"), `c.yaml:3: namespaces[0].auth.tokens: only for mode: tokens`},
		{"jwt missing", ns("    auth: {mode: jwt}\n"), `c.yaml:3: namespaces[0].auth.jwt: missing: mode: jwt needs a jwt section (algorithm and key)`},
		{"jwt alg", ns("    auth: {mode: jwt, jwt: {algorithm: none}}\n"), `c.yaml:3: namespaces[0].auth.jwt.algorithm: unknown algorithm "none" (want HS256, RS256 or ES256)`},
		{"jwt short secret", ns("    auth: {mode: jwt, jwt: {algorithm: HS256, secret: short}}\n"), `c.yaml:3: namespaces[0].auth.jwt.secret: too short (5 bytes, want at least 32)`},
		{"jwt no secret", ns("    auth: {mode: jwt, jwt: {algorithm: HS256}}\n"), `c.yaml:3: namespaces[0].auth.jwt: missing secret (or secret_env naming an environment variable)`},
		{"jwt rs no key", ns("    auth: {mode: jwt, jwt: {algorithm: RS256}}\n"), `c.yaml:3: namespaces[0].auth.jwt: RS256 needs public_key_file or jwks_file`},
		{"jwt rs secret", ns("    auth: {mode: jwt, jwt: {algorithm: RS256, secret: " + secret32 + ", jwks_file: /x}}\n"), `c.yaml:3: namespaces[0].auth.jwt: RS256 verifies with a public key: remove secret/secret_env`},
		{"jwt leeway", ns("    auth: {mode: jwt, jwt: {algorithm: HS256, secret: " + secret32 + ", leeway: 1h}}\n"), `c.yaml:3: namespaces[0].auth.jwt.leeway: must be between 0s and 5m0s, got 1h0m0s`},
		{"jwt unknown key", ns("    auth: {mode: jwt, jwt: {algorithm: HS256, key: x}}\n"), `c.yaml:3: namespaces[0].auth.jwt: unknown key "key" (allowed: algorithm, secret, secret_env, public_key_file, jwks_file, issuer, audience, leeway)`},
		{"auth field empty", ns("    auth: {mode: none, auth_field: \"\"}\n"), `c.yaml:3: namespaces[0].auth.auth_field: must not be empty`},
		{"backend url", ns("    backend: {url: \"ftp://x\"}\n"), `c.yaml:3: namespaces[0].backend.url: invalid URL "ftp://x" (want http:// or https:// with a host, no user info or fragment)`},
		{"backend no url", ns("    backend: {timeout: 1s}\n"), `c.yaml:3: namespaces[0].backend.url: missing (want e.g. http://127.0.0.1:9000/socketio)`},
		{"backend timeout", ns("    backend: {url: \"http://a\", timeout: 0s}\n"), `c.yaml:3: namespaces[0].backend.timeout: must be between 1ns and 5m0s, got 0s`},
		{"backend inflight", ns("    backend: {url: \"http://a\", max_in_flight: 0}\n"), `c.yaml:3: namespaces[0].backend.max_in_flight: must be between 1 and 1024, got 0`},
		{"backend attach sender", ns("    backend: {url: \"http://a\"}\n    relay:\n      - {event: x, to: backend, attach_sender: true}\n"), `c.yaml:5: namespaces[0].relay[0].attach_sender: not for to: backend (the backend gets the sender anyway)`},
		{"unknown app with rules", ns("    app: nope\n    relay: [{event: x, to: others}]\n"), `c.yaml:3: namespaces[0].app: unknown app "nope" (known: bench, chat, conformance)`},
		{"api no key", "api: {}\n", `c.yaml:1: api: missing key (or key_env naming an environment variable)`},
		{"api short key", "api: {key: abc}\n", `c.yaml:1: api.key: too short (3 bytes, want at least 16)`},
		{"api expose type", "api: {key: 0123456789abcdef, expose_handshake_auth: 1}\n", `c.yaml:1: api.expose_handshake_auth: want a boolean (true or false), got integer 1`},
		{"api unknown key", "api: {token: abc}\n", `c.yaml:1: api: unknown key "token" (allowed: key, key_env, expose_handshake_auth)`},
		{"api path overlap", "static_dir: \"\"\nsocketio: {path: /api/io/}\napi: {key: " + secret32 + "}\n", `c.yaml:2: socketio.path: "/api/io/" overlaps the API's /api/ (one is a prefix of the other)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "c.yaml", testApps)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %s", tt.in, tt.want)
			}
			if first := strings.SplitN(err.Error(), "\n", 2)[0]; first != tt.want {
				t.Fatalf("Parse(%q):\n got %v\nwant %s", tt.in, err, tt.want)
			}
		})
	}
}

// Config-only namespaces survive a Marshal/Parse round trip.
func TestAppsMarshalRoundTrip(t *testing.T) {
	c := Default()
	c.API = &API{Key: secret32}
	c.Namespaces = append(c.Namespaces, Namespace{
		Name:    "/x",
		Auth:    &Auth{Mode: AuthJWT, AuthField: "token", QueryParam: "t", JWT: &JWT{Algorithm: "HS256", Secret: secret32, Leeway: time.Second}},
		Relay:   []RelayRule{{Event: "a", To: RelayRoom, Rooms: []string{"r:*"}, AttachSender: true}, {Event: "b", To: RelayBackend}},
		Rooms:   &Rooms{JoinEvent: "j", LeaveEvent: "l", Allow: []string{"u:{sub}"}, MaxPerSocket: 1, AutoJoin: []string{"u:{sub}"}},
		Backend: &Backend{URL: "https://b.example/x", Timeout: time.Second, MaxInFlight: 2, Disconnect: true},
	})
	if err := c.Validate(testApps); err != nil {
		t.Fatal(err)
	}
	data, err := yamlMarshal(c)
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

func yamlMarshal(v any) ([]byte, error) { return yaml.Marshal(v) }
