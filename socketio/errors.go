package socketio

import (
	"encoding/json"
	"errors"
)

// ConnectError refuses a connection from a middleware. The client's
// connect_error handler receives an Error whose message is Message and whose
// `data` property is Data.
type ConnectError struct {
	Message string
	Data    any
	// CloseConnection closes the client's connection once the error is
	// sent, with every namespace on it: for a client that must not retry
	// on the same connection (such as a login over its attempt limit).
	CloseConnection bool
}

func (e *ConnectError) Error() string { return e.Message }

func connectErrorPayload(err error) []byte {
	var ce *ConnectError
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	if errors.As(err, &ce) {
		body.Data = ce.Data
	}
	b, _ := json.Marshal(body)
	return b
}

// Errors returned by emits.
var (
	// ErrDisconnected: the socket is not (or no longer) connected.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrNoAck: the event was emitted without a request for acknowledgement.
	ErrNoAck = errors.New("socketio: no acknowledgement requested")
	// ErrAcked: the event has already been acknowledged.
	ErrAcked = errors.New("socketio: already acknowledged")
)

// Disconnect reasons, as the reference server names them.
const (
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonParseError                = "parse error"
	// Transport-level reasons come from engineio.CloseReason:
	// "transport close", "transport error", "ping timeout", "forced close".
)
