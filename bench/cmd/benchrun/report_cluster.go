package main

import (
	"fmt"
	"math"
	"strings"
)

// The report's section on the cluster group: a table of every deployment
// and server, a table of ratios, and what a single machine can and cannot
// tell about scaling.

// clusterShapes are the cluster group's workloads, by key part.
var clusterShapes = []struct{ key, title string }{
	{"fanout", "fanout"},
	{"polling", "polling echo"},
}

func clusterKey(shape, mode string) string { return "cluster-" + shape + "-" + mode }

// clusterCell is the medians of one server's runs of one cluster scenario.
type clusterCell struct {
	st *stats // medians; st.cpuPerM is the nodes' CPU
	// allCPU is the median CPU-s per million of every server-side
	// process: the nodes, Redis and haproxy.
	allCPU float64
	// redisCPU and lbCPU are the medians of Redis's and haproxy's parts
	// of allCPU (NaN when not measured apart).
	redisCPU, lbCPU float64
	// split is how the nodes' CPU was shared in the last run, "" for one
	// node.
	split string
}

// clusterCellOf returns the medians of srv's runs of key, nil if none.
func clusterCellOf(rep *Report, key, srv string) *clusterCell {
	runs := runsOf(rep, key, srv)
	if len(runs) == 0 {
		return nil
	}
	nan := math.NaN()
	c := &clusterCell{st: collect(rep, srv, key), allCPU: nan, redisCPU: nan, lbCPU: nan}
	var all, redis, lb []float64
	for _, r := range runs {
		if x := r.Result; x != nil && x.Ops > 0 {
			perM := 1e6 / float64(x.Ops)
			all = append(all, (x.ServerCPU+x.InfraCPU)*perM)
			// The infrastructure in the order benchrun starts it.
			if len(x.InfraCPUEach) == 2 {
				redis = append(redis, x.InfraCPUEach[0]*perM)
				lb = append(lb, x.InfraCPUEach[1]*perM)
			}
			if len(r.NodeCPU) > 1 {
				c.split = cpuSplit(r.NodeCPU)
			}
		}
	}
	if len(all) > 0 {
		c.allCPU = median(all)
	}
	if len(redis) > 0 {
		c.redisCPU, c.lbCPU = median(redis), median(lb)
	}
	if c.st.n == 0 {
		c.st.cpuPerM, c.st.opsPerS, c.st.p50, c.st.p99 = nan, nan, nan, nan
	}
	return c
}

// cpuSplit formats each node's share of the nodes' CPU time, in percent.
func cpuSplit(cpu []float64) string {
	var sum float64
	for _, c := range cpu {
		sum += c
	}
	if sum <= 0 {
		return ""
	}
	var parts []string
	for _, c := range cpu {
		parts = append(parts, fmt.Sprintf("%.0f", 100*c/sum))
	}
	return strings.Join(parts, " / ") + " %"
}

// redisCap is how many operations per second one Redis core could carry
// at c's Redis CPU per million, "" if unknown.
func redisCap(c *clusterCell) string {
	if math.IsNaN(c.redisCPU) || c.redisCPU <= 0 {
		return ""
	}
	return roughly(1e6 / c.redisCPU)
}

// roughly formats v to two significant digits: a ceiling derived from CPU
// times counted in 10 ms ticks is no more precise than that.
func roughly(v float64) string {
	if v < 100 {
		return num(v)
	}
	p := math.Pow(10, math.Floor(math.Log10(v))-1)
	return commas(int64(math.Round(v/p) * p))
}

func cores(n int) string {
	if n == 1 {
		return "single core"
	}
	return fmt.Sprintf("%d cores", n)
}

// hasRuns reports whether the report has runs of the group whose
// scenarios start with prefix ("cluster-", "webtransport-").
func hasRuns(rep *Report, prefix string) bool {
	for _, r := range rep.Runs {
		if strings.HasPrefix(r.Scenario, prefix) {
			return true
		}
	}
	return false
}

// clusterSection is the report's section on the cluster group.
func clusterSection(rep *Report) string {
	if !hasRuns(rep, "cluster-") {
		return ""
	}
	cells := map[string]*clusterCell{} // by key + "/" + server
	var firsts []*Run
	for _, shape := range clusterShapes {
		for _, mode := range clusterModes {
			for _, srv := range []string{sb, node} {
				k := clusterKey(shape.key, mode)
				if c := clusterCellOf(rep, k, srv); c != nil {
					cells[k+"/"+srv] = c
					firsts = append(firsts, runsOf(rep, k, srv)[0])
				}
			}
		}
	}
	var b mdBuilder
	clusterIntro(&b, rep, firsts)
	clusterTable(&b, rep, cells)
	clusterRatios(&b, cells)
	clusterScaling(&b, rep, cells)
	return b.String()
}

