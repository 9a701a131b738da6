// Package metrics exposes a Socket.IO server's counters to Prometheus: the
// switchboard_* metrics that Switchboard's own /metrics serves.
//
// The engine and the Socket.IO server count with atomics on their own
// (engineio.Server.Stats, socketio.Server.Stats); the Collector here reads
// those at scrape time and turns them into metrics, so serving connections
// never touches a Prometheus type, a lock or an allocation for monitoring.
//
// This is the only Switchboard package that imports the Prometheus
// client: an application that does not import it does not link it.
//
// An application embedding a socketio.Server either registers a Collector
// in the registry it already has (prometheus.MustRegister(NewCollector(io,
// nil)) for the default one), or serves a registry of its own with
// NewRegistry and Handler.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard/switchboard/socketio"
)

const prefix = "switchboard_"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prefix+name, help, labels, nil)
}

var (
	descSockets        = desc("sockets", "Connected Socket.IO sockets, by namespace and transport.", "namespace", "transport")
	descSessions       = desc("engine_sessions", "Open Engine.IO connections, by transport.", "transport")
	descHandshakes     = desc("handshakes_total", "Engine.IO connections opened, by the transport of their handshake.", "transport")
	descUpgrades       = desc("upgrades_total", "Connections upgraded from long-polling to WebSocket or WebTransport.")
	descEngineCloses   = desc("engine_closes_total", "Engine.IO connections closed, by reason.", "reason")
	descConnects       = desc("connects_total", "Sockets accepted in a namespace.", "namespace")
	descDisconnects    = desc("disconnects_total", "Sockets disconnected from a namespace, by reason.", "namespace", "reason")
	descEventsIn       = desc("events_received_total", "Socket.IO events received from clients.", "namespace")
	descPacketsIn      = desc("packets_received_total", "Engine.IO message packets received from clients.")
	descPacketsOut     = desc("packets_sent_total", "Engine.IO message packets accepted for sending to clients.")
	descBytesIn        = desc("received_bytes_total", "Payload bytes of the message packets received.")
	descBytesOut       = desc("sent_bytes_total", "Payload bytes of the message packets accepted for sending.")
	descBroadcasts     = desc("broadcasts_total", "Broadcast emits, by namespace.", "namespace")
	descRecipients     = desc("broadcast_recipients_total", "Connections a broadcast was delivered to, summed over broadcasts.")
	descAckLatency     = desc("ack_latency_seconds", "Time from an emit with an acknowledgement request to the client's answer.")
	descVolatileDrop   = desc("volatile_dropped_total", "Volatile packets dropped because the client's transport was busy.")
	descRejections     = desc("limit_rejections_total", "Requests refused, packets dropped and connections closed for going over a limit, by limit.", "kind")
	descAdapterPub     = desc("adapter_published_total", "Messages the adapter published to other nodes.")
	descAdapterPubErr  = desc("adapter_publish_errors_total", "Messages the adapter failed to publish.")
	descAdapterRecv    = desc("adapter_received_total", "Messages the adapter received from other nodes.")
	descAdapterRecvErr = desc("adapter_receive_errors_total", "Messages from other nodes the adapter could not handle.")
)

// Collector is a prometheus.Collector reading a Socket.IO server's
// counters (and, if set, a multi-node adapter's) at scrape time.
type Collector struct {
	io         *socketio.Server
	adapter    *socketio.AdapterStats
	rejections []func() map[string]uint64
	counters   []extraCounter
}

type extraCounter struct {
	desc *prometheus.Desc
	read func() uint64
}

// NewCollector returns a collector for io. adapter is the AdapterStats
// given to a multi-node adapter (redisadapter.Options.Stats), whose
// counters become the switchboard_adapter_* metrics; nil reads as zeros.
func NewCollector(io *socketio.Server, adapter *socketio.AdapterStats) *Collector {
	return &Collector{io: io, adapter: adapter}
}

// AddRejections adds a source of limit_rejections_total counts, by kind:
// features served beside Socket.IO (the plain WebSocket bridge, the Admin
// UI's login) count their refusals there too. A kind several sources
// count is summed. Call it before the first scrape.
func (c *Collector) AddRejections(f func() map[string]uint64) {
	c.rejections = append(c.rejections, f)
}

