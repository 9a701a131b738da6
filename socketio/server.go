package socketio

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio/clientbundle"
)

// Options configure a Server.
//
// The zero value is safe to expose: every input is bounded (see Limits and
// engineio.Limits; NoLimit lifts one), browsers may connect from the
// server's own origin only, empty dynamic namespaces are removed, and the
// Logger is slog.Default(). DefaultOptions returns the preset Switchboard
// ships (its config.yaml): the same, plus every origin, socket.io-client
// 2.x and compression.
type Options struct {
	// Engine configures the transport layer: heartbeat, sizes, CORS,
	// connection limits, compression (see engineio.Options). Its Logger
	// defaults to this Logger.
	Engine engineio.Options
	// ConnectTimeout closes a connection that has joined no namespace in
	// this time (default 45s): a client cannot hold a connection without
	// passing a namespace's middlewares.
	ConnectTimeout time.Duration
	// Limits bound what one client can make the server do (see Limits for
	// the defaults).
	Limits Limits
	// NewAdapter creates each namespace's adapter (default: in memory,
	// one node).
	NewAdapter func(n *Namespace) Adapter
	// Logger receives what goes wrong: refused and dropped input at debug
	// level, handler panics and shutdown problems at warn and error. Nil
	// means slog.Default(), so that nothing is lost silently; to discard
	// everything, pass slog.New(slog.DiscardHandler).
	Logger *slog.Logger
	// KeepEmptyChildNamespaces keeps a dynamic namespace (see OfFunc)
	// after its last socket has left, for the server's life. By default
	// it is removed (as Node does with cleanupEmptyChildNamespaces:
	// true), and the next client to connect to that name gets a new
	// Namespace, with none of the old one's rooms or values: otherwise
	// every name a client tried would stay a namespace, and with a
	// pattern that accepts unbounded names, that is unbounded memory.
	// Node's server keeps them by default: set this for its behaviour,
	// with a pattern that accepts few names.
	KeepEmptyChildNamespaces bool
	// ConnectionStateRecovery, when set, lets a client whose connection
	// was cut get its socket back, with the packets it missed (see
	// RecoveryOptions; DefaultRecoveryOptions is config.yaml's preset).
	// Off (nil) by default, as in the reference: it costs a log of the
	// recent broadcasts, and clients see an offset as an extra last
	// argument of broadcast events.
	ConnectionStateRecovery *RecoveryOptions
	// Parser is the packets' wire format (default ParserJSON, what
	// clients use unless told otherwise). It applies to every client: one
	// built with another parser cannot connect.
	Parser Parser
	// DisableServeClient stops the server from serving the browser client
	// (Node's serveClient: false). By default, as in Node, a GET for
	// <mount path>socket.io.js, socket.io.min.js, socket.io.esm.min.js,
	// socket.io.msgpack.min.js or one of their .map files is answered with
	// that file of socket.io-client (package socketio/clientbundle), with
	// an ETag, 304 on revalidation, Cache-Control "public, max-age=0" and
	// gzip when accepted, so that a page can load
	// <script src="/socket.io/socket.io.min.js">.
	DisableServeClient bool
}

// Server is a Socket.IO server; mount it (an http.Handler) at its path,
// usually "/socket.io/".
type Server struct {
	opts   Options
	log    *slog.Logger
	engine *engineio.Server
	// client serves the client bundle's files behind the engine's CORS
	// policy, as Node serves them behind its cors middleware.
	client http.Handler

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*Namespace // dynamic namespaces' parents, in registration order
	clients map[*client]struct{}

	// running counts event handlers in progress, whose acks a graceful
	// shutdown waits for.
	running atomic.Int64

	obs        observers
	ackLatency latencyHistogram
	limitHits  limitCounters
	// maxPayload is the engine's MaxPayload, which also bounds a binary
	// packet's text and attachments together.
	maxPayload int64
}

// NewServer returns a server with the main namespace "/" created.
func NewServer(opts *Options) *Server {
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{opts: *opts, nsps: make(map[string]*Namespace), clients: make(map[*client]struct{})}
	if s.opts.ConnectTimeout <= 0 {
		s.opts.ConnectTimeout = DefaultConnectTimeout
	}
	s.opts.Limits = s.opts.Limits.withDefaults()
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.Engine.Logger == nil {
		s.opts.Engine.Logger = s.log
	}
	s.engine = engineio.NewServer(s.accept, &s.opts.Engine)
	s.maxPayload = s.engine.Options().MaxPayload
	cors := s.engine.Options().CORS
	s.client = cors.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clientbundle.ServeFile(w, r, clientFileName(r.URL.Path))
	}))
	s.Of("/")
	return s
}

func (s *Server) accept(conn *engineio.Session) engineio.SessionHandler {
	c := newClient(s, conn)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	return c
}

