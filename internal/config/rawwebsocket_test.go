package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestRawWebSocketValues(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     *RawWebSocket
	}{
		{"absent", "listen: \":1\"\n", nil},
		{"null", "raw_websocket: ~\n", nil},
		{"empty mapping", "raw_websocket: {}\n", &RawWebSocket{Path: "/", Namespace: "/", MaxMessage: 4096}},
		{"all keys", "static_dir: \"\"\nnamespaces:\n  - {name: /, app: bench}\n  - {name: /talk, app: chat}\nraw_websocket:\n  path: /ws\n  namespace: /talk\n  max_message: 100\n",
			&RawWebSocket{Path: "/ws", Namespace: "/talk", MaxMessage: 100}},
		{"trailing slash", "raw_websocket: {path: /chat/}\n", &RawWebSocket{Path: "/chat/", Namespace: "/", MaxMessage: 4096}},
		{"max is the queue bound", "socketio: {max_buffered_bytes: 5000}\nraw_websocket: {max_message: 5000}\n", &RawWebSocket{Path: "/", Namespace: "/", MaxMessage: 5000}},
		{"next to socket.io", "raw_websocket: {path: /socket.io.raw}\n", &RawWebSocket{Path: "/socket.io.raw", Namespace: "/", MaxMessage: 4096}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "c.yaml", testApps)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.RawWebSocket, tt.want) {
				t.Fatalf("raw_websocket = %+v, want %+v", c.RawWebSocket, tt.want)
			}
		})
	}
}

func TestRawWebSocketErrors(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"unknown key", "raw_websocket:\n  path: /\n  enabled: true\n", `config.yaml:3: raw_websocket: unknown key "enabled" (allowed: path, namespace, max_message)`},
		{"not a mapping", "raw_websocket: true\n", `config.yaml:1: raw_websocket: want a mapping, got boolean true`},
		// 1 is taken as the text "1", which validation refuses.
		{"path type", "raw_websocket:\n  path: 1\n", `config.yaml:2: raw_websocket.path: must start with "/", got "1"`},
		{"path list", "raw_websocket:\n  path: [/]\n", `config.yaml:2: raw_websocket.path: want a string, got a list`},
		{"path empty", "raw_websocket:\n  path: \"\"\n", `config.yaml:2: raw_websocket.path: must start with "/", got ""`},
		{"path relative", "raw_websocket:\n  path: chat\n", `config.yaml:2: raw_websocket.path: must start with "/", got "chat"`},
		{"path query", "raw_websocket:\n  path: /?x\n", `config.yaml:2: raw_websocket.path: invalid path "/?x" (no spaces, control characters, ? or #)`},
		{"path dots", "raw_websocket:\n  path: /a/../b\n", `config.yaml:2: raw_websocket.path: invalid path "/a/../b" (no empty, "." or ".." segments)`},
		{"path double slash", "raw_websocket:\n  path: //\n", `config.yaml:2: raw_websocket.path: invalid path "//" (no empty, "." or ".." segments)`},
		{"path in socket.io", "raw_websocket:\n  path: /socket.io/raw\n", `config.yaml:2: raw_websocket.path: "/socket.io/raw" is inside socketio.path "/socket.io/"`},
		{"path is socket.io", "raw_websocket:\n  path: /socket.io\n", `config.yaml:2: raw_websocket.path: "/socket.io" is inside socketio.path "/socket.io/"`},
		{"path in echo", "engineio_echo: {}\nraw_websocket:\n  path: /engine.io/\n", `config.yaml:3: raw_websocket.path: "/engine.io/" is inside engineio_echo.path "/engine.io/"`},
		{"socket.io at root", "static_dir: \"\"\nsocketio:\n  path: /\nraw_websocket: {}\n", `config.yaml:4: raw_websocket.path: "/" is inside socketio.path "/"`},
		{"max zero", "raw_websocket:\n  max_message: 0\n", `config.yaml:2: raw_websocket.max_message: must be positive, got 0`},
		{"max type", "raw_websocket:\n  max_message: 4k\n", `config.yaml:2: raw_websocket.max_message: want an integer, got string "4k"`},
		{"max over queue", "socketio:\n  max_buffered_bytes: 1000\nraw_websocket:\n  max_message: 4096\n", `config.yaml:4: raw_websocket.max_message: 4096 exceeds socketio.max_buffered_bytes (1000): one message would overflow every client's queue`},
		{"max over max_payload", "socketio:\n  max_payload: 1000\n  max_buffered_bytes: 1000000\nraw_websocket:\n  max_message: 4096\n", `config.yaml:5: raw_websocket.max_message: 4096 exceeds socketio.max_payload (1000), the bound on a Socket.IO client's messages`},
		{"namespace missing", "raw_websocket:\n  namespace: /talk\n", `config.yaml:2: raw_websocket.namespace: namespace "/talk" is not configured (namespaces lists "/")`},
		{"namespace not chat", "namespaces:\n  - name: /\n    app: bench\nraw_websocket: {}\n", `config.yaml:4: raw_websocket.namespace: namespace "/" runs app "bench", not chat: raw clients join a chat`},
		// A problem in the namespaces themselves is reported once.
		{"namespaces broken", "namespaces: []\nraw_websocket: {}\n", `config.yaml:1: namespaces: must list at least one namespace`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "config.yaml", testApps)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.in, c.RawWebSocket, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Fatalf("Parse(%q) error\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestRawWebSocketValidate(t *testing.T) {
	c := Default()
	c.RawWebSocket = &RawWebSocket{Path: "/", Namespace: "/", MaxMessage: 4096}
	if err := c.Validate(testApps); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.RawWebSocket.MaxMessage = -1
	c.RawWebSocket.Path = "x"
	err := c.Validate(testApps)
	want := "raw_websocket.path: must start with \"/\", got \"x\"\nraw_websocket.max_message: must be positive, got -1"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}

// The shipped config.yaml documents every key of the section.
func TestRawWebSocketDocumented(t *testing.T) {
	c, err := Load("../../config.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	if c.RawWebSocket == nil {
		t.Fatal("config.yaml does not enable raw_websocket")
	}
	data, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	rt := reflect.TypeFor[RawWebSocket]()
	for i := range rt.NumField() {
		k := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]
		if !strings.Contains(text, "\n  "+k+": ") {
			t.Errorf("config.yaml does not show raw_websocket.%s", k)
		}
	}
}
