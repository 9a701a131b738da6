package engineio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// clientFrame encodes a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	var b bytes.Buffer
	first := op
	if fin {
		first |= 0x80
	}
	b.WriteByte(first)
	n := len(payload)
	switch {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(0x80 | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(0x80 | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	b.Write(mask[:])
	masked := append([]byte(nil), payload...)
	for i := range masked {
		masked[i] ^= mask[i&3]
	}
	b.Write(masked)
	return b.Bytes()
}

func TestPutFrameHeader(t *testing.T) {
	for _, tt := range []struct{ n, hlen int }{{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}} {
		var h [maxFrameHeader]byte
		if got := putFrameHeader(h[:], opText, tt.n); got != tt.hlen {
			t.Errorf("header length for %d bytes = %d, want %d", tt.n, got, tt.hlen)
		}
		if h[0] != 0x81 {
			t.Errorf("first byte = %#x, want FIN|text", h[0])
		}
	}
}

func TestFrameReader(t *testing.T) {
	var ctl []string
	input := bytes.Join([][]byte{
		clientFrame(true, opText, []byte("4hello")),
		clientFrame(false, opText, []byte("4he")),
		clientFrame(true, opPing, []byte("p")), // control frame between fragments
		clientFrame(false, opContinuation, []byte("ll")),
		clientFrame(true, opContinuation, []byte("o")),
		clientFrame(true, opBinary, bytes.Repeat([]byte{7}, 70000)),
	}, nil)
	fr := frameReader{r: bufio.NewReader(bytes.NewReader(input)), max: 1 << 20, onCtl: func(op byte, p []byte) error {
		ctl = append(ctl, string(p))
		return nil
	}}
	for i, want := range []string{"4hello", "4hello"} {
		data, bin, err := fr.readMessage()
		if err != nil || bin || string(data) != want {
			t.Fatalf("message %d = %q, %v, %v", i, data, bin, err)
		}
	}
	data, bin, err := fr.readMessage()
	if err != nil || !bin || len(data) != 70000 || data[69999] != 7 {
		t.Fatalf("binary message: len %d, %v, %v", len(data), bin, err)
	}
	if len(ctl) != 1 || ctl[0] != "p" {
		t.Fatalf("control frames seen = %q", ctl)
	}
	if _, _, err := fr.readMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("at end: %v, want EOF", err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	unmasked := []byte{0x81, 0x01, 'x'}
	tests := []struct {
		name  string
		input []byte
		code  int
	}{
		{"unmasked", unmasked, closeProtocolError},
		{"too big", clientFrame(true, opText, bytes.Repeat([]byte("a"), 101)), closeTooBig},
		{"too big in fragments", append(clientFrame(false, opText, bytes.Repeat([]byte("a"), 60)), clientFrame(true, opContinuation, bytes.Repeat([]byte("a"), 60))...), closeTooBig},
		{"invalid utf-8", clientFrame(true, opText, []byte{'4', 0xff}), closeInvalidPayload},
		{"continuation first", clientFrame(true, opContinuation, []byte("x")), closeProtocolError},
		{"new message inside fragmented one", append(clientFrame(false, opText, []byte("x")), clientFrame(true, opText, []byte("y"))...), closeProtocolError},
		{"reserved opcode", clientFrame(true, 0x3, []byte("x")), closeProtocolError},
		{"fragmented control", clientFrame(false, opPing, []byte("x")), closeProtocolError},
		{"rsv bits", append([]byte{0xC1}, clientFrame(true, opText, []byte("x"))[1:]...), closeProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := frameReader{r: bufio.NewReader(bytes.NewReader(tt.input)), max: 100, onCtl: func(byte, []byte) error { return nil }}
			_, _, err := fr.readMessage()
			var fe *frameError
			if !errors.As(err, &fe) || fe.code != tt.code {
				t.Fatalf("err = %v, want close code %d", err, tt.code)
			}
		})
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(clientFrame(true, opText, []byte("4hello")))
	f.Add(append(clientFrame(false, opBinary, []byte{1, 2}), clientFrame(true, opContinuation, []byte{3})...))
	f.Add(clientFrame(true, opClose, []byte{3, 232}))
	f.Fuzz(func(t *testing.T, input []byte) {
		fr := frameReader{r: bufio.NewReader(bytes.NewReader(input)), max: 1 << 16, onCtl: func(byte, []byte) error { return nil }}
		for i := 0; i < 100; i++ {
			data, _, err := fr.readMessage()
			if err != nil {
				return
			}
			if int64(len(data)) > fr.max {
				t.Fatalf("message of %d bytes passed a %d limit", len(data), fr.max)
			}
		}
	})
}
