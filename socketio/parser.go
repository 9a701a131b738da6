package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// PacketType is the Socket.IO packet type.
type PacketType byte

// Socket.IO packet types.
const (
	PacketConnect      PacketType = 0
	PacketDisconnect   PacketType = 1
	PacketEvent        PacketType = 2
	PacketAck          PacketType = 3
	PacketConnectError PacketType = 4
	PacketBinaryEvent  PacketType = 5
	PacketBinaryAck    PacketType = 6
)

// noAck marks a packet without an ack id.
const noAck = -1

// packet is a decoded Socket.IO packet.
type packet struct {
	typ         PacketType
	nsp         string
	id          int64 // noAck when absent
	data        json.RawMessage
	attachments int
	buffers     [][]byte
}

var (
	errBadPacket = errors.New("socketio: invalid packet")
	// Packets over the parser limits (Limits): also invalid, counted apart.
	errTooManyAttachments = errors.New("socketio: too many attachments")
	errTooDeep            = errors.New("socketio: JSON nested too deep")
)

// reservedEvents cannot be emitted by a client.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// decodePacket parses the text part of a packet:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// within the parser limits of lim (MaxAttachments, MaxJSONDepth: both set).
func decodePacket(b []byte, lim *Limits) (*packet, error) {
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return nil, errBadPacket
	}
	p := &packet{typ: PacketType(b[0] - '0'), nsp: "/", id: noAck}
	i := 1
	if p.typ == PacketBinaryEvent || p.typ == PacketBinaryAck {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return nil, errBadPacket
		}
		if j-i > 6 {
			return nil, errTooManyAttachments
		}
		n, _ := strconv.Atoi(string(b[i:j]))
		if n == 0 {
			return nil, errBadPacket
		}
		if n > lim.MaxAttachments {
			return nil, errTooManyAttachments
		}
		p.attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			p.nsp = string(b[i:])
			i = len(b)
		} else {
			p.nsp = string(b[i : i+j])
			i += j + 1
		}
	}
	if j := i; j < len(b) && b[j] >= '0' && b[j] <= '9' {
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i > 15 {
			return nil, errBadPacket
		}
		p.id, _ = strconv.ParseInt(string(b[i:j]), 10, 64)
		i = j
	}
	if i < len(b) {
		p.data = b[i:]
		if !json.Valid(p.data) {
			return nil, errBadPacket
		}
		if jsonTooDeep(p.data, lim.MaxJSONDepth) {
			return nil, errTooDeep
		}
	}
	if !p.valid() {
		return nil, errBadPacket
	}
	return p, nil
}

// valid checks the payload shape each packet type requires.
func (p *packet) valid() bool {
	first := firstByte(p.data)
	switch p.typ {
	case PacketConnect:
		return p.data == nil || first == '{'
	case PacketDisconnect:
		return p.data == nil
	case PacketEvent:
		// No payload at all passes, as in the reference parser: the
		// event has no name and is ignored (Socket.onEvent).
		return p.data == nil || first == '['
	case PacketBinaryEvent:
		return first == '['
	case PacketAck:
		// No payload at all passes too, as in the reference parser (it
		// checks a payload only when there is one): the ack is called
		// with no arguments. An ack without id matches nothing: ignored.
		return p.data == nil || first == '['
	case PacketBinaryAck:
		return first == '['

	case PacketConnectError:
		return first == '{' || first == '"'
	}
	return false
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// splitArray splits a JSON array into its elements, as sub-slices of b
// (nothing is copied). b must be valid JSON: decodePacket checked it.
func splitArray(b []byte) ([]json.RawMessage, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errBadPacket
	}
	out := make([]json.RawMessage, 0, 4)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for i < len(b) {
		start := i
		depth := 0
	scan:
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				for i++; i < len(b) && b[i] != '"'; i++ {
					if b[i] == '\\' {
						i++
					}
				}
			case '[', '{':
				depth++
			case ']', '}':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		if i >= len(b) {
			return nil, errBadPacket
		}
		out = append(out, trimSpace(b[start:i]))
		if b[i] == ']' {
			return out, nil
		}
		i = skipSpace(b, i+1)
	}
	return nil, errBadPacket
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// eventName extracts the event name, the first element of an event payload.
func eventName(first json.RawMessage) (string, bool) {
	if len(first) == 0 {
		return "", false
	}
	switch first[0] {
	case '"':
		var s string
		if bytes.IndexByte(first, '\\') < 0 {
			s = string(first[1 : len(first)-1]) // no escapes: the common case
		} else if json.Unmarshal(first, &s) != nil {
			return "", false
		}
		if reservedEvents[s] {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(first), true
	}
	return "", false
}

// appendHeader appends "<type>[<n>-][<nsp>,][<id>]".
func appendHeader(b []byte, typ PacketType, attachments int, nsp string, id int64) []byte {
	if attachments > 0 {
		switch typ {
		case PacketEvent:
			typ = PacketBinaryEvent
		case PacketAck:
			typ = PacketBinaryAck
		}
	}
	b = append(b, byte('0'+typ))
	if typ == PacketBinaryEvent || typ == PacketBinaryAck {
		b = strconv.AppendInt(b, int64(attachments), 10)
		b = append(b, '-')
	}
	if nsp != "/" && nsp != "" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	return b
}
