package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

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
