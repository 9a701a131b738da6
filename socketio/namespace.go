package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Namespace is a communication channel multiplexed over client connections
// ("/" by default). Handlers are registered per namespace; rooms and
// broadcasts live in its Adapter.
type Namespace struct {
	name    string
	srv     *Server
	adapter Adapter
	ackIDs  atomic.Int64
	// parent is the parent namespace of a dynamic child; dyn is set on a
	// parent namespace, which decides which child names exist (OfFunc,
	// OfRegexp).
	parent     *Namespace
	dyn        *dynamic
	connecting atomic.Int32 // clients between lookupNamespace and connectDone
	stats      nspStats
	rec        *recovery // connection state recovery; nil when off

	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
	onDisconnect []func(*Socket, DisconnectReason)
	handlers     map[string]EventHandler
	names        map[string]string // each key of handlers, to itself: see eventName
	serverSide   map[string]ServerSideHandler
	unhandled    EventHandler // see OnUnhandled
}

// Name returns the namespace's name, e.g. "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware, run in order for each connecting socket.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, m)
	n.mu.Unlock()
}

// OnConnection registers a function called for each new socket, after the
// client has been told it is connected.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
}

// OnDisconnect registers a function called when a socket disconnects, with
// the reason, after it has left its rooms.
func (n *Namespace) OnDisconnect(fn func(s *Socket, reason DisconnectReason)) {
	n.mu.Lock()
	n.onDisconnect = append(n.onDisconnect, fn)
	n.mu.Unlock()
}

// On registers the handler for an event from any socket of the namespace.
func (n *Namespace) On(event string, h EventHandler) {
	n.mu.Lock()
	if n.handlers == nil {
		n.handlers = make(map[string]EventHandler)
		n.names = make(map[string]string)
	}
	n.handlers[event] = h
	if !reservedEvents[event] {
		n.names[event] = event
	}
	n.mu.Unlock()
}

// eventName is the package's eventName, except that a name with a handler
// here or in the parent namespace comes back as the string On was given:
// the usual event then costs no allocation for its name.
func (n *Namespace) eventName(first json.RawMessage) (string, bool) {
	if l := len(first); l >= 2 && first[0] == '"' && first[l-1] == '"' && bytes.IndexByte(first, '\\') < 0 {
		key := first[1 : l-1]
		for m := n; m != nil; m = m.parent {
			m.mu.RLock()
			name, ok := m.names[string(key)] // no allocation: the compiler does not copy key for a lookup
			m.mu.RUnlock()
			if ok {
				return name, true
			}
		}
	}
	return eventName(first)
}

func (n *Namespace) ownHandler(event string) EventHandler {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.handlers[event]
}

func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

// Sockets returns the namespace's sockets connected to this node.
func (n *Namespace) Sockets() []*Socket { return n.adapter.LocalSockets() }

// Len returns the number of sockets connected to this node.
func (n *Namespace) Len() int { return n.adapter.Len() }

// To selects rooms to broadcast to (union of rooms, no duplicates).
func (n *Namespace) To(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).To(rooms...)
}

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.To(rooms...) }

// Except excludes rooms from a broadcast.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).Except(rooms...)
}

// Emit broadcasts an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return (&BroadcastOperator{nsp: n}).Emit(event, args...)
}

// EmitWithAck broadcasts to every socket and collects acknowledgements.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return (&BroadcastOperator{nsp: n}).EmitWithAck(ctx, event, args...)
}

