package socketio

import (
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engineio"
)

// Limits bound what one client can make the server do.
//
// In every count and rate, 0 means the default and NoLimit (-1) turns the
// limit off; the parser limits (MaxAttachments, MaxJSONDepth) cannot be
// turned off. The zero Limits thus bounds every client, with values for a
// server on the open internet (Switchboard's config.yaml has the same):
// lifting a limit lets one client make the server do or hold as much as
// it likes.
//
// The engine's MaxPayload bounds more than one message: a binary packet's
// text and attachments together (past it the connection is closed with
// "parse error"), and the CONNECT payloads (Handshake.Auth) a connection's
// sockets keep, together (a CONNECT past it is refused with a
// CONNECT_ERROR {"message":"auth payload too large"}).
type Limits struct {
	// MaxAttachments bounds the binary attachments one packet may announce
	// (default 10, as socket.io-parser). The server buffers a packet's
	// attachments until the last arrives: the bound is what stops a header
	// from making it wait for, and hold, unbounded data (cf. CVE-2023-32695).
	// A packet over it closes the connection ("parse error").
	MaxAttachments int
	// MaxJSONDepth bounds the nesting of arrays and objects in a packet's
	// JSON payload (default 64). Deeper input closes the connection
	// ("parse error"): it has no legitimate use and makes every decoder
	// that later walks it recurse that deep.
	MaxJSONDepth int
	// EventsPerSecond is each socket's sustained event rate from the
	// client (default 200), with bursts up to EventBurst (a token bucket;
	// default 400 when EventsPerSecond is defaulted too, else
	// EventsPerSecond). An event over the rate is dropped, logged at debug
	// level, and, if the client asked for an acknowledgement, answered
	// with the error ack {"message":"rate limit exceeded"}; the socket
	// stays connected. Without a rate, one client can keep a handler busy
	// in a loop. A socket recovered after a cut (RecoveryOptions) has its
	// bucket as it was, refilled only by the time that passed; a new
	// socket starts with a full one.
	EventsPerSecond float64
	EventBurst      int
	// MaxRoomsPerSocket bounds the rooms a socket can be in, its own room
	// not counted (default 1000). Socket.Join past it joins nothing and
	// returns ErrTooManyRooms. Unless it is NoLimit, the names of a
	// socket's rooms are also bounded by the engine's MaxPayload in all:
	// an application joining rooms a client names cannot be made to keep
	// MaxRoomsPerSocket names of MaxPayload bytes each.
	MaxRoomsPerSocket int
	// MaxNamespacesPerClient bounds the namespaces one connection can be
	// in at once (default 100). Each is a socket with its state, and with
	// dynamic namespaces a namespace created for it. A CONNECT past the
	// bound is refused with a CONNECT_ERROR {"message":"too many
	// namespaces"} (socket.io-client: connect_error on that namespace's
	// socket); the connection and its other namespaces stay.
	MaxNamespacesPerClient int
	// NamespaceConnectsPerSecond is each connection's sustained rate of
	// CONNECT packets (joining a namespace, refused or not; default 10),
	// with bursts up to NamespaceConnectBurst (a token bucket; default 100
	// when NamespaceConnectsPerSecond is defaulted too, else the larger of
	// the rate and MaxNamespacesPerClient). A CONNECT over the rate is
	// refused with a CONNECT_ERROR {"message":"rate limit exceeded"}.
	// Reconnecting clients send one CONNECT per namespace at once: the
	// burst should cover MaxNamespacesPerClient.
	NamespaceConnectsPerSecond float64
	NamespaceConnectBurst      int
}

// NoLimit, as a count or rate of Limits (or of engineio.Limits), turns
// that limit off; 0 means the default.
const NoLimit = engineio.NoLimit

// The limits Server.Stats counts refusals of.
const (
	LimitMaxAttachments    = "max_attachments"
	LimitMaxJSONDepth      = "max_json_depth"
	LimitEventsPerSecond   = "events_per_second"
	LimitMaxRoomsPerSocket = "max_rooms_per_socket"
	// LimitMaxNamespacesPerClient and LimitNamespaceConnectsPerSecond
	// count refused CONNECTs.
	LimitMaxNamespacesPerClient     = "max_namespaces_per_client"
	LimitNamespaceConnectsPerSecond = "namespace_connects_per_second"
	// LimitMaxPayload counts binary packets whose text and attachments
	// together passed the engine's MaxPayload, and CONNECTs refused because
	// the auth payloads a connection's sockets keep would pass it (the
	// engine counts single messages over it under the same name).
	LimitMaxPayload = "max_payload"
)

var limitKinds = [...]string{LimitMaxAttachments, LimitMaxJSONDepth, LimitEventsPerSecond, LimitMaxRoomsPerSocket,
	LimitMaxNamespacesPerClient, LimitNamespaceConnectsPerSecond, LimitMaxPayload}

// limitCounters count what the limits refused.
type limitCounters [len(limitKinds)]atomic.Uint64

func (lc *limitCounters) hit(kind string) {
	for i, k := range limitKinds {
		if k == kind {
			lc[i].Add(1)
			return
		}
	}
}

func (lc *limitCounters) snapshot() map[string]uint64 {
	out := make(map[string]uint64, len(limitKinds))
	for i, k := range limitKinds {
		out[k] = lc[i].Load()
	}
	return out
}

