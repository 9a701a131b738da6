package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Handshake and request errors, with the codes the spec defines for the
// JSON body of an HTTP 400 answer.
type requestError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	status  int
	limit   Limit // the limit that refused the request, if one did
}

var (
	errUnknownTransport = &requestError{Code: 0, Message: "Transport unknown", status: http.StatusBadRequest}
	errUnknownSID       = &requestError{Code: 1, Message: "Session ID unknown", status: http.StatusBadRequest}
	// errForward: the session is not held here; the Forwarder may know
	// its owner. Never written to a client (errUnknownSID is, if the
	// Forwarder cannot serve the request).
	errForward            = &requestError{Code: 1, Message: "Session ID unknown", status: http.StatusBadRequest}
	errBadHandshakeMethod = &requestError{Code: 2, Message: "Bad handshake method", status: http.StatusBadRequest}
	errBadRequest         = &requestError{Code: 3, Message: "Bad request", status: http.StatusBadRequest}
	errForbidden          = &requestError{Code: 4, Message: "Forbidden", status: http.StatusForbidden}
	errUnsupportedVersion = &requestError{Code: 5, Message: "Unsupported protocol version", status: http.StatusBadRequest}
	// A refusal by policy, like Forbidden, but temporary: clients retry.
	errShuttingDown = &requestError{Code: 4, Message: "Server shutting down", status: http.StatusServiceUnavailable}
	// A polling body not complete within Options.BodyTimeout.
	errBodyTimeout = &requestError{Code: 3, Message: "Bad request", status: http.StatusRequestTimeout, limit: LimitBodyTimeout}
)

func (e *requestError) Error() string { return e.Message }

func writeRequestError(w http.ResponseWriter, e *requestError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

// CloseReason says why a session ended. The strings are those of the
// reference implementation, so the Socket.IO layer can pass them on as
// disconnect reasons unchanged.
type CloseReason string

// Close reasons.
const (
	// ReasonTransportClose: the client closed the connection or the
	// transport went away (TCP closed, close packet, WebSocket close).
	ReasonTransportClose CloseReason = "transport close"
	// ReasonTransportError: the transport failed (write error, overlapping
	// polling requests, a send queue over its limit).
	ReasonTransportError CloseReason = "transport error"
	// ReasonPingTimeout: no pong within pingTimeout after a ping.
	ReasonPingTimeout CloseReason = "ping timeout"
	// ReasonParseError: the client sent something that is not Engine.IO.
	ReasonParseError CloseReason = "parse error"
	// ReasonForcedClose: the server closed the session (Session.Close).
	ReasonForcedClose CloseReason = "forced close"
	// ReasonServerShutdown: the server is shutting down.
	ReasonServerShutdown CloseReason = "server shutting down"
)

// Errors returned by Session.Send.
var (
	// ErrClosed: the session is closed; nothing was queued.
	ErrClosed = errors.New("engineio: session closed")
	// ErrDropped: a volatile send was dropped because the transport was busy.
	ErrDropped = errors.New("engineio: volatile message dropped")
	// ErrQueueFull: the session's send queue went over MaxBufferedBytes; the
	// session has been closed (a client that does not read cannot be allowed
	// to hold unbounded memory).
	ErrQueueFull = errors.New("engineio: send queue full")
)

var (
	errInvalidPacket = errors.New("engineio: invalid packet")
	errPayloadTooBig = errors.New("engineio: payload too large")
)
