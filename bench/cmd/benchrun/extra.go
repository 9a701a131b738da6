package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// The report's sections for the scenarios outside the core: slow
// consumers (every round, with medians of their own) and many connections
// (run once: the last run of each server is shown).

func isCore(key string) bool {
	for _, sc := range scenarios(false) {
		if sc.Key == key {
			return sc.Group == ""
		}
	}
	return true
}

func hasExtra(rep *Report) bool {
	for _, r := range rep.Runs {
		if !isCore(r.Scenario) {
			return true
		}
	}
	return false
}

// lastRun returns the last run of scenario key on srv, nil if none.
func lastRun(rep *Report, key, srv string) *Run { return last(runsOf(rep, key, srv)) }

// otherSources are the results files merged into rep besides its own.
func otherSources(rep *Report) []*source {
	var out []*source
	for _, r := range rep.Runs {
		if r.src != nil && r.src != rep.src && !slices.Contains(out, r.src) {
			out = append(out, r.src)
		}
	}
	return out
}

func scenarioKeys(rep *Report, src *source) []string {
	var out []string
	for _, r := range rep.Runs {
		if r.src == src && !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	return out
}

func commitOf(e Env) string {
	c := orDash(e.GitCommit)
	switch {
	case len(e.DirtyFiles) > 0:
		c += " with uncommitted changes to " + strings.Join(e.DirtyFiles[:min(len(e.DirtyFiles), 6)], ", ")
		if len(e.DirtyFiles) > 6 {
			c += fmt.Sprintf(" and %d more files", len(e.DirtyFiles)-6)
		}
	case e.GitDirty:
		c += " (uncommitted changes under bench/ only)"
	}
	return c
}

// provenance says when and on what a run was made.
func provenance(runs ...*Run) string {
	var parts []string
	seen := map[*source]bool{}
	for _, r := range runs {
		if r == nil || r.src == nil || seen[r.src] {
			continue
		}
		seen[r.src] = true
		e := r.src.rep.Env
		when := r.src.rep.Started
		if !r.Started.IsZero() {
			when = r.Started
		}
		parts = append(parts, fmt.Sprintf("run %s at commit %s, load average %s → %s (raw results `%s`)",
			when.Format("2006-01-02 15:04 MST"), commitOf(e), orDash(e.LoadAvgStart), orDash(e.LoadAvgEnd), r.src.file))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "."
}

// flagValue returns the value of flag name in a loadgen argument list.
func flagValue(a []string, name string) string {
	for i := 0; i+1 < len(a); i++ {
		if a[i] == name {
			return a[i+1]
		}
	}
	return ""
}

// argsOf returns the loadgen flags of a run: its own, or the scenario's.
func argsOf(rep *Report, r *Run) []string {
	if r != nil && len(r.Args) > 0 {
		return r.Args
	}
	for _, sc := range scenarios(rep.Quick) {
		if r != nil && sc.Key == r.Scenario {
			return sc.Args
		}
	}
	return nil
}

func extraSections(rep *Report) string {
	return slowSection(rep) + manySection(rep)
}

func serverTitle(srv string) string {
	if srv == node {
		return "Node.js"
	}
	return "Switchboard"
}

// runsOf returns the runs of scenario key on srv, in order.
func runsOf(rep *Report, key, srv string) []*Run {
	var out []*Run
	for i := range rep.Runs {
		if r := &rep.Runs[i]; r.Scenario == key && r.Server == srv {
			out = append(out, r)
		}
	}
	return out
}

// slowMedians are the medians of the fast clients' figures over a
// server's successful runs of one slow-consumer scenario.
type slowMedians struct {
	n                      int
	ops, p50, p99, max, bc float64
}

func medianOfRuns(runs []*Run) slowMedians {
	var ops, p50, p99, mx, bc []float64
	for _, r := range runs {
		if r.Result == nil {
			continue
		}
		x := r.Result
		ops, p50, p99, mx = append(ops, x.OpsPerS), append(p50, x.P50Ms), append(p99, x.P99Ms), append(mx, x.MaxMs)
		if x.Slow != nil {
			bc = append(bc, float64(x.Slow.Broadcasts))
		}
	}
	return slowMedians{n: len(ops), ops: median(ops), p50: median(p50), p99: median(p99), max: median(mx), bc: median(bc)}
}

func slowSection(rep *Report) string {
	const baseKey, slowKey = "slowconsumer-base", "slowconsumer-slow"
	type pair struct{ base, slow []*Run }
	pairs := map[string]pair{}
	var first *Run
	rounds := 0
	for _, srv := range []string{sb, node} {
		p := pair{runsOf(rep, baseKey, srv), runsOf(rep, slowKey, srv)}
		if len(p.base) > 0 || len(p.slow) > 0 {
			pairs[srv] = p
			rounds = max(rounds, len(p.base), len(p.slow))
			if first == nil {
				first = last(p.slow)
				if first == nil {
					first = last(p.base)
				}
			}
		}
	}
	if first == nil {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	a := argsOf(rep, first)
	n, slowN := flagValue(a, "-n"), flagValue(a, "-slow")
	fast := "the others"
	if nn, sn := atoi(n), atoi(slowN); nn > 0 {
		fast = fmt.Sprintf("the other %s", commas(int64(nn-sn)))
	}
	sendFor := ""
	if d := flagValue(a, "-send-for"); d != "" {
		sendFor = fmt.Sprintf(", sending stopped after %s", fmtDur(durOr(d, 0)))
	}
	how := "Run once per server, not a median"
	if rounds > 1 {
		how = fmt.Sprintf("%d rounds, each running both cases on each server (all reading, then %s not reading); "+
			"the *median* rows are medians over the rounds and the *ratio* rows compare them, as the pairs of single runs "+
			"differ by ±10%% from one round to the next on this shared machine", rounds, orDash(slowN))
	}
	var prov []*Run
	for _, srv := range []string{sb, node} {
		prov = append(prov, pairs[srv].base...)
		prov = append(prov, pairs[srv].slow...)
	}
	w("## Slow consumers\n\n")
	w("The fanout scenario with clients that stop reading: %s clients in room `r`, up to %s broadcasts of ~100 B with W=%s in flight%s. "+
		"Each server runs it twice per round, on a fresh process each time: all clients reading, then with %s of them joining and never reading again "+
		"(their TCP connections stay open). The figures are for %s clients, the same ones in both runs; the *ratio* rows are "+
		"'%s not reading' / 'all reading'. Switchboard's documented policy (`socketio.max_buffered_bytes`, 1 MiB by default): volatile packets to a "+
		"client that is not keeping up are dropped, and a client whose queue passes the bound is disconnected; socket.io has no such bound. "+
		"Both servers also drop a client that does not answer its first ping, pingInterval + pingTimeout (25 s + 20 s) after it connected. "+
		"%s: %s\n\n",
		orDash(n), commas(int64(atoi(flagValue(a, "-k")))), orDash(flagValue(a, "-w")), sendFor, orDash(slowN), fast, orDash(slowN),
		how, provenance(prov...))
	w("| Server | Run | broadcasts sent | deliveries/s | latency p50 / p99 / max, ms | lost / dup / out of order | server RSS before → end of run (max during), MB | slow clients closed by the server |\n")
	w("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, srv := range []string{sb, node} {
		p, ok := pairs[srv]
		if !ok {
			continue
		}
		row := func(label string, r *Run) {
			if r == nil {
				w("| %s | %s | | | | | | not run |\n", serverTitle(srv), label)
				return
			}
			if rounds > 1 {
				label = fmt.Sprintf("%d: %s", r.Round, label)
			}
			if r.Result == nil {
				w("| %s | %s | | | | | | error: %s |\n", serverTitle(srv), label, mdEscape(r.Error))
				return
			}
			x := r.Result
			closed := "–"
			var broadcasts int64
			if s := x.Slow; s != nil {
				broadcasts = s.Broadcasts
				if !s.Reading {
					closed = fmt.Sprintf("%d of %d", s.Closed, s.Clients)
				}
			}
			w("| %s | %s | %s | %s | %s / %s / %s | %d / %d / %d | %s → %s (%s) | %s |\n", serverTitle(srv), label,
				commas(broadcasts), num(x.OpsPerS), num(x.P50Ms), num(x.P99Ms), num(x.MaxMs),
				x.Lost, x.Duplicates, x.OutOfOrder, mb(float64(x.RSSBeforeKB)), mb(float64(x.RSSAfterKB)), mb(float64(x.RSSMaxKB)), closed)
		}
		for i := range max(len(p.base), len(p.slow)) {
			row("all reading", at(p.base, i))
			row(orDash(slowN)+" not reading", at(p.slow, i))
		}
		m0, m1 := medianOfRuns(p.base), medianOfRuns(p.slow)
		if rounds > 1 {
			for _, m := range []struct {
				label string
				m     slowMedians
			}{{"all reading", m0}, {orDash(slowN) + " not reading", m1}} {
				if m.m.n > 0 {
					w("| | *median*, %s | %s | %s | %s / %s / %s | | | |\n", m.label, commas(int64(m.m.bc)),
						num(m.m.ops), num(m.m.p50), num(m.m.p99), num(m.m.max))
				}
			}
		}
		if m0.n > 0 && m1.n > 0 {
			w("| | *ratio* | | %s | %s / %s / %s | | | |\n", ratio(m1.ops, m0.ops),
				ratio(m1.p50, m0.p50), ratio(m1.p99, m0.p99), ratio(m1.max, m0.max))
		}
	}
	w("\n")
	for _, srv := range []string{sb, node} {
		p := pairs[srv]
		r := last(p.slow)
		if r == nil || r.Result == nil || r.Result.Slow == nil {
			continue
		}
		story := slowStory(r.Result)
		if base := at(p.base, len(p.slow)-1); base != nil && base.Result != nil {
			story += heldUp(base.Result, r.Result)
		}
		if rounds > 1 {
			story = fmt.Sprintf("(round %d) %s", r.Round, story)
		}
		w("- **%s**: %s\n", serverTitle(srv), story)
	}
	for _, srv := range []string{sb, node} {
		p := pairs[srv]
		for _, r := range append(slices.Clone(p.base), p.slow...) {
			if r.Result != nil && (len(r.Result.Notes) > 0 || r.Result.Errors > 0) {
				w("- %s, %s, round %d: errors %d; %s\n", serverTitle(srv), r.Scenario, r.Round, r.Result.Errors, mdEscape(strings.Join(r.Result.Notes, "; ")))
			}
		}
	}
	w("\n")
	return b.String()
}

// last returns the last of runs, nil if none.
func last(runs []*Run) *Run { return at(runs, len(runs)-1) }

// at returns runs[i], nil if out of range.
func at(runs []*Run, i int) *Run {
	if i < 0 || i >= len(runs) {
		return nil
	}
	return runs[i]
}

// span formats the range of f over cs with format: "lo–hi", or one value.
func span(cs []result.SlowClient, f func(result.SlowClient) float64, format string) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range cs {
		lo, hi = math.Min(lo, f(c)), math.Max(hi, f(c))
	}
	l, h := format, format
	if format == "count" {
		l, h = commas(int64(lo)), commas(int64(hi))
	} else {
		l, h = fmt.Sprintf(format, lo), fmt.Sprintf(format, hi)
	}
	if l == h {
		return l
	}
	return l + "–" + h
}

// heldUp remarks on the fast clients' worst latency when the slow clients
// multiplied it: some broadcasts waited on them.
func heldUp(base, slow *result.Result) string {
	if base.MaxMs <= 0 || slow.MaxMs < 5*base.MaxMs || slow.MaxMs < 500 {
		return ""
	}
	return fmt.Sprintf(" The fast clients' worst delivery latency went from %s ms with everyone reading to %s ms: some broadcasts were held up for seconds by the slow clients.",
		num(base.MaxMs), num(slow.MaxMs))
}

// slowStory tells what happened to the slow clients of one run.
func slowStory(x *result.Result) string {
	s := x.Slow
	var parts []string
	// MB here are MiB, as everywhere in the report.
	mbOf := func(msgs float64) string { return fmt.Sprintf("%.1f MB", msgs*float64(s.FrameBytes)/(1<<20)) }
	var tcp, eof, got []result.SlowClient
	for _, c := range s.PerClient {
		switch {
		case c.Closed && c.Seen == "tcp":
			tcp = append(tcp, c)
		case c.Closed:
			eof = append(eof, c)
		}
		if c.LastSeq >= 0 {
			got = append(got, c)
		}
	}
	hb := func(cs []result.SlowClient, f func(result.SlowClient) float64) string {
		if s.PingDeadlineS <= 0 {
			return ""
		}
		before, near := 0, 0
		for _, c := range cs {
			if f(c) < s.PingDeadlineS-3 {
				before++
			} else if f(c) <= s.PingDeadlineS+3 {
				near++
			}
		}
		switch {
		case before == len(cs):
			return fmt.Sprintf(", before the heartbeat could have dropped them (pingInterval + pingTimeout = %.0f s after connecting)", s.PingDeadlineS)
		case near == len(cs):
			return fmt.Sprintf(", at the heartbeat deadline (pingInterval + pingTimeout = %.0f s after connecting)", s.PingDeadlineS)
		}
		return fmt.Sprintf(" (heartbeat deadline: %.0f s after connecting)", s.PingDeadlineS)
	}
	if s.Closed == 0 {
		parts = append(parts, fmt.Sprintf("none of the %d slow clients was disconnected while %s broadcasts (%s each) were sent", s.Clients, commas(s.Broadcasts), mbOf(float64(s.Broadcasts))))
	} else {
		parts = append(parts, fmt.Sprintf("%d of the %d slow clients were disconnected by the server", s.Closed, s.Clients))
	}
	if len(tcp) > 0 {
		parts = append(parts, fmt.Sprintf("%d had their TCP connection closed by the server during the run, %s s after the first broadcast (%s s after connecting%s), when %s broadcasts (%s each) had been sent",
			len(tcp), span(tcp, func(c result.SlowClient) float64 { return c.ClosedAfterS }, "%.1f"),
			span(tcp, func(c result.SlowClient) float64 { return c.ClosedAfterConnS }, "%.1f"),
			hb(tcp, func(c result.SlowClient) float64 { return c.ClosedAfterConnS }),
			span(tcp, func(c result.SlowClient) float64 { return float64(c.SentBeforeClose) }, "count"),
			mbOf(float64(tcp[len(tcp)-1].SentBeforeClose))))
	}
	if len(eof) > 0 {
		parts = append(parts, fmt.Sprintf("%d were seen closed only when they read their sockets after the run: the server had sent its close, but its end of the TCP connection was still established when the run ended", len(eof)))
	}
	if len(got) > 0 {
		maxGot := 0.0
		for _, c := range got {
			maxGot = math.Max(maxGot, float64(c.Received))
		}
		parts = append(parts, fmt.Sprintf("reading their sockets afterwards, they found %s broadcasts each (up to %s, held by the kernel's socket buffers), the last of them sent %s s into the run (%s s after connecting%s): when the server stopped writing to them",
			span(got, func(c result.SlowClient) float64 { return float64(c.Received) }, "count"), mbOf(maxGot),
			span(got, func(c result.SlowClient) float64 { return c.LastSentAtS }, "%.1f"),
			span(got, func(c result.SlowClient) float64 { return c.LastSentAfterConnS }, "%.1f"),
			hb(got, func(c result.SlowClient) float64 { return c.LastSentAfterConnS })))
	}
	var both []result.SlowClient
	for _, c := range tcp {
		if c.LastSeq >= 0 {
			both = append(both, c)
		}
	}
	if len(both) > 0 {
		// Sent before the close, beyond what reached the kernel: what the
		// server had queued for each of them when it closed them.
		parts = append(parts, fmt.Sprintf("the server closed them %s s after their sockets stopped taking data, with %s MiB queued for each beyond what the kernel held",
			span(both, func(c result.SlowClient) float64 { return c.ClosedAfterS - c.LastSentAtS }, "%.1f"),
			span(both, func(c result.SlowClient) float64 {
				return float64(c.SentBeforeClose-(c.LastSeq+1)) * float64(s.FrameBytes) / (1 << 20)
			}, "%.2f")))
	}
	if s.Closed < s.Clients && s.Broadcasts > 0 {
		parts = append(parts, fmt.Sprintf("%d were still connected at the end", s.Clients-s.Closed))
	}
	return strings.Join(parts, "; ") + "."
}

func manySection(rep *Report) string {
	const key = "manyconns"
	runs := map[string]*Run{}
	var first *Run
	for _, srv := range []string{sb, node} {
		if r := lastRun(rep, key, srv); r != nil {
			runs[srv] = r
			if first == nil {
				first = r
			}
		}
	}
	if first == nil {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	a := argsOf(rep, first)
	holdD, _ := time.ParseDuration(flagValue(a, "-hold"))
	w("## Many connections\n\n")
	w("%s WebSocket connections to one server process, opened by %s load generator processes (the open-file limit is %s per process here), "+
		"held for %s while the server's RSS, threads and open fds are sampled every %s; %s of the connections are in a room that gets one "+
		"broadcast per second, to show they are alive. Run once per server: %s\n\n",
		commas(int64(atoi(flagValue(a, "-conns")))), orDash(flagValue(a, "-procs")), "20,000", fmtDur(holdD), fmtDur(durOr(flagValue(a, "-sample"), 10*time.Second)),
		orDash(flagValue(a, "-members")), provenance(runs[sb], runs[node]))
	var srvs []string
	for _, srv := range []string{sb, node} {
		if runs[srv] != nil {
			srvs = append(srvs, srv)
		}
	}
	w("| |")
	for _, srv := range srvs {
		w(" %s |", serverTitle(srv))
	}
	w("\n|---|")
	for range srvs {
		w("---:|")
	}
	w("\n")
	line := func(label string, f func(x *result.Result, h *result.Hold) string) {
		w("| %s |", label)
		for _, srv := range srvs {
			r := runs[srv]
			switch {
			case r.Result == nil:
				w(" error: %s |", mdEscape(r.Error))
			case r.Result.Hold == nil:
				w(" – |")
			default:
				w(" %s |", f(r.Result, r.Result.Hold))
			}
		}
		w("\n")
	}
	line("connections established / failed", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s / %s", commas(h.Established), commas(h.Failed))
	})
	line("dropped by the server during the hold", func(x *result.Result, h *result.Hold) string { return commas(h.Dropped) })
	line("ramp: handshakes/s (server CPU-s per million)", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s (%s)", num(x.OpsPerS), num(x.CPUPerMillionOps))
	})
	line("server RSS before the ramp → start of the hold, MB", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s → %s", mb(float64(x.RSSBeforeKB)), mb(float64(h.RSSStartKB)))
	})
	line("server RSS per connection at the start of the hold, kB", func(x *result.Result, h *result.Hold) string {
		if h.Established == 0 {
			return "–"
		}
		return num(float64(h.RSSStartKB-x.RSSBeforeKB) / float64(h.Established))
	})
	line("server RSS at the reference sample → end of the hold, MB", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s (at %.0f s) → %s (at %.0f s)", mb(float64(h.RSSRefKB)), h.RefAtS, mb(float64(h.RSSEndKB)), h.HoldS)
	})
	line("largest RSS during the hold, MB", func(x *result.Result, h *result.Hold) string { return mb(float64(h.RSSMaxKB)) })
	line(fmt.Sprintf("stable (end at most %.0f%% above the reference)", 100*result.StableWithin), func(x *result.Result, h *result.Hold) string {
		v := "no"
		if h.StableRSS() { // by the current rule, also for saved results
			v = "yes"
		}
		return fmt.Sprintf("%s (%+.1f%%)", v, 100*h.EndVsRef)
	})
	line("threads / open fds at the start → end of the hold", func(x *result.Result, h *result.Hold) string {
		if len(h.Samples) == 0 {
			return "–"
		}
		f, l := h.Samples[0], h.Samples[len(h.Samples)-1]
		return fmt.Sprintf("%d / %s → %d / %s", f.Threads, commas(int64(f.FDs)), l.Threads, commas(int64(l.FDs)))
	})
	line("server CPU during the hold, s", func(x *result.Result, h *result.Hold) string { return fmt.Sprintf("%.1f", h.ServerCPUS) })
	line("traffic: broadcasts → deliveries (lost / dup / out of order)", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s → %s (%d / %d / %d)", commas(h.Broadcasts), commas(h.Deliveries), h.Lost, h.Duplicates, h.OutOfOrder)
	})
	line("traffic: delivery latency p50 / p99, ms", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s / %s", num(x.P50Ms), num(x.P99Ms))
	})
	w("\n")
	for _, srv := range srvs {
		if r := runs[srv]; r.Result != nil && len(r.Result.Notes) > 0 {
			w("- %s: %s\n", serverTitle(srv), mdEscape(strings.Join(r.Result.Notes, "; ")))
		}
	}
	// The samples, thinned to about a dozen rows.
	longest := 0
	for _, srv := range srvs {
		if r := runs[srv]; r.Result != nil && r.Result.Hold != nil {
			longest = max(longest, len(r.Result.Hold.Samples))
		}
	}
	if longest == 0 {
		return b.String()
	}
	stride := max(1, (longest+11)/12)
	every := durOr(flagValue(a, "-sample"), 10*time.Second)
	w("\nThe server during the hold (samples every %s, one every %s shown; all are in the raw results):\n\n", fmtDur(every), fmtDur(time.Duration(stride)*every))
	w("| t, s |")
	for _, srv := range srvs {
		w(" %s RSS, MB | threads | fds |", serverTitle(srv))
	}
	w("\n|---:|")
	for range srvs {
		w("---:|---:|---:|")
	}
	w("\n")
	for i := 0; i < longest; i++ {
		if i%stride != 0 && i != longest-1 {
			continue
		}
		t := -1.0
		for _, srv := range srvs {
			if r := runs[srv]; r.Result != nil && r.Result.Hold != nil && i < len(r.Result.Hold.Samples) {
				t = r.Result.Hold.Samples[i].T
				break
			}
		}
		w("| %.0f |", t)
		for _, srv := range srvs {
			r := runs[srv]
			if r.Result == nil || r.Result.Hold == nil || i >= len(r.Result.Hold.Samples) {
				w(" | | |")
				continue
			}
			s := r.Result.Hold.Samples[i]
			w(" %s | %d | %s |", mb(float64(s.RSSKB)), s.Threads, commas(int64(s.FDs)))
		}
		w("\n")
	}
	w("\n")
	return b.String()
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscanf(s, "%d", &n)
	return n
}

