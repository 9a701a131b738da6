package server

import (
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
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

		c := wsclient.Dial(t, url+"/socket.io/?EIO=4&transport=websocket", &wsclient.Options{Deflate: true})
		c.Close()
		if got := c.Response.Header.Get("Sec-WebSocket-Extensions") != ""; c.Response.StatusCode != 101 || got != on {
			t.Errorf("per_message_deflate %v: status %d, Sec-WebSocket-Extensions %q", on, c.Response.StatusCode, c.Response.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}
