package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func collectV3(body []byte, binary bool) ([]packet, error) {
	var out []packet
	err := decodePayloadV3(body, binary, func(p packet) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

func samePackets(t *testing.T, got, want []packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets %+v, want %d", len(got), got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.typ != w.typ || g.binary != w.binary || !bytes.Equal(g.data, w.data) {
			t.Errorf("packet %d = {%c %q bin=%v}, want {%c %q bin=%v}", i, g.typ, g.data, g.binary, w.typ, w.data, w.binary)
		}
	}
}

// Payloads as engine.io-client 3.x (socket.io-client 2.x) sends them.
func TestDecodePayloadV3Text(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []packet
	}{
		{"one", "6:4hello", []packet{{typ: PacketMessage, data: []byte("hello")}}},
		{"several", "2:4a1:21:1", []packet{
			{typ: PacketMessage, data: []byte("a")}, {typ: PacketPing, data: []byte{}}, {typ: PacketClose, data: []byte{}},
		}},
		// JavaScript lengths: "é" and "€" are one UTF-16 unit, "😀" two.
		{"utf-16 lengths", "5:4é€😀3:4ab", []packet{
			{typ: PacketMessage, data: []byte("é€😀")}, {typ: PacketMessage, data: []byte("ab")},
		}},
		{"base64 binary", "10:b4AQIDBA==", []packet{{typ: PacketMessage, data: []byte{1, 2, 3, 4}, binary: true}}},
		{"empty record skipped", "0:6:4hello", []packet{{typ: PacketMessage, data: []byte("hello")}}},
		{"colon in data", "4:4a:b", []packet{{typ: PacketMessage, data: []byte("a:b")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collectV3([]byte(tt.body), false)
			if err != nil {
				t.Fatal(err)
			}
			samePackets(t, got, tt.want)
		})
	}
}

func TestDecodePayloadV3Binary(t *testing.T) {
	body := append([]byte{0, 5, 0xFF}, "4hé!"...) // 5 bytes of UTF-8
	body = append(body, 1, 4, 0xFF, 4, 1, 2, 3)
	got, err := collectV3(body, true)
	if err != nil {
		t.Fatal(err)
	}
	samePackets(t, got, []packet{
		{typ: PacketMessage, data: []byte("hé!")},
		{typ: PacketMessage, data: []byte{1, 2, 3}, binary: true},
	})
}

// Malformed payloads: each is a parse error for the session that sent it.
func TestDecodePayloadV3Invalid(t *testing.T) {
	text := []string{
		"",              // empty body
		"4hello",        // no length prefix
		":4hello",       // empty length
		"x:4hello",      // not a number
		"7:4hello",      // length past the end
		"6:4hello3",     // trailing length without a record
		"2:9x",          // unknown packet type
		"3:b4!",         // invalid base64
		"4:b4AQ=",       // truncated base64
		"2:b",           // "b" without a type
		"2:4😀",          // the cut splits a surrogate pair
		"3:4\xff\xfe",   // invalid UTF-8
		"99999999999:4", // length prefix too long
	}
	for _, body := range text {
		if _, err := collectV3([]byte(body), false); !errors.Is(err, errInvalidPacket) {
			t.Errorf("text %q: err = %v, want errInvalidPacket", body, err)
		}
	}
	binary := [][]byte{
		{2, 1, 0xFF, '4'},       // neither string nor binary
		{0, 0xFF, '4'},          // no length digits
		{0, 5, 0xFF, '4'},       // length past the end
		{0, 1, 2},               // no 255 terminator
		{0, 12, 0xFF, '4'},      // digit byte over 9
		{1, 1, 0xFF, 9},         // unknown binary packet type
		{1, 0, 0xFF},            // binary record without its type byte
		{0, 2, 0xFF, '4', 0xff}, // invalid UTF-8 in a string record
		append([]byte{0}, bytes.Repeat([]byte{1}, 12)...), // too many digits
	}
	for _, body := range binary {
		if _, err := collectV3(body, true); !errors.Is(err, errInvalidPacket) {
			t.Errorf("binary %v: err = %v, want errInvalidPacket", body, err)
		}
	}
}