// connect admits a client to the namespace: a new socket, or a recovered
// one, through the connection middlewares, then the connection handlers.
// auth is the CONNECT packet's payload.
func (n *Namespace) connect(c *client, auth []byte) {
	s := n.newSocket(c, auth)
	var ss *session
	var seq uint64
	if n.rec != nil && !c.legacy {
		ss, seq = n.rec.prepare(s, auth)
	}
	mws, fns := n.connectHooks()
	if s.recovered && !n.rec.opts.RunMiddlewares {
		mws = nil
	}
	for _, m := range mws {
		if err := runMiddleware(m, s); err != nil {
			n.refuse(s, err)
			return
		}
	}
	s.connected = true // before c.add publishes s to other goroutines
	if s.recovered {
		n.connectRecovered(s, ss, seq, fns, auth)
		return
	}
	if !c.add(s) {
		s.end(ReasonTransportClose)
		return
	}
	n.adapter.AddSocket(s)
	if n.rec != nil && n.rec.store != nil {
		n.rec.keep(s)
	}
	// Alone: what the connection handlers emit right away reaches the
	// client in a later read, as from the Node server (see SendAlone).
	if err := c.conn.SendAlone(c.encodeControl(PacketConnect, n.name, connectPayload(s))); err != nil {
		s.onClose(ReasonServerNamespaceDisconnect)
		return
	}
	n.connected(s, fns)
}

// newSocket returns the socket of c on n, not yet connected.
func (n *Namespace) newSocket(c *client, auth []byte) *Socket {
	id := newSocketID()
	if c.legacy {
		id = legacySocketID(n.name, c.conn.ID())
	}
	return &Socket{
		id:        id,
		nsp:       n,
		client:    c,
		handshake: newHandshake(c.conn.Handshake(), auth),
		events:    n.srv.opts.Limits.newEventLimiter(),
	}
}

// refuse answers a connection a middleware refused with err.
func (n *Namespace) refuse(s *Socket, err error) {
	c := s.client
	payload := connectErrorPayload(err)
	if c.legacy {
		payload = legacyConnectErrorPayload(err)
	}
	_ = c.conn.Send(false, c.encodeControl(PacketConnectError, n.name, payload))
	s.end(ReasonServerNamespaceDisconnect) // for a Context the middleware asked for
	if ce := (*ConnectError)(nil); errors.As(err, &ce) && ce.CloseConnection {
		c.close(ReasonServerNamespaceDisconnect) // the engine sends the error first
	}
}

// connectPayload is the CONNECT reply's payload: the socket's id, and its
// private id when it can be recovered; none for a socket.io-client 2.x
// client (protocol v4).
func connectPayload(s *Socket) []byte {
	if s.client.legacy {
		return nil
	}
	payload := make([]byte, 0, 32)
	payload = append(payload, `{"sid":`...)
	payload = appendJSONString(payload, s.id)
	if s.pid != "" {
		payload = append(payload, `,"pid":`...)
		payload = appendJSONString(payload, s.pid)
	}
	return append(payload, '}')
}

// connected counts, logs and reports a new socket, then runs the
// connection handlers fns.
func (n *Namespace) connected(s *Socket, fns []func(*Socket)) {
	n.counters().connects.Add(1)
	if log := n.srv.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("socketio: socket connected", "nsp", n.name, "transport", s.Transport(), "remote", s.handshake.Address, "id", s.id)
	}
	for _, o := range n.srv.observing() {
		o.SocketConnected(s)
	}
	for _, fn := range fns {
		callConnection(fn, s)
	}
}

func runMiddleware(m Middleware, s *Socket) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.log.Error("socketio: panic in middleware", "nsp", s.nsp.name, "remote", s.handshake.Address, "panic", v)
			err = &ConnectError{Message: "internal server error"}
		}
	}()
	return m(s)
}

func callConnection(fn func(*Socket), s *Socket) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.log.Error("socketio: panic in connection handler", "nsp", s.nsp.name, "remote", s.handshake.Address, "panic", v)
		}
	}()
	fn(s)
}

func (n *Namespace) remove(s *Socket) {
	n.adapter.RemoveSocket(s)
	n.cleanupIfEmpty()
}

func (n *Namespace) disconnected(s *Socket, reason DisconnectReason) {
	for _, fn := range n.disconnectHooks() {
		fn(s, reason)
	}
}
