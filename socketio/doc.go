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
// Protocol v4 (socket.io-client 2.x, over Engine.IO v3) is served too when
// Options.Engine.AllowEIO3 is set; see legacy.go.
//
// Connection state recovery (Options.ConnectionStateRecovery, off by
// default) gives a client whose connection was cut its socket back, with
// the packets it missed; see RecoveryOptions and recovery.go.
//
// Options.Parser selects the wire format for every client: socket.io-parser's
// JSON (the default) or socket.io-msgpack-parser's MessagePack (see
// parser_msgpack.go). Handlers see the same Args either way.
//
// Spec: https://github.com/socketio/socket.io-protocol (v5).
package socketio
