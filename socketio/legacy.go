package socketio

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Socket.IO protocol v4, spoken by socket.io-client 2.x over Engine.IO v3.
// It differs from v5 only around connecting, as the reference server's
// `conn.protocol === 3` paths show:
//
//   - the server connects the client to "/" as soon as the Engine.IO
//     session opens (the client never asks);
//   - a CONNECT for another namespace carries no payload, but may carry a
//     query string in the namespace ("/chat?token=x"): it is the auth;
//   - the server's CONNECT carries no payload, and the socket id is the
//     Engine.IO session id ("/chat#<sid>" outside "/");
//   - CONNECT_ERROR carries the error's data, or its message as a string.
//
// Events, acknowledgements and binary attachments are encoded as in v5, so
// a broadcast is encoded once for both generations; the Engine.IO layer
// frames binary attachments for each session's protocol.

// OnOpen connects a protocol v4 client to "/" (engineio.SessionOpener).
func (c *client) OnOpen() {
	if c.legacy {
		c.connect(&packet{typ: PacketConnect, nsp: "/", id: noAck})
	}
}

// splitLegacyNamespace splits a v4 CONNECT's "/name?query" into the
// namespace and the auth object the reference builds from the query (the
// last value of each parameter).
func splitLegacyNamespace(nsp string) (string, json.RawMessage) {
	name, query, found := strings.Cut(nsp, "?")
	if !found {
		return nsp, nil
	}
	auth := map[string]string{}
	if vals, err := url.ParseQuery(query); err == nil {
		for k, v := range vals {
			auth[k] = v[len(v)-1]
		}
	}
	b, _ := json.Marshal(auth)
	return name, b
}

// legacySocketID is the id the reference gives a protocol v4 socket.
func legacySocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// legacyConnectErrorPayload is a v4 CONNECT_ERROR payload: the error's
// data if it has some, else its message as a JSON string.
func legacyConnectErrorPayload(err error) []byte {
	var ce *ConnectError
	if errors.As(err, &ce) && ce.Data != nil {
		if b, merr := json.Marshal(ce.Data); merr == nil {
			return b
		}
	}
	b, _ := json.Marshal(err.Error())
	return b
}
