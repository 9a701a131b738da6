package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// The report's parts for the scenario groups outside the core: slow
// consumers (every round, with medians of their own) and many connections
// (run once, the last run of each server is shown). Here: finding runs,
// and what the groups share.

func isCore(key string) bool {
	for _, sc := range scenarios(false) {
		if sc.Key == key {
			return sc.Group == ""
		}
	}
	return true
}

func hasGroupRuns(rep *Report) bool {
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

func groupSections(rep *Report) string {
	return slowSection(rep) + manySection(rep) + clusterSection(rep) + wtSection(rep)
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

// last returns the last of runs, nil if none.
func last(runs []*Run) *Run { return at(runs, len(runs)-1) }

// at returns runs[i], nil if out of range.
func at(runs []*Run, i int) *Run {
	if i < 0 || i >= len(runs) {
		return nil
	}
	return runs[i]
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

// groupSummary prints the groups' results on the console.
func groupSummary(rep *Report) {
	keys := []string{"slowconsumer-base", "slowconsumer-slow", "manyconns"}
	for _, sc := range append(clusterScenarios(rep.Quick), wtScenarios(rep.Quick)...) {
		keys = append(keys, sc.Key)
	}
	for _, key := range keys {
		for _, srv := range []string{sb, node} {
			r := lastRun(rep, key, srv)
			if r == nil {
				continue
			}
			if r.Result == nil {
				fmt.Printf("%-18s %-11s ERROR %s\n", key, srv, r.Error)
				continue
			}
			fmt.Printf("%-18s %-11s %s\n", key, srv, groupLine(r.Result))
		}
	}
}

func groupLine(x *result.Result) string {
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
