package socketio

// EventHandler handles one event from a socket.
type EventHandler func(s *Socket, e *Event)

// Middleware runs when a client connects to a namespace, before the
// connection is accepted. An error refuses the connection: the client gets
// a connect_error with the error's message (and Data, for *ConnectError).
type Middleware func(s *Socket) error

// On registers a namespace handler whose first argument is decoded into T
// (a missing argument leaves T's zero value; further ones are ignored).
// An event whose argument does not decode into T is dropped, logged at
// debug level. On never acknowledges: use OnAck or Typed for events the
// client emits with a callback. For several arguments, a context.Context
// or an error result, see Typed.
func On[T any](n *Namespace, event string, fn func(s *Socket, arg T)) {
	n.On(event, func(s *Socket, e *Event) {
		var v T
		if e.Len() > 0 {
			if err := e.Decode(0, &v); err != nil {
				n.srv.log.Debug("socketio: bad event argument", "nsp", n.name, "event", event, "err", err)
				return
			}
		}
		fn(s, v)
	})
}

// OnAck is On for events the client emits with an acknowledgement callback:
// fn's result is the acknowledgement's argument. An argument that does not
// decode into T is answered {"error":"invalid argument"} without calling
// fn. For a result with an error, see Typed.
func OnAck[T, R any](n *Namespace, event string, fn func(s *Socket, arg T) R) {
	n.On(event, func(s *Socket, e *Event) {
		var v T
		if e.Len() > 0 {
			if err := e.Decode(0, &v); err != nil {
				n.srv.log.Debug("socketio: bad event argument", "nsp", n.name, "event", event, "err", err)
				if e.WantsAck() {
					_ = e.Ack(errAckInvalidArgument)
				}
				return
			}
		}
		r := fn(s, v)
		if e.WantsAck() {
			_ = e.Ack(r)
		}
	})
}

// errAckInvalidArgument answers an event whose argument On or OnAck could
// not decode.
var errAckInvalidArgument = map[string]string{"error": "invalid argument"}