func durOr(s string, d time.Duration) time.Duration {
	if v, err := time.ParseDuration(s); err == nil {
		return v
	}
	return d
}

// fmtDur prints 10m0s as "10 min", 30s as "30 s".
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	default:
		return fmt.Sprintf("%g s", d.Seconds())
	}
}

// extraSummary prints the new scenarios' results on the console.
func extraSummary(rep *Report) {
	for _, key := range []string{"slowconsumer-base", "slowconsumer-slow", "manyconns"} {
		for _, srv := range []string{sb, node} {
			r := lastRun(rep, key, srv)
			if r == nil {
				continue
			}
			if r.Result == nil {
				fmt.Printf("%-18s %-11s ERROR %s\n", key, srv, r.Error)
				continue
			}
			fmt.Printf("%-18s %-11s %s\n", key, srv, extraLine(r.Result))
		}
	}
}

func extraLine(x *result.Result) string {
	switch {
	case x.Slow != nil:
		s := fmt.Sprintf("%s deliveries/s p50 %s p99 %s max %s ms, lost/dup/ooo %d/%d/%d, RSS %s→%s MB (max %s)",
			num(x.OpsPerS), num(x.P50Ms), num(x.P99Ms), num(x.MaxMs), x.Lost, x.Duplicates, x.OutOfOrder,
			mb(float64(x.RSSBeforeKB)), mb(float64(x.RSSAfterKB)), mb(float64(x.RSSMaxKB)))
		if !x.Slow.Reading {
			s += fmt.Sprintf(", slow clients closed %d of %d", x.Slow.Closed, x.Slow.Clients)
		}
		return s
	case x.Hold != nil:
		h := x.Hold
		return fmt.Sprintf("%d established, %d failed, %d dropped; RSS start %s, ref %s, end %s, max %s MB, stable %v (%+.1f%%); %d/%d deliveries",
			h.Established, h.Failed, h.Dropped, mb(float64(h.RSSStartKB)), mb(float64(h.RSSRefKB)), mb(float64(h.RSSEndKB)), mb(float64(h.RSSMaxKB)),
			h.StableRSS(), 100*h.EndVsRef, h.Deliveries, h.Broadcasts*int64(h.RoomSize))
	}
	return oneLine(x)
}
