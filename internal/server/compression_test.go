package server

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// socketio.per_message_deflate and http_compression reach the engine.
func TestConfigCompression(t *testing.T) {
	for _, on := range []bool{true, false} {
		cfg := config.Default()
		cfg.SocketIO.PerMessageDeflate.Enabled = on
		cfg.SocketIO.HTTPCompression = config.Compression{Enabled: on, Threshold: 0}
		url := serve(t, cfg)

		req, _ := http.NewRequest("GET", url+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		// The handshake is too small to gain from gzip, but with threshold
		// 0 its body depends on Accept-Encoding.
		if got, want := res.Header.Get("Vary"), map[bool]string{true: "Accept-Encoding"}[on]; got != want {
			t.Errorf("http_compression %v: Vary %q, want %q", on, got, want)
		}

		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err = http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("Sec-WebSocket-Extensions") != ""; res.StatusCode != 101 || got != on {
			t.Errorf("per_message_deflate %v: status %d, Sec-WebSocket-Extensions %q", on, res.StatusCode, res.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}
