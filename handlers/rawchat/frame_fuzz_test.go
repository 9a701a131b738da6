package rawchat

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Whatever a client sends, the frame reader returns only whole, valid
// UTF-8 text messages within the limit, or an error; a violation always
// carries a close code RFC 6455 defines for it.
func FuzzReadMessage(f *testing.F) {
	masked := func(fin bool, op ws.OpCode, p string) []byte {
		var b bytes.Buffer
		_ = ws.WriteFrame(&b, ws.MaskFrameInPlace(ws.NewFrame(op, fin, []byte(p))))
		return b.Bytes()
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	f.Add(masked(true, ws.OpText, "hello"))
	f.Add(masked(true, ws.OpBinary, "\x01\x02"))
	f.Add(cat(masked(false, ws.OpText, "he"), masked(true, ws.OpPing, "p"), masked(true, ws.OpContinuation, "llo")))
	f.Add(masked(true, ws.OpText, string(bytes.Repeat([]byte("x"), 100))))
	f.Add(masked(true, ws.OpText, "\xff"))
	f.Add(masked(true, ws.OpClose, "\x03\xe8bye"))
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}) // not masked
	f.Add([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0})
	const max = 64
	codes := map[ws.StatusCode]bool{
		ws.StatusProtocolError: true, ws.StatusUnsupportedData: true,
		ws.StatusMessageTooBig: true, ws.StatusInvalidFramePayloadData: true,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pings := 0
		fr := &frameReader{r: bytes.NewReader(data), max: max, onPing: func(p []byte) {
			if len(p) > 125 {
				t.Fatalf("ping payload of %d bytes", len(p))
			}
			pings++
		}}
		for {
			msg, err := fr.readMessage()
			if err != nil {
				var ce *closeError
				var pc peerClose
				switch {
				case errors.As(err, &ce):
					if !codes[ce.code] || ce.reason == "" || ce.skip < 0 {
						t.Fatalf("close error %+v", ce)
					}
				case errors.As(err, &pc):
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				default:
					t.Fatalf("unexpected error %T %v", err, err)
				}
				return
			}
			if len(msg) > max || !utf8.Valid(msg) {
				t.Fatalf("message of %d bytes, valid UTF-8 %v", len(msg), utf8.Valid(msg))
			}
		}
	})
}
