package socketio

import "context"

// Adapter stores a namespace's rooms and delivers its broadcasts. The
// in-memory adapter serves one node; a cluster adapter (such as package
// socketio/redisadapter) also forwards broadcasts and the operations on
// sockets to the other nodes. A cluster adapter usually embeds the
// *MemoryAdapter that NewMemoryAdapter builds for its namespace, for the
// local part.
//
// Options whose Local flag is set must act on this node only.
type Adapter interface {
	// AddSocket registers a connected socket (in its own room).
	AddSocket(s *Socket)
	// RemoveSocket removes a socket from all its rooms.
	RemoveSocket(s *Socket)
	Join(s *Socket, rooms ...string)
	Leave(s *Socket, room string)
	// SocketRooms lists a socket's rooms, its own id included.
	SocketRooms(s *Socket) []string
	// Rooms lists the local rooms that have members (socket-id rooms
	// excluded).
	Rooms() []string
	// RoomSize returns the number of local members of a room.
	RoomSize(room string) int
	LocalSockets() []*Socket
	Len() int
	// Apply calls fn for each local socket selected by opts.
	Apply(opts *BroadcastOptions, fn func(*Socket))
	// Broadcast delivers p to the sockets selected by opts.
	Broadcast(p *Packet, opts *BroadcastOptions) error
	// BroadcastWithAck is Broadcast with an acknowledgement request
	// (p.AckID() is set): each node that delivers p calls onCount once
	// with its number of recipients, and onAck runs for each answer.
	// It returns the number of nodes expected to call onCount (1 for a
	// single node), so that the caller knows when all have answered.
	BroadcastWithAck(p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) (nodes int, err error)
	// FetchSockets describes the sockets selected by opts on every node.
	FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the selected sockets join rooms, on every node.
	AddSockets(opts *BroadcastOptions, rooms []string) error
	// DelSockets makes the selected sockets leave rooms, on every node.
	DelSockets(opts *BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the selected sockets, on every node.
	DisconnectSockets(opts *BroadcastOptions, closeConn bool) error
	// AllRooms lists the rooms of every node.
	AllRooms(ctx context.Context) ([]string, error)
	// ServerSideEmit sends an event to the other nodes' namespaces (see
	// Namespace.OnServerSideEmit). With wantAck it waits for one answer
	// per other node, or for ctx.
	ServerSideEmit(ctx context.Context, p *Packet, wantAck bool) ([]Args, error)
	Close() error
}
