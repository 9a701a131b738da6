package rawchat

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// Frames of every header size decode, with any client library, to what
// was encoded.
func TestTextFrame(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 100_000} {
		text := strings.Repeat("a", n)
		b := textFrame("x", ": ", text)
		f, err := ws.ReadFrame(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if !f.Header.Fin || f.Header.OpCode != ws.OpText || f.Header.Masked || string(f.Payload) != "x: "+text {
			t.Fatalf("%d: header %+v, payload %d bytes", n, f.Header, len(f.Payload))
		}
		if len(b) != int(f.Header.Length)+ws.HeaderSize(f.Header) {
			t.Fatalf("%d: %d bytes, want header + payload", n, len(b))
		}
	}
	f, err := ws.ReadFrame(bytes.NewReader(controlFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusMessageTooBig, "too big"))))
	if err != nil || f.Header.OpCode != ws.OpClose || string(f.Payload[2:]) != "too big" || f.Payload[0] != 0x03 || f.Payload[1] != 0xF1 {
		t.Fatalf("close frame: %+v %q %v", f.Header, f.Payload, err)
	}
}
