package engineio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
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

// A message that has begun must complete within the reader's timeout; the
// wait for a message to begin, and a control frame between messages, set
// no deadline that outlives them.
func TestFrameMessageDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tt := range []struct {
		name    string
		partial []byte // sent after a long idle wait and a whole message
	}{
		{"header only", clientFrame(true, opText, []byte("4hello"))[:1]},
		{"payload cut", clientFrame(true, opText, bytes.Repeat([]byte("x"), 1000))[:100]},
		{"second fragment missing", clientFrame(false, opText, []byte("4he"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := net.Pipe()
			defer srv.Close()
			defer cli.Close()
			fr := frameReader{r: bufio.NewReader(srv), max: 1 << 20, conn: srv, timeout: timeout,
				onCtl: func(byte, []byte) error { return nil }}
			go func() {
				time.Sleep(2 * timeout) // idle: no deadline applies
				_, _ = cli.Write(clientFrame(true, opPing, []byte("p")))
				time.Sleep(2 * timeout) // idle again after a control frame
				_, _ = cli.Write(clientFrame(true, opText, []byte("4hello")))
				time.Sleep(2 * timeout) // and after a message
				_, _ = cli.Write(tt.partial)
			}()
			data, _, err := fr.readMessage()
			if err != nil || string(data) != "4hello" {
				t.Fatalf("after idle waits: %q, %v", data, err)
			}
			start := time.Now()
			if _, _, err := fr.readMessage(); err != errMessageSlow {
				t.Fatalf("partial message: %v, want errMessageSlow", err)
			}
			if d := time.Since(start); d > 2*time.Second+2*timeout {
				t.Fatalf("partial message ended after %v", d)
			}
		})
	}
}

// A header that declares a large payload gets a buffer for the bytes
// that come, not for the length it declares.
func TestFramePayloadGrowsWithInput(t *testing.T) {
	frame := clientFrame(true, opBinary, bytes.Repeat([]byte{7}, 1<<20))
	fr := frameReader{r: bufio.NewReader(bytes.NewReader(frame[:10+4+100])), max: 2 << 20}
	_, _, _, length, _, err := fr.readHeader(true)
	if err != nil || length != 1<<20 {
		t.Fatalf("header: %d, %v", length, err)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	got, err := fr.readPayload(nil, int(length))
	runtime.ReadMemStats(&ms1)
	if err == nil || got != nil {
		t.Fatalf("truncated payload: %d bytes, %v", len(got), err)
	}
	if n := ms1.TotalAlloc - ms0.TotalAlloc; n > 256<<10 {
		t.Fatalf("100 bytes of a 1 MiB payload allocated %d bytes", n)
	}
}

// A client that pings and never reads ends its connection once a pong
// cannot be written: the reader does not go on with a stream that may
// hold half a frame.
func TestPongWriteFailureEndsConnection(t *testing.T) {
	srv, cli := net.Pipe() // nobody reads cli: every write blocks
	defer srv.Close()
	defer cli.Close()
	c := &wsConn{conn: srv}
	done := make(chan error, 1)
	go func() { done <- c.onControl(opPing, []byte("p")) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("pong not written, and the reader goes on")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("pong write still blocked after 20s")
	}
}
