package config

// Configuration of apps served without Go code: per-namespace handshake
// auth, relay rules, room requests and an HTTP backend, and the server-wide
// HTTP API. See config.yaml for the documented keys.

import (
	"time"
)

// Auth checks the handshake of each client connecting to a namespace.
type Auth struct {
	// Mode is none, tokens or jwt.
	Mode string `yaml:"mode"`
	// Tokens are the accepted static tokens (mode tokens).
	Tokens []Token `yaml:"tokens,omitempty"`
	// JWT verifies signed tokens (mode jwt).
	JWT *JWT `yaml:"jwt,omitempty"`
	// AuthField is the key of the token in the handshake's auth payload
	// (socket.io-client's `auth` option).
	AuthField string `yaml:"auth_field"`
	// QueryParam is the query parameter holding the token for clients that
	// cannot send an auth payload (socket.io-client 2.x); "" disables it.
	// Tokens in URLs end up in access logs: prefer the auth payload.
	QueryParam string `yaml:"query_param"`
}

// Token is one accepted static token and the subject it authenticates.
type Token struct {
	Sub      string `yaml:"sub"`
	Token    string `yaml:"token,omitempty"`
	TokenEnv string `yaml:"token_env,omitempty"` // name of an environment variable holding the token
}

// JWT configures JSON Web Token verification. Exactly one key source is
// given: Secret/SecretEnv for HS256, PublicKeyFile or JWKSFile for RS256 and
// ES256.
type JWT struct {
	Algorithm     string        `yaml:"algorithm"` // HS256, RS256 or ES256
	Secret        string        `yaml:"secret,omitempty"`
	SecretEnv     string        `yaml:"secret_env,omitempty"`
	PublicKeyFile string        `yaml:"public_key_file,omitempty"`
	JWKSFile      string        `yaml:"jwks_file,omitempty"`
	Issuer        string        `yaml:"issuer,omitempty"`   // required "iss" when set
	Audience      string        `yaml:"audience,omitempty"` // required in "aud" when set
	Leeway        time.Duration `yaml:"leeway"`             // clock skew allowed on exp/nbf/iat
}

// RelayRule says what happens to one client event.
type RelayRule struct {
	Event string `yaml:"event"`
	// To is others (everyone else in the namespace), rooms (everyone else
	// in the sender's rooms), room (everyone else in the room named by the
	// first argument, which is not relayed) or backend (POSTed to the
	// namespace's backend; its reply is the ack).
	To string `yaml:"to"`
	// Rooms (to: room) are the patterns of rooms a client may send to
	// without being a member; empty means members only.
	Rooms []string `yaml:"rooms,omitempty"`
	// AttachSender appends {"id": socket id, "sub": subject} as a last
	// argument, so receivers know who sent it.
	AttachSender bool `yaml:"attach_sender,omitempty"`
}

// ServerSideRule answers one server-side event: another node's
// serverSideEmit (Node's io.serverSideEmit, Go's Namespace.ServerSideEmit)
// to this namespace. In a cluster, a node that registers no answer for an
// event is still counted by serverSideEmitWithAck, which then waits out its
// whole timeout for it; a rule lets a node without Go code answer.
type ServerSideRule struct {
	Event string `yaml:"event"`
	// To is backend (the event is POSTed to the namespace's backend; its
	// reply is the answer) or empty: the answer is Reply.
	To string `yaml:"to,omitempty"`
	// Reply is the answer when To is empty: any value (null included).
	Reply any `yaml:"reply,omitempty"`
}

// Rooms configures the rooms clients join by request and automatically.
type Rooms struct {
	JoinEvent  string `yaml:"join_event"`
	LeaveEvent string `yaml:"leave_event"`
	// Allow lists the room name patterns (path.Match syntax, placeholders
	// such as {sub} filled from the verified claims) a client may join.
	Allow []string `yaml:"allow,omitempty"`
	// MaxPerSocket bounds the rooms one socket joins by request (0 = the
	// built-in bound of 1000: every room costs memory in the adapter).
	MaxPerSocket int `yaml:"max_per_socket"`
	// AutoJoin lists rooms (with placeholders) joined at connection.
	AutoJoin []string `yaml:"auto_join,omitempty"`
}

// Backend is the HTTP endpoint that receives forwarded events.
type Backend struct {
	URL string `yaml:"url"`
	// Timeout bounds one request; a late answer becomes an error ack.
	Timeout time.Duration `yaml:"timeout"`
	// MaxInFlight bounds the concurrent requests of one socket; beyond it
	// events get an error ack at once.
	MaxInFlight int `yaml:"max_in_flight"`
	// Connect and Disconnect forward those notifications too.
	Connect    bool   `yaml:"connect,omitempty"`
	Disconnect bool   `yaml:"disconnect,omitempty"`
	Key        string `yaml:"key,omitempty"`     // sent as "Authorization: Bearer <key>"
	KeyEnv     string `yaml:"key_env,omitempty"` // or read from this environment variable
}

// API enables the HTTP API for backends under /api/.
type API struct {
	Key    string `yaml:"key,omitempty"`
	KeyEnv string `yaml:"key_env,omitempty"`
	// ExposeHandshakeAuth shows the auth payload clients sent, and the
	// values of the auth query parameters, in GET /api/sockets (default
	// false: their keys are shown, the values are "[redacted]"). They
	// hold the clients' tokens and recovery secrets.
	ExposeHandshakeAuth bool `yaml:"expose_handshake_auth,omitempty"`
}

// Auth modes, relay targets and JWT algorithms.
const (
	AuthNone   = "none"
	AuthTokens = "tokens"
	AuthJWT    = "jwt"

	RelayOthers  = "others"
	RelayRooms   = "rooms"
	RelayRoom    = "room"
	RelayBackend = "backend"
)

var (
	authModes     = []string{AuthNone, AuthTokens, AuthJWT}
	relayTargets  = []string{RelayOthers, RelayRooms, RelayRoom, RelayBackend}
	jwtAlgorithms = []string{"HS256", "RS256", "ES256"}
	// Events the client library reserves: a client cannot emit them.
	reservedEvents = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)

// Defaults of the optional sections.
func defaultAuth() *Auth { return &Auth{Mode: AuthNone, AuthField: "token", QueryParam: "token"} }

func defaultRooms() *Rooms { return &Rooms{JoinEvent: "join", LeaveEvent: "leave"} }

func defaultBackend() *Backend { return &Backend{Timeout: 5 * time.Second, MaxInFlight: 4} }

// HasRules reports whether the namespace serves config-only behaviour
// (auth, relay rules, rooms, a backend or server-side answers), which
// makes app optional.
func (ns *Namespace) HasRules() bool {
	return ns.Auth != nil || len(ns.Relay) > 0 || ns.Rooms != nil || ns.Backend != nil || len(ns.ServerSide) > 0
}
