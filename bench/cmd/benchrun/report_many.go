package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// manySection is the report's section on many connections: the last run of
// each server, its summary and its samples of the server during the hold.
func manySection(rep *Report) string {
	runs, srvs := manyRuns(rep)
	if len(srvs) == 0 {
		return ""
	}
	a := argsOf(rep, runs[srvs[0]])
	var b mdBuilder
	manyIntro(&b, a, runs)
	manyTable(&b, runs, srvs)
	b.w("\n")
	for _, srv := range srvs {
		if r := runs[srv]; r.Result != nil && len(r.Result.Notes) > 0 {
			b.w("- %s: %s\n", serverTitle(srv), mdEscape(strings.Join(r.Result.Notes, "; ")))
		}
	}
	manySamples(&b, runs, srvs, durOr(flagValue(a, "-sample"), 10*time.Second))
	return b.String()
}

// manyRuns returns the last many-connections run of each server, and the
// servers that have one, Switchboard first.
func manyRuns(rep *Report) (map[string]*Run, []string) {
	runs := map[string]*Run{}
	var srvs []string
	for _, srv := range []string{sb, node} {
		if r := lastRun(rep, "manyconns", srv); r != nil {
			runs[srv] = r
			srvs = append(srvs, srv)
		}
	}
	return runs, srvs
}

// manyIntro describes the scenario from its loadgen flags a.
func manyIntro(b *mdBuilder, a []string, runs map[string]*Run) {
	holdD, _ := time.ParseDuration(flagValue(a, "-hold"))
	b.w("## Many connections\n\n")
	b.w("%s WebSocket connections to one server process, opened by %s load generator processes (the open-file limit is %s per process here), "+
		"held for %s while the server's RSS, threads and open fds are sampled every %s; %s of the connections are in a room that gets one "+
		"broadcast per second, to show they are alive. Run once per server: %s\n\n",
		commas(int64(atoi(flagValue(a, "-conns")))), orDash(flagValue(a, "-procs")), "20,000", fmtDur(holdD), fmtDur(durOr(flagValue(a, "-sample"), 10*time.Second)),
		orDash(flagValue(a, "-members")), provenance(runs[sb], runs[node]))
}

// manyTable writes the summary table: one row per manyRows entry, one
// column per server.
func manyTable(b *mdBuilder, runs map[string]*Run, srvs []string) {
	b.w("| |")
	for _, srv := range srvs {
		b.w(" %s |", serverTitle(srv))
	}
	b.w("\n|---|")
	for range srvs {
		b.w("---:|")
	}
	b.w("\n")
	for _, row := range manyRows {
		b.w("| %s |", row.label)
		for _, srv := range srvs {
			r := runs[srv]
			switch {
			case r.Result == nil:
				b.w(" error: %s |", mdEscape(r.Error))
			case r.Result.Hold == nil:
				b.w(" – |")
			default:
				b.w(" %s |", row.cell(r.Result, r.Result.Hold))
			}
		}
		b.w("\n")
	}
}

// manyRows are the rows of the many-connections summary table.
var manyRows = []struct {
	label string
	cell  func(x *result.Result, h *result.Hold) string
}{
	{"connections established / failed", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s / %s", commas(h.Established), commas(h.Failed))
	}},
	{"dropped by the server during the hold", func(x *result.Result, h *result.Hold) string { return commas(h.Dropped) }},
	{"ramp: handshakes/s (server CPU-s per million)", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s (%s)", num(x.OpsPerS), num(x.CPUPerMillionOps))
	}},
	{"server RSS before the ramp → start of the hold, MB", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s → %s", mb(float64(x.RSSBeforeKB)), mb(float64(h.RSSStartKB)))
	}},
	{"server RSS per connection at the start of the hold, kB", func(x *result.Result, h *result.Hold) string {
		if h.Established == 0 {
			return "–"
		}
		return num(float64(h.RSSStartKB-x.RSSBeforeKB) / float64(h.Established))
	}},
	{"server RSS at the reference sample → end of the hold, MB", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s (at %.0f s) → %s (at %.0f s)", mb(float64(h.RSSRefKB)), h.RefAtS, mb(float64(h.RSSEndKB)), h.HoldS)
	}},
	{"largest RSS during the hold, MB", func(x *result.Result, h *result.Hold) string { return mb(float64(h.RSSMaxKB)) }},
	{fmt.Sprintf("stable (end at most %.0f%% above the reference)", 100*result.StableWithin), func(x *result.Result, h *result.Hold) string {
		v := "no"
		if h.StableRSS() { // by the current rule, also for saved results
			v = "yes"
		}
		return fmt.Sprintf("%s (%+.1f%%)", v, 100*h.EndVsRef)
	}},
	{"threads / open fds at the start → end of the hold", func(x *result.Result, h *result.Hold) string {
		if len(h.Samples) == 0 {
			return "–"
		}
		f, l := h.Samples[0], h.Samples[len(h.Samples)-1]
		return fmt.Sprintf("%d / %s → %d / %s", f.Threads, commas(int64(f.FDs)), l.Threads, commas(int64(l.FDs)))
	}},
	{"server CPU during the hold, s", func(x *result.Result, h *result.Hold) string { return fmt.Sprintf("%.1f", h.ServerCPUS) }},
	{"traffic: broadcasts → deliveries (lost / dup / out of order)", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s → %s (%d / %d / %d)", commas(h.Broadcasts), commas(h.Deliveries), h.Lost, h.Duplicates, h.OutOfOrder)
	}},
	{"traffic: delivery latency p50 / p99, ms", func(x *result.Result, h *result.Hold) string {
		return fmt.Sprintf("%s / %s", num(x.P50Ms), num(x.P99Ms))
	}},
}

// manySamples writes the servers' samples during the hold, thinned to
// about a dozen rows; every is the sampling period.
func manySamples(b *mdBuilder, runs map[string]*Run, srvs []string, every time.Duration) {
	samples := func(srv string) []result.Sample {
		if r := runs[srv]; r.Result != nil && r.Result.Hold != nil {
			return r.Result.Hold.Samples
		}
		return nil
	}
	longest := 0
	for _, srv := range srvs {
		longest = max(longest, len(samples(srv)))
	}
	if longest == 0 {
		return
	}
	stride := max(1, (longest+11)/12)
	b.w("\nThe server during the hold (samples every %s, one every %s shown; all are in the raw results):\n\n", fmtDur(every), fmtDur(time.Duration(stride)*every))
	b.w("| t, s |")
	for _, srv := range srvs {
		b.w(" %s RSS, MB | threads | fds |", serverTitle(srv))
	}
	b.w("\n|---:|")
	for range srvs {
		b.w("---:|---:|---:|")
	}
	b.w("\n")
	for i := 0; i < longest; i++ {
		if i%stride != 0 && i != longest-1 {
			continue
		}
		t := -1.0
		for _, srv := range srvs {
			if s := samples(srv); i < len(s) {
				t = s[i].T
				break
			}
		}
		b.w("| %.0f |", t)
		for _, srv := range srvs {
			s := samples(srv)
			if i >= len(s) {
				b.w(" | | |")
				continue
			}
			b.w(" %s | %d | %s |", mb(float64(s[i].RSSKB)), s[i].Threads, commas(int64(s[i].FDs)))
		}
		b.w("\n")
	}
	b.w("\n")
}
