package engineio

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
)

// Polling payloads, protocol v4: packets joined by the record separator.
// Text packets are sent as they are ("4hello"), binary packets as "b"
// followed by their base64 encoding.

const recordSeparator = 0x1e

// decodePayload splits a v4 polling payload and calls fn for each packet.
// It stops at the first invalid packet.
func decodePayload(body []byte, fn func(packet) error) error {
	if len(body) == 0 {
		return errInvalidPacket
	}
	for len(body) > 0 {
		var rec []byte
		if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
			rec, body = body[:i], body[i+1:]
			if len(body) == 0 {
				return errInvalidPacket // trailing separator
			}
		} else {
			rec, body = body, nil
		}
		p, err := decodeRecord(rec)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func decodeRecord(rec []byte) (packet, error) {
	if len(rec) > 0 && rec[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(rec)-1))
		n, err := base64.StdEncoding.Decode(data, rec[1:])
		if err != nil {
			return packet{}, errInvalidPacket
		}
		return packet{typ: PacketMessage, data: data[:n], binary: true}, nil
	}
	p, err := decodePacket(rec, false)
	if err == nil && !utf8.Valid(p.data) {
		return packet{}, errInvalidPacket
	}
	return p, err
}

// encodePayload appends msgs as one v4 polling payload.
func encodePayload(dst []byte, msgs []*Message) []byte {
	n := len(msgs)
	for _, m := range msgs {
		n += m.pollingLen()
	}
	if cap(dst)-len(dst) < n {
		nb := make([]byte, len(dst), len(dst)+n)
		copy(nb, dst)
		dst = nb
	}
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = m.appendPolling(dst)
	}
	return dst
}
