package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func collect(t *testing.T, body string) ([]packet, error) {
	t.Helper()
	var out []packet
	err := decodePayload([]byte(body), func(p packet) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []packet
	}{
		{"one text packet", "4hello", []packet{{typ: PacketMessage, data: []byte("hello")}}},
		{"several", "4test1\x1e4test2\x1e3", []packet{
			{typ: PacketMessage, data: []byte("test1")},
			{typ: PacketMessage, data: []byte("test2")},
			{typ: PacketPong, data: []byte{}},
		}},
		{"binary as base64", "4hello\x1ebAQIDBA==", []packet{
			{typ: PacketMessage, data: []byte("hello")},
			{typ: PacketMessage, data: []byte{1, 2, 3, 4}, binary: true},
		}},
		{"empty binary", "b", []packet{{typ: PacketMessage, data: []byte{}, binary: true}}},
		{"close", "1", []packet{{typ: PacketClose, data: []byte{}}}},
		{"utf-8 text", "4é€😀", []packet{{typ: PacketMessage, data: []byte("é€😀")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d packets, want %d", len(got), len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.typ != w.typ || g.binary != w.binary || !bytes.Equal(g.data, w.data) {
					t.Errorf("packet %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDecodePayloadInvalid(t *testing.T) {
	for _, body := range []string{
		"", "abc", "9", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "b!!!", "4\xff\xfe", "7x",
	} {
		if _, err := collect(t, body); !errors.Is(err, errInvalidPacket) {
			t.Errorf("decodePayload(%q) error = %v, want errInvalidPacket", body, err)
		}
	}
}

func TestEncodePayload(t *testing.T) {
	msgs := []*Message{NewTextMessage([]byte("hello")), NewBinaryMessage([]byte{1, 2, 3, 4}), msgPing}
	got := string(encodePayload(nil, msgs))
	if want := "4hello\x1ebAQIDBA==\x1e2"; got != want {
		t.Fatalf("encodePayload = %q, want %q", got, want)
	}
	// Round trip through the decoder.
	back, err := collect(t, got)
	if err != nil || len(back) != 3 || !back[1].binary || !bytes.Equal(back[1].data, []byte{1, 2, 3, 4}) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "bAQIDBA==", "1", "2probe", "4\x1e", "b", "6"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var msgs []*Message
		err := decodePayload(body, func(p packet) error {
			if p.binary {
				msgs = append(msgs, NewBinaryMessage(p.data))
			} else if p.typ == PacketMessage {
				msgs = append(msgs, NewTextMessage(p.data))
			}
			return nil
		})
		if err != nil || len(msgs) == 0 {
			return
		}
		// What decodes must encode back to something that decodes the same.
		again := encodePayload(nil, msgs)
		i := 0
		if err := decodePayload(again, func(p packet) error {
			if p.binary != msgs[i].binary || !bytes.Equal(p.data, msgs[i].data[boolInt(!p.binary):]) {
				t.Fatalf("round trip mismatch at %d", i)
			}
			i++
			return nil
		}); err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
