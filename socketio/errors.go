package socketio

import (
	"encoding/json"
	"errors"

	"github.com/switchboard/switchboard/engineio"
)

// ConnectError refuses a connection from a middleware. The client's
// connect_error handler receives an Error whose message is Message and whose
// `data` property is Data.
type ConnectError struct {
	// Message becomes the client's err.message.
	Message string
	// Data, encoded as JSON, becomes the client's err.data (left out when
	// nil).
	Data any
	// CloseConnection closes the client's connection once the error is
	// sent, with every namespace on it: for a client that must not retry
	// on the same connection (such as a login over its attempt limit).
	CloseConnection bool
}

// Error returns Message.
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

// DisconnectReason says why a socket left its namespace. The values are the
// strings of Node's DisconnectReason, which clients and logs know: compare
// with the Reason constants, or print it.
type DisconnectReason string

// Disconnect reasons, as the reference server names them.
const (
	// ReasonTransportClose: the connection was closed (the user left the
	// page, the network went down, the client closed its transport).
	ReasonTransportClose = DisconnectReason(engineio.ReasonTransportClose)
	// ReasonTransportError: the connection failed (a read or write error).
	ReasonTransportError = DisconnectReason(engineio.ReasonTransportError)
	// ReasonPingTimeout: the client stopped answering the heartbeat.
	ReasonPingTimeout = DisconnectReason(engineio.ReasonPingTimeout)
	// ReasonForcedClose: the Engine.IO session was closed by the server
	// (engineio.Session.Close, a limit, an idle connection that joined no
	// namespace).
	ReasonForcedClose = DisconnectReason(engineio.ReasonForcedClose)
	// ReasonForcedServerClose is Node's reason when its server closes a
	// client's connection on its own; Switchboard reports the more precise
	// ReasonParseError or ReasonServerNamespaceDisconnect in those cases,
	// but treats this one like Node (it is recoverable) if it comes from
	// elsewhere, such as a cluster peer.
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonServerShuttingDown: Server.Close.
	ReasonServerShuttingDown = DisconnectReason(engineio.ReasonServerShutdown)
	// ReasonServerNamespaceDisconnect: the server disconnected the socket
	// (Socket.Disconnect, DisconnectSockets, a middleware's refusal with
	// CloseConnection). The client does not reconnect by itself.
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	// ReasonClientNamespaceDisconnect: the client called socket.disconnect().
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonParseError: the client sent a packet the server could not
	// decode or that made no sense in the connection's state; the whole
	// connection is closed.
	ReasonParseError = DisconnectReason(engineio.ReasonParseError)
)

// String returns the reason as Node writes it.
func (r DisconnectReason) String() string { return string(r) }

// Recoverable reports whether a socket that disconnected for this reason
// may get its session back with connection state recovery (see
// RecoveryOptions): the connection was lost, the client did not leave and
// was not sent away. It is Node's RECOVERABLE_DISCONNECT_REASONS.
func (r DisconnectReason) Recoverable() bool { return recoverableReasons[string(r)] }
