package handlers

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// Conformance is the reference behaviour that the Socket.IO protocol test
// suite expects, plus a few events the interop tests use:
//   - on connection: emit "auth" with the handshake's auth payload;
//   - "message" is echoed as "message-back" with the same arguments;
//   - "message-with-ack" is acknowledged with its arguments;
//   - "join"(room) joins and acks true; "to-room"(room, ...args)
//     broadcasts "room-message" with args to the room's other members;
//   - "request-ack" makes the server emit "server-ack-request" with an
//     acknowledgement, then "server-ack-result" with the client's answer;
//   - a connection whose auth has a "reject" string is refused with it as
//     the CONNECT_ERROR message;
//   - "handshake" is acknowledged with the socket's handshake data:
//     {auth, query (first values), headers (lower-case names, first values)};
//   - "set-data"(value) makes value the socket's data and acks true;
//     "whoami" is acknowledged with {id, rooms, data}: the load-balancer
//     tests check with them what connection state recovery restored.
func Conformance(n *socketio.Namespace) {
	n.Use(func(s *socketio.Socket) error {
		var auth struct {
			Reject string `json:"reject"`
		}
		if s.Handshake().AuthInto(&auth) == nil && auth.Reject != "" {
			return &socketio.ConnectError{Message: auth.Reject}
		}
		return nil
	})
	n.OnConnection(func(s *socketio.Socket) {
		auth := s.Handshake().Auth
		if len(auth) == 0 {
			auth = json.RawMessage("{}")
		}
		_ = s.Emit("auth", auth)
	})
	n.On("message", func(s *socketio.Socket, e *socketio.Event) {
		_ = s.Emit("message-back", e.Args)
	})
	n.On("handshake", func(s *socketio.Socket, e *socketio.Event) {
		hs := s.Handshake()
		auth := hs.Auth
		if len(auth) == 0 {
			auth = json.RawMessage("{}")
		}
		query := make(map[string]string, len(hs.Query))
		for k, v := range hs.Query {
			query[k] = v[0]
		}
		headers := make(map[string]string, len(hs.Headers))
		for k, v := range hs.Headers {
			headers[strings.ToLower(k)] = v[0]
		}
		_ = e.Ack(map[string]any{"auth": auth, "query": query, "headers": headers})
	})
	n.On("message-with-ack", func(s *socketio.Socket, e *socketio.Event) {
		_ = e.Ack(e.Args)
	})
	n.On("join", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		if err := e.Decode(0, &room); err != nil || room == "" {
			_ = e.Ack(false)
			return
		}
		_ = e.Ack(s.Join(room) == nil) // false past limits.max_rooms_per_socket
	})
	n.On("to-room", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		if err := e.Decode(0, &room); err != nil {
			return
		}
		_ = s.To(room).Emit("room-message", e.Args.From(1))
	})
	n.On("set-data", func(s *socketio.Socket, e *socketio.Event) {
		var data any
		if err := e.Decode(0, &data); err != nil {
			_ = e.Ack(false)
			return
		}
		s.SetData(data)
		_ = e.Ack(true)
	})
	n.On("whoami", func(s *socketio.Socket, e *socketio.Event) {
		_ = e.Ack(map[string]any{"id": s.ID(), "rooms": s.Rooms(), "data": s.Data()})
	})
	n.On("request-ack", func(s *socketio.Socket, e *socketio.Event) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "server-ack-request", e.Args)
			if err != nil {
				_ = s.Emit("server-ack-result", map[string]string{"error": err.Error()})
				return
			}
			_ = s.Emit("server-ack-result", answer)
		}()
	})
}
