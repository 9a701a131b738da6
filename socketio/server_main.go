package socketio

import "context"

// Shortcuts for the main namespace, "/", as the reference's io.emit,
// io.to(room).emit, io.use, io.on("connection") and io.fetchSockets: each
// is the same call on Of("/").

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.Of("/").Use(m) }

// OnConnection registers a connection handler on the main namespace.
func (s *Server) OnConnection(fn func(*Socket)) { s.Of("/").OnConnection(fn) }

// On registers an event handler on the main namespace.
func (s *Server) On(event string, h EventHandler) { s.Of("/").On(event, h) }

// To selects rooms of the main namespace to broadcast to.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.Of("/").To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.Of("/").In(rooms...) }

// Except excludes rooms of the main namespace from a broadcast.
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.Of("/").Except(rooms...) }

// Emit broadcasts an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// EmitWithAck broadcasts to every socket of the main namespace and
// collects their acknowledgements.
func (s *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").EmitWithAck(ctx, event, args...)
}

// FetchSockets returns the main namespace's sockets, on every node.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.Of("/").FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace, on every node,
// join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.Of("/").SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace, on every node,
// leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.Of("/").SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace, on
// every node.
func (s *Server) DisconnectSockets(closeConn bool) error {
	return s.Of("/").DisconnectSockets(closeConn)
}

// ServerSideEmit sends an event to the main namespace of the other nodes.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.Of("/").ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck sends an event to the main namespace of the other
// nodes and returns one answer per node.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").ServerSideEmitWithAck(ctx, event, args...)
}

// OnServerSideEmit registers the handler of the other nodes' server-side
// event on the main namespace.
func (s *Server) OnServerSideEmit(event string, h ServerSideHandler) {
	s.Of("/").OnServerSideEmit(event, h)
}