// AddCounter adds the counter switchboard_<name>, read by read at scrape
// time. Call it before the first scrape.
func (c *Collector) AddCounter(name, help string, read func() uint64) {
	c.counters = append(c.counters, extraCounter{desc(name, help), read})
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSockets, descSessions, descHandshakes, descUpgrades, descEngineCloses,
		descConnects, descDisconnects, descEventsIn, descPacketsIn, descPacketsOut, descBytesIn, descBytesOut,
		descBroadcasts, descRecipients, descAckLatency, descVolatileDrop, descRejections,
		descAdapterPub, descAdapterPubErr, descAdapterRecv, descAdapterRecvErr} {
		ch <- d
	}
	for _, x := range c.counters {
		ch <- x.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.io.Stats()
	e := &st.Engine
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, ns := range st.Namespaces {
		// Dynamic namespaces are labelled by their pattern: one series
		// per configured namespace, however many names clients make up.
		name := ns.Name
		if ns.Pattern != "" {
			name = ns.Pattern
		}
		for _, t := range sortedKeys(ns.Sockets) {
			gauge(descSockets, float64(ns.Sockets[t]), name, t)
		}
		counter(descConnects, ns.Connects, name)
		for _, r := range sortedKeys(ns.Disconnects) {
			counter(descDisconnects, ns.Disconnects[r], name, r)
		}
		counter(descEventsIn, ns.EventsReceived, name)
		counter(descBroadcasts, ns.Broadcasts, name)
	}
	gauge(descSessions, float64(e.OpenPolling), "polling")
	gauge(descSessions, float64(e.OpenWebSocket), "websocket")
	gauge(descSessions, float64(e.OpenWebTransport), "webtransport")
	counter(descHandshakes, e.HandshakesPolling, "polling")
	counter(descHandshakes, e.HandshakesWebSocket, "websocket")
	counter(descHandshakes, e.HandshakesWebTransport, "webtransport")
	counter(descUpgrades, e.Upgrades)
	for _, r := range sortedKeys(e.Closes) {
		counter(descEngineCloses, e.Closes[r], string(r))
	}
	counter(descPacketsIn, e.MessagesIn)
	counter(descPacketsOut, e.MessagesOut)
	counter(descBytesIn, e.BytesIn)
	counter(descBytesOut, e.BytesOut)
	counter(descRecipients, e.BroadcastRecipients)
	counter(descVolatileDrop, e.VolatileDropped)
	// Both layers count max_payload (the engine single messages, Socket.IO
	// a binary packet's parts together), and the extra sources (the raw
	// bridge, the Admin UI) their own: one series per kind, their sum.
	rejections := make(map[string]uint64, len(e.Rejections)+len(st.Rejections))
	for l, n := range e.Rejections {
		rejections[string(l)] += n
	}
	for l, n := range st.Rejections {
		rejections[l] += n
	}
	for _, f := range c.rejections {
		for l, n := range f() {
			rejections[l] += n
		}
	}
	for _, l := range sortedKeys(rejections) {
		counter(descRejections, rejections[l], l)
	}
	h := st.AckLatency
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(descAckLatency, h.Count, h.Sum, buckets)
	a := c.adapter.Snapshot()
	counter(descAdapterPub, a.Published)
	counter(descAdapterPubErr, a.PublishErrors)
	counter(descAdapterRecv, a.Received)
	counter(descAdapterRecvErr, a.ReceiveErrors)
	for _, x := range c.counters {
		counter(x.desc, x.read())
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// NewRegistry returns a registry with c and the Go runtime and process
// collectors (memory, goroutines, GC, file descriptors, CPU), as
// Switchboard's /metrics serves.
func NewRegistry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves g (a *prometheus.Registry, or prometheus.DefaultGatherer)
// in the Prometheus exposition format. With a token, requests must carry
// "Authorization: Bearer <token>" (401 otherwise); with "", anyone who
// reaches the handler can read the metrics.
func Handler(g prometheus.Gatherer, token string) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
