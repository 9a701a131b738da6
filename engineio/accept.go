package engineio

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"
)

// The WebSocket opening handshake (RFC 6455, section 4.2), done here rather
// than by a library so that the 101 response and the Engine.IO open packet
// leave in one write.

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var errHandshake = errors.New("engineio: bad WebSocket handshake")

// accept answers a WebSocket upgrade request (isWebSocketRequest checked
// the method and the Upgrade and Connection headers) and takes over the
// connection. header holds extra response header lines ("Name: value\r\n"
// each); first, if not nil, is sent right behind the 101 response.
// permessage-deflate is negotiated when pmd is enabled and the client
// offers it. On failure the request has been answered with an HTTP error.
func accept(w http.ResponseWriter, r *http.Request, header string, first *Message, pmd Compression) (*wsConn, error) {
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported WebSocket version", http.StatusUpgradeRequired)
		return nil, errHandshake
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, "invalid Sec-WebSocket-Key", http.StatusBadRequest)
		return nil, errHandshake
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "WebSocket not supported here", http.StatusInternalServerError)
		return nil, errHandshake
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	var deflate bool
	if pmd.Enabled {
		if ext := acceptDeflate(r.Header.Values("Sec-WebSocket-Extensions")); ext != "" {
			header += ext
			deflate = true
		}
	}
	b := make([]byte, 0, 160+len(header)+maxFrameHeader+64)
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	b = append(b, "\r\n"...)
	b = append(b, header...)
	b = append(b, "\r\n"...)
	if first != nil {
		b = append(b, first.hdr[:first.hlen]...)
		b = append(b, first.data...)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Write(b)
	_ = conn.SetWriteDeadline(time.Time{})
	if err != nil {
		conn.Close()
		return nil, err
	}
	raw := rawConn(conn)
	c := &wsConn{conn: conn, raw: raw, rw: rawWriter{raw: raw}, br: brw.Reader, deflate: deflate, threshold: max(pmd.Threshold, 0)}
	c.onCtl = c.onControl
	return c, nil
}

func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(websocketGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// rawConn returns the connection's descriptor access, if it has one (TLS
// connections do not: they are always written by a writer goroutine).
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
