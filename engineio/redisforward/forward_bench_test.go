package redisforward_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio/redisforward"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// The cost of forwarding: a polling POST served by the owner directly,
// then through another node.
func BenchmarkPollingPost(b *testing.B) {
	nodes := startCluster(b, 2, quiet, redisforward.Options{})
	c := newClient(b, nodes)
	c.open() // on nodes[0]
	for _, bc := range []struct {
		name string
		n    *node
	}{{"local", nodes[0]}, {"forwarded", nodes[1]}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if code, res := c.do(bc.n, "POST", "4nop"); code != 200 {
					b.Fatalf("POST: %d %q", code, res)
				}
			}
		})
	}
}

// The cost of tunnelling: a WebSocket message and its echo, on the
// owner's connection, then through a tunnel.
func BenchmarkWebSocketEcho(b *testing.B) {
	nodes := startCluster(b, 2, quiet, redisforward.Options{})
	local := wsclient.Dial(b, nodes[0].hs.URL+"/engine.io/?EIO=4&transport=websocket", nil)
	if _, _, err := local.Read(5 * time.Second); err != nil { // open packet
		b.Fatal(err)
	}
	c := newClient(b, nodes)
	c.open() // on nodes[0]
	tunneled := wsclient.Dial(b, nodes[1].hs.URL+"/engine.io/?EIO=4&transport=websocket&sid="+c.sid, nil)
	_ = tunneled.WriteText("2probe")
	if m, _, err := tunneled.Read(5 * time.Second); err != nil || string(m) != "3probe" {
		b.Fatal(string(m), err)
	}
	_ = tunneled.WriteText("5")
	for _, bc := range []struct {
		name string
		ws   *wsclient.Conn
	}{{"local", local}, {"tunneled", tunneled}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.ws.WriteText("4hello"); err != nil {
					b.Fatal(err)
				}
				if m, _, err := bc.ws.Read(5 * time.Second); err != nil || string(m) != "4echo:hello" {
					b.Fatalf("%q %v", m, err)
				}
			}
		})
	}
}
