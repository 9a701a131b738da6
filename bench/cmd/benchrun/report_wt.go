package main

import (
	"fmt"
	"math"
	"strings"
)

// The report's section on the webtransport group: each workload over
// WebSocket and over WebTransport on the same server configuration, the
// medians, the ratios WebTransport / WebSocket, and every run.

// wtShapes are the group's workloads, by key part.
var wtShapes = []struct{ key, title string }{
	{"echo", "echo"},
	{"fanout", "fanout"},
}

// wtCell is the medians of one workload over one transport.
type wtCell struct {
	st *stats
	// clientCPU is the median of the load generator's CPU-s per million
	// operations: its clients' side of the transport, on the same cores.
	clientCPU float64
}

func wtCellOf(rep *Report, key string) *wtCell {
	runs := runsOf(rep, key, sb)
	if len(runs) == 0 {
		return nil
	}
	c := &wtCell{st: collect(rep, sb, key), clientCPU: math.NaN()}
	var cl []float64
	for _, r := range runs {
		if x := r.Result; x != nil && x.Ops > 0 {
			cl = append(cl, x.ClientCPU*1e6/float64(x.Ops))
		}
	}
	if len(cl) > 0 {
		c.clientCPU = median(cl)
	}
	if c.st.n == 0 {
		nan := math.NaN()
		c.st.cpuPerM, c.st.opsPerS, c.st.p50, c.st.p99 = nan, nan, nan, nan
	}
	return c
}

// wtSection is the report's section on the webtransport group.
func wtSection(rep *Report) string {
	if !hasRuns(rep, "webtransport-") {
		return ""
	}
	cells := map[string]*wtCell{}
	var firsts []*Run
	for _, shape := range wtShapes {
		for _, tr := range wtTransports {
			k := wtKey(shape.key, tr)
			if c := wtCellOf(rep, k); c != nil {
				cells[k] = c
				firsts = append(firsts, runsOf(rep, k, sb)[0])
			}
		}
	}
	var b mdBuilder
	wtIntro(&b, rep, firsts)
	wtTable(&b, rep, cells)
	wtRatios(&b, cells)
	wtEveryRun(&b, rep)
	return b.String()
}

// wtIntro describes what ran.
func wtIntro(b *mdBuilder, rep *Report, runs []*Run) {
	b.w("## WebTransport against WebSocket\n\n")
	b.w("Switchboard with the `webtransport` section on (the HTTP port in UDP, a self-signed ECDSA P-256 certificate that the load " +
		"generator trusts), a fresh process for every run; the same workloads over WebSocket and over WebTransport (HTTP/3 over QUIC, " +
		"quic-go and webtransport-go in the server and in the load generator: each client its own QUIC connection and one bidirectional " +
		"stream, packets framed as engine.io-parser's WebTransport stream frames them), with the same payloads and the same counting. ")
	var shapes []string
	for _, shape := range wtShapes {
		for _, r := range runs {
			if !strings.HasPrefix(r.Scenario, "webtransport-"+shape.key+"-") {
				continue
			}
			a := argsOf(rep, r)
			switch shape.key {
			case "echo":
				shapes = append(shapes, fmt.Sprintf("echo: %s clients × %s closed-loop echoes of 100 B", flagValue(a, "-c"), flagValue(a, "-rounds")))
			case "fanout":
				shapes = append(shapes, fmt.Sprintf("fanout: %s clients in one room, %s broadcasts of 100 B, W=%s",
					flagValue(a, "-n"), flagValue(a, "-k"), flagValue(a, "-w")))
			}
			break
		}
	}
	b.w("Workloads: %s. ", strings.Join(shapes, "; "))
	rounds := fmt.Sprintf("Medians over %d rounds, each running every workload over WebSocket then over WebTransport.", rep.Rounds)
	if rep.Rounds == 1 {
		rounds = "One round: single runs, not medians."
	}
	b.w("%s The Node reference is not in this group: its WebTransport needs @fails-components/webtransport, a native module "+
		"that cannot be installed offline. Server CPU-s per million is the server's; the load generator's, whose QUIC clients "+
		"share the same %s, is shown beside it. %s\n\n", rounds, cores(rep.Env.NProc), provenance(runs...))
}

// wtTable is the medians of every workload and transport.
func wtTable(b *mdBuilder, rep *Report, cells map[string]*wtCell) {
	b.w("| Workload | Transport | server CPU-s per M | loadgen CPU-s per M | ops/s | p50 / p99 ms | lost / dup / ooo / errors |\n")
	b.w("|---|---|---:|---:|---:|---:|---|\n")
	for _, shape := range wtShapes {
		for _, tr := range wtTransports {
			k := wtKey(shape.key, tr)
			c := cells[k]
			if c == nil {
				continue
			}
			st := c.st
			unit := st.unit
			if unit == "" {
				unit = "ops"
			}
			health := fmt.Sprintf("%d / %d / %d / %d", st.lost, st.dup, st.ooo, st.errs)
			if st.failed > 0 {
				health += fmt.Sprintf(", %d failed runs: %s", st.failed, mdEscape(firstError(rep, k, sb)))
			}
			b.w("| %s (%s) | %s | %s | %s | %s | %s / %s | %s |\n", shape.title, unit, transportTitle(tr),
				num(st.cpuPerM), num(c.clientCPU), num(st.opsPerS), num(st.p50), num(st.p99), health)
		}
	}
	b.w("\n")
}

// wtRatios is the table of WebTransport / WebSocket.
func wtRatios(b *mdBuilder, cells map[string]*wtCell) {
	b.w("| Workload | WebTransport / WebSocket | server CPU-s per M | loadgen CPU-s per M | ops/s | p50 | p99 |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, shape := range wtShapes {
		x, y := cells[wtKey(shape.key, transportWT)], cells[wtKey(shape.key, transportWS)]
		if x == nil || y == nil {
			continue
		}
		b.w("| %s | ratio | %s | %s | %s | %s | %s |\n", shape.title, ratio(x.st.cpuPerM, y.st.cpuPerM), ratio(x.clientCPU, y.clientCPU),
			ratio(x.st.opsPerS, y.st.opsPerS), ratio(x.st.p50, y.st.p50), ratio(x.st.p99, y.st.p99))
	}
	b.w("\n")
}

// wtEveryRun lists the group's runs, for the spread behind the medians.
func wtEveryRun(b *mdBuilder, rep *Report) {
	b.w("| Round | Workload | Transport | ops/s | server CPU-s per M | p50 / p99 ms | server CPU s | loadgen CPU s | wall s | notes |\n")
	b.w("|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Runs {
		if !strings.HasPrefix(r.Scenario, "webtransport-") || r.Server != sb {
			continue
		}
		shape, tr := "?", "?"
		for _, s := range wtShapes {
			for _, t := range wtTransports {
				if r.Scenario == wtKey(s.key, t) {
					shape, tr = s.title, transportTitle(t)
				}
			}
		}
		if r.Result == nil {
			b.w("| %d | %s | %s | | | | | | | error: %s |\n", r.Round, shape, tr, mdEscape(r.Error))
			continue
		}
		x := r.Result
		b.w("| %d | %s | %s | %s | %s | %s / %s | %.2f | %.2f | %.2f | %s |\n", r.Round, shape, tr, num(x.OpsPerS), num(x.CPUPerMillionOps),
			num(x.P50Ms), num(x.P99Ms), x.ServerCPU, x.ClientCPU, x.Elapsed, mdEscape(strings.Join(x.Notes, "; ")))
	}
	b.w("\n")
}
