package socketio

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// Counters for monitoring, read by Server.Stats at scrape time. Each is an
// atomic add at a connection, disconnection, incoming event, broadcast or
// acknowledgement; none is touched per broadcast recipient.

// Stats is a snapshot of a server's counters.
type Stats struct {
	// Engine holds the transport layer's counters.
	Engine engineio.Stats
	// Namespaces, sorted by name. Dynamic namespaces are not listed one by
	// one: their parent's entry counts them all.
	Namespaces []NamespaceStats
	// AckLatency is the time from emitting an event with an
	// acknowledgement request to a client's answer.
	AckLatency Histogram
	// Rejections counts what the Socket.IO limits refused, by limit
	// (LimitMaxAttachments, ...); Engine.Rejections has the engine's.
	Rejections map[string]uint64
}

// NamespaceStats are one namespace's counters.
type NamespaceStats struct {
	// Name is the namespace's name, such as "/chat".
	Name string
	// Pattern is set for a parent namespace made by OfRegexp: the
	// regular expression. A parent's entry (made by OfRegexp or OfFunc)
	// counts the sockets and events of all its children, present and
	// past.
	Pattern string
	// Sockets counts the connected sockets by transport ("polling",
	// "websocket"); it walks the sockets, like Server.Stats itself.
	Sockets map[string]int
	// Connects counts the sockets accepted since the start.
	Connects uint64
	// Disconnects counts the sockets gone, by reason ("transport close",
	// "ping timeout", "client namespace disconnect", ...).
	Disconnects map[string]uint64
	// EventsReceived counts events from clients.
	EventsReceived uint64
	// Broadcasts counts broadcast emits (each reaches any number of
	// sockets; engineio.Stats.BroadcastRecipients counts those).
	Broadcasts uint64
}

// Histogram is a snapshot of a latency histogram in seconds: Counts[i]
// observations were <= Bounds[i] (cumulative, as Prometheus wants it).
type Histogram struct {
	// Bounds are the buckets' upper bounds, in seconds, ascending.
	Bounds []float64
	// Counts[i] is the number of observations <= Bounds[i].
	Counts []uint64
	// Count is the number of observations, and Sum their total in seconds.
	Count uint64
	Sum   float64
}

type nspStats struct {
	connects       atomic.Uint64
	eventsReceived atomic.Uint64
	broadcasts     atomic.Uint64

	// Disconnect reasons: the known ones get an atomic each; any other
	// (reasons are strings) a map entry under mu.
	disconnects [len(knownReasons)]atomic.Uint64
	mu          sync.Mutex
	other       map[string]uint64
}

var knownReasons = [...]string{
	string(engineio.ReasonTransportClose),
	string(engineio.ReasonTransportError),
	string(engineio.ReasonPingTimeout),
	string(engineio.ReasonParseError),
	string(engineio.ReasonForcedClose),
	string(ReasonServerShuttingDown),
	string(ReasonClientNamespaceDisconnect),
	string(ReasonServerNamespaceDisconnect),
}

func (st *nspStats) disconnected(reason string) {
	for i, r := range knownReasons {
		if r == reason {
			st.disconnects[i].Add(1)
			return
		}
	}
	st.mu.Lock()
	if st.other == nil {
		st.other = make(map[string]uint64)
	}
	if len(st.other) < 32 { // reasons come from code, but stay bounded
		st.other[reason]++
	}
	st.mu.Unlock()
}

// ackBounds are the ack latency histogram's upper bounds, in seconds.
var ackBounds = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type latencyHistogram struct {
	counts [len(ackBounds) + 1]atomic.Uint64 // last: above every bound
	sum    atomic.Int64                      // nanoseconds
}

func (h *latencyHistogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(ackBounds) && s > ackBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *latencyHistogram) snapshot() Histogram {
	out := Histogram{Bounds: ackBounds[:], Counts: make([]uint64, len(ackBounds))}
	var cum uint64
	for i := range ackBounds {
		cum += h.counts[i].Load()
		out.Counts[i] = cum
	}
	out.Count = cum + h.counts[len(ackBounds)].Load()
	out.Sum = time.Duration(h.sum.Load()).Seconds()
	return out
}

// Stats returns the server's counters. It walks every socket to count them
// by transport: call it at scrape time, not per message.
func (s *Server) Stats() Stats {
	out := Stats{Engine: s.engine.Stats(), AckLatency: s.ackLatency.snapshot(), Rejections: s.limitHits.snapshot()}
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps)+len(s.parents))
	for _, n := range s.nsps {
		if n.parent == nil {
			nsps = append(nsps, n)
		}
	}
	nsps = append(nsps, s.parents...)
	s.mu.RUnlock()
	for _, n := range nsps {
		st := &n.stats
		ns := NamespaceStats{
			Name:           n.name,
			Sockets:        map[string]int{"polling": 0, "websocket": 0},
			Connects:       st.connects.Load(),
			EventsReceived: st.eventsReceived.Load(),
			Broadcasts:     st.broadcasts.Load(),
			Disconnects:    make(map[string]uint64, len(knownReasons)),
		}
		if n.dyn != nil {
			ns.Pattern = n.dyn.pattern
		}
		for _, sk := range n.Sockets() { // a parent's: its children's
			ns.Sockets[sk.Transport()]++
		}
		for i, r := range knownReasons {
			ns.Disconnects[r] = st.disconnects[i].Load()
		}
		st.mu.Lock()
		for r, c := range st.other {
			ns.Disconnects[r] = c
		}
		st.mu.Unlock()
		out.Namespaces = append(out.Namespaces, ns)
	}
	sort.Slice(out.Namespaces, func(i, j int) bool { return out.Namespaces[i].Name < out.Namespaces[j].Name })
	return out
}

// AdapterStats counts a multi-node adapter's traffic with the other nodes
// (a Redis adapter's publishes and the messages it receives). The adapter
// calls Published and Received; the metrics endpoint reads Snapshot. The
// zero value is ready, and a nil *AdapterStats ignores every call, so an
// adapter may always call it.
type AdapterStats struct {
	published, publishErrors atomic.Uint64
	received, receiveErrors  atomic.Uint64
}

// AdapterCounts is a snapshot of AdapterStats.
type AdapterCounts struct {
	// Published counts the messages sent to the other nodes, and
	// PublishErrors those that could not be; Received and ReceiveErrors
	// the same for the messages from the other nodes.
	Published, PublishErrors, Received, ReceiveErrors uint64
}

// Published counts one message sent to the other nodes; err != nil counts
// a failed one.
func (a *AdapterStats) Published(err error) {
	if a == nil {
		return
	}
	if err != nil {
		a.publishErrors.Add(1)
		return
	}
	a.published.Add(1)
}

// Received counts one message from another node; err != nil counts one
// that could not be decoded or handled.
func (a *AdapterStats) Received(err error) {
	if a == nil {
		return
	}
	if err != nil {
		a.receiveErrors.Add(1)
		return
	}
	a.received.Add(1)
}

// Snapshot returns the counters.
func (a *AdapterStats) Snapshot() AdapterCounts {
	if a == nil {
		return AdapterCounts{}
	}
	return AdapterCounts{a.published.Load(), a.publishErrors.Load(), a.received.Load(), a.receiveErrors.Load()}
}
