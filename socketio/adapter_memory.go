package socketio

import (
	"context"
	"slices"
	"sync"

	"github.com/switchboard/switchboard/engineio"
)

// MemoryAdapter is the single-node adapter, and the local part of cluster
// adapters (which embed it). A socket's own room (its id) is implicit: it
// costs no map entry.
type MemoryAdapter struct {
	mu          sync.RWMutex
	sockets     map[string]*Socket
	rooms       map[string]map[*Socket]struct{}
	socketRooms map[*Socket][]string // explicit rooms of each socket

	// encode gives a packet's frames in the server's wire format.
	encode func(*Packet) ([]*engineio.Message, error)
	// deliver is queue, wrapped by connection state recovery's log when
	// it is on (recovery.deliver). Both are set once, at construction.
	deliver deliverFunc
}

// A deliverFunc queues p on the sessions of the local sockets opts select,
// collecting them in b, which the caller flushes. It returns the frames it
// queued.
type deliverFunc func(p *Packet, opts *BroadcastOptions, b *engineio.Batch) ([]*engineio.Message, error)

// NewMemoryAdapter returns namespace n's in-memory adapter, empty. It
// encodes packets in the wire format of n's server (its Parser) and, when
// the server has connection state recovery on, logs the packets it
// delivers: a cluster adapter must build its local part with it, once per
// namespace, for recovery to work on its namespaces.
func NewMemoryAdapter(n *Namespace) *MemoryAdapter {
	a := &MemoryAdapter{
		sockets:     make(map[string]*Socket),
		rooms:       make(map[string]map[*Socket]struct{}),
		socketRooms: make(map[*Socket][]string),
		encode:      n.srv.opts.Parser.encoder(),
	}
	a.deliver = a.queue
	if n.rec != nil {
		a.deliver = n.rec.attach(a, a.queue)
	}
	return a
}

// AddSocket registers s. Its own room (its id) needs no entry: broadcasts
// to that room find the socket by id.
func (a *MemoryAdapter) AddSocket(s *Socket) {
	a.mu.Lock()
	a.sockets[s.id] = s
	a.mu.Unlock()
}

// RemoveSocket removes s from every room it is in.
func (a *MemoryAdapter) RemoveSocket(s *Socket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sockets[s.id] == s {
		delete(a.sockets, s.id)
	}
	for _, r := range a.socketRooms[s] {
		a.leaveLocked(s, r)
	}
	delete(a.socketRooms, s)
}

// Join adds s to rooms.
func (a *MemoryAdapter) Join(s *Socket, rooms ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sockets[s.id] != s {
		return // disconnected
	}
	for _, r := range rooms {
		if r == s.id {
			continue
		}
		m := a.rooms[r]
		if m == nil {
			m = make(map[*Socket]struct{})
			a.rooms[r] = m
		}
		if _, ok := m[s]; ok {
			continue
		}
		m[s] = struct{}{}
		a.socketRooms[s] = append(a.socketRooms[s], r)
	}
}

// Leave removes s from room.
func (a *MemoryAdapter) Leave(s *Socket, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rs := a.socketRooms[s]
	i := slices.Index(rs, room)
	if i < 0 {
		return
	}
	rs = slices.Delete(rs, i, i+1)
	if len(rs) == 0 {
		delete(a.socketRooms, s)
	} else {
		a.socketRooms[s] = rs
	}
	a.leaveLocked(s, room)
}

func (a *MemoryAdapter) leaveLocked(s *Socket, room string) {
	m := a.rooms[room]
	delete(m, s)
	if len(m) == 0 {
		delete(a.rooms, room)
	}
}

// SocketRooms returns the rooms s is in, its own room included.
func (a *MemoryAdapter) SocketRooms(s *Socket) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, 1+len(a.socketRooms[s]))
	out = append(out, s.id)
	return append(out, a.socketRooms[s]...)
}

// Rooms returns every room of the namespace that has a socket in it.
func (a *MemoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms))
	for r := range a.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// RoomSize returns the number of sockets in room.
func (a *MemoryAdapter) RoomSize(room string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	n := len(a.rooms[room])
	if s := a.sockets[room]; s != nil {
		if _, in := a.rooms[room][s]; !in {
			n++
		}
	}
	return n
}

// LocalSockets returns the namespace's sockets on this node.
func (a *MemoryAdapter) LocalSockets() []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Socket, 0, len(a.sockets))
	for _, s := range a.sockets {
		out = append(out, s)
	}
	return out
}

