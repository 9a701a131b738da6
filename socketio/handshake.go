package socketio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Handshake is what a client sent when it connected to a namespace, as in
// the reference server's socket.handshake.
type Handshake struct {
	// Auth is the CONNECT packet's payload (the client's `auth` option),
	// or nil. Decode it with AuthInto.
	Auth json.RawMessage
	// Query is the handshake request's query string (the client's `query`
	// option, with EIO, transport and t among them).
	Query url.Values
	// Headers are the handshake request's HTTP headers.
	Headers http.Header
	// Address is the client's remote address (host:port).
	Address string
	// Time is when the Engine.IO session was opened.
	Time time.Time
	// Secure reports whether the handshake came over TLS to this server
	// (false behind a proxy that terminates TLS).
	Secure bool
	// URL is the handshake request's URL (path and query).
	URL string
}

// AuthInto decodes the auth payload into dst. A missing payload leaves dst
// unchanged.
func (h *Handshake) AuthInto(dst any) error {
	if len(h.Auth) == 0 {
		return nil
	}
	return json.Unmarshal(h.Auth, dst)
}