func TestEncodePayloadV3(t *testing.T) {
	text := NewTextMessage([]byte("é😀"))
	bin := NewBinaryMessage([]byte{1, 2, 3})
	got, isBin := encodePayloadV3(nil, []*Message{msgPing, text}, true)
	if isBin || string(got) != "1:24:4é😀" {
		t.Errorf("text payload = %q (binary %v)", got, isBin)
	}
	got, isBin = encodePayloadV3(nil, []*Message{text, bin}, false)
	if isBin || string(got) != "4:4é😀6:b4AQID" {
		t.Errorf("base64 payload = %q (binary %v)", got, isBin)
	}
	got, isBin = encodePayloadV3(nil, []*Message{text, bin}, true)
	want := append([]byte{0, 7, 0xFF}, "4é😀"...)
	want = append(want, 1, 4, 0xFF, 4, 1, 2, 3)
	if !isBin || !bytes.Equal(got, want) {
		t.Errorf("binary payload = %v (binary %v), want %v", got, isBin, want)
	}
	// What the server encodes, the reference's decoder (mirrored here) reads.
	for _, allow := range []bool{false, true} {
		body, isBin := encodePayloadV3(nil, []*Message{text, bin, msgNoop}, allow)
		ps, err := collectV3(body, isBin)
		if err != nil {
			t.Fatal(err)
		}
		samePackets(t, ps, []packet{
			{typ: PacketMessage, data: []byte("é😀")},
			{typ: PacketMessage, data: []byte{1, 2, 3}, binary: true},
			{typ: PacketNoop, data: []byte{}},
		})
	}
}

func TestAppendFrameV3(t *testing.T) {
	bin := NewBinaryMessage([]byte{9, 8})
	got := appendFrameV3(nil, bin, false)
	if want := []byte{0x82, 3, 4, 9, 8}; !bytes.Equal(got, want) {
		t.Errorf("binary frame = %v, want %v", got, want)
	}
	got = appendFrameV3(nil, bin, true)
	if want := append([]byte{0x81, 6}, "b4CQg="...); !bytes.Equal(got, want) {
		t.Errorf("base64 frame = %q, want %q", got, want)
	}
	text := NewTextMessage([]byte("hi"))
	if got := appendFrameV3(nil, text, false); !bytes.Equal(got, []byte{0x81, 3, '4', 'h', 'i'}) {
		t.Errorf("text frame = %v", got)
	}
}

func FuzzDecodePayloadV3(f *testing.F) {
	f.Add([]byte("6:4hello"), false)
	f.Add([]byte("2:4a1:21:1"), false)
	f.Add([]byte("10:b4AQIDBA=="), false)
	f.Add([]byte("5:4é€😀"), false)
	f.Add([]byte{0, 2, 0xFF, '4', 'a', 1, 3, 0xFF, 4, 1, 2}, true)
	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		var msgs []*Message
		err := decodePayloadV3(body, binary, func(p packet) error {
			if p.typ != PacketMessage {
				return nil
			}
			if p.binary {
				msgs = append(msgs, NewBinaryMessage(p.data))
			} else {
				msgs = append(msgs, NewTextMessage(p.data))
			}
			return nil
		})
		if err != nil || len(msgs) == 0 {
			return
		}
		// What decodes must encode back, in both forms, to the same messages.
		for _, allow := range []bool{false, true} {
			again, isBin := encodePayloadV3(nil, msgs, allow)
			i := 0
			if err := decodePayloadV3(again, isBin, func(p packet) error {
				m := msgs[i]
				if p.binary != m.binary || !bytes.Equal(p.data, m.data[boolInt(!m.binary):]) {
					t.Fatalf("round trip mismatch at %d: %q vs %q", i, p.data, m.data)
				}
				i++
				return nil
			}); err != nil || i != len(msgs) {
				t.Fatalf("re-encoded payload %q: err %v, %d of %d packets", again, err, i, len(msgs))
			}
		}
	})
}
