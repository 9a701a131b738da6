package engineio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"time"
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
	// closeNoStatus is never sent: closeFrame makes it a close frame with
	// no code, which the client reports as 1005. The Node server closes
	// that way (the ws library's close() without arguments).
	closeNoStatus        = 1005
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
	if code == closeNoStatus {
		return []byte{0x80 | opClose, 0}
	}
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

var (
	errMessageTooBig = &frameError{closeTooBig, "message too big"}
	errMessageSlow   = &frameError{closePolicyViolation, "message not completed in time"}
)

// frameReader reads client frames and reassembles messages.
type frameReader struct {
	// r is a *bufio.Reader, not an io.Reader, so that header fields
	// can be read with Peek (readField). Were hdr passed to an
	// interface's Read, Go would have to allocate the whole frameReader
	// on the heap, once per read burst, instead of on the caller's stack.
	r   *bufio.Reader
	max int64 // largest message accepted, compressed or inflated
	// deflate: permessage-deflate was negotiated: a message whose first
	// frame has RSV1 set is inflated.
	deflate bool
	hdr     [14]byte
	onCtl   func(op byte, payload []byte) error
	// conn, when not nil, gets a read deadline timeout after a frame
	// has begun to arrive, cleared once its message is complete: a
	// started message must finish in time, while the wait for the next
	// one has no deadline (the heartbeat bounds that). armed: set.
	conn    net.Conn
	timeout time.Duration
	armed   bool
	// wt: the stream framing of WebTransport, not WebSocket frames.
	wt bool
}

// arm sets the deadline for the message under way, if not yet set. It is
// called only before a read that would wait for the network, so a message
// that arrived whole costs no deadline.
func (fr *frameReader) arm() {
	if !fr.armed && fr.conn != nil {
		fr.armed = true
		_ = fr.conn.SetReadDeadline(time.Now().Add(fr.timeout))
	}
}

// disarm clears the deadline between messages.
func (fr *frameReader) disarm() {
	if fr.armed {
		fr.armed = false
		_ = fr.conn.SetReadDeadline(time.Time{})
	}
}

// need arms the deadline if fewer than n bytes are buffered.
func (fr *frameReader) need(n int) {
	if fr.r.Buffered() < n {
		fr.arm()
	}
}

// readMessage returns the next complete data message. Control frames found
// on the way, including those between fragments, are passed to onCtl.
func (fr *frameReader) readMessage() (data []byte, binary bool, err error) {
	if fr.wt {
		return fr.readWTMessage()
	}
	var (
		started    bool
		compressed bool
		op         byte
	)
	for {
		fin, rsv, fop, length, mask, err := fr.readHeader(!started)
		if err != nil {
			return nil, false, fr.readError(err)
		}
		if fop >= 0x8 { // control frame
			if !fin || length > 125 || rsv {
				return nil, false, &frameError{closeProtocolError, "invalid control frame"}
			}
			fr.need(int(length))
			payload := make([]byte, length)
			if _, err := io.ReadFull(fr.r, payload); err != nil {
				return nil, false, fr.readError(err)
			}
			unmask(payload, mask)
			if err := fr.onCtl(fop, payload); err != nil {
				return nil, false, err
			}
			if !started {
				fr.disarm() // back to waiting for a message
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
		if data, err = fr.readPayload(data, int(length)); err != nil {
			return nil, false, fr.readError(err)
		}
		unmask(data[n:], mask)
		if fin {
			fr.disarm()
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

// readPayload appends length payload bytes to data. A payload already
// buffered is read with one allocation of its size; otherwise data grows
// with the bytes that arrive, to four times what has come so far at most
// (16 KiB at least): a header that declares a large payload costs little
// until the payload comes, and a large message that does come is read
// with a few allocations (four for 1 MB), not one per doubling.
func (fr *frameReader) readPayload(data []byte, length int) ([]byte, error) {
	n := len(data)
	if length <= fr.r.Buffered() {
		data = append(data, make([]byte, length)...)
		_, err := io.ReadFull(fr.r, data[n:])
		return data, err
	}
	fr.arm()
	end := n + length
	for len(data) < end {
		if len(data) == cap(data) {
			data = slices.Grow(data, min(end-len(data), max(3*len(data), minPayloadGrowth)))
		}
		k, err := fr.r.Read(data[len(data):min(end, cap(data))])
		data = data[:len(data)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return data, nil
}

// minPayloadGrowth is the least a payload's buffer grows by while its
// bytes arrive (less if the payload ends sooner).
const minPayloadGrowth = 16 << 10

// readError turns a read that timed out under the message deadline into
// errMessageSlow.
func (fr *frameReader) readError(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && fr.armed {
		return errMessageSlow
	}
	return err
}

// readHeader reads a frame header; rsv reports RSV1, which only
// permessage-deflate allows. idle: no message is under way, so the wait
// for the header's first byte has no deadline.
func (fr *frameReader) readHeader(idle bool) (fin, rsv bool, op byte, length int64, mask [4]byte, err error) {
	h := fr.hdr[:]
	if idle && fr.r.Buffered() == 0 {
		if _, err = fr.r.Peek(1); err != nil {
			return
		}
	}
	fr.need(2)
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
		fr.need(2)
		if err = readField(fr.r, h[2:4]); err != nil {
			return
		}
		length = int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		fr.need(8)
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
	fr.need(4)
	if err = readField(fr.r, mask[:]); err != nil {
		return
	}
	return
}

func unmask(b []byte, mask [4]byte) { ws.Cipher(b, mask, 0) }

var errClosedByPeer = errors.New("websocket: closed by peer")

// readField fills p, a header field (a few bytes, less than r's buffer),
// from r. It copies from Peek rather than calling Read, so that p is never
// passed to r's underlying io.Reader: a buffer passed to an interface
// method has to live on the heap, and p is meant to stay on the caller's
// stack.
func readField(r *bufio.Reader, p []byte) error {
	b, err := r.Peek(len(p))
	n := copy(p, b)
	_, _ = r.Discard(n)
	if err == io.EOF && n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return err
}
