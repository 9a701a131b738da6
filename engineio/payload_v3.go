package engineio

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Engine.IO protocol v3 (socket.io-client 2.x), as engine.io 6's parser-v3
// speaks it. Only sessions opened with EIO=3 take these paths; v4 sessions
// never reach this file.
//
// Polling payloads come in two forms:
//
//   - text: each packet as "<length>:<packet>", where length counts UTF-16
//     code units (JavaScript's String.length) and binary packets are
//     "b<type><base64>" strings;
//   - binary (XHR2 clients, unless the query has b64=1): each packet as
//     a 0 (string) or 1 (binary) byte, the decimal digits of its length as
//     bytes 0-9, a 255 byte, then the packet: UTF-8 text (length in bytes)
//     or the type byte (4) followed by the data.
//
// Over WebSocket, text packets are framed as in v4, but a binary frame
// starts with its packet type byte (4), unlike v4's raw data.

// maxLengthDigits bounds a length prefix: no payload accepted is longer
// than 1e10 bytes, and an unbounded prefix is only work for the parser.
const maxLengthDigits = 10

// decodePayloadV3 splits a v3 polling payload and calls fn for each packet;
// binary says the body came as application/octet-stream. It stops at the
// first malformed packet (errInvalidPacket), which is what the reference
// answers with its "parser error" packet: the session ends with a parse
// error.
func decodePayloadV3(body []byte, binary bool, fn func(packet) error) error {
	if len(body) == 0 {
		return errInvalidPacket
	}
	if binary {
		return decodeBinaryPayloadV3(body, fn)
	}
	for len(body) > 0 {
		n, rest, ok := lengthPrefix(body)
		if !ok {
			return errInvalidPacket
		}
		rec, rest, ok := cutUTF16(rest, n)
		if !ok {
			return errInvalidPacket
		}
		body = rest
		if len(rec) == 0 {
			continue // the reference skips empty records
		}
		p, err := decodeTextV3(rec)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// lengthPrefix parses "<decimal>:" at the start of b.
func lengthPrefix(b []byte) (n int, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
		if i > maxLengthDigits {
			return 0, nil, false
		}
	}
	if i == 0 || i >= len(b) || b[i] != ':' {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// cutUTF16 returns the prefix of b that is n UTF-16 code units long. It
// fails if b is shorter, is not valid UTF-8 there, or if the cut would
// split a surrogate pair.
func cutUTF16(b []byte, n int) (rec, rest []byte, ok bool) {
	i, units := 0, 0
	for units < n {
		if i >= len(b) {
			return nil, nil, false
		}
		if c := b[i]; c < utf8.RuneSelf {
			i++
			units++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return nil, nil, false
		}
		i += size
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
	}
	if units != n {
		return nil, nil, false // the record ends inside a surrogate pair
	}
	return b[:i], b[i:], true
}

// decodeTextV3 decodes one text packet: "<type><data>" or "b<type><base64>".
func decodeTextV3(rec []byte) (packet, error) {
	if len(rec) > 0 && rec[0] == 'b' {
		if len(rec) < 2 || !PacketType(rec[1]).valid() {
			return packet{}, errInvalidPacket
		}
		data := make([]byte, base64.StdEncoding.DecodedLen(len(rec)-2))
		n, err := base64.StdEncoding.Decode(data, rec[2:])
		if err != nil {
			return packet{}, errInvalidPacket
		}
		return packet{typ: PacketType(rec[1]), data: data[:n], binary: true}, nil
	}
	p, err := decodePacket(rec, false)
	if err == nil && !utf8.Valid(p.data) {
		return packet{}, errInvalidPacket
	}
	return p, err
}

// decodeBinaryV3 decodes a v3 binary packet (a WebSocket binary frame or a
// binary payload record): its type as a byte, then the data.
func decodeBinaryV3(b []byte) (packet, error) {
	if len(b) == 0 || b[0] > 6 {
		return packet{}, errInvalidPacket
	}
	return packet{typ: PacketType('0' + b[0]), data: b[1:], binary: true}, nil
}

func decodeBinaryPayloadV3(body []byte, fn func(packet) error) error {
	for len(body) > 0 {
		isString := body[0] == 0
		if !isString && body[0] != 1 {
			return errInvalidPacket
		}
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xFF; i++ {
			if body[i] > 9 || i > maxLengthDigits {
				return errInvalidPacket
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i >= len(body) || n > len(body)-i-1 {
			return errInvalidPacket
		}
		rec := body[i+1 : i+1+n]
		body = body[i+1+n:]
		var (
			p   packet
			err error
		)
		if isString {
			if !utf8.Valid(rec) {
				return errInvalidPacket
			}
			p, err = decodeTextV3(rec)
		} else {
			p, err = decodeBinaryV3(rec)
		}
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// encodePayloadV3 appends msgs as one v3 polling payload. With binary
// allowed and a binary message among msgs it is a binary payload (isBinary
// true, to be sent as application/octet-stream); otherwise text.
func encodePayloadV3(dst []byte, msgs []*Message, allowBinary bool) (body []byte, isBinary bool) {
	if allowBinary {
		for _, m := range msgs {
			if m.binary {
				return encodeBinaryPayloadV3(dst, msgs), true
			}
		}
	}
	if len(msgs) == 0 {
		return append(dst, "0:"...), false
	}
	for _, m := range msgs {
		if m.binary {
			enc := base64.StdEncoding.EncodedLen(len(m.data))
			dst = strconv.AppendInt(dst, int64(2+enc), 10)
			dst = append(dst, ':', 'b', byte(PacketMessage))
			dst = append(dst, make([]byte, enc)...)
			base64.StdEncoding.Encode(dst[len(dst)-enc:], m.data)
			continue
		}
		dst = strconv.AppendInt(dst, int64(utf16Len(m.data)), 10)
		dst = append(dst, ':')
		dst = append(dst, m.data...)
	}
	return dst, false
}

func encodeBinaryPayloadV3(dst []byte, msgs []*Message) []byte {
	for _, m := range msgs {
		n := len(m.data)
		if m.binary {
			dst = append(dst, 1)
			n++ // the type byte
		} else {
			dst = append(dst, 0)
		}
		dst = appendDigitBytes(dst, n)
		dst = append(dst, 0xFF)
		if m.binary {
			dst = append(dst, 4)
		}
		dst = append(dst, m.data...)
	}
	return dst
}

// appendDigitBytes appends n's decimal digits as byte values 0-9.
func appendDigitBytes(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// utf16Len is the length of the UTF-8 text b in UTF-16 code units.
func utf16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// appendFrameV3 appends m as a v3 WebSocket frame: binary messages carry
// their type byte, or travel as "b4<base64>" text when the client asked
// for base64 (b64=1). Text frames are those of v4.
func appendFrameV3(dst []byte, m *Message, b64 bool) []byte {
	if !m.binary {
		dst = append(dst, m.hdr[:m.hlen]...)
		return append(dst, m.data...)
	}
	var hdr [maxFrameHeader]byte
	if b64 {
		enc := base64.StdEncoding.EncodedLen(len(m.data))
		dst = append(dst, hdr[:putFrameHeader(hdr[:], opText, 2+enc)]...)
		dst = append(dst, 'b', byte(PacketMessage))
		dst = append(dst, make([]byte, enc)...)
		base64.StdEncoding.Encode(dst[len(dst)-enc:], m.data)
		return dst
	}
	dst = append(dst, hdr[:putFrameHeader(hdr[:], opBinary, 1+len(m.data))]...)
	dst = append(dst, 4)
	return append(dst, m.data...)
}
