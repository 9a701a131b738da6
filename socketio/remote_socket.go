package socketio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RemoteSocket describes a socket that may be connected to another node of
// the cluster, as returned by FetchSockets (the reference server's
// RemoteSocket). Its methods act through the adapter, so they reach the
// socket wherever it is.
type RemoteSocket struct {
	// ID is the socket's id (and its own room).
	ID string
	// Handshake is what the client sent when it connected.
	Handshake *Handshake
	// Rooms lists the socket's rooms, its own id included.
	Rooms []string
	// Data is the socket's data (Socket.SetData) as JSON, or nil.
	Data json.RawMessage

	nsp *Namespace
}

// DataInto decodes Data into dst; nil Data leaves dst unchanged.
func (r *RemoteSocket) DataInto(dst any) error {
	if len(r.Data) == 0 {
		return nil
	}
	return json.Unmarshal(r.Data, dst)
}

// Emit sends an event to the socket, wherever it is connected.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	return r.nsp.To(r.ID).Emit(event, args...)
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.nsp.In(r.ID).SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.nsp.In(r.ID).SocketsLeave(rooms...) }

// Disconnect disconnects the socket (and its connection with closeConn).
func (r *RemoteSocket) Disconnect(closeConn bool) error {
	return r.nsp.In(r.ID).DisconnectSockets(closeConn)
}

// describe returns the RemoteSocket form of a local socket.
func (s *Socket) describe() *RemoteSocket {
	r := &RemoteSocket{ID: s.id, Handshake: s.handshake, Rooms: s.Rooms(), nsp: s.nsp}
	if d := s.Data(); d != nil {
		if b, err := json.Marshal(d); err == nil {
			r.Data = b
		}
	}
	return r
}

// jsDate is Date.prototype.toString's layout, used by the reference
// server's handshake.time.
const jsDate = "Mon Jan 02 2006 15:04:05 GMT-0700"

// wireSocket is the JSON form the reference server's cluster adapters
// exchange for fetchSockets: {id, handshake, rooms, data}.
type wireSocket struct {
	ID        string          `json:"id"`
	Handshake wireHandshake   `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type wireHandshake struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// MarshalJSON encodes the socket as the reference server's cluster
// adapters do (handshake headers lower-cased, time as a JS date string,
// issued in milliseconds).
func (r *RemoteSocket) MarshalJSON() ([]byte, error) {
	w := wireSocket{ID: r.ID, Rooms: r.Rooms, Data: r.Data}
	if w.Rooms == nil {
		w.Rooms = []string{}
	}
	if len(w.Data) == 0 {
		w.Data = json.RawMessage("{}") // the reference's default socket.data
	}
	h := r.Handshake
	if h == nil {
		h = &Handshake{}
	}
	w.Handshake = wireHandshake{
		Headers: map[string]any{},
		Address: h.Address,
		Secure:  h.Secure,
		URL:     h.URL,
		Query:   map[string]any{},
		Auth:    h.Auth,
	}
	if !h.Time.IsZero() {
		w.Handshake.Time = h.Time.Format(jsDate)
		w.Handshake.Issued = h.Time.UnixMilli()
	}
	for k, vs := range h.Headers {
		k = strings.ToLower(k)
		if k == "set-cookie" {
			w.Handshake.Headers[k] = vs
		} else {
			w.Handshake.Headers[k] = strings.Join(vs, ", ")
		}
	}
	_, w.Handshake.XDomain = w.Handshake.Headers["origin"]
	for k, vs := range h.Query {
		if len(vs) == 1 {
			w.Handshake.Query[k] = vs[0]
		} else {
			w.Handshake.Query[k] = vs
		}
	}
	if len(w.Handshake.Auth) == 0 {
		w.Handshake.Auth = json.RawMessage("{}")
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the reference server's form (see MarshalJSON).
// Unknown handshake fields are ignored.
func (r *RemoteSocket) UnmarshalJSON(b []byte) error {
	var w struct {
		ID        string          `json:"id"`
		Rooms     []string        `json:"rooms"`
		Data      json.RawMessage `json:"data"`
		Handshake struct {
			Headers map[string]json.RawMessage `json:"headers"`
			Address string                     `json:"address"`
			Secure  bool                       `json:"secure"`
			Issued  int64                      `json:"issued"`
			URL     string                     `json:"url"`
			Query   map[string]json.RawMessage `json:"query"`
			Auth    json.RawMessage            `json:"auth"`
		} `json:"handshake"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	h := &Handshake{
		Auth:    w.Handshake.Auth,
		Query:   url.Values{},
		Headers: http.Header{},
		Address: w.Handshake.Address,
		Secure:  w.Handshake.Secure,
		URL:     w.Handshake.URL,
	}
	if w.Handshake.Issued > 0 {
		h.Time = time.UnixMilli(w.Handshake.Issued)
	}
	for k, v := range w.Handshake.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringsOf(v)
	}
	for k, v := range w.Handshake.Query {
		h.Query[k] = stringsOf(v)
	}
	*r = RemoteSocket{ID: w.ID, Rooms: w.Rooms, Handshake: h}
	if len(w.Data) > 0 && string(w.Data) != "null" {
		r.Data = w.Data
	}
	return nil
}

// stringsOf reads a JSON string or array of strings.
func stringsOf(v json.RawMessage) []string {
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(v, &many)
	return many
}
