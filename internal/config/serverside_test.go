package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestServerSideParse(t *testing.T) {
	in := `
namespaces:
  - name: /
    app: chat
    backend: {url: "http://127.0.0.1:9000/io"}
    server_side:
      - {event: ping, reply: {pong: true, n: 2}}
      - {event: none, reply: null}
      - {event: order, to: backend}
`
	c, err := Parse([]byte(in), "c.yaml", testApps)
	if err != nil {
		t.Fatal(err)
	}
	want := []ServerSideRule{
		{Event: "ping", Reply: map[string]any{"pong": true, "n": 2}},
		{Event: "none"},
		{Event: "order", To: RelayBackend},
	}
	if got := c.Namespaces[0].ServerSide; !reflect.DeepEqual(got, want) {
		t.Fatalf("server_side = %#v, want %#v", got, want)
	}
}

func TestServerSideParseErrors(t *testing.T) {
	ns := func(body string) string { return "namespaces:\n  - name: /\n    app: chat\n" + body }
	for _, tt := range []struct{ name, in, want string }{
		{"no answer", ns("    server_side:\n      - {event: x}\n"), `c.yaml:5: namespaces[0].server_side[0]: missing key "reply" (the answer) or "to" (backend)`},
		{"no event", ns("    server_side:\n      - {reply: 1}\n"), `c.yaml:5: namespaces[0].server_side[0]: missing key "event"`},
		{"empty event", ns("    server_side:\n      - {event: \"\", reply: 1}\n"), `c.yaml:5: namespaces[0].server_side[0].event: must not be empty`},
		{"duplicate", ns("    server_side:\n      - {event: x, reply: 1}\n      - {event: x, reply: 2}\n"), `c.yaml:6: namespaces[0].server_side[1].event: event "x" is already answered by namespaces[0].server_side[0]`},
		{"bad target", ns("    server_side:\n      - {event: x, to: others}\n"), `c.yaml:5: namespaces[0].server_side[0].to: unknown target "others" (want backend, or a reply instead)`},
		{"no backend", ns("    server_side:\n      - {event: x, to: backend}\n"), `c.yaml:5: namespaces[0].server_side[0].to: to: backend needs a backend section in this namespace`},
		{"both", ns("    backend: {url: \"http://a\"}\n    server_side:\n      - {event: x, to: backend, reply: 1}\n"), `c.yaml:6: namespaces[0].server_side[0].reply: not with to: backend (the backend's reply is the answer)`},
		{"unknown key", ns("    server_side:\n      - {event: x, reply: 1, ack: 2}\n"), `c.yaml:5: namespaces[0].server_side[0]: unknown key "ack" (allowed: event, to, reply)`},
		{"not a list", ns("    server_side: {event: x}\n"), `c.yaml:4: namespaces[0].server_side: want a list of {event, reply} or {event, to: backend} mappings, got a mapping`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "c.yaml", testApps)
			if err == nil {
				t.Fatalf("Parse succeeded, want %s", tt.want)
			}
			if first := strings.SplitN(err.Error(), "\n", 2)[0]; first != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
