//go:build unix

package apps

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

const msgpackConfig = `
static_dir: ""
socketio:
  parser: msgpack
namespaces:
  - {name: /, app: conformance}
  - {name: /custom, app: conformance}
  - name: /relay
    relay:
      - {event: drawing, to: others}
`

// TestMsgpackParser runs e2e/js/apps/msgpack.apps.mjs: socket.io-client
// 4.8.4 with socket.io-msgpack-parser 3.0.2 against Switchboard with
// socketio.parser: msgpack, over every transport mode: values of every
// MessagePack kind both ways, binary at the top level and nested, acks
// both ways, a room broadcast, a custom namespace, relay rules,
// CONNECT_ERROR, and a client with the default parser left unconnected.
// It also fetches the msgpack browser bundle from the running app.
func TestMsgpackParser(t *testing.T) {
	url, _ := start(t, msgpackConfig)
	resp, err := http.Get(url + "/socket.io/socket.io.msgpack.min.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body[:min(len(body), 200)]), "Socket.IO v4.8.4") {
		t.Fatalf("GET socket.io.msgpack.min.js: status %d, %d bytes", resp.StatusCode, len(body))
	}
	runNode(t, "msgpack.apps.mjs", url)
}
