package socketio

// EventHandler handles one event from a socket.
type EventHandler func(s *Socket, e *Event)

// Middleware runs when a client connects to a namespace, before the
// connection is accepted. An error refuses the connection: the client gets
// a connect_error with the error's message (and Data, for *ConnectError).
type Middleware func(s *Socket) error

// On registers a namespace handler whose first argument is decoded into T.
// Events whose argument does not decode into T are dropped (and logged at
// debug level).
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
// fn's result is the acknowledgement's argument.
func OnAck[T, R any](n *Namespace, event string, fn func(s *Socket, arg T) R) {
	n.On(event, func(s *Socket, e *Event) {
		var v T
		if e.Len() > 0 {
			if err := e.Decode(0, &v); err != nil {
				n.srv.log.Debug("socketio: bad event argument", "nsp", n.name, "event", event, "err", err)
				if e.WantsAck() {
					_ = e.Ack(map[string]string{"error": "invalid argument"})
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
