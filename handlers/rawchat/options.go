package rawchat

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Room is the conversation raw clients join besides each other (nil:
	// they only talk among themselves).
	Room Room
	// MaxMessage is the largest message accepted from a client, in bytes
	// (default 4096); a larger one closes that client with 1009. It is
	// also the memory one client can make the server hold while a message
	// arrives in fragments.
	MaxMessage int
	// MaxBufferedBytes bounds each client's outgoing queue (default
	// 1 MiB): a client that stops reading is disconnected once its queue
	// passes it, so it never slows the others nor holds unbounded memory.
	// Dangerous to raise far: it is memory per slow client.
	MaxBufferedBytes int
	// WriteTimeout bounds one write to a client (default 10s); a client
	// that cannot take a write in that time is disconnected.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings each client (default
	// 25s); browsers answer on their own. Every frame must arrive whole
	// within PingInterval+PingTimeout (default 20s) of the previous one:
	// a client that neither sends nor answers pings, or trickles a frame,
	// is cut off then.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// EventsPerSecond is each client's sustained message rate, with bursts
	// up to EventBurst (a token bucket; 0: no limit), as Socket.IO clients
	// have for their events. A message over the rate is dropped (relayed
	// to nobody), counted and logged at debug level; the client stays
	// connected.
	EventsPerSecond float64
	EventBurst      int
	// CheckOrigin decides whether an upgrade request is accepted, from
	// its Origin header. The default accepts requests without Origin (not
	// a browser) and same-host origins only; accepting every origin lets
	// any web page talk to the chat from its visitors' browsers.
	CheckOrigin func(r *http.Request) bool
	// Admit, when set, decides before the upgrade whether the connection
	// is allowed, answering refusals itself; release is called when the
	// connection ends. Switchboard passes the Socket.IO engine's Admit, so
	// raw clients count against the same connection limits.
	Admit func(w http.ResponseWriter, r *http.Request) (release func(), ok bool)
	// NamePrefix names the clients: NamePrefix + a number counting from 1
	// (default "guest-").
	NamePrefix string
	// Number, when set, returns the number for the next client's name
	// instead of the server's own count: on a cluster, a count shared by
	// the nodes, so that names are unique across them. It may block
	// briefly (it runs on the new client's goroutine).
	Number func() uint64
	// Logger receives connection errors and dropped messages at debug
	// level. Nil means slog.Default(), so that nothing is lost silently;
	// to discard everything, pass slog.New(slog.DiscardHandler).
	Logger *slog.Logger
}

// DefaultMaxMessage is the zero Options' MaxMessage. The queue, write and
// heartbeat defaults are Engine.IO's, so that raw clients get the bounds
// of Socket.IO clients.
const DefaultMaxMessage = 4096

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = engineio.DefaultMaxBufferedBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = engineio.DefaultWriteTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = engineio.DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = engineio.DefaultPingTimeout
	}
	if c.EventsPerSecond > 0 && c.EventBurst < 1 {
		c.EventBurst = max(1, int(c.EventsPerSecond))
	}
	if c.CheckOrigin == nil {
		c.CheckOrigin = sameOrigin
	}
	if c.NamePrefix == "" {
		c.NamePrefix = "guest-"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// sameOrigin accepts requests without Origin and those whose Origin names
// the requested host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
