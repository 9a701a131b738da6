package engineio

import (
	"log/slog"
	"net/http"
	"time"
)

// Options configure a Server.
//
// The zero value is safe to expose: the heartbeat, sizes and timeouts have
// the reference implementation's defaults, the Limits bound what clients
// can open (set a limit to NoLimit to lift it), browsers may use the server
// from its own origin only, and the Logger is slog.Default(). Features that
// cost CPU or widen access are off: compression, Engine.IO v3 clients,
// cross-origin access. DefaultOptions returns the preset Switchboard ships
// (its config.yaml), with those features on.
type Options struct {
	// PingInterval is how often the server pings a client (default 25s,
	// the reference's).
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong before it
	// closes the session (default 20s). PingInterval+PingTimeout is also
	// how long a vanished client holds resources: raising them far keeps
	// dead sessions, and their memory, that much longer.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a transport upgrade, from the WebSocket
	// request to the client's upgrade packet (default 10s), so that a
	// client cannot hold a half-upgraded session.
	UpgradeTimeout time.Duration
	// MaxPayload is the largest message, or polling POST body, accepted
	// from a client, in bytes (default 1,000,000, the reference's). Larger
	// input closes the session; it is advertised to clients in the
	// handshake. It is memory one client can make the server hold per
	// message: dangerous to raise far.
	MaxPayload int64
	// MaxBufferedBytes bounds each session's outgoing queue (default
	// 1 MiB). A client that stops reading is disconnected once its queue
	// passes the bound; volatile messages are dropped before that.
	// Dangerous to raise far: it is memory per slow client.
	MaxBufferedBytes int
	// WriteTimeout bounds one write to a client (default 10s): a
	// WebSocket write, or a long-polling response from the moment it is
	// ready (the wait for data before it is not bounded by it). A client
	// that reads slower is cut off, so it cannot hold a writer forever.
	WriteTimeout time.Duration
	// BodyTimeout bounds how long a client may take to send a WebSocket
	// message, or a polling request's body, once it has begun (default
	// 10s). A slower one closes the session, so trickling bytes cannot
	// hold a connection. The wait between messages is not bounded by it
	// (the heartbeat bounds that).
	BodyTimeout time.Duration
	// DisablePolling and DisableWebSocket turn a transport off (both on
	// by default, as in the reference). With polling off, clients must
	// connect with transports: ["websocket"].
	DisablePolling   bool
	DisableWebSocket bool
	// WebTransport says that the embedder serves WebTransport sessions
	// (Server.ServeWebTransport, on a UDP port of its own): polling
	// sessions then list "webtransport" among their upgrades, after
	// "websocket", as the reference does when its transports include
	// it. Clients probe both; where UDP is blocked, the WebSocket wins.
	WebTransport bool
	// CORS controls cross-origin polling requests and which Origins may
	// open a WebSocket. The zero CORS is same-origin only, the safe
	// choice; DefaultOptions allows every origin ("*"), which is fine
	// without cookie-based auth and dangerous with it.
	CORS CORS
	// Limits cap sessions in total and per client address, and the
	// handshake rate per address. The zero Limits has bounds for an open
	// server (see Limits); without them one client could open sessions
	// until memory runs out.
	Limits Limits
	// AllowEIO3 accepts Engine.IO protocol v3 clients (socket.io-client
	// 2.x), as the reference server's allowEIO3 does. Off in the zero
	// value, like the reference: a client of the other protocol fails
	// plainly rather than talking a protocol nobody meant to serve. On
	// in DefaultOptions; v3 sessions cost the v4 ones nothing.
	AllowEIO3 bool
	// Cookie, when set, makes every handshake response set a cookie
	// holding the session id, for load balancers with cookie-based sticky
	// sessions (see Cookie). Nil by default, as in the reference: no
	// cookie is sent.
	Cookie *Cookie
	// AllowRequest, when set, is called for every handshake; an error
	// refuses it with HTTP 403 (code 4, "Forbidden"). Nil by default:
	// every handshake within the Limits is accepted.
	AllowRequest func(r *http.Request) error
	// Forwarder, when set, serves requests for sessions this server does
	// not hold by passing them to the server that does, for clusters
	// behind a load balancer without sticky sessions; it also makes the
	// session ids, so that they name their server. Nil by default: such
	// a request gets HTTP 400 "Session ID unknown". Package redisforward
	// implements it on Redis.
	Forwarder Forwarder
	// PerMessageDeflate compresses WebSocket messages (RFC 7692) for
	// clients that offer it (browsers and the Node.js client do), like
	// the reference's perMessageDeflate. Off in the zero value, as in the
	// reference (it costs CPU); on in DefaultOptions, with Threshold 1024.
	// The server negotiates no context takeover both ways, so it keeps no
	// compression state per connection and compresses a broadcast once
	// for all its recipients (with a somewhat worse ratio on the small
	// messages that a client's threshold mostly leaves uncompressed
	// anyway). Compressed messages from
	// clients are accepted and inflated up to MaxPayload.
	PerMessageDeflate Compression
	// HTTPCompression compresses polling responses with gzip or deflate,
	// as the client's Accept-Encoding allows, like the reference's
	// httpCompression. Off in the zero value (it costs CPU; the
	// reference has it on), on in DefaultOptions with Threshold 1024.
	HTTPCompression Compression
	// Logger receives transport errors and refusals at debug level, and
	// panics of handlers at error level. Nil means slog.Default(), so
	// that nothing is lost silently; to discard everything, pass
	// slog.New(slog.DiscardHandler).
	Logger *slog.Logger
}