// Len returns the number of the namespace's sockets on this node.
func (a *MemoryAdapter) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.sockets)
}

// Apply calls fn for each selected socket, under the read lock: fn must not
// join, leave or disconnect.
func (a *MemoryAdapter) Apply(opts *BroadcastOptions, fn func(*Socket)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var except map[*Socket]struct{}
	if len(opts.Except) > 0 {
		except = make(map[*Socket]struct{})
		for _, r := range opts.Except {
			a.members(r, func(s *Socket) { except[s] = struct{}{} })
		}
	}
	send := fn
	if except != nil {
		send = func(s *Socket) {
			if _, skip := except[s]; !skip {
				fn(s)
			}
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for _, s := range a.sockets {
			send(s)
		}
	case 1:
		a.members(opts.Rooms[0], send)
	default:
		seen := make(map[*Socket]struct{})
		for _, r := range opts.Rooms {
			a.members(r, func(s *Socket) {
				if _, dup := seen[s]; !dup {
					seen[s] = struct{}{}
					send(s)
				}
			})
		}
	}
}

// members calls fn once for each member of room, including the socket whose
// own room it is.
func (a *MemoryAdapter) members(room string, fn func(*Socket)) {
	m := a.rooms[room]
	for s := range m {
		fn(s)
	}
	if s := a.sockets[room]; s != nil {
		if _, in := m[s]; !in {
			fn(s)
		}
	}
}

// Broadcast delivers p to the local sockets opts select: encoded once, in
// the server's wire format, queued on each recipient's session, then
// written by the engine's writers (see Batch).
func (a *MemoryAdapter) Broadcast(p *Packet, opts *BroadcastOptions) error {
	b := engineio.NewBatch()
	_, err := a.deliver(p, opts, b)
	b.Flush()
	return err
}

// queue is the deliverFunc of the adapter itself.
func (a *MemoryAdapter) queue(p *Packet, opts *BroadcastOptions, b *engineio.Batch) ([]*engineio.Message, error) {
	msgs, err := a.encode(p)
	if err != nil {
		return nil, err
	}
	a.Apply(opts, func(s *Socket) {
		_ = b.Post(s.client.conn, opts.Volatile, msgs...)
	})
	return msgs, nil
}

// BroadcastWithAck delivers p to the local sockets; it returns 1 node.
func (a *MemoryAdapter) BroadcastWithAck(p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) (int, error) {
	msgs, err := a.encode(p)
	if err != nil {
		return 0, err
	}
	n := 0
	b := engineio.NewBatch()
	a.Apply(opts, func(s *Socket) {
		if s.addAck(p.id, onAck) && b.Post(s.client.conn, opts.Volatile, msgs...) == nil {
			n++
		} else {
			s.removeAck(p.id)
		}
	})
	b.Flush()
	onCount(n)
	return 1, nil
}

// selected returns the local sockets opts select, collected first so that
// the caller can join, leave or disconnect them (Apply holds the lock).
func (a *MemoryAdapter) selected(opts *BroadcastOptions) []*Socket {
	var out []*Socket
	a.Apply(opts, func(s *Socket) { out = append(out, s) })
	return out
}

// FetchSockets describes the selected local sockets.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts *BroadcastOptions) ([]*RemoteSocket, error) {
	socks := a.selected(opts)
	out := make([]*RemoteSocket, len(socks))
	for i, s := range socks {
		out[i] = s.describe()
	}
	return out, nil
}

// AddSockets makes the selected local sockets join rooms.
func (a *MemoryAdapter) AddSockets(opts *BroadcastOptions, rooms []string) error {
	for _, s := range a.selected(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets makes the selected local sockets leave rooms.
func (a *MemoryAdapter) DelSockets(opts *BroadcastOptions, rooms []string) error {
	for _, s := range a.selected(opts) {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	return nil
}

// DisconnectSockets disconnects the selected local sockets.
func (a *MemoryAdapter) DisconnectSockets(opts *BroadcastOptions, closeConn bool) error {
	for _, s := range a.selected(opts) {
		s.Disconnect(closeConn)
	}
	return nil
}

// AllRooms returns Rooms: there is no other node.
func (a *MemoryAdapter) AllRooms(context.Context) ([]string, error) { return a.Rooms(), nil }

// ServerSideEmit does nothing: there is no other node.
func (a *MemoryAdapter) ServerSideEmit(context.Context, *Packet, bool) ([]Args, error) {
	return nil, nil
}

// Close does nothing: a memory adapter holds no connection.
func (a *MemoryAdapter) Close() error { return nil }
