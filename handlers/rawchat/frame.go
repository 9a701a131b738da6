package rawchat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// WebSocket framing (RFC 6455) for raw clients: text messages only, of a
// bounded size. Limits are checked on the frame header, before anything
// is allocated, and every violation carries the close code to send.

// closeError is a violation by the client and the close frame it earns.
type closeError struct {
	code   ws.StatusCode
	reason string
	// skip is how many bytes of the offending frame's payload are still
	// unread (they are discarded before the client's close reply is read).
	skip int64
}

func (e *closeError) Error() string {
	return fmt.Sprintf("rawchat: %s (close %d)", e.reason, e.code)
}

// peerClose is the client's close frame: the code to echo, if any.
type peerClose struct {
	code     ws.StatusCode
	hasCode  bool
	protocol bool // the frame was malformed: answer 1002
}

func (peerClose) Error() string { return "rawchat: closed by client" }

// frameReader reads the client's frames and reassembles text messages.
type frameReader struct {
	r      io.Reader
	max    int
	hdr    [ws.MaxHeaderSize - 2]byte
	onPing func(payload []byte)
	// onFrame, if set, is called before each frame is read (to set the
	// read deadline).
	onFrame func()
}

// readMessage returns the next complete text message. Pings found on the
// way, also between fragments, go to onPing; the client's close frame is
// returned as a peerClose error.
func (fr *frameReader) readMessage() ([]byte, error) {
	var (
		msg   []byte
		state = ws.StateServerSide
	)
	for {
		if fr.onFrame != nil {
			fr.onFrame()
		}
		h, err := ws.ReadHeaderBuffer(fr.r, fr.hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				return nil, &closeError{code: ws.StatusProtocolError, reason: "invalid frame length"}
			}
			return nil, err
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return nil, &closeError{code: ws.StatusProtocolError, reason: err.Error(), skip: h.Length}
		}
		if h.OpCode.IsControl() {
			payload := make([]byte, h.Length)
			if _, err := io.ReadFull(fr.r, payload); err != nil {
				return nil, err
			}
			ws.Cipher(payload, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				fr.onPing(payload)
			case ws.OpClose:
				return nil, parseClose(payload)
			}
			continue
		}
		if h.OpCode == ws.OpBinary {
			return nil, &closeError{code: ws.StatusUnsupportedData, reason: "binary messages are not supported, send text", skip: h.Length}
		}
		if int64(len(msg))+h.Length > int64(fr.max) {
			return nil, &closeError{code: ws.StatusMessageTooBig, reason: fmt.Sprintf("message over %d bytes", fr.max), skip: h.Length}
		}
		n := len(msg)
		msg = append(msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(fr.r, msg[n:]); err != nil {
			return nil, err
		}
		ws.Cipher(msg[n:], h.Mask, 0)
		if !h.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		if !utf8.Valid(msg) {
			return nil, &closeError{code: ws.StatusInvalidFramePayloadData, reason: "text message is not valid UTF-8"}
		}
		return msg, nil
	}
}

func parseClose(p []byte) peerClose {
	switch {
	case len(p) == 0:
		return peerClose{}
	case len(p) == 1:
		return peerClose{protocol: true}
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if ws.CheckCloseFrameData(code, string(p[2:])) != nil {
		return peerClose{protocol: true}
	}
	return peerClose{code: code, hasCode: true}
}

// appendFrameHeader appends the header of an unmasked, final frame of n
// bytes. Server frames are never masked, which is why one encoding serves
// every recipient.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	switch {
	case n < 126:
		return append(dst, 0x80|byte(op), byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|byte(op), 126)
		return binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|byte(op), 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// textFrame encodes parts, concatenated, as one text frame.
func textFrame(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := appendFrameHeader(make([]byte, 0, 10+n), ws.OpText, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// controlFrame encodes a control frame (payload up to 125 bytes).
func controlFrame(op ws.OpCode, payload []byte) []byte {
	return append(appendFrameHeader(make([]byte, 0, 2+len(payload)), op, len(payload)), payload...)
}
