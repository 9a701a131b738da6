package engineio

import (
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
)

// PacketType is the one-digit Engine.IO packet type.
type PacketType byte

// Engine.IO packet types.
const (
	PacketOpen    PacketType = '0'
	PacketClose   PacketType = '1'
	PacketPing    PacketType = '2'
	PacketPong    PacketType = '3'
	PacketMessage PacketType = '4'
	PacketUpgrade PacketType = '5'
	PacketNoop    PacketType = '6'
)

func (t PacketType) valid() bool { return t >= PacketOpen && t <= PacketNoop }

// maxFrameHeader is the largest unmasked WebSocket frame header (2 + 8 bytes).
const maxFrameHeader = 10

// A Message is one encoded Engine.IO packet, ready to be written to any
// number of sessions over either transport. It is immutable once built:
// share it freely, never modify the slice given to a constructor afterwards.
type Message struct {
	// data is the packet as sent in a WebSocket frame: for text packets the
	// type digit followed by the UTF-8 payload, for binary messages the raw
	// bytes (WebSocket binary frames carry no type byte in protocol v4).
	data   []byte
	binary bool
	hlen   uint8
	hdr    [maxFrameHeader]byte // WebSocket frame header, precomputed once

	// z is the permessage-deflate frame, made by the first writer to a
	// connection that negotiated compression (see deflated); zmu makes
	// concurrent first writers compress once.
	zmu sync.Mutex
	z   atomic.Pointer[deflatedFrame]
}

// NewTextMessage returns a message packet carrying a UTF-8 string payload.
// The payload is copied.
func NewTextMessage(payload []byte) *Message {
	b := make([]byte, 1+len(payload))
	b[0] = byte(PacketMessage)
	copy(b[1:], payload)
	return newMessage(b, false)
}

// NewTextMessageBuffer is NewTextMessage without the copy: buf must hold the
// type byte '4' followed by the payload, and must not be modified afterwards.
// Encoders that build the packet in place use it to avoid one allocation.
func NewTextMessageBuffer(buf []byte) *Message {
	if len(buf) == 0 || buf[0] != byte(PacketMessage) {
		panic("engineio: NewTextMessageBuffer: buffer must start with '4'")
	}
	return newMessage(buf, false)
}

// NewBinaryMessage returns a message packet carrying binary data. The data is
// not copied: the caller must not modify it afterwards.
func NewBinaryMessage(data []byte) *Message {
	return newMessage(data, true)
}

func newControl(t PacketType, payload string) *Message {
	return newMessage(append([]byte{byte(t)}, payload...), false)
}

func newMessage(data []byte, binary bool) *Message {
	m := &Message{data: data, binary: binary}
	op := byte(0x1) // text
	if binary {
		op = 0x2
	}
	m.hlen = uint8(putFrameHeader(m.hdr[:], op, len(data)))
	return m
}

// Binary reports whether m is a binary message.
func (m *Message) Binary() bool { return m.binary }

// Len is the size of the packet on a WebSocket.
func (m *Message) Len() int { return len(m.data) }

// String is for debugging only.
func (m *Message) String() string {
	if m.binary {
		return fmt.Sprintf("binary(%d bytes)", len(m.data))
	}
	return string(m.data)
}

// appendPolling appends the packet as it appears in a v4 polling payload.
func (m *Message) appendPolling(dst []byte) []byte {
	if !m.binary {
		return append(dst, m.data...)
	}
	dst = append(dst, 'b')
	n := base64.StdEncoding.EncodedLen(len(m.data))
	dst = append(dst, make([]byte, n)...)
	base64.StdEncoding.Encode(dst[len(dst)-n:], m.data)
	return dst
}

// pollingLen is the size appendPolling adds.
func (m *Message) pollingLen() int {
	if m.binary {
		return 1 + base64.StdEncoding.EncodedLen(len(m.data))
	}
	return len(m.data)
}

// Shared control packets: they carry no per-session state.
var (
	msgPing  = newControl(PacketPing, "")
	msgPong  = newControl(PacketPong, "")
	msgProbe = newControl(PacketPong, "probe")
	msgNoop  = newControl(PacketNoop, "")
	msgClose = newControl(PacketClose, "")
)

// packet is a decoded incoming packet.
type packet struct {
	typ    PacketType
	data   []byte
	binary bool
}

// decodePacket decodes one WebSocket message or polling record. Binary
// WebSocket frames are message packets by definition.
func decodePacket(data []byte, binary bool) (packet, error) {
	if binary {
		return packet{typ: PacketMessage, data: data, binary: true}, nil
	}
	if len(data) == 0 || !PacketType(data[0]).valid() {
		return packet{}, errInvalidPacket
	}
	return packet{typ: PacketType(data[0]), data: data[1:]}, nil
}
