package handlers

import "github.com/switchboard/switchboard/socketio"

// Bench is the benchmark application, identical to bench/node's server:
//   - "join"(room): the socket joins room;
//   - "bcast"(room, payload): to(room).emit("msg", payload), sender included
//     if it is in the room;
//   - "echo"(payload): emit("echo", payload) to the sender.
//
// Payloads are relayed as raw JSON, never decoded.
func Bench(n *socketio.Namespace) {
	n.On("join", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		ok := e.Decode(0, &room) == nil && s.Join(room) == nil
		if e.WantsAck() {
			_ = e.Ack(ok)
		}
	})
	n.On("bcast", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		if e.Decode(0, &room) != nil {
			return
		}
		_ = n.To(room).Emit("msg", e.Args.From(1))
	})
	n.On("echo", func(s *socketio.Socket, e *socketio.Event) {
		_ = s.Emit("echo", e.Args)
	})
}
