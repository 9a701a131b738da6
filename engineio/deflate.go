package engineio

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// permessage-deflate (RFC 7692).
//
// The server always answers with server_no_context_takeover and
// client_no_context_takeover, which every offer can be accepted with
// (sections 7.1.1.1 and 7.1.1.2: a server may add both to any response).
// Without context takeover in either direction:
//   - a compressed message does not depend on the connection, so a
//     broadcast is compressed once, lazily, by the first writer that needs
//     it, and the same bytes go to every recipient that negotiated the
//     extension, as the frame header does for the others;
//   - no compressor nor decompressor is kept per connection: both are
//     pooled and reset for every message. A connection that negotiated
//     deflate costs no memory more than one that did not.
// The price is a somewhat worse ratio for the client's many small
// messages, which the client's threshold mostly leaves uncompressed anyway.

// deflateLevel favours speed: on typical JSON, level 1 compresses about
// twice as fast as the default level 6, for output about 13% larger.
const deflateLevel = flate.BestSpeed

// deflateResponse is the Sec-WebSocket-Extensions response line; with
// server_max_window_bits=15 for offers that name it (accepting such an
// offer means answering with the parameter, RFC 7692 section 7.1.2.1).
const (
	deflateResponse       = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"
	deflateResponseWindow = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15\r\n"
)

// acceptDeflate returns the response header line accepting the first of
// the client's permessage-deflate offers (values of
// Sec-WebSocket-Extensions) that can be accepted, or "" if none can. An
// offer is declined when it is malformed (unknown or repeated parameters,
// invalid values; RFC 7692 section 5) or when it asks for a window smaller
// than 32 KiB (server_max_window_bits < 15): compress/flate always uses
// the full window. Other extensions are ignored.
func acceptDeflate(headers []string) string {
	for _, h := range headers {
		for _, ext := range splitExtensions(h) {
			name, params, ok := parseExtension(ext)
			if !ok || !strings.EqualFold(name, "permessage-deflate") {
				continue
			}
			if ok, window := deflateOfferOK(params); ok {
				if window {
					return deflateResponseWindow
				}
				return deflateResponse
			}
		}
	}
	return ""
}

type extParam struct {
	name, value string
	hasValue    bool
}

// deflateOfferOK checks one permessage-deflate offer's parameters
// (RFC 7692 section 7.1); window reports server_max_window_bits=15.
func deflateOfferOK(params []extParam) (ok, window bool) {
	var seen [4]bool
	for _, p := range params {
		var i int
		switch strings.ToLower(p.name) {
		case "server_no_context_takeover":
			i = 0
			if p.hasValue {
				return false, false
			}
		case "client_no_context_takeover":
			i = 1
			if p.hasValue {
				return false, false
			}
		case "server_max_window_bits":
			i = 2
			// Required value; only 15 (what we use) can be honoured.
			if !p.hasValue || windowBits(p.value) != 15 {
				return false, false
			}
		case "client_max_window_bits":
			i = 3
			// Optional value: the client can limit its window; any
			// window is fine for our decompressor, so we never ask.
			if p.hasValue && windowBits(p.value) == 0 {
				return false, false
			}
		default:
			return false, false
		}
		if seen[i] {
			return false, false // a parameter may appear once
		}
		seen[i] = true
	}
	return true, seen[2]
}

// windowBits parses a window-bits value, 8 to 15 without leading zeros;
// 0 if invalid.
func windowBits(v string) int {
	switch {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return int(v[0] - '0')
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + int(v[1]-'0')
	}
	return 0
}

// splitExtensions splits a header value at the commas that are not inside
// quoted strings.
func splitExtensions(h string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, h[start:i])
			start = i + 1
		}
	}
	return append(out, h[start:])
}

