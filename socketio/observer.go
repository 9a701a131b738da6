package socketio

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Observer is told what happens to sockets across all namespaces: what a
// monitoring tool such as the Socket.IO Admin UI shows. Register one with
// Server.Observe while it is needed; with none registered, each hook costs
// the server one atomic load.
//
// The methods are called synchronously, from the goroutine doing the work
// (a client's reader, an event handler, a broadcaster) and outside the
// server's locks. They must be quick and must not block; they may emit.
type Observer interface {
	// SocketConnected: s has been accepted in its namespace.
	SocketConnected(s *Socket)
	// SocketDisconnected: s has left its namespace (and its rooms).
	SocketDisconnected(s *Socket, reason DisconnectReason)
	// TransportUpgraded: s's connection moved to WebSocket.
	TransportUpgraded(s *Socket)
	// RoomJoined and RoomLeft report membership changes (the socket's own
	// room excepted). When a socket disconnects, RoomLeft is called for
	// each of its rooms before SocketDisconnected.
	RoomJoined(s *Socket, room string)
	RoomLeft(s *Socket, room string)
	// EventReceived: s sent an event. args are the raw arguments.
	EventReceived(s *Socket, event string, args Args)
	// EventSent: an event was emitted to s, directly or by a broadcast.
	EventSent(s *Socket, event string, args []any)
}

type observers struct {
	mu   sync.Mutex // serializes Observe and its stop functions
	list atomic.Pointer[[]Observer]
}

// Observe registers o and returns the function that unregisters it.
func (s *Server) Observe(o Observer) (stop func()) {
	s.obs.mu.Lock()
	var list []Observer
	if p := s.obs.list.Load(); p != nil {
		list = slices.Clone(*p)
	}
	list = append(list, o)
	s.obs.list.Store(&list)
	s.obs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.obs.mu.Lock()
			defer s.obs.mu.Unlock()
			p := s.obs.list.Load()
			if p == nil {
				return
			}
			list := slices.Clone(*p)
			if i := slices.Index(list, o); i >= 0 {
				list = slices.Delete(list, i, i+1)
			}
			if len(list) == 0 {
				s.obs.list.Store(nil)
			} else {
				s.obs.list.Store(&list)
			}
		})
	}
}

// observing returns the registered observers, or nil: one atomic load.
func (s *Server) observing() []Observer {
	if p := s.obs.list.Load(); p != nil {
		return *p
	}
	return nil
}

// ConnectionID returns the id of the socket's underlying Engine.IO
// connection, shared by its sockets in other namespaces. It is the
// session id of the transport: show it only to trusted eyes, and only
// partly (the Admin UI shows 12 characters).
func (s *Socket) ConnectionID() string { return s.client.conn.ID() }
