package redisstreams

import (
	"strings"
	"testing"
)

// TestRawOfBounds: an entry larger than the bound, or malformed, is
// dropped before its data is decoded.
func TestRawOfBounds(t *testing.T) {
	ok := map[string]any{"uid": "u", "nsp": "/", "type": "3", "data": `{"a":1}`}
	if _, good := rawOf(ok, 100); !good {
		t.Fatal("well-formed entry refused")
	}
	big := map[string]any{"uid": "u", "nsp": "/", "type": "3", "data": strings.Repeat("x", 101)}
	if _, good := rawOf(big, 100); good {
		t.Fatal("entry over the bound accepted")
	}
	for _, bad := range []map[string]any{
		{"uid": "u", "type": "3", "data": "{}"},             // no namespace
		{"uid": "u", "nsp": "/", "type": "x", "data": "{}"}, // type not a number
	} {
		if _, good := rawOf(bad, 100); good {
			t.Fatalf("malformed entry accepted: %v", bad)
		}
	}
}

// TestDecodeData: JSON or base64 MessagePack, as the reference writes
// them; nesting is bounded and garbage refused.
func TestDecodeData(t *testing.T) {
	m, err := decodeData(`{"packet":{"type":2,"data":["e",1]}}`)
	if err != nil || m.Str("packet") != "" || len(m) != 1 {
		t.Fatalf("json: %v %v", m, err)
	}
	s, err := encodeData(m)
	if err != nil || s[0] != '{' {
		t.Fatalf("json back: %q %v", s, err)
	}
	bin, _ := decodeData(`{"x":1}`)
	bin = append(bin, bin[0])
	bin[1].Key, bin[1].Value = "b", []byte{1, 2}
	s, err = encodeData(bin) // binary: MessagePack
	if err != nil || s[0] == '{' {
		t.Fatalf("binary: %q %v", s, err)
	}
	if back, err := decodeData(s); err != nil || len(back) != 2 {
		t.Fatalf("binary back: %v %v", back, err)
	}
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	if _, err := decodeData(deep); err == nil {
		t.Fatal("nesting not bounded")
	}
	if _, err := decodeData("!!notbase64"); err == nil {
		t.Fatal("garbage accepted")
	}
}

// The outbox (entries waiting for Redis to come back) is bounded in
// entries and in bytes: one client's big broadcasts during an outage
// cannot grow it past MaxOutboxBytes.
func TestOutboxBounds(t *testing.T) {
	c := &Cluster{opts: Options{MaxLen: 3, MaxOutboxBytes: 1000}}
	big := &rawMessage{uid: "u", nsp: "/", data: strings.Repeat("x", 600)}
	if !c.queue(big) {
		t.Fatal("first entry refused")
	}
	if c.queue(big) {
		t.Fatalf("outbox took %d bytes, over MaxOutboxBytes 1000", c.outboxBytes+big.size())
	}
	small := &rawMessage{uid: "u", nsp: "/", data: "x"}
	if !c.queue(small) || !c.queue(small) {
		t.Fatal("small entries refused within the bounds")
	}
	if c.queue(small) {
		t.Fatal("outbox took a fourth entry, over MaxLen 3")
	}
}
