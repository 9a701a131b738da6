//go:build unix

package apps

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
)

const relayConfig = `
static_dir: ""
api: {key: "` + apiKey + `"}
namespaces:
  - name: /
    relay:
      - {event: drawing, to: others}
  - name: /rooms
    relay:
      - {event: say, to: rooms, attach_sender: true}
      - {event: to-room, to: room}
      - {event: shout, to: room, rooms: ["public:*"]}
    rooms:
      allow: ["game:*", "public:*"]
      max_per_socket: 2
  - name: /chat
    app: chat
    relay:
      - {event: drawing, to: others}
`

// TestRelayRules runs e2e/js/apps/relay.apps.mjs: each rule type, room
// requests and their limits, the sender's identity, and events without a
// rule, with socket.io-client 4.8.4.
func TestRelayRules(t *testing.T) {
	url, a := start(t, relayConfig)
	runNode(t, "relay.apps.mjs", url)

	st := a.Stats()
	root := st["/"].Relay
	if root == nil || root.NoRule == 0 || root.Relayed == 0 {
		t.Fatalf("/ stats = %+v: want relayed and no_rule events counted", root)
	}
	rooms := st["/rooms"].Relay
	if rooms == nil || rooms.Denied == 0 || rooms.Joins == 0 || rooms.Leaves == 0 {
		t.Fatalf("/rooms stats = %+v: want denied, joins and leaves counted", rooms)
	}
	t.Logf("stats: / %+v, /rooms %+v", *root, *rooms)
}

// TestWhiteboardExample: the shipped example config is valid and its one
// rule relays the demo's "drawing" event (the client itself is driven in
// a browser by TestWhiteboardBrowser).
func TestWhiteboardExampleConfig(t *testing.T) {
	root := filepath.Join("..", "..")
	cfg, err := config.Load(filepath.Join(root, "examples", "whiteboard", "whiteboard.yaml"), handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	ns := cfg.Namespaces
	if len(ns) != 1 || ns[0].App != "" || len(ns[0].Relay) != 1 || !reflect.DeepEqual(ns[0].Relay[0], config.RelayRule{Event: "drawing", To: config.RelayOthers}) {
		t.Fatalf("whiteboard namespaces = %+v", ns)
	}
	for _, f := range []string{"index.html", "main.js", "style.css"} {
		if _, err := os.Stat(filepath.Join(root, cfg.StaticDir, f)); err != nil {
			t.Errorf("static file: %v", err)
		}
	}
}