func (s *Server) clientClosed(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// ServeHTTP serves the Engine.IO endpoint and, unless
// Options.DisableServeClient is set, the browser client's files: a request
// whose last path segment names one (see clientbundle.Files) gets the file,
// wherever the server is mounted (with or without http.StripPrefix), with
// the CORS headers of Engine.CORS (and preflights answered), as Node's
// server does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.opts.DisableServeClient {
		if name := clientFileName(r.URL.Path); name != "" && clientbundle.IsClientFile(name) {
			s.client.ServeHTTP(w, r)
			return
		}
	}
	s.engine.ServeHTTP(w, r)
}

// clientFileName returns the last segment of path if it may name a client
// file ("" otherwise): a cheap test, as every Engine.IO request passes here.
func clientFileName(path string) string {
	if !strings.HasSuffix(path, ".js") && !strings.HasSuffix(path, ".map") {
		return ""
	}
	return path[strings.LastIndexByte(path, '/')+1:]
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Of returns the namespace with this name, creating it if needed.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nsps[name]; n != nil {
		return n
	}
	n := s.newNamespace(name, nil)
	s.nsps[name] = n
	return n
}

// newNamespace builds a namespace (a dynamic one's child when parent is
// set) with its adapter. With connection state recovery on, its log exists
// first, so that NewMemoryAdapter can put it in front of its delivery.
func (s *Server) newNamespace(name string, parent *Namespace) *Namespace {
	n := &Namespace{name: name, srv: s, parent: parent}
	if o := s.opts.ConnectionStateRecovery; o != nil {
		n.rec = newRecovery(*o, s.engine.Options().MaxBufferedBytes)
	}
	if s.opts.NewAdapter != nil {
		n.adapter = s.opts.NewAdapter(n)
	} else {
		n.adapter = NewMemoryAdapter(n)
	}
	if n.rec != nil && n.rec.a == nil {
		s.log.Warn("socketio: connection state recovery needs an adapter built on NewMemoryAdapter; off for this namespace", "nsp", name)
		n.rec = nil
	}
	if st, ok := n.adapter.(SessionStore); ok && n.rec != nil {
		n.rec.useStore(st)
	}
	return n
}

// Namespaces lists the server's namespaces.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	return out
}

// Close shuts the server down gracefully. It refuses new connections, then
// drains: it waits for the event handlers in progress (so that their acks
// go out) and for the acks the server awaits from clients, for at most
// half the time ctx leaves. Then it disconnects every socket with "server
// shutting down" and closes the connections: a WebSocket gets what was
// queued for it, then a close frame; a polling client gets it with its
// pending GET, and one between polls is closed at once, what was queued
// for it dropped (as the Node server does: it may never poll again).
// Clients see a transport close and reconnect (to another node, or to this
// one once restarted): a DISCONNECT packet would stop them from
// reconnecting. It waits until all are closed or ctx is done. Call it
// before the http.Server's Shutdown, which does not see WebSockets and
// would wait for pending polls.
func (s *Server) Close(ctx context.Context) error {
	s.engine.Drain()
	dctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		defer cancel()
	}
	s.drain(dctx)

	s.mu.Lock()
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		socks := slices.Clone(c.sockets)
		c.mu.Unlock()
		for _, sk := range socks {
			sk.onClose(ReasonServerShuttingDown)
		}
	}
	err := s.engine.Close(ctx)
	for _, n := range s.Namespaces() {
		_ = n.adapter.Close()
	}
	return err
}

// drain waits until no event handler runs and no ack from a client is
// awaited, or ctx is done.
func (s *Server) drain(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.running.Load() > 0 || s.awaitedAcks() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("socketio: shutdown did not drain in time", "handlers", s.running.Load(), "acks", s.awaitedAcks())
			return
		case <-t.C:
		}
	}
}

// awaitedAcks counts the acks the server awaits from its clients.
func (s *Server) awaitedAcks() int {
	s.mu.RLock()
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.RUnlock()
	n := 0
	for _, c := range clients {
		c.mu.Lock()
		socks := slices.Clone(c.sockets)
		c.mu.Unlock()
		for _, sk := range socks {
			sk.mu.Lock()
			n += len(sk.acks)
			sk.mu.Unlock()
		}
	}
	return n
}

func newSocketID() string { return engineio.NewID() }

// socketIDLen is the length of every id newSocketID and the engine make:
// 15 random bytes in unpadded base64url.
const socketIDLen = 20

// LooksLikeSocketID reports whether room has the shape of a socket id of
// this namespace, that is of a socket's own room: 20 characters of
// base64url (A-Z, a-z, 0-9, '-', '_'), or, for a legacy client (Socket.IO
// v2) of a namespace other than "/", the namespace's name, '#' and those
// 20 characters. Layers that let clients name rooms refuse such names: the
// room may be another socket's, on this node or, with a cluster adapter,
// on another one, and the check needs no round trip to the cluster.
// Names with any other character (such as "user:alice") never match.
func (n *Namespace) LooksLikeSocketID(room string) bool {
	if n.name != "/" {
		if rest, ok := strings.CutPrefix(room, n.name); ok && len(rest) == 1+socketIDLen && rest[0] == '#' {
			room = rest[1:]
		}
	}
	if len(room) != socketIDLen {
		return false
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
