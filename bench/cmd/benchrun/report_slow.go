package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/bench/internal/result"
)

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

// slowPair is one server's runs of the two slow-consumer scenarios, in
// round order.
type slowPair struct{ base, slow []*Run }

// slowSection is the report's section on slow consumers: every run of both
// cases on each server, their medians and ratio, and what happened to the
// slow clients.
func slowSection(rep *Report) string {
	pairs, rounds, first := slowRuns(rep)
	if first == nil {
		return ""
	}
	a := argsOf(rep, first)
	slowN := flagValue(a, "-slow")
	var b mdBuilder
	slowIntro(&b, a, pairs, rounds)
	b.w("| Server | Run | broadcasts sent | deliveries/s | latency p50 / p99 / max, ms | lost / dup / out of order | server RSS before → end of run (max during), MB | slow clients closed by the server |\n")
	b.w("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, srv := range []string{sb, node} {
		if p, ok := pairs[srv]; ok {
			slowRows(&b, srv, p, rounds, slowN)
		}
	}
	b.w("\n")
	slowStories(&b, pairs, rounds)
	b.w("\n")
	return b.String()
}

// slowRuns returns each server's slow-consumer runs, the most rounds any
// case ran, and the run whose flags describe the scenario (nil: none ran).
func slowRuns(rep *Report) (pairs map[string]slowPair, rounds int, first *Run) {
	const baseKey, slowKey = "slowconsumer-base", "slowconsumer-slow"
	pairs = map[string]slowPair{}
	for _, srv := range []string{sb, node} {
		p := slowPair{runsOf(rep, baseKey, srv), runsOf(rep, slowKey, srv)}
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
	return pairs, rounds, first
}

// slowIntro describes the scenario from its loadgen flags a.
func slowIntro(b *mdBuilder, a []string, pairs map[string]slowPair, rounds int) {
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
	b.w("## Slow consumers\n\n")
	b.w("The fanout scenario with clients that stop reading: %s clients in room `r`, up to %s broadcasts of ~100 B with W=%s in flight%s. "+
		"Each server runs it twice per round, on a fresh process each time: all clients reading, then with %s of them joining and never reading again "+
		"(their TCP connections stay open). The figures are for %s clients, the same ones in both runs; the *ratio* rows are "+
		"'%s not reading' / 'all reading'. Switchboard's documented policy (`socketio.max_buffered_bytes`, 1 MiB by default): volatile packets to a "+
		"client that is not keeping up are dropped, and a client whose queue passes the bound is disconnected; socket.io has no such bound. "+
		"Both servers also drop a client that does not answer its first ping, pingInterval + pingTimeout (25 s + 20 s) after it connected. "+
		"%s: %s\n\n",
		orDash(n), commas(int64(atoi(flagValue(a, "-k")))), orDash(flagValue(a, "-w")), sendFor, orDash(slowN), fast, orDash(slowN),
		how, provenance(prov...))
}

// slowRows writes one server's rows of the table: each round's two runs,
// then their medians (over several rounds) and ratio.
func slowRows(b *mdBuilder, srv string, p slowPair, rounds int, slowN string) {
	for i := range max(len(p.base), len(p.slow)) {
		slowRunRow(b, srv, "all reading", at(p.base, i), rounds)
		slowRunRow(b, srv, orDash(slowN)+" not reading", at(p.slow, i), rounds)
	}
	m0, m1 := medianOfRuns(p.base), medianOfRuns(p.slow)
	if rounds > 1 {
		for _, m := range []struct {
			label string
			m     slowMedians
		}{{"all reading", m0}, {orDash(slowN) + " not reading", m1}} {
			if m.m.n > 0 {
				b.w("| | *median*, %s | %s | %s | %s / %s / %s | | | |\n", m.label, commas(int64(m.m.bc)),
					num(m.m.ops), num(m.m.p50), num(m.m.p99), num(m.m.max))
			}
		}
	}
	if m0.n > 0 && m1.n > 0 {
		b.w("| | *ratio* | | %s | %s / %s / %s | | | |\n", ratio(m1.ops, m0.ops),
			ratio(m1.p50, m0.p50), ratio(m1.p99, m0.p99), ratio(m1.max, m0.max))
	}
}

// slowRunRow writes the table's row of run r (nil: not run) on srv.
func slowRunRow(b *mdBuilder, srv, label string, r *Run, rounds int) {
	if r == nil {
		b.w("| %s | %s | | | | | | not run |\n", serverTitle(srv), label)
		return
	}
	if rounds > 1 {
		label = fmt.Sprintf("%d: %s", r.Round, label)
	}
	if r.Result == nil {
		b.w("| %s | %s | | | | | | error: %s |\n", serverTitle(srv), label, mdEscape(r.Error))
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
	b.w("| %s | %s | %s | %s | %s / %s / %s | %d / %d / %d | %s → %s (%s) | %s |\n", serverTitle(srv), label,
		commas(broadcasts), num(x.OpsPerS), num(x.P50Ms), num(x.P99Ms), num(x.MaxMs),
		x.Lost, x.Duplicates, x.OutOfOrder, mb(float64(x.RSSBeforeKB)), mb(float64(x.RSSAfterKB)), mb(float64(x.RSSMaxKB)), closed)
}

// slowStories writes, per server, what happened to the slow clients in
// the last round, then the runs' errors and notes.
func slowStories(b *mdBuilder, pairs map[string]slowPair, rounds int) {
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
		b.w("- **%s**: %s\n", serverTitle(srv), story)
	}
	for _, srv := range []string{sb, node} {
		p := pairs[srv]
		for _, r := range append(slices.Clone(p.base), p.slow...) {
			if r.Result != nil && (len(r.Result.Notes) > 0 || r.Result.Errors > 0) {
				b.w("- %s, %s, round %d: errors %d; %s\n", serverTitle(srv), r.Scenario, r.Round, r.Result.Errors, mdEscape(strings.Join(r.Result.Notes, "; ")))
			}
		}
	}
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
	if s.Closed == 0 {
		parts = append(parts, fmt.Sprintf("none of the %d slow clients was disconnected while %s broadcasts (%s each) were sent", s.Clients, commas(s.Broadcasts), slowMB(s, float64(s.Broadcasts))))
	} else {
		parts = append(parts, fmt.Sprintf("%d of the %d slow clients were disconnected by the server", s.Closed, s.Clients))
	}
	if len(tcp) > 0 {
		parts = append(parts, slowClosedStory(s, tcp))
	}
	if len(eof) > 0 {
		parts = append(parts, fmt.Sprintf("%d were seen closed only when they read their sockets after the run: the server had sent its close, but its end of the TCP connection was still established when the run ended", len(eof)))
	}
	if len(got) > 0 {
		parts = append(parts, slowReadStory(s, got))
	}
	var both []result.SlowClient
	for _, c := range tcp {
		if c.LastSeq >= 0 {
			both = append(both, c)
		}
	}
	if len(both) > 0 {
		parts = append(parts, slowQueuedStory(s, both))
	}
	if s.Closed < s.Clients && s.Broadcasts > 0 {
		parts = append(parts, fmt.Sprintf("%d were still connected at the end", s.Clients-s.Closed))
	}
	return strings.Join(parts, "; ") + "."
}

// slowMB is the size of msgs broadcasts. MB here are MiB, as everywhere in
// the report.
func slowMB(s *result.Slow, msgs float64) string {
	return fmt.Sprintf("%.1f MB", msgs*float64(s.FrameBytes)/(1<<20))
}

// heartbeatNote relates the times f of clients cs, in seconds after they
// connected, to the heartbeat's deadline ("" when it is not known).
func heartbeatNote(s *result.Slow, cs []result.SlowClient, f func(result.SlowClient) float64) string {
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

// slowClosedStory tells when the server closed the TCP connections of tcp.
func slowClosedStory(s *result.Slow, tcp []result.SlowClient) string {
	return fmt.Sprintf("%d had their TCP connection closed by the server during the run, %s s after the first broadcast (%s s after connecting%s), when %s broadcasts (%s each) had been sent",
		len(tcp), span(tcp, func(c result.SlowClient) float64 { return c.ClosedAfterS }, "%.1f"),
		span(tcp, func(c result.SlowClient) float64 { return c.ClosedAfterConnS }, "%.1f"),
		heartbeatNote(s, tcp, func(c result.SlowClient) float64 { return c.ClosedAfterConnS }),
		span(tcp, func(c result.SlowClient) float64 { return float64(c.SentBeforeClose) }, "count"),
		slowMB(s, float64(tcp[len(tcp)-1].SentBeforeClose)))
}

// slowReadStory tells what the clients found in their sockets after
// the run, and when the server stopped writing to them.
func slowReadStory(s *result.Slow, got []result.SlowClient) string {
	maxGot := 0.0
	for _, c := range got {
		maxGot = math.Max(maxGot, float64(c.Received))
	}
	return fmt.Sprintf("reading their sockets afterwards, they found %s broadcasts each (up to %s, held by the kernel's socket buffers), the last of them sent %s s into the run (%s s after connecting%s): when the server stopped writing to them",
		span(got, func(c result.SlowClient) float64 { return float64(c.Received) }, "count"), slowMB(s, maxGot),
		span(got, func(c result.SlowClient) float64 { return c.LastSentAtS }, "%.1f"),
		span(got, func(c result.SlowClient) float64 { return c.LastSentAfterConnS }, "%.1f"),
		heartbeatNote(s, got, func(c result.SlowClient) float64 { return c.LastSentAfterConnS }))
}

// slowQueuedStory tells, for clients both closed and read, how long after
// their sockets stopped taking data the server closed them, and what it
// had queued for them then: sent before the close, beyond what reached
// the kernel.
func slowQueuedStory(s *result.Slow, both []result.SlowClient) string {
	return fmt.Sprintf("the server closed them %s s after their sockets stopped taking data, with %s MiB queued for each beyond what the kernel held",
		span(both, func(c result.SlowClient) float64 { return c.ClosedAfterS - c.LastSentAtS }, "%.1f"),
		span(both, func(c result.SlowClient) float64 {
			return float64(c.SentBeforeClose-(c.LastSeq+1)) * float64(s.FrameBytes) / (1 << 20)
		}, "%.2f"))
}
