// Package engineio implements the server side of the Engine.IO protocol,
// revision 4 (the transport under Socket.IO v3 and v4 clients).
//
// A Server accepts sessions over HTTP long-polling and WebSocket, upgrades
// polling sessions to WebSocket, keeps them alive with heartbeats and hands
// every message to a SessionHandler. Outgoing data is queued per session as
// immutable, pre-encoded Messages, so that one Message can be written to any
// number of sessions without being encoded again: this is what makes a
// broadcast cost one encoding plus one memcpy-and-write per recipient.
//
// Session.Send writes from the caller's goroutine, with one non-blocking
// system call, when nothing is queued for the client; Session.Post and a
// Batch leave the writing to a small pool of writer goroutines, which send
// what piled up for a client in one system call. Either way a slow client
// never holds up the sender: what its socket does not take waits in its
// queue, up to Options.MaxBufferedBytes.
//
// Revision 3 (socket.io-client 2.x) is accepted with Options.AllowEIO3; it
// differs in heartbeat direction (the client pings), polling payload
// format (length-prefixed packets, binary ones as base64 or in a binary
// payload) and binary WebSocket framing (a type byte before the data), all
// decided once per session.
//
// Options.PerMessageDeflate negotiates WebSocket compression (RFC 7692)
// without context takeover either way, so that a Message's compressed frame
// is made once and shared like its plain one: no compressor is kept per
// connection, at the price of a somewhat worse ratio on small messages;
// Options.HTTPCompression gzip- or deflate-encodes polling responses.
//
// WebTransport (HTTP/3 over QUIC), the reference's third transport, is
// served by an HTTP/3 server of its own on a UDP port:
// Server.WebTransportServer makes one, and Options.WebTransport makes
// polling sessions offer the upgrade to it. A session's stream is served by
// the WebSocket code, with the same queue, writers and limits:
//
//	srv := engineio.NewServer(accept, &engineio.Options{WebTransport: true})
//	wts := srv.WebTransportServer(":8080", "/engine.io/", tlsConfig) // UDP
//	go wts.ListenAndServe()
//	http.ListenAndServe(":8080", srv) // TCP, same port number
//
// To shut down, call Server.Close, then the http.Server's Shutdown (the
// Close documentation says why in that order).
//
// Spec: https://github.com/socketio/engine.io-protocol (v4).
package engineio