// parseExtension parses `token *( ";" token [ "=" ( token / quoted-string ) ] )`
// (RFC 6455 section 9.1). A quoted value must hold a token once unquoted.
func parseExtension(s string) (name string, params []extParam, ok bool) {
	parts := strings.Split(s, ";") // a quoted token cannot hold ';'
	name = strings.TrimSpace(parts[0])
	if !isToken(name) {
		return "", nil, false
	}
	for _, part := range parts[1:] {
		var p extParam
		k, v, hasValue := strings.Cut(part, "=")
		p.name = strings.TrimSpace(k)
		if !isToken(p.name) {
			return "", nil, false
		}
		if hasValue {
			v = strings.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if !isToken(v) {
				return "", nil, false
			}
			p.value, p.hasValue = v, true
		}
		params = append(params, p)
	}
	return name, params, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// deflatedFrame is a message's compressed WebSocket frame.
type deflatedFrame struct {
	hdr  [maxFrameHeader]byte // RSV1 set
	hlen uint8
	data []byte
}

// notDeflated marks a message that compression would not shrink: it is
// sent as it is.
var notDeflated = new(deflatedFrame)

// deflateCount counts compressions, for tests (a broadcast is compressed
// once, whatever the number of recipients).
var deflateCount atomic.Int64

// deflated returns m's compressed frame, compressing it on the first call;
// nil if compression does not make it smaller.
func (m *Message) deflated() *deflatedFrame {
	z := m.z.Load()
	if z == nil {
		m.zmu.Lock()
		if z = m.z.Load(); z == nil {
			z = deflateFrame(m)
			m.z.Store(z)
		}
		m.zmu.Unlock()
	}
	if z == notDeflated {
		return nil
	}
	return z
}

var (
	deflaterPool = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, deflateLevel)
		return w
	}}
	scratchPool = sync.Pool{New: func() any { return new(appendWriter) }}
)

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// deflateFrame compresses m's payload into a frame of its own (RFC 7692
// section 7.2.1: a sync flush, whose final empty stored block, 00 00 FF
// FF, is left out).
func deflateFrame(m *Message) *deflatedFrame {
	deflateCount.Add(1)
	out := scratchPool.Get().(*appendWriter)
	out.b = out.b[:0]
	fw := deflaterPool.Get().(*flate.Writer)
	fw.Reset(out)
	_, _ = fw.Write(m.data)
	_ = fw.Flush()
	deflaterPool.Put(fw)
	z := notDeflated
	if b := out.b; len(b) >= 4 && len(b)-4 < len(m.data) {
		z = &deflatedFrame{data: append([]byte(nil), b[:len(b)-4]...)}
		op := byte(opText)
		if m.binary {
			op = opBinary
		}
		z.hlen = uint8(putFrameHeader(z.hdr[:], op, len(z.data)))
		z.hdr[0] |= rsv1
	}
	if cap(out.b) <= 256<<10 {
		scratchPool.Put(out)
	}
	return z
}

// rsv1 is the frame header bit that marks a compressed message.
const rsv1 = 0x40

// inflateTail ends a compressed message for the decompressor: the empty
// stored block the sender left out, then an empty final block, so that
// the decompressor reports io.EOF at the end of the message.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateInput reads a message's compressed bytes, then inflateTail. It is
// an io.ByteReader, so that flate reads it without a bufio.Reader.
type inflateInput struct {
	msg, tail bytes.Reader
}

func (in *inflateInput) Read(p []byte) (int, error) {
	if in.msg.Len() > 0 {
		return in.msg.Read(p)
	}
	return in.tail.Read(p)
}

func (in *inflateInput) ReadByte() (byte, error) {
	if in.msg.Len() > 0 {
		return in.msg.ReadByte()
	}
	return in.tail.ReadByte()
}

type inflater struct {
	in inflateInput
	zr io.ReadCloser
}

var inflaterPool = sync.Pool{New: func() any {
	f := new(inflater)
	f.zr = flate.NewReader(&f.in)
	return f
}}

var errBadDeflate = &frameError{closeInvalidPayload, "invalid compressed data"}

// inflate decompresses a message received with RSV1 set. At most maxSize
// bytes are produced: a message that inflates to more (a zip bomb) is
// refused with errMessageTooBig as soon as maxSize is passed, without
// inflating the rest.
func inflate(data []byte, maxSize int64) ([]byte, error) {
	f := inflaterPool.Get().(*inflater)
	defer inflaterPool.Put(f)
	f.in.msg.Reset(data)
	f.in.tail.Reset(inflateTail)
	if err := f.zr.(flate.Resetter).Reset(&f.in, nil); err != nil {
		return nil, errBadDeflate
	}
	limit := int(min(maxSize+1, int64(^uint(0)>>1)))
	out := make([]byte, 0, min(limit, max(512, 4*len(data))))
	for {
		if len(out) == cap(out) {
			if len(out) >= limit {
				return nil, errMessageTooBig
			}
			grown := make([]byte, len(out), min(limit, 2*cap(out)))
			copy(grown, out)
			out = grown
		}
		n, err := f.zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if int64(len(out)) > maxSize {
			return nil, errMessageTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil { // corrupt, or truncated (io.ErrUnexpectedEOF)
			return nil, errBadDeflate
		}
	}
}