// Defaults of the zero Limits.
const (
	DefaultMaxAttachments             = 10
	DefaultMaxJSONDepth               = 64
	DefaultEventsPerSecond            = 200
	DefaultEventBurst                 = 400
	DefaultMaxRoomsPerSocket          = 1000
	DefaultMaxNamespacesPerClient     = 100
	DefaultNamespaceConnectsPerSecond = 10
	DefaultNamespaceConnectBurst      = 100
)

// DefaultLimits returns the zero Limits' values written out.
func DefaultLimits() Limits {
	return Limits{
		MaxAttachments:             DefaultMaxAttachments,
		MaxJSONDepth:               DefaultMaxJSONDepth,
		EventsPerSecond:            DefaultEventsPerSecond,
		EventBurst:                 DefaultEventBurst,
		MaxRoomsPerSocket:          DefaultMaxRoomsPerSocket,
		MaxNamespacesPerClient:     DefaultMaxNamespacesPerClient,
		NamespaceConnectsPerSecond: DefaultNamespaceConnectsPerSecond,
		NamespaceConnectBurst:      DefaultNamespaceConnectBurst,
	}
}

// ErrTooManyRooms is returned by Socket.Join when the socket would be in
// more rooms than Limits.MaxRoomsPerSocket, or their names would pass the
// engine's MaxPayload in all.
var ErrTooManyRooms = errors.New("socketio: too many rooms for one socket")

// errAckRateLimited is the error ack of an event dropped by the rate limit.
var errAckRateLimited = map[string]string{"message": "rate limit exceeded"}

// The CONNECT_ERRORs of the connect limits.
var (
	errConnectRateLimited = &ConnectError{Message: "rate limit exceeded"}
	errTooManyNamespaces  = &ConnectError{Message: "too many namespaces"}
	// The CONNECT payloads (auth) of a connection's sockets together
	// passed max_payload.
	errAuthTooLarge = &ConnectError{Message: "auth payload too large"}
)

// withDefaults fills in the defaults of the limits left at 0. A negative
// count or rate (NoLimit) stays: every check is "> 0", so it is off.
func (l *Limits) withDefaults() Limits {
	c := *l
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = DefaultMaxAttachments
	}
	if c.MaxJSONDepth <= 0 {
		c.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if c.EventsPerSecond == 0 {
		c.EventsPerSecond = DefaultEventsPerSecond
		if c.EventBurst == 0 {
			c.EventBurst = DefaultEventBurst
		}
	}
	if c.MaxRoomsPerSocket == 0 {
		c.MaxRoomsPerSocket = DefaultMaxRoomsPerSocket
	}
	if c.MaxNamespacesPerClient == 0 {
		c.MaxNamespacesPerClient = DefaultMaxNamespacesPerClient
	}
	if c.NamespaceConnectsPerSecond == 0 {
		c.NamespaceConnectsPerSecond = DefaultNamespaceConnectsPerSecond
		if c.NamespaceConnectBurst == 0 {
			c.NamespaceConnectBurst = DefaultNamespaceConnectBurst
		}
	}
	if c.EventsPerSecond > 0 && c.EventBurst < 1 {
		c.EventBurst = max(1, int(c.EventsPerSecond))
	}
	if c.NamespaceConnectsPerSecond > 0 && c.NamespaceConnectBurst < 1 {
		c.NamespaceConnectBurst = max(1, int(c.NamespaceConnectsPerSecond), c.MaxNamespacesPerClient)
	}
	return c
}

// bucket is a token bucket for one goroutine (a client's delivery
// goroutine): no lock, and no allocation per client as a rate.Limiter
// would be.
type bucket struct {
	tokens float64
	last   time.Time // zero: full
}

// allow takes a token from a bucket refilled at rate per second up to
// burst, if one is there.
func (b *bucket) allow(now time.Time, rate float64, burst int) bool {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// newEventLimiter returns a socket's event bucket, or nil without a rate.
func (l *Limits) newEventLimiter() *rate.Limiter {
	if l.EventsPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(l.EventsPerSecond), l.EventBurst)
}

// checkRooms reports whether s may join rooms without passing
// MaxRoomsPerSocket.
func (s *Socket) checkRooms(rooms []string) error {
	limit := s.nsp.srv.opts.Limits.MaxRoomsPerSocket
	if limit <= 0 {
		return nil
	}
	have := s.nsp.adapter.SocketRooms(s) // its own id included
	n := len(have) - 1
	var size int64
	for _, r := range have {
		if r != s.id {
			size += int64(len(r))
		}
	}
	for i, r := range rooms {
		if r != s.id && !slices.Contains(have, r) && !slices.Contains(rooms[:i], r) {
			n++
			size += int64(len(r))
		}
	}
	if n > limit || size > s.nsp.srv.maxPayload {
		s.nsp.srv.limitHits.hit(LimitMaxRoomsPerSocket)
		return ErrTooManyRooms
	}
	return nil
}

// jsonTooDeep reports whether the valid JSON b nests arrays and objects
// deeper than limit.
func jsonTooDeep(b []byte, limit int) bool {
	if len(b) <= limit {
		return false // each level takes at least one byte
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}