// Compression configures one kind of compression. Compressing costs CPU
// for every message that reaches Threshold (once per broadcast on
// WebSocket, once per response on polling) and saves bandwidth for text
// that repeats itself, such as JSON.
type Compression struct {
	Enabled bool
	// Threshold is the smallest message (WebSocket) or response body
	// (polling) that is compressed, in bytes; smaller ones go as they
	// are. 0 compresses everything. The reference's default is 1024:
	// compressing small messages saves little and costs as much CPU.
	Threshold int
}

// CORS configures cross-origin access.
//
// With no Origins (and no AllowOrigin), browsers can only use the server
// from its own origin: no CORS headers are sent, and a WebSocket whose
// Origin header names another host is refused (this prevents cross-site
// WebSocket hijacking). "*" allows every origin; it is dangerous with
// cookie-based auth.
type CORS struct {
	// Origins lists the allowed origins: "*", exact origins
	// ("https://app.example.com", compared case-insensitively) and
	// subdomain wildcards: "https://*.example.com" allows any subdomain of
	// example.com, at any depth, with that scheme and no port (ports must
	// be written out: "https://*.example.com:8443"); it does not allow
	// example.com itself.
	Origins []string
	// AllowOrigin, when set, is asked about origins that Origins does not
	// allow (for lists kept elsewhere, or rules a pattern cannot say).
	AllowOrigin func(origin string) bool
	// Credentials lets cross-origin pages send cookies and HTTP auth; the
	// allowed origin is then echoed instead of "*".
	Credentials bool
	// Methods are answered to preflight requests (default GET, POST,
	// OPTIONS: all the transports use).
	Methods []string
	// Headers are the request headers cross-origin pages may send
	// (e.g. those of the client's extraHeaders). Default: whatever the
	// preflight asks for.
	Headers []string
}

// Defaults of the zero Options: the reference implementation's values.
const (
	DefaultPingInterval     = 25 * time.Second
	DefaultPingTimeout      = 20 * time.Second
	DefaultUpgradeTimeout   = 10 * time.Second
	DefaultMaxPayload       = 1_000_000
	DefaultMaxBufferedBytes = 1 << 20
	DefaultWriteTimeout     = 10 * time.Second
	DefaultBodyTimeout      = 10 * time.Second
)

// DefaultCompressionThreshold is the reference's Threshold for both kinds
// of compression (the zero Compression has 0: everything).
const DefaultCompressionThreshold = 1024

func (o *Options) withDefaults() Options {
	c := *o
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	c.Limits = c.Limits.withDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultOptions returns the options of Switchboard's shipped
// configuration (config.yaml): the zero value's defaults written out, plus
// what a public Socket.IO server usually wants on. Compared with the zero
// value, it allows every origin (CORS "*": no cookie-based auth, or set
// Origins), accepts socket.io-client 2.x (AllowEIO3), and compresses
// WebSocket messages and polling responses of 1024 bytes or more. Each
// call returns a new value.
func DefaultOptions() Options {
	return Options{
		PingInterval:      DefaultPingInterval,
		PingTimeout:       DefaultPingTimeout,
		UpgradeTimeout:    DefaultUpgradeTimeout,
		MaxPayload:        DefaultMaxPayload,
		MaxBufferedBytes:  DefaultMaxBufferedBytes,
		WriteTimeout:      DefaultWriteTimeout,
		BodyTimeout:       DefaultBodyTimeout,
		CORS:              CORS{Origins: []string{"*"}},
		Limits:            DefaultLimits(),
		AllowEIO3:         true,
		PerMessageDeflate: Compression{Enabled: true, Threshold: DefaultCompressionThreshold},
		HTTPCompression:   Compression{Enabled: true, Threshold: DefaultCompressionThreshold},
	}
}