// clusterIntro describes the deployments and the workloads.
func clusterIntro(b *mdBuilder, rep *Report, runs []*Run) {
	b.w("## Cluster\n\n")
	b.w("The fanout and polling-echo workloads on three deployments, each started afresh for every run, everything on 127.0.0.1: "+
		"**single**, one server process as in the core scenarios; **sticky**, %d server processes sharing a redis-server (no persistence) "+
		"through the Redis adapter, behind haproxy 2.6 in HTTP mode with `balance source` (every request of a client goes to the same node); "+
		"**non-sticky**, the same behind haproxy round-robin, each request to the next node, Switchboard forwarding requests for sessions "+
		"held by another node through Redis (`adapter.forward_sessions: true`). The Node reference runs single and sticky "+
		"(socket.io %s with @socket.io/redis-adapter); it has no non-sticky mode: its polling clients need affinity. "+
		"The clients connect from 127.0.0.1, 127.0.0.2 and 127.0.0.3 so that `balance source` spreads them over the three nodes "+
		"(the fanout sender and a third of the receivers on one node, the rest on the others: two thirds of the deliveries cross nodes). "+
		"Fanout's clients open a WebSocket directly, one request each, so without affinity they are only spread round-robin: forwarding is "+
		"what the polling runs measure, where about two requests in three reach a node that does not hold their session. ",
		clusterNodes, orDash(rep.Env.SocketIO))
	var shapes []string
	for _, shape := range clusterShapes {
		for _, r := range runs {
			if strings.HasPrefix(r.Scenario, "cluster-"+shape.key+"-") {
				a := argsOf(rep, r)
				switch shape.key {
				case "fanout":
					shapes = append(shapes, fmt.Sprintf("fanout: %s clients in one room, %s broadcasts of 100 B, W=%s",
						flagValue(a, "-n"), flagValue(a, "-k"), flagValue(a, "-w")))
				case "polling":
					shapes = append(shapes, fmt.Sprintf("polling echo: %s long-polling clients × %s closed-loop echoes",
						flagValue(a, "-m"), flagValue(a, "-rounds")))
				}
				break
			}
		}
	}
	b.w("Workloads: %s. ", strings.Join(shapes, "; "))
	rounds := fmt.Sprintf("Medians over %d rounds.", rep.Rounds)
	if rep.Rounds == 1 {
		rounds = "One round: single runs, not medians."
	}
	b.w("CPU-s per million is counted for the nodes alone and for all server-side processes (nodes, Redis and haproxy), over the measured phase; "+
		"the node CPU split is each node's share of the nodes' CPU over the last run (connecting included). %s %s\n\n",
		rounds, provenance(runs...))
}

// clusterTable is the table of every scenario, deployment and server.
func clusterTable(b *mdBuilder, rep *Report, cells map[string]*clusterCell) {
	b.w("| Workload | Deployment | Server | CPU-s per M, nodes | CPU-s per M, all server-side (of which Redis, haproxy) | ops/s | p50 / p99 ms | node CPU split | lost / dup / ooo / errors |\n")
	b.w("|---|---|---|---:|---:|---:|---:|---|---|\n")
	for _, shape := range clusterShapes {
		for _, mode := range clusterModes {
			for _, srv := range []string{sb, node} {
				c := cells[clusterKey(shape.key, mode)+"/"+srv]
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
					health += fmt.Sprintf(", %d failed runs: %s", st.failed, mdEscape(firstError(rep, clusterKey(shape.key, mode), srv)))
				}
				all := num(c.allCPU)
				if !math.IsNaN(c.redisCPU) {
					all += fmt.Sprintf(" (%s, %s)", num(c.redisCPU), num(c.lbCPU))
				}
				b.w("| %s (%s) | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", shape.title, unit, modeTitle(mode), serverTitle(srv),
					num(st.cpuPerM), all, num(st.opsPerS), num(st.p50), num(st.p99), orDash(c.split), health)
			}
		}
	}
	b.w("\n")
}

// firstError is the error of srv's first failed run of key.
func firstError(rep *Report, key, srv string) string {
	for _, r := range runsOf(rep, key, srv) {
		if r.Error != "" {
			return r.Error
		}
	}
	return ""
}

