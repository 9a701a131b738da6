package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

// TestMetricsFollowClients: two WebSocket clients connect, join a room,
// one broadcasts to it, one sends more than max_payload, both leave; the
// scraped metrics follow each step exactly.
func TestMetricsFollowClients(t *testing.T) {
	s := start(t, conformance(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	s.waitMetrics(
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 0},
		expect{"switchboard_handshakes_total", []string{"transport=websocket"}, 0},
	)
	c1, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for _, c := range []*sioclient.Client{c1, c2} {
		if _, err := c.EmitWithAck(ctx, "join", "room1"); err != nil {
			t.Fatal(err)
		}
	}
	s.waitMetrics(
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 2},
		expect{"switchboard_sockets", []string{"namespace=/", "transport=polling"}, 0},
		expect{"switchboard_sockets", []string{"namespace=/custom", "transport=websocket"}, 0},
		expect{"switchboard_engine_sessions", []string{"transport=websocket"}, 2},
		expect{"switchboard_handshakes_total", []string{"transport=websocket"}, 2},
		expect{"switchboard_handshakes_total", []string{"transport=polling"}, 0},
		expect{"switchboard_connects_total", []string{"namespace=/"}, 2},
		expect{"switchboard_events_received_total", []string{"namespace=/"}, 2},
		// 2 CONNECT + 2 "join"
		expect{"switchboard_packets_received_total", nil, 4},
		// per client: CONNECT answer, "auth" on connection, the join ack
		expect{"switchboard_packets_sent_total", nil, 6},
		expect{"switchboard_broadcasts_total", []string{"namespace=/"}, 0},
	)

	before := s.scrape()
	if err := c1.Emit("to-room", "room1", "hello"); err != nil {
		t.Fatal(err)
	}
	ev, err := c2.Expect(ctx, "room-message")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := ev.Arg(0, &got); err != nil || got != "hello" {
		t.Fatalf("room-message %v (%v)", ev.Args, err)
	}
	after := s.waitMetrics(
		expect{"switchboard_broadcasts_total", []string{"namespace=/"}, 1},
		expect{"switchboard_broadcast_recipients_total", nil, 1}, // the sender is excepted
		expect{"switchboard_events_received_total", []string{"namespace=/"}, 3},
		expect{"switchboard_packets_received_total", nil, 5},
		expect{"switchboard_packets_sent_total", nil, 7},
	)
	for _, name := range []string{"switchboard_received_bytes_total", "switchboard_sent_bytes_total"} {
		// `42["to-room","room1","hello"]` in, `42["room-message","hello"]` out
		if d := after.get(name) - before.get(name); d < 20 || d > 40 {
			t.Errorf("%s grew by %v for one small event", name, d)
		}
	}

	// Over max_payload (1,000,000 in this profile): the connection is closed.
	_ = c2.Emit("message", strings.Repeat("x", 1_100_000)) // the server may close before all is written
	s.waitMetrics(
		expect{"switchboard_limit_rejections_total", []string{"kind=max_payload"}, 1},
		expect{"switchboard_limit_rejections_total", []string{"kind=max_buffered_bytes"}, 0},
		expect{"switchboard_disconnects_total", []string{"namespace=/", "reason=transport error"}, 1},
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 1},
	)

	c1.Close()
	s.waitMetrics(
		expect{"switchboard_disconnects_total", []string{"namespace=/", "reason=transport close"}, 1},
		expect{"switchboard_engine_closes_total", []string{"reason=transport close"}, 1},
		expect{"switchboard_engine_closes_total", []string{"reason=transport error"}, 1},
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 0},
		expect{"switchboard_engine_sessions", []string{"transport=websocket"}, 0},
		// Totals survive the sessions that made them.
		expect{"switchboard_packets_received_total", nil, 5}, // the oversized one is not
	)
}

// TestMetricsNodeClient: the npm socket.io-client connects with polling,
// upgrades to WebSocket, answers a server acknowledgement request, and
// disconnects itself.
func TestMetricsNodeClient(t *testing.T) {
	s := start(t, conformance(t))
	script := `
import { io } from "socket.io-client";
import { createInterface } from "node:readline";
const socket = io(process.env.URL, { reconnection: false });
const fail = (m) => { console.log("error " + m); process.exit(1); };
const timer = setTimeout(() => fail("timeout"), 15000);
socket.on("server-ack-request", (arg, cb) => cb("answer"));
socket.on("connect_error", (e) => fail(e.message));
const go = () => {
  socket.emit("request-ack", "q");
  socket.once("server-ack-result", (r) => {
    clearTimeout(timer);
    console.log("ready " + socket.io.engine.transport.name + " " + JSON.stringify(r));
    createInterface({ input: process.stdin }).on("close", () => { socket.disconnect(); setTimeout(() => process.exit(0), 100); });
  });
};
socket.once("connect", () => {
  if (socket.io.engine.transport.name === "websocket") go(); else socket.io.engine.once("upgrade", go);
});
`
	sc, stdin := runNode(t, s.url, script)
	if !sc.Scan() {
		t.Fatalf("node client said nothing: %v", sc.Err())
	}
	if line := sc.Text(); line != `ready websocket "answer"` {
		t.Fatalf("node client: %s", line)
	}
	m := s.waitMetrics(
		expect{"switchboard_handshakes_total", []string{"transport=polling"}, 1},
		expect{"switchboard_upgrades_total", nil, 1},
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 1},
		expect{"switchboard_engine_sessions", []string{"transport=polling"}, 0},
		expect{"switchboard_engine_sessions", []string{"transport=websocket"}, 1},
		expect{"switchboard_ack_latency_seconds", nil, 1},
	)
	h := m["switchboard_ack_latency_seconds"].Metric[0].Histogram
	if sum := h.GetSampleSum(); sum <= 0 || sum > 5 {
		t.Errorf("ack latency sum %v s", sum)
	}
	if b := h.Bucket[len(h.Bucket)-2]; b.GetCumulativeCount() != 1 || b.GetUpperBound() != 10 { // then +Inf
		t.Errorf("last bucket %v", b)
	}
	stdin.Close()
	s.waitMetrics(
		expect{"switchboard_disconnects_total", []string{"namespace=/", "reason=client namespace disconnect"}, 1},
		expect{"switchboard_sockets", []string{"namespace=/", "transport=websocket"}, 0},
	)
}

// TestMetricsEndpointConfig: the path moves, a token is required when set,
// and the endpoint can be turned off.
func TestMetricsEndpointConfig(t *testing.T) {
	cfg := conformance(t)
	cfg.Metrics.Path = "/internal/prom"
	cfg.Metrics.Token = "0123456789abcdef0123"
	s := start(t, cfg)
	if code, _ := httpGet(t, s.url+"/metrics"); code != 404 {
		t.Errorf("old path: %d", code)
	}
	if code, _ := httpGet(t, s.url+"/internal/prom"); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := httpGet(t, s.url+"/internal/prom", "Authorization", "Bearer wrong-token-wrong-token"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	code, body := httpGet(t, s.url+"/internal/prom", "Authorization", "Bearer 0123456789abcdef0123")
	if code != 200 || !strings.Contains(body, "switchboard_sockets{") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("with token: %d %.200s", code, body)
	}

	cfg = conformance(t)
	cfg.Metrics.Enabled = false
	s = start(t, cfg)
	if code, _ := httpGet(t, s.url+"/metrics"); code != 404 {
		t.Errorf("disabled: %d", code)
	}
}
