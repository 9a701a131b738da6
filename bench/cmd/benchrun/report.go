package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// stats are the medians of one server's runs of one scenario.
type stats struct {
	n                int // successful runs
	failed           int
	cpuPerM, opsPerS float64
	p50, p99         float64
	memPerConn       float64
	lost, dup, ooo   int64
	errs             int64
	runs             []*result.Result
	unit             string
	// Churn: the largest growth over any run's second half.
	rssGrowthMaxKB  int64
	threadGrowthMax int
	fdGrowthMax     int
	rssBefore       float64
	rssMid          float64
	rssAft          float64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func collect(rep *Report, srv, sc string) *stats {
	st := &stats{}
	var cpu, ops, p50, p99, mem, rb, rm, ra []float64
	first := true
	for _, r := range rep.Runs {
		if r.Server != srv || r.Scenario != sc {
			continue
		}
		if r.Result == nil {
			st.failed++
			continue
		}
		res := r.Result
		st.n++
		st.runs = append(st.runs, res)
		st.unit = res.OpsUnit
		cpu = append(cpu, res.CPUPerMillionOps)
		ops = append(ops, res.OpsPerS)
		p50 = append(p50, res.P50Ms)
		p99 = append(p99, res.P99Ms)
		mem = append(mem, res.MemPerConnKB)
		rb = append(rb, float64(res.RSSBeforeKB))
		rm = append(rm, float64(res.RSSMidKB))
		ra = append(ra, float64(res.RSSAfterKB))
		st.lost += res.Lost
		st.dup += res.Duplicates
		st.ooo += res.OutOfOrder
		st.errs += res.Errors
		g := res.RSSAfterKB - res.RSSMidKB
		tg := res.ThreadsAfter - res.ThreadsMid
		fg := res.FDsAfter - res.FDsMid
		if first || g > st.rssGrowthMaxKB {
			st.rssGrowthMaxKB = g
		}
		if first || tg > st.threadGrowthMax {
			st.threadGrowthMax = tg
		}
		if first || fg > st.fdGrowthMax {
			st.fdGrowthMax = fg
		}
		first = false
	}
	st.cpuPerM, st.opsPerS = median(cpu), median(ops)
	st.p50, st.p99 = median(p50), median(p99)
	st.memPerConn = median(mem)
	st.rssBefore, st.rssMid, st.rssAft = median(rb), median(rm), median(ra)
	return st
}

// row is one scenario's medians for every server.
type row struct {
	sc  scenario
	per map[string]*stats
}

func rows(rep *Report) []row {
	var out []row
	seen := map[string]bool{}
	for _, r := range rep.Runs {
		seen[r.Scenario] = true
	}
	for _, sc := range scenarios(rep.Quick) {
		if !seen[sc.Key] || sc.Group != "" {
			continue
		}
		rw := row{sc: sc, per: map[string]*stats{}}
		for _, srv := range serverNames(rep) {
			rw.per[srv] = collect(rep, srv, sc.Key)
		}
		out = append(out, rw)
	}
	return out
}

func serverNames(rep *Report) []string {
	var out []string
	for _, r := range rep.Runs {
		if !slices.Contains(out, r.Server) {
			out = append(out, r.Server)
		}
	}
	return out
}

const sb, node = "switchboard", "node"

// ratio is a/b, formatted; "–" when either is missing.
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 || a == 0 {
		return "–"
	}
	r := a / b
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.3f×", r)
	}
}

// num formats a value with a sensible precision and thousands separators.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return commas(int64(math.Round(v)))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func get(rw row, srv string) *stats {
	if st := rw.per[srv]; st != nil && st.n > 0 {
		return st
	}
	nan := math.NaN()
	return &stats{cpuPerM: nan, opsPerS: nan, p50: nan, p99: nan, memPerConn: nan, rssBefore: nan, rssMid: nan, rssAft: nan}
}

func describe(sc scenario) string {
	a := strings.Join(sc.Args, " ")
	field := func(flag string) string {
		f := strings.Fields(a)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == flag {
				return f[i+1]
			}
		}
		return "?"
	}
	switch {
	case strings.HasPrefix(sc.Key, "fanout"):
		return fmt.Sprintf("%s clients in one room, %s broadcasts of 100 B, W=%s", field("-n"), field("-k"), field("-w"))
	case sc.Key == "echo":
		return fmt.Sprintf("%s WebSocket clients × %s closed-loop echoes", field("-c"), field("-rounds"))
	case sc.Key == "polling":
		return fmt.Sprintf("%s long-polling clients × %s closed-loop echoes", field("-m"), field("-rounds"))
	case sc.Key == "idle":
		return fmt.Sprintf("%s WebSocket connections, 64 handshakes at a time", field("-conns"))
	case sc.Key == "churn":
		return fmt.Sprintf("%s connections/s for %s (connect, join, leave)", field("-rate"), field("-duration"))
	}
	return a
}