// clusterRatios is the table of ratios between deployments and servers.
func clusterRatios(b *mdBuilder, cells map[string]*clusterCell) {
	b.w("| Workload | Ratio | CPU-s per M, nodes | CPU-s per M, all | ops/s | p50 | p99 |\n|---|---|---:|---:|---:|---:|---:|\n")
	type pair struct {
		label, a, b string // a / b, as key suffix "mode/server"
	}
	pairs := []pair{
		{"Switchboard: sticky / single", modeSticky + "/" + sb, modeSingle + "/" + sb},
		{"Switchboard: non-sticky / sticky", modeNonSticky + "/" + sb, modeSticky + "/" + sb},
		{"Node.js: sticky / single", modeSticky + "/" + node, modeSingle + "/" + node},
		{"Switchboard / Node.js, single", modeSingle + "/" + sb, modeSingle + "/" + node},
		{"Switchboard / Node.js, sticky", modeSticky + "/" + sb, modeSticky + "/" + node},
	}
	for _, shape := range clusterShapes {
		for _, p := range pairs {
			x, y := cells["cluster-"+shape.key+"-"+p.a], cells["cluster-"+shape.key+"-"+p.b]
			if x == nil || y == nil {
				continue
			}
			b.w("| %s | %s | %s | %s | %s | %s | %s |\n", shape.title, p.label, ratio(x.st.cpuPerM, y.st.cpuPerM), ratio(x.allCPU, y.allCPU),
				ratio(x.st.opsPerS, y.st.opsPerS), ratio(x.st.p50, y.st.p50), ratio(x.st.p99, y.st.p99))
		}
	}
	b.w("\n")
}

// clusterScaling says what one machine cannot show, with this run's
// numbers where it has them.
func clusterScaling(b *mdBuilder, rep *Report, cells map[string]*clusterCell) {
	b.w("**What this cannot show.** All the processes of a cluster run (three nodes, redis-server, haproxy and the load generator) share "+
		"this machine's %s, so three nodes have no more CPU than one: these runs measure what the cluster *costs* per message, not how it "+
		"scales across machines. ", cores(rep.Env.NProc))
	fan := func(mode string) *clusterCell { return cells[clusterKey("fanout", mode)+"/"+sb] }
	poll := func(mode string) *clusterCell { return cells[clusterKey("polling", mode)+"/"+sb] }
	if s, t := fan(modeSingle), fan(modeSticky); s != nil && t != nil {
		b.w("In fanout, a broadcast is published once to Redis and each node writes it to its own clients: the cluster costs %s the single "+
			"node's CPU per delivery on the nodes (%s counting Redis and haproxy). ", ratio(t.st.cpuPerM, s.st.cpuPerM), ratio(t.allCPU, s.allCPU))
	}
	if s, t := poll(modeSticky), poll(modeNonSticky); s != nil && t != nil {
		b.w("Without affinity, two requests in three reach a node that does not hold the session and are forwarded through Redis: "+
			"polling echo costs %s the sticky cluster's CPU per message (%s counting Redis and haproxy). ", ratio(t.st.cpuPerM, s.st.cpuPerM), ratio(t.allCPU, s.allCPU))
	}
	b.w("On separate machines we expect fanout throughput to grow nearly in proportion to the nodes, since each node encodes and writes " +
		"only to its own clients and the per-broadcast work in Redis (one PUBLISH, one message to each subscribed node) does not grow with the " +
		"room, until Redis's single thread or the network saturates. ")
	if t := fan(modeSticky); t != nil && redisCap(t) != "" {
		b.w("Here Redis used %s CPU-s per million deliveries: one Redis core would carry about %s deliveries/s for the whole cluster "+
			"at this room size, more with larger rooms. ", num(t.redisCPU), redisCap(t))
	}
	b.w("Polling without affinity should grow with the nodes too, each request paying the forwarding hop (a Redis round trip and the " +
		"owner's work) on top, until Redis saturates: the reason forwarding stays off for deployments that can be sticky. ")
	if t := poll(modeNonSticky); t != nil && redisCap(t) != "" {
		b.w("Every forwarded request goes through Redis: %s CPU-s per million messages here", num(t.redisCPU))
		if s := poll(modeSticky); s != nil && !math.IsNaN(s.redisCPU) {
			if s.redisCPU == 0 {
				b.w(" (too little to measure with sticky sessions)")
			} else {
				b.w(" (%s with sticky sessions)", num(s.redisCPU))
			}
		}
		b.w(", so one Redis core caps the cluster at about %s polling messages/s however many nodes it has.", redisCap(t))
	}
	b.w("\n\n")
}

// onlyOptIn reports whether the opt-in groups (cluster, webtransport) are
// the only ones outside the core in rep.
func onlyOptIn(rep *Report) bool {
	for _, r := range rep.Runs {
		if !isCore(r.Scenario) && !strings.HasPrefix(r.Scenario, "cluster-") && !strings.HasPrefix(r.Scenario, "webtransport-") {
			return false
		}
	}
	return true
}
