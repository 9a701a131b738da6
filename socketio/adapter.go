package socketio

// Adapter stores a namespace's rooms and delivers its broadcasts. The
// in-memory adapter serves one node; a multi-node adapter also forwards
// broadcasts to the other nodes.
type Adapter interface {
	// AddSocket registers a connected socket (in its own room).
	AddSocket(s *Socket)
	// RemoveSocket removes a socket from all its rooms.
	RemoveSocket(s *Socket)
	Join(s *Socket, rooms ...string)
	Leave(s *Socket, room string)
	// SocketRooms lists a socket's rooms, its own id included.
	SocketRooms(s *Socket) []string
	// Rooms lists the rooms that have members (socket-id rooms excluded).
	Rooms() []string
	// RoomSize returns the number of local members of a room.
	RoomSize(room string) int
	LocalSockets() []*Socket
	Len() int
	// Apply calls fn for each local socket selected by opts.
	Apply(opts *BroadcastOptions, fn func(*Socket))
	// Broadcast delivers p to the sockets selected by opts.
	Broadcast(p *outPacket, opts *BroadcastOptions) error
	// BroadcastWithAck is Broadcast with an acknowledgement request:
	// onCount gets the number of recipients, onAck each answer.
	BroadcastWithAck(p *outPacket, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) error
	Close() error
}
