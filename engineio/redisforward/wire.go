package redisforward

import (
	"encoding/binary"
	"errors"
	"net/http"
)

// The messages between nodes, one per Redis pub/sub message, in a compact
// binary form: a kind byte, then the sender's node tag, the request or
// tunnel id (chosen by the node that received the client's request), a
// sequence number (data messages only: a tunnel's messages are numbered
// from 1 in each direction, so that a lost one is detected), then what
// the kind carries. Strings and byte strings are uvarint length-prefixed.
const (
	kindRequest  byte = 1 // a polling request: method, URI, host, remote address, headers, body
	kindResponse byte = 2 // its answer: status, headers, body
	kindCancel   byte = 3 // the client of a forwarded request went away
	kindOpen     byte = 4 // a WebSocket upgrade request, opening a tunnel (as kindRequest)
	kindData     byte = 5 // tunnel bytes from the client, to the owner
	kindClose    byte = 6 // the client's side of the tunnel is closed
	kindDataBack byte = 7 // tunnel bytes from the owner, to the client
	kindClosed   byte = 8 // the owner's side of the tunnel is closed
)

// maxHeaders bounds the header lines a message may carry (net/http bounds
// their size already on the node that read them).
const maxHeaders = 200

type message struct {
	kind   byte
	from   string
	id     uint64
	seq    uint64
	method string // request, open
	uri    string
	host   string
	remote string
	status int // response
	header http.Header
	body   []byte // request, response: body; data: the bytes
}

var errMalformed = errors.New("redisforward: malformed message")

// dropHeaders are not forwarded: credentials a session's requests do not
// need once it is open.
var dropHeaders = map[string]bool{"Cookie": true, "Authorization": true, "Proxy-Authorization": true}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (m *message) encode() []byte {
	n := 32 + len(m.from) + len(m.method) + len(m.uri) + len(m.host) + len(m.remote) + len(m.body)
	for k, vs := range m.header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	b := make([]byte, 0, n)
	b = append(b, m.kind)
	b = appendString(b, m.from)
	b = binary.AppendUvarint(b, m.id)
	b = binary.AppendUvarint(b, m.seq)
	switch m.kind {
	case kindRequest, kindOpen:
		b = appendString(b, m.method)
		b = appendString(b, m.uri)
		b = appendString(b, m.host)
		b = appendString(b, m.remote)
		b = appendHeader(b, m.header)
		b = appendString(b, string(m.body))
	case kindResponse:
		b = binary.AppendUvarint(b, uint64(m.status))
		b = appendHeader(b, m.header)
		b = appendString(b, string(m.body))
	case kindData, kindDataBack:
		b = appendString(b, string(m.body))
	}
	return b
}

func appendHeader(b []byte, h http.Header) []byte {
	n := 0
	for k, vs := range h {
		if !dropHeaders[k] {
			n += len(vs)
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, vs := range h {
		if dropHeaders[k] {
			continue
		}
		for _, v := range vs {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errMalformed
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.err = errMalformed
		r.b = nil
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) header() http.Header {
	n := r.uint()
	if n > maxHeaders {
		r.err = errMalformed
		return nil
	}
	h := make(http.Header, n)
	for range n {
		k := r.string()
		v := r.string()
		if r.err != nil {
			return nil
		}
		h[k] = append(h[k], v)
	}
	return h
}

// decode parses a message; the body aliases b.
func decode(b []byte) (*message, error) {
	if len(b) == 0 {
		return nil, errMalformed
	}
	m := &message{kind: b[0]}
	r := &reader{b: b[1:]}
	m.from = r.string()
	m.id = r.uint()
	m.seq = r.uint()
	switch m.kind {
	case kindRequest, kindOpen:
		m.method = r.string()
		m.uri = r.string()
		m.host = r.string()
		m.remote = r.string()
		m.header = r.header()
		m.body = r.bytes()
	case kindResponse:
		m.status = int(r.uint())
		m.header = r.header()
		m.body = r.bytes()
	case kindData, kindDataBack:
		m.body = r.bytes()
	case kindCancel, kindClose, kindClosed:
	default:
		return nil, errMalformed
	}
	if r.err != nil || len(r.b) != 0 || m.from == "" {
		return nil, errMalformed
	}
	return m, nil
}
