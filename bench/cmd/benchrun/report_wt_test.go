package main

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/bench/internal/result"
)

func TestWTSection(t *testing.T) {
	res := func(ops int64, cpu, client, opsPerS, p50, p99 float64) *result.Result {
		return &result.Result{OpsUnit: "deliveries", Ops: ops, ServerCPU: cpu, ClientCPU: client, OpsPerS: opsPerS, P50Ms: p50, P99Ms: p99,
			CPUPerMillionOps: cpu / float64(ops) * 1e6}
	}
	fa := args("-scenario fanout -n 1000 -k 2000 -w 50")
	ea := args("-scenario echo -c 100 -rounds 1000")
	rep := &Report{Rounds: 2, Env: Env{NProc: 2}, Runs: []Run{
		{Round: 1, Server: sb, Scenario: "webtransport-echo-websocket", Args: ea, Result: res(1e5, 2, 1, 40000, 2, 8)},
		{Round: 1, Server: sb, Scenario: "webtransport-echo-webtransport", Args: ea, Result: res(1e5, 6, 5, 8000, 10, 80)},
		{Round: 1, Server: sb, Scenario: "webtransport-fanout-websocket", Args: fa, Result: res(2e6, 1, 2, 600000, 50, 200)},
		{Round: 1, Server: sb, Scenario: "webtransport-fanout-webtransport", Args: fa, Result: res(2e6, 4, 6, 200000, 200, 1000)},
		{Round: 2, Server: sb, Scenario: "webtransport-fanout-websocket", Args: fa, Result: res(2e6, 3, 2, 400000, 50, 200)},
		{Round: 2, Server: sb, Scenario: "webtransport-fanout-webtransport", Error: "loadgen: boom"},
	}}
	md := wtSection(rep)
	for _, want := range []string{
		"## WebTransport against WebSocket\n",
		"echo: 100 clients × 1000 closed-loop echoes of 100 B; fanout: 1000 clients in one room, 2000 broadcasts of 100 B, W=50",
		"@fails-components/webtransport", "Medians over 2 rounds",
		"| echo (deliveries) | WebSocket | 20.0 | 10.0 | 40,000 | 2.00 / 8.00 | 0 / 0 / 0 / 0 |",
		"| echo (deliveries) | WebTransport | 60.0 | 50.0 | 8,000 | 10.0 / 80.0 | 0 / 0 / 0 / 0 |",
		// fanout over WebSocket: median of 0.5 and 1.5 CPU-s/M, of 600,000 and 400,000/s.
		"| fanout (deliveries) | WebSocket | 1.00 | 1.00 | 500,000 | 50.0 / 200 | 0 / 0 / 0 / 0 |",
		"| fanout (deliveries) | WebTransport | 2.00 | 3.00 | 200,000 | 200 / 1,000 | 0 / 0 / 0 / 0, 1 failed runs: loadgen: boom |",
		"| echo | ratio | 3.00× | 5.00× | 0.20× | 5.00× | 10× |",
		"| fanout | ratio | 2.00× | 3.00× | 0.40× | 4.00× | 5.00× |",
		"| 2 | fanout | WebTransport | | | | | | | error: loadgen: boom |",
		"| 1 | echo | WebTransport | 8,000 | 60.0 | 10.0 / 80.0 | 6.00 | 5.00 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q\n%s", want, md)
		}
	}
	full := markdown(rep, rows(rep), "chart.svg", "results.json")
	if !strings.Contains(full, "- **webtransport**: Switchboard only") || strings.Contains(full, "**slow consumers**") || strings.Contains(full, "## Results") {
		t.Errorf("report:\n%s", full)
	}
	if wtSection(&Report{Runs: []Run{{Server: sb, Scenario: "echo"}}}) != "" {
		t.Error("a webtransport section without its runs")
	}
}