func summarize(rep *Report, o options, resultsFile string) error {
	rs := rows(rep)
	printSummary(rs)
	groupSummary(rep)
	chartRel, err := filepath.Rel(filepath.Dir(o.out), o.chart)
	if err != nil {
		chartRel = o.chart
	}
	if err := os.MkdirAll(filepath.Dir(o.chart), 0o755); err != nil {
		return err
	}
	if len(rs) > 0 {
		if err := os.WriteFile(o.chart, []byte(chartSVG(rep, rs)), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(o.out, []byte(markdown(rep, rs, chartRel, resultsFile)), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s and %s (raw results: %s)\n", o.out, o.chart, resultsFile)
	return nil
}

func printSummary(rs []row) {
	if len(rs) == 0 {
		return
	}
	fmt.Printf("\nMedians (Switchboard / Node = ratio)\n")
	fmt.Printf("%-11s %-34s %-34s %-24s %s\n", "scenario", "server CPU-s per million ops", "ops/s", "p50 ms", "p99 ms")
	for _, rw := range rs {
		a, b := get(rw, sb), get(rw, node)
		p50, p99 := fmt.Sprintf("%s / %s", num(a.p50), num(b.p50)), fmt.Sprintf("%s / %s", num(a.p99), num(b.p99))
		if rw.sc.Key == "idle" {
			p50, p99 = "", ""
		}
		fmt.Printf("%-11s %-34s %-34s %-24s %s\n", rw.sc.Key,
			fmt.Sprintf("%s / %s = %s", num(a.cpuPerM), num(b.cpuPerM), ratio(a.cpuPerM, b.cpuPerM)),
			fmt.Sprintf("%s / %s = %s", num(a.opsPerS), num(b.opsPerS), ratio(a.opsPerS, b.opsPerS)),
			p50, p99)
		if rw.sc.Key == "idle" {
			fmt.Printf("%-11s memory per connection: %s kB / %s kB = %s\n", "", num(a.memPerConn), num(b.memPerConn), ratio(a.memPerConn, b.memPerConn))
		}
		for _, srv := range []string{sb, node} {
			st := get(rw, srv)
			if st.lost+st.dup+st.ooo+st.errs > 0 || st.failed > 0 {
				fmt.Printf("%-11s %s: lost %d, duplicates %d, out of order %d, errors %d, failed runs %d\n", "", srv, st.lost, st.dup, st.ooo, st.errs, st.failed)
			}
		}
	}
}

// markdown is the report: the core scenarios' medians and runs, the
// groups' sections, the machine and the method.
func markdown(rep *Report, rs []row, chart, resultsFile string) string {
	var b mdBuilder
	mdIntro(&b, rep)
	if len(rs) > 0 {
		b.w("![Server CPU-seconds per million operations and throughput, Switchboard vs Node](%s)\n\n", filepath.ToSlash(chart))
		mdResults(&b, rs)
		mdCorrectness(&b, rs)
	}
	b.w("%s", groupSections(rep))
	if len(rs) > 0 {
		mdEveryRun(&b, rep)
	}
	mdMachine(&b, rep, resultsFile)
	mdMethod(&b, rep)
	return b.String()
}

// mdIntro is the report's title and how the benchmarks were run.
func mdIntro(b *mdBuilder, rep *Report) {
	mode := "full"
	if rep.Quick {
		mode = "quick (smoke-test sizes: not representative)"
	}
	b.w("# Benchmarks\n\n")
	b.w("Switchboard against the reference Socket.IO server (Node.js, socket.io %s with default options, `bench/node/server.js`), "+
		"both serving the same benchmark app on 127.0.0.1 and driven by the same load generator (`bench/loadgen`). "+
		"Generated by `bench/run.sh` on %s: %s mode, %d rounds, each round running every scenario on a fresh Switchboard process, "+
		"then on a fresh Node process (A B A B …). Numbers are **medians over the rounds**; ratios are Switchboard / Node.\n\n",
		rep.Env.SocketIO, rep.Started.Format("2006-01-02 15:04 MST"), mode, rep.Rounds)
	b.w("The machine has %d cores shared with other work (load average %s at the start, %s at the end), so single numbers are noisy; "+
		"CPU-seconds per million operations (the server's utime+stime from `/proc/PID/stat` over the measured phase, divided by the work done) "+
		"is the least noisy figure, throughput and latency less so: the load generator runs on the same 2 cores.\n\n",
		rep.Env.NProc, orDash(rep.Env.LoadAvgStart), orDash(rep.Env.LoadAvgEnd))
}

// mdResults is the table of the core scenarios' medians.
func mdResults(b *mdBuilder, rs []row) {
	b.w("## Results\n\n")
	b.w("| Scenario | Metric | Switchboard | Node.js | Switchboard / Node |\n|---|---|---:|---:|---:|\n")
	for _, rw := range rs {
		a, c := get(rw, sb), get(rw, node)
		unit := a.unit
		if unit == "" {
			unit = c.unit
		}
		name := fmt.Sprintf("**%s**<br>%s", rw.sc.Title, describe(rw.sc))
		b.w("| %s | server CPU-s per million %s (lower is better) | %s | %s | %s |\n", name, unit, num(a.cpuPerM), num(c.cpuPerM), ratio(a.cpuPerM, c.cpuPerM))
		b.w("| | %s/s (higher is better) | %s | %s | %s |\n", unit, num(a.opsPerS), num(c.opsPerS), ratio(a.opsPerS, c.opsPerS))
		lat := map[string]string{"fanout-w50": "delivery latency", "fanout-w1": "delivery latency", "echo": "round trip", "polling": "round trip", "churn": "connect + join"}[rw.sc.Key]
		if lat != "" {
			b.w("| | %s p50 / p99, ms | %s / %s | %s / %s | %s / %s |\n", lat, num(a.p50), num(a.p99), num(c.p50), num(c.p99), ratio(a.p50, c.p50), ratio(a.p99, c.p99))
		}
		switch rw.sc.Key {
		case "idle":
			b.w("| | server memory per connection, kB (RSS growth / connections) | %s | %s | %s |\n", num(a.memPerConn), num(c.memPerConn), ratio(a.memPerConn, c.memPerConn))
			b.w("| | server RSS before → with all connections, MB | %s → %s | %s → %s | |\n", mb(a.rssBefore), mb(a.rssAft), mb(c.rssBefore), mb(c.rssAft))
		case "churn":
			b.w("| | server RSS before → after 1st half → after 2nd half, MB | %s → %s → %s | %s → %s → %s | |\n",
				mb(a.rssBefore), mb(a.rssMid), mb(a.rssAft), mb(c.rssBefore), mb(c.rssMid), mb(c.rssAft))
			b.w("| | growth during the 2nd half (largest over the runs): RSS / threads / fds | %s | %s | |\n", growth(a), growth(c))
		}
	}
	b.w("\n")
}

// mdCorrectness is the table of lost, duplicated and misordered messages.
func mdCorrectness(b *mdBuilder, rs []row) {
	b.w("## Correctness\n\nEvery run counts, per receiving client, the sequence numbers it gets: all must arrive once and in order.\n\n")
	b.w("| Scenario | Server | Runs | Lost | Duplicated | Out of order | Errors |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, rw := range rs {
		for _, srv := range []string{sb, node} {
			st := rw.per[srv]
			if st == nil {
				continue
			}
			runs := fmt.Sprint(st.n)
			if st.failed > 0 {
				runs += fmt.Sprintf(" (+%d failed)", st.failed)
			}
			b.w("| %s | %s | %s | %d | %d | %d | %d |\n", rw.sc.Key, srv, runs, st.lost, st.dup, st.ooo, st.errs)
		}
	}
	b.w("\nFor idle and churn, *lost* counts connections that failed or were skipped; for echo and polling, round trips that never completed; *out of order* counts answers that did not match the request.\n\n")
}

// mdEveryRun is the table of every core run.
func mdEveryRun(b *mdBuilder, rep *Report) {
	b.w("## Every run\n\n")
	b.w("| Round | Scenario | Server | ops/s | CPU-s per M | p50 ms | p99 ms | server CPU s | loadgen CPU s | wall s | notes |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Runs {
		if !isCore(r.Scenario) {
			continue // in its own section
		}
		if r.Result == nil {
			b.w("| %d | %s | %s | | | | | | | | error: %s |\n", r.Round, r.Scenario, r.Server, mdEscape(r.Error))
			continue
		}
		x := r.Result
		notes := strings.Join(x.Notes, "; ")
		if x.MemPerConnKB != 0 {
			notes = strings.TrimPrefix(notes+fmt.Sprintf("; %.1f kB/conn", x.MemPerConnKB), "; ")
		}
		if x.Scenario == "churn" {
			notes = strings.TrimPrefix(notes+fmt.Sprintf("; RSS %d→%d→%d kB, threads %d→%d→%d, fds %d→%d→%d",
				x.RSSBeforeKB, x.RSSMidKB, x.RSSAfterKB, x.ThreadsBefore, x.ThreadsMid, x.ThreadsAfter, x.FDsBefore, x.FDsMid, x.FDsAfter), "; ")
		}
		b.w("| %d | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %s |\n", r.Round, r.Scenario, r.Server,
			num(x.OpsPerS), num(x.CPUPerMillionOps), latency(x.P50Ms), latency(x.P99Ms), x.ServerCPU, x.ClientCPU, x.Elapsed, mdEscape(notes))
	}
	b.w("\n")
}

// mdMachine is the table of the machine, the versions and the results
// files.
func mdMachine(b *mdBuilder, rep *Report, resultsFile string) {
	e := rep.Env
	b.w("## Machine and versions\n\n")
	b.w("| | |\n|---|---|\n")
	b.w("| CPU | %s, %d cores (`nproc`) |\n", orDash(e.CPUModel), e.NProc)
	b.w("| Memory | %s |\n", orDash(e.MemTotal))
	b.w("| Kernel | %s |\n", orDash(e.Kernel))
	b.w("| Go | %s |\n", orDash(e.GoVersion))
	b.w("| Node.js | %s |\n", orDash(e.NodeVersion))
	b.w("| socket.io (ws) | %s (%s) |\n", orDash(e.SocketIO), orDash(e.WS))
	b.w("| Switchboard commit | %s%s |\n", orDash(e.GitCommit), dirtyNote(e))
	b.w("| Run | %s → %s, raw results `%s` (not committed) |\n", rep.Started.Format(time.RFC3339), rep.Finished.Format(time.RFC3339), filepath.ToSlash(resultsFile))
	for _, src := range otherSources(rep) {
		b.w("| Also | %s → %s at %s, raw results `%s`: %s |\n", src.rep.Started.Format(time.RFC3339), src.rep.Finished.Format(time.RFC3339),
			commitOf(src.rep.Env), filepath.ToSlash(src.file), strings.Join(scenarioKeys(rep, src), ", "))
	}
	b.w("\n")
}

// dirtyNote says which uncommitted changes the benchmarked build had.
func dirtyNote(e Env) string {
	switch {
	case len(e.DirtyFiles) > 8:
		return fmt.Sprintf(" with uncommitted changes to %s and %d more files", strings.Join(e.DirtyFiles[:8], ", "), len(e.DirtyFiles)-8)
	case len(e.DirtyFiles) > 0:
		return " with uncommitted changes to " + strings.Join(e.DirtyFiles, ", ")
	case e.GitDirty:
		return " with uncommitted changes"
	}
	return ""
}

// mdMethod describes how each scenario measures.
func mdMethod(b *mdBuilder, rep *Report) {
	b.w("## Method\n\n")
	b.w("- **Load generator** (`bench/loadgen`, Go): speaks Engine.IO v4 / Socket.IO v5 itself over WebSocket (gobwas/ws dialer, one reading goroutine per connection, pre-encoded frames patched in place) and over HTTP long-polling. Payloads carry a sequence number and a send timestamp as fixed-width strings, found by byte search: no JSON decoding on the hot path.\n")
	b.w("- **fanout**: the clients join room `r` (join with an ack); client 0 also emits `bcast(\"r\", payload)`, with at most W broadcasts in flight (sent but not yet received back by the sender, which is in the room). A delivery is one client receiving one broadcast; its latency runs from the sender's timestamp to the receiver's read.\n")
	b.w("- **echo** and **polling**: each client emits `echo(payload)` and waits for the answer before the next; polling clients never upgrade (one POST, then GETs until the answer arrives).\n")
	b.w("- **idle**: the server's VmRSS is read after a 2 s pause, then the connections are opened (WebSocket, Engine.IO open, Socket.IO CONNECT to `/`), 64 at a time, then after another 2 s (time for a GC) VmRSS is read again. Handshakes/s is the ramp rate.\n")
	b.w("- **churn**: connections opened at a steady rate, in two halves; each connects, joins a room (with an ack) and leaves, half with DISCONNECT and a close frame, half by dropping TCP. RSS, threads (`/proc/PID/status`) and open fds (`/proc/PID/fd`) are read before, 2 s after the first half and 2 s after the second: the first half may warm the server up (pools, runtime threads, heap), growth during the second half would be a leak.\n")
	b.w("- fanout, echo and polling get a small unmeasured warm-up run on the same server process first (JIT for Node, pools for Go). Server CPU time comes from `/proc/PID/stat` (10 ms resolution), sampled right before and after the measured phase.\n")
	if hasGroupRuns(rep) && !onlyOptIn(rep) {
		b.w("- **slow consumers**: the fanout scenario with a slow group, run twice on each server in every round, each time on a fresh server process: first the group reads like everyone else (the baseline), then it joins and never reads again, its TCP connections left open. Deliveries, latency and lost/duplicated/out-of-order counts are those of the other clients, the same ones in both runs. The server's RSS is read before broadcasting, every 250 ms during the run (the largest is kept) and 2 s after it, the slow clients still connected. A slow client cannot see the server closing its connection (the FIN waits behind the data it does not read), so `/proc/net/tcp` is polled every 250 ms for the server's end of each slow connection: leaving ESTABLISHED is the server closing it, timed from the first broadcast. Afterwards the slow clients read what is left in their sockets; the stream ending confirms the close.\n")
		b.w("- **many connections**: `loadgen -scenario hold` spreads the connections over two processes (each with its own open-file limit; the child binds its sockets to 127.0.0.2, so it has its own ephemeral ports). The child connects its share first, then the parent; the hold starts when all are up. The server's VmRSS, threads and open fds are read every 10 s; 100 of the connections are in a room that gets one broadcast per second, counted like fanout's; every connection answers pings and notices being dropped. The hold is *stable* if the RSS at its end is at most 5%% above the RSS 1 minute in (or half-way, for holds under 2 minutes): growth is what a leak looks like, while a drop is memory the runtime gave back to the system.\n")
	}
	if hasRuns(rep, "cluster-") {
		b.w("- **cluster**: every run starts its own redis-server (`--save \"\" --appendonly no`), nodes and haproxy (`-db`, `mode http`, timeouts client/server 60 s and tunnel 1 h, above the 25 s long-polling hold, no health checks) on free loopback ports, and stops them afterwards. The load generator gets the nodes' pids (their CPU summed) and, apart, Redis's and haproxy's; the warm-up runs through the load balancer too. `-scenarios cluster` runs this group only (it is not part of a plain run: it needs redis-server and haproxy); `-scenarios cluster-fanout-sticky` one deployment of one workload.\n")
	}
	if hasRuns(rep, "webtransport-") {
		b.w("- **webtransport**: Switchboard only, with `bench/bench.yaml` plus a `webtransport` section (`listen: \"\"`: the HTTP port in UDP; a certificate benchrun generates into the results directory). The same loadgen scenarios as over WebSocket with `-transport webtransport -ca CERT`: each client dials `https://127.0.0.1:PORT/socket.io/`, opens one bidirectional stream and sends an Engine.IO open packet; the Socket.IO exchange, payloads and counting are WebSocket's, only the framing differs. Warm-ups use the run's transport. `-scenarios webtransport` runs this group only (it is not part of a plain run).\n")
	}
	b.w("- Reproduce: `bench/run.sh` (full, ~40–50 min depending on load, of which 2 × 10 min for many connections) or `bench/run.sh -quick` (~5 min, writes under `bench/results/`). `-scenarios core` runs only the scenarios with medians; `-scenarios slowconsumer,manyconns` only the new ones, `-scenarios=-manyconns` all but one; `-hold 2m` shortens the many-connections hold. `go run ./bench/cmd/benchrun -from bench/results/results-….json[,more.json]` rebuilds this file from saved results.\n")
}

func mb(kb float64) string {
	if math.IsNaN(kb) {
		return "–"
	}
	return fmt.Sprintf("%.1f", kb/1024)
}

func growth(st *stats) string {
	if st.n == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.1f MB / %+d / %+d", float64(st.rssGrowthMaxKB)/1024, st.threadGrowthMax, st.fdGrowthMax)
}

func latency(ms float64) string {
	if ms == 0 {
		return "–"
	}
	return num(ms)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// mdBuilder collects a report's markdown.
type mdBuilder struct{ strings.Builder }

// w appends a formatted piece of markdown.
func (b *mdBuilder) w(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }
