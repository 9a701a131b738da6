// Package socketio implements a Socket.IO server (protocol v5, as spoken by
// socket.io-client 3.x and 4.x) on top of package engineio.
//
// A Server holds Namespaces; clients connect to namespaces, join Rooms, and
// exchange named events with arguments, acknowledgements and binary
// attachments. Broadcasts go through an Adapter (in memory here; package
// socketio/redisadapter spreads them over several nodes, compatible with
// Node's @socket.io/redis-adapter) and are encoded once whatever the
// number of recipients. FetchSockets, SocketsJoin, SocketsLeave,
// DisconnectSockets and ServerSideEmit reach every node through the
// adapter too.
//
// Handlers are registered per namespace, so an idle socket carries no
// handler table:
//
//	chat := srv.Of("/chat")
//	socketio.On(chat, "message", func(s *socketio.Socket, text string) {
//		s.Broadcast().Emit("message", text)
//	})
//
// # Handlers
//
// An EventHandler gets the socket and the raw Event (Args, kept as JSON
// until decoded, and Ack). On and OnAck decode a single argument into a Go
// type; Typed (and Handle) take any number of typed arguments, an optional
// context.Context that ends when the socket disconnects (Socket.Context),
// and answer the client's acknowledgement with an R, an error, or both:
//
//	socketio.Handle(chat, "rename", func(ctx context.Context, s *socketio.Socket, from, to string) (int, error) {...})
//
// A handler's error reaches the client's acknowledgement as
// {"message": "..."} (AckError adds data), the shape of every error ack
// the server sends: {"message":"rate limit exceeded"} for an event over
// Limits.EventsPerSecond, {"message":"internal server error"} after a
// panic. An argument that does not decode is logged at debug level and the
// handler is not called; a client that asked for an acknowledgement is
// answered {"error":"invalid argument"} by OnAck (its historical shape)
// and {"message":"invalid argument"} by Typed; On, which never
// acknowledges, just drops the event.
//
// A client's packets are handled one at a time, in order, on one
// goroutine: a handler that blocks holds up that client (only). In
// particular Socket.EmitWithAck, called from a handler of the same client,
// cannot receive the answer before it returns and waits out its context;
// use Socket.EmitWithAckFunc there, or a goroutine.
//
// Disconnect handlers (Namespace.OnDisconnect, Socket.OnDisconnect) get a
// DisconnectReason: Node's reason strings, typed.
//
// # Serving the client
//
// Mounted at its path (usually "/socket.io/"), a Server also serves the
// socket.io-client browser bundles, as Node's serveClient does:
// <script src="/socket.io/socket.io.min.js"> works with no other setup
// (see Options.DisableServeClient and package socketio/clientbundle).
//
// # Older clients
//
// Protocol v4 (socket.io-client 2.x, over Engine.IO v3) is served too when
// Options.Engine.AllowEIO3 is set. It differs from v5 only around
// connecting: the server connects the client to "/" as soon as the session
// opens; a CONNECT to another namespace carries its auth as a query string
// ("/chat?token=x"); the socket id is the session id ("/chat#<sid>" outside
// "/"); a CONNECT_ERROR carries the error's data or its message. Events,
// acknowledgements and binary attachments are the same, so one broadcast
// is encoded once for both generations.
//
// # Connection state recovery
//
// Options.ConnectionStateRecovery (off by default, as in Node) gives a
// client whose connection was cut its socket back, with the packets it
// missed: each broadcast or Emit without acknowledgement (and not
// volatile) is logged with an offset, sent as an extra last argument that
// socket.io-client 4.6+ remembers and sends back, with its session id,
// when it reconnects within the window. The log is per namespace and node, in memory, bounded; see
// RecoveryOptions. A cluster adapter that implements SessionStore (package
// socketio/redisstreams) keeps sessions and log in Redis instead, so that
// a client recovers on any node.
//
// # Wire format
//
// Options.Parser selects the wire format for every client: socket.io-parser's
// JSON (the default) or socket.io-msgpack-parser's MessagePack (ParserMsgPack:
// one binary message per packet, binary arguments inline). Handlers see the
// same Args either way.
//
// # Node's API, in Go
//
//	Node (socket.io 4)                            Switchboard (package socketio)
//	new Server(httpServer, opts)                  srv := NewServer(&Options{...}); mux.Handle("/socket.io/", srv)
//	serveClient: false                            Options{DisableServeClient: true}
//	io.use((socket, next) => ...)                 srv.Use(func(s *Socket) error {...})
//	next(new Error("msg")) with err.data          return &ConnectError{Message: "msg", Data: ...}
//	io.on("connection", socket => ...)            srv.OnConnection(func(s *Socket) {...})
//	io.of("/chat"), io.of(/^\/room-\d+$/)         srv.Of("/chat"), srv.OfRegexp(regexp.MustCompile(...))
//	socket.on("ev", (a, b, cb) => cb(r))          Handle(n, "ev", func(s *Socket, a A, b B) R {...})
//	socket.on("disconnect", reason => ...)        s.OnDisconnect(func(r DisconnectReason) {...})
//	(events no listener takes)                    n.OnUnhandled(func(s *Socket, e *Event) {...})
//	socket.emit("ev", ...args)                    s.Emit("ev", args...)
//	await socket.timeout(ms).emitWithAck("ev")    s.EmitWithAck(ctx, "ev")            // ErrAckTimeout
//	socket.timeout(ms).emit("ev", (err, r) => {}) s.EmitWithAckFunc(ctx, "ev", func(r Args, err error) {...})
//	socket.join(["a", "b"]), socket.leave("a")    s.Join("a", "b"), s.Leave("a")
//	socket.to("room").emit(...)                   s.To("room").Emit(...)
//	socket.broadcast.emit(...)                    s.Broadcast().Emit(...)
//	socket.data, socket.handshake                 s.Data()/s.SetData(v), s.Handshake()
//	socket.disconnect(true)                       s.Disconnect(true)
//	io.emit(...), io.to("r").except("x").emit()   srv.Emit(...), srv.To("r").Except("x").Emit(...)
//	io.volatile.emit(...), io.local.emit(...)     srv.To(...).Volatile().Emit(...), ....Local().Emit(...)
//	await io.timeout(ms).emitWithAck("ev")        srv.EmitWithAck(ctx, "ev")          // one Args per client
//	await io.fetchSockets()                       srv.FetchSockets(ctx)
//	io.socketsJoin("r"), io.disconnectSockets()   srv.SocketsJoin("r"), srv.DisconnectSockets(false)
//	io.serverSideEmit("ev", ...)                  srv.ServerSideEmit("ev", ...)
//	createAdapter(redisClient, ...)               c, _ := redisadapter.New(...); Options{NewAdapter: c.NewAdapter}
//	connectionStateRecovery: {...}                Options{ConnectionStateRecovery: &RecoveryOptions{...}}
//	parser: require("socket.io-msgpack-parser")   Options{Parser: ParserMsgPack}
//	io.close()                                    srv.Close(ctx)
//
// Spec: https://github.com/socketio/socket.io-protocol (v5).
package socketio
