package engineio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// WebSocket framing (RFC 6455). Server frames are never masked, which is why
// a frame can be encoded once and written to every recipient. Reading uses
// our own small parser instead of a library reader so that control frames
// are answered through the session's write queue, never concurrently with
// it, and so that limits are checked before anything is allocated.

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// WebSocket close codes used by the server.
const (
	closeNormal          = 1000
	closeGoingAway       = 1001
	closeProtocolError   = 1002
	closeUnsupported     = 1003
	closeInvalidPayload  = 1007
	closePolicyViolation = 1008
	closeTooBig          = 1009
)

// putFrameHeader writes a FIN frame header for an unmasked frame and returns
// its length. dst must hold maxFrameHeader bytes.
func putFrameHeader(dst []byte, op byte, n int) int {
	dst[0] = 0x80 | op
	switch {
	case n < 126:
		dst[1] = byte(n)
		return 2
	case n <= 0xFFFF:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
		return 4
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
		return 10
	}
}

// closeFrame encodes a close frame with a status code and reason.
func closeFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	payload := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	copy(payload[2:], reason)
	b := make([]byte, maxFrameHeader+len(payload))
	n := putFrameHeader(b, opClose, len(payload))
	copy(b[n:], payload)
	return b[:n+len(payload)]
}

// frameError is a protocol violation by the peer, with the close code to send.
type frameError struct {
	code int
	msg  string
}

func (e *frameError) Error() string { return "websocket: " + e.msg }

var errMessageTooBig = &frameError{closeTooBig, "message too big"}

// frameReader reads client frames and reassembles messages.
type frameReader struct {
	// r is concrete, not an io.Reader, so that header fields are read
	// with Peek (readField) and the frameReader stays on its caller's
	// stack: through an interface, hdr would escape and take the
	// frameReader to the heap, one allocation per read burst.
	r   *bufio.Reader
	max int64 // largest message accepted, compressed or inflated
	// deflate: permessage-deflate was negotiated: a message whose first
	// frame has RSV1 set is inflated.
	deflate bool
	hdr     [14]byte
	onCtl   func(op byte, payload []byte) error
}

// readMessage returns the next complete data message. Control frames found
// on the way, including those between fragments, are passed to onCtl.
func (fr *frameReader) readMessage() (data []byte, binary bool, err error) {
	var (
		started    bool
		compressed bool
		op         byte
	)
	for {
		fin, rsv, fop, length, mask, err := fr.readHeader()
		if err != nil {
			return nil, false, err
		}
		if fop >= 0x8 { // control frame
			if !fin || length > 125 || rsv {
				return nil, false, &frameError{closeProtocolError, "invalid control frame"}
			}
			payload := make([]byte, length)
			if _, err := io.ReadFull(fr.r, payload); err != nil {
				return nil, false, err
			}
			unmask(payload, mask)
			if err := fr.onCtl(fop, payload); err != nil {
				return nil, false, err
			}
			continue
		}
		switch {
		case fop == opContinuation && !started:
			return nil, false, &frameError{closeProtocolError, "unexpected continuation frame"}
		case fop != opContinuation && started:
			return nil, false, &frameError{closeProtocolError, "expected continuation frame"}
		case fop != opContinuation && fop != opText && fop != opBinary:
			return nil, false, &frameError{closeProtocolError, "unknown opcode"}
		}
		if fop != opContinuation {
			op, started, compressed = fop, true, rsv
		} else if rsv {
			// RFC 7692 section 6.1: RSV1 marks the first frame only.
			return nil, false, &frameError{closeProtocolError, "RSV1 set on a continuation frame"}
		}
		if int64(len(data))+length > fr.max {
			return nil, false, errMessageTooBig
		}
		n := len(data)
		data = append(data, make([]byte, length)...)
		if _, err := io.ReadFull(fr.r, data[n:]); err != nil {
			return nil, false, err
		}
		unmask(data[n:], mask)
		if fin {
			if compressed {
				if data, err = inflate(data, fr.max); err != nil {
					return nil, false, err
				}
			}
			if op == opText && !utf8.Valid(data) {
				return nil, false, &frameError{closeInvalidPayload, "invalid UTF-8 in text frame"}
			}
			return data, op == opBinary, nil
		}
	}
}

// readHeader reads a frame header; rsv reports RSV1, which only
// permessage-deflate allows.
func (fr *frameReader) readHeader() (fin, rsv bool, op byte, length int64, mask [4]byte, err error) {
	h := fr.hdr[:]
	if err = readField(fr.r, h[:2]); err != nil {
		return
	}
	fin = h[0]&0x80 != 0
	rsv = h[0]&rsv1 != 0
	if h[0]&0x30 != 0 || (rsv && !fr.deflate) {
		err = &frameError{closeProtocolError, "reserved bits set"}
		return
	}
	op = h[0] & 0x0F
	if h[1]&0x80 == 0 {
		err = &frameError{closeProtocolError, "client frame not masked"}
		return
	}
	length = int64(h[1] & 0x7F)
	switch length {
	case 126:
		if err = readField(fr.r, h[2:4]); err != nil {
			return
		}
		length = int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		if err = readField(fr.r, h[2:10]); err != nil {
			return
		}
		u := binary.BigEndian.Uint64(h[2:10])
		if u > 1<<62 {
			err = &frameError{closeProtocolError, "invalid frame length"}
			return
		}
		length = int64(u)
	}
	if op < 0x8 && length > fr.max {
		err = errMessageTooBig
		return
	}
	if err = readField(fr.r, mask[:]); err != nil {
		return
	}
	return
}

func unmask(b []byte, mask [4]byte) { ws.Cipher(b, mask, 0) }

var errClosedByPeer = errors.New("websocket: closed by peer")

// readField fills p, a header field (a few bytes, less than r's buffer),
// from r. Through Peek rather than Read, p never reaches r's underlying
// io.Reader, so the caller's buffer can stay on its stack.
func readField(r *bufio.Reader, p []byte) error {
	b, err := r.Peek(len(p))
	n := copy(p, b)
	_, _ = r.Discard(n)
	if err == io.EOF && n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return err
}
