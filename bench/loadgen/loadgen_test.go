package main

import (
	"context"
	"os"
	"testing"
	"time"

	appconfig "github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/testcert"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

func testConfig(t *testing.T) config {
	cfg := defaultConfig()
	cfg.URL = testserver.Start(t, "bench")
	cfg.PID = 0 // in-process server: nothing to read from /proc
	cfg.Concurrency = 8
	cfg.Timeout = 30 * time.Second
	cfg.Settle = 10 * time.Millisecond
	return cfg
}

// The fanout counts must be exact: every client gets every broadcast once,
// in order.
func TestFanoutCountsEveryDelivery(t *testing.T) {
	for _, w := range []int{1, 8} {
		cfg := testConfig(t)
		cfg.N, cfg.K, cfg.W = 25, 60, w
		res, err := runFanout(context.Background(), cfg)
		if err != nil {
			t.Fatalf("w=%d: %v", w, err)
		}
		want := int64(cfg.N * cfg.K)
		if res.Ops != want || res.Expected != want {
			t.Errorf("w=%d: deliveries = %d (expected %d), want %d", w, res.Ops, res.Expected, want)
		}
		if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Errors != 0 {
			t.Errorf("w=%d: lost %d, duplicates %d, out of order %d, errors %d; want all 0 (notes: %v)",
				w, res.Lost, res.Duplicates, res.OutOfOrder, res.Errors, res.Notes)
		}
		if res.P50Ms <= 0 || res.P99Ms < res.P50Ms {
			t.Errorf("w=%d: latency p50 %v p99 %v", w, res.P50Ms, res.P99Ms)
		}
	}
}

func TestEchoAndPollingComplete(t *testing.T) {
	cfg := testConfig(t)
	cfg.C, cfg.M, cfg.Rounds = 5, 3, 20
	for name, run := range map[string]func(context.Context, config) (*Result, error){"echo": runEcho, "polling": runPolling} {
		res, err := run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Ops != res.Expected || res.Lost != 0 || res.OutOfOrder != 0 || res.Errors != 0 {
			t.Errorf("%s: %d of %d round trips, lost %d, mismatched %d, errors %d (notes: %v)",
				name, res.Ops, res.Expected, res.Lost, res.OutOfOrder, res.Errors, res.Notes)
		}
	}
}

func TestIdleAndChurnConnect(t *testing.T) {
	cfg := testConfig(t)
	cfg.Conns = 30
	res, err := runIdle(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 30 || res.Lost != 0 || res.Errors != 0 {
		t.Errorf("idle: %d handshakes, %d failed, %d dropped", res.Ops, res.Lost, res.Errors)
	}
	cfg.Rate, cfg.Churn = 100, 200*time.Millisecond
	res, err = runChurn(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != res.Expected || res.Expected != 20 || res.Errors != 0 {
		t.Errorf("churn: %d of %d connections, %d errors (notes: %v)", res.Ops, res.Expected, res.Errors, res.Notes)
	}
}

// The counter itself must notice duplicates, gaps and reordering.
func TestSeqCounter(t *testing.T) {
	tests := []struct {
		name                        string
		k                           int
		feed                        []int64
		unique, lost, dup, ooo, bad int64
	}{
		{"all in order", 5, []int64{0, 1, 2, 3, 4}, 5, 0, 0, 0, 0},
		{"missing", 5, []int64{0, 1, 3}, 3, 2, 0, 0, 0},
		{"duplicated", 4, []int64{0, 1, 1, 2, 3, 3, 3}, 4, 0, 3, 0, 0},
		{"reordered", 4, []int64{0, 2, 1, 3}, 4, 0, 0, 1, 0},
		{"late duplicate", 3, []int64{0, 1, 2, 0}, 3, 0, 1, 0, 0},
		{"out of range", 3, []int64{0, -1, 3, 1000, 1, 2}, 3, 0, 0, 0, 3},
		{"nothing", 3, nil, 0, 3, 0, 0, 0},
		{"across words", 200, seqRange(0, 64, 130, 200), 134, 66, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newSeqCounter(tt.k)
			for _, s := range tt.feed {
				c.add(s)
			}
			if got := c.unique.Load(); got != tt.unique {
				t.Errorf("unique = %d, want %d", got, tt.unique)
			}
			if got := c.lost(); got != tt.lost {
				t.Errorf("lost = %d, want %d", got, tt.lost)
			}
			if c.dup != tt.dup || c.ooo != tt.ooo || c.bad != tt.bad {
				t.Errorf("dup %d ooo %d bad %d, want %d %d %d", c.dup, c.ooo, c.bad, tt.dup, tt.ooo, tt.bad)
			}
			if c.complete() != (tt.lost == 0) {
				t.Errorf("complete() = %v with %d lost", c.complete(), tt.lost)
			}
			var sum tally
			sum.add(c)
			sum.add(c)
			if sum.Deliveries != 2*tt.unique || sum.Lost != 2*tt.lost || sum.Duplicates != 2*tt.dup {
				t.Errorf("tally of two = %+v", sum)
			}
		})
	}
}

// seqRange returns [a, b) followed by [c, d).
func seqRange(a, b, c, d int64) []int64 {
	var out []int64
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	for i := c; i < d; i++ {
		out = append(out, i)
	}
	return out
}

func TestPayloadTemplateRoundTrip(t *testing.T) {
	p := newPayloadTemplate(`42["bcast","r",`, `]`, 100)
	if p.payloadLen != 100 {
		t.Errorf("payload is %d bytes, want 100", p.payloadLen)
	}
	for _, c := range []struct{ seq, ts int64 }{{0, 0}, {7, 123456789}, {9999999999, 1<<62 - 1}} {
		frame := p.fill(c.seq, c.ts)
		// What the server relays: the payload inside a "msg" event.
		relayed := append([]byte(`2["msg",`), frame[len(`42["bcast","r",`):]...)
		seq, ts, ok := extract(relayed)
		if !ok || seq != c.seq || ts != c.ts {
			t.Errorf("extract(%q) = %d, %d, %v; want %d, %d", relayed, seq, ts, ok, c.seq, c.ts)
		}
	}
	if _, _, ok := extract([]byte(`2["msg",{"q":"12x4567890"}]`)); ok {
		t.Error("extract accepted a malformed sequence number")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for v := int64(1); v <= 100000; v++ {
		h.record(v * 1000) // 1µs .. 100ms
	}
	for _, q := range []float64{0.5, 0.99} {
		want := q * 100000 * 1000
		got := float64(h.quantile(q))
		if got < want*0.98 || got > want*1.02 {
			t.Errorf("quantile(%v) = %v, want %v ±2%%", q, got, want)
		}
	}
	for i := 0; i < histBuckets; i++ {
		if histIndex(histValue(i)) != i {
			t.Fatalf("bucket %d: midpoint %d maps to bucket %d", i, histValue(i), histIndex(histValue(i)))
		}
	}
	var other histogram
	other.record(5)
	h.merge(&other)
	if h.n != 100001 || h.quantile(0) != 5 {
		t.Errorf("after merge: n %d, min %d", h.n, h.quantile(0))
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000", "http://127.0.0.2:1"} {
		if err := checkLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:3000", "http://example.com", "http://192.168.1.1"} {
		if checkLoopback(u) == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// Clients spread over several source addresses (what a load balancer
// hashing the source needs) still all complete.
func TestSeveralSources(t *testing.T) {
	cfg := testConfig(t)
	cfg.Source = "127.0.0.1,127.0.0.3"
	cfg.M, cfg.Rounds = 4, 5
	res, err := runPolling(context.Background(), cfg)
	if err != nil || res.Ops != 20 || !res.Clean() {
		t.Fatalf("polling from two sources: %v, %+v", err, res)
	}
	cfg.N, cfg.K, cfg.W = 6, 10, 2
	if res, err = runFanout(context.Background(), cfg); err != nil || res.Ops != 60 || !res.Clean() {
		t.Fatalf("fanout from two sources: %v, %+v", err, res)
	}
	// The second address is used: one that is not this machine's fails.
	cfg.Source = "127.0.0.1,198.51.100.7"
	if _, err := runPolling(context.Background(), cfg); err == nil {
		t.Error("polling from a foreign second source worked")
	}
	if _, err := runFanout(context.Background(), cfg); err == nil {
		t.Error("fanout from a foreign second source worked")
	}
}

// A cluster's CPU time: the nodes' summed, the infrastructure's apart.
func TestClusterMeter(t *testing.T) {
	if pids, err := parsePIDs("12, 0,34"); err != nil || len(pids) != 2 || pids[0] != 12 || pids[1] != 34 {
		t.Errorf("parsePIDs: %v, %v", pids, err)
	}
	if _, err := parsePIDs("12,x"); err == nil {
		t.Error("parsePIDs accepted x")
	}
	self := os.Getpid()
	// This process three times: as the first node, another node and the
	// infrastructure.
	m, err := startClusterMeter(config{PID: self, MorePIDs: []int{self}, InfraPIDs: []int{self}})
	if err != nil {
		t.Fatal(err)
	}
	// Busy until this process has used 0.25 s of CPU (the machine may be
	// shared: wall time says little).
	for start := selfCPU(); selfCPU()-start < 0.25; {
	}
	_, server, client, err := m.stop()
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	m.setInfra(&r)
	// /proc counts in 10 ms ticks.
	if client < 0.25 || server < 2*client-0.05 || r.InfraCPU < client-0.03 || r.InfraCPU > server || len(r.InfraCPUEach) != 1 || r.InfraCPUEach[0] != r.InfraCPU {
		t.Errorf("CPU: server %.2f s (two nodes), infra %.2f s %v, client %.2f s", server, r.InfraCPU, r.InfraCPUEach, client)
	}
}

// Over WebTransport, echo and fanout count as over WebSocket: every round
// trip and every delivery, once and in order, against the app's
// webtransport endpoint (the HTTP port, in UDP).
func TestWebTransportEchoAndFanout(t *testing.T) {
	cert := testcert.New(t)
	cfg := defaultConfig()
	cfg.URL = testserver.Start(t, "bench", func(c *appconfig.Config) {
		c.WebTransport = &appconfig.WebTransport{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	})
	cfg.PID, cfg.Concurrency, cfg.Timeout = 0, 8, 30*time.Second
	cfg.Transport, cfg.CA = transportWebTransport, cert.CertFile
	cfg.C, cfg.Rounds = 4, 25
	res, err := runEcho(context.Background(), cfg)
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	if res.Ops != 100 || res.Expected != 100 || !res.Clean() {
		t.Errorf("echo: %d of %d round trips, lost %d, mismatched %d, errors %d (notes: %v)",
			res.Ops, res.Expected, res.Lost, res.OutOfOrder, res.Errors, res.Notes)
	}
	cfg.N, cfg.K, cfg.W = 12, 40, 8
	cfg.Payload = 300 // a 3-byte header each way
	if res, err = runFanout(context.Background(), cfg); err != nil {
		t.Fatalf("fanout: %v", err)
	}
	if res.Ops != 480 || res.Expected != 480 || !res.Clean() || res.P50Ms <= 0 {
		t.Errorf("fanout: %d of %d deliveries, lost %d, duplicates %d, out of order %d, errors %d, p50 %v (notes: %v)",
			res.Ops, res.Expected, res.Lost, res.Duplicates, res.OutOfOrder, res.Errors, res.P50Ms, res.Notes)
	}
	// The certificate matters: a client that trusts another one fails.
	cfg.CA = testcert.New(t).CertFile
	if _, err := runEcho(context.Background(), cfg); err == nil {
		t.Error("echo worked with a client that does not trust the server's certificate")
	}
}
