package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

func TestSelected(t *testing.T) {
	keys := func(list ...string) string {
		var out []string
		for _, sc := range scenarios(false) {
			if selected(sc, list) {
				out = append(out, sc.Key)
			}
		}
		return strings.Join(out, ",")
	}
	all := "fanout-w50,fanout-w1,echo,polling,idle,churn,slowconsumer-base,slowconsumer-slow,manyconns"
	for _, c := range []struct {
		list []string
		want string
	}{
		{nil, all},
		{[]string{"core"}, "fanout-w50,fanout-w1,echo,polling,idle,churn"},
		{[]string{"slowconsumer", "manyconns"}, "slowconsumer-base,slowconsumer-slow,manyconns"},
		{[]string{"-manyconns"}, "fanout-w50,fanout-w1,echo,polling,idle,churn,slowconsumer-base,slowconsumer-slow"},
		{[]string{"-slowconsumer", "-manyconns"}, "fanout-w50,fanout-w1,echo,polling,idle,churn"},
		{[]string{"core", "-echo", "manyconns"}, "fanout-w50,fanout-w1,polling,idle,churn,manyconns"},
		{[]string{"echo"}, "echo"},
	} {
		if got := keys(c.list...); got != c.want {
			t.Errorf("-scenarios %v: %s, want %s", c.list, got, c.want)
		}
	}
	for _, sc := range scenarios(true) {
		if sc.Group == groupMany && flagValue(sc.Args, "-hold") != "30s" {
			t.Errorf("quick manyconns holds %s, want 30s", flagValue(sc.Args, "-hold"))
		}
	}
	for _, sc := range scenarios(false) {
		if sc.Group == groupMany {
			if flagValue(sc.Args, "-hold") != "10m0s" || flagValue(sc.Args, "-conns") != "19000" {
				t.Errorf("manyconns: %v", sc.Args)
			}
			sc = withHold(sc, 2*time.Minute)
			if flagValue(sc.Args, "-hold") != "2m0s" || sc.Timeout != 12*time.Minute {
				t.Errorf("withHold: %v, timeout %v", sc.Args, sc.Timeout)
			}
		}
	}
}

// Merged results keep the first file's header; the new scenarios get their
// sections, and the core tables are unaffected by them.
func TestMergeAndExtraSections(t *testing.T) {
	dir := t.TempDir()
	core := &Report{Rounds: 3, Env: Env{GitCommit: "aaa"}, Runs: []Run{
		{Round: 1, Server: sb, Scenario: "echo", Result: &result.Result{Scenario: "echo", OpsUnit: "round trips", OpsPerS: 100}},
	}}
	slowRes := func(reading bool, closed int) *result.Result {
		r := &result.Result{Scenario: "fanout", OpsUnit: "deliveries", OpsPerS: 1000, P50Ms: 2, P99Ms: 8, MaxMs: 9, RSSBeforeKB: 10240, RSSAfterKB: 20480, RSSMaxKB: 30720,
			Slow: &result.Slow{Clients: 2, Reading: reading, FastClients: 8, Broadcasts: 500, FrameBytes: 112, PingDeadlineS: 45}}
		for i := range 2 {
			c := result.SlowClient{Received: 300, LastSeq: 299, LastSentAtS: 5, LastSentAfterConnS: 5.5}
			if i < closed {
				c.Closed, c.Seen, c.ClosedAfterS, c.ClosedAfterConnS, c.SentBeforeClose = true, "tcp", 10.5, 11, 400
				r.Slow.Closed++
			}
			r.Slow.PerClient = append(r.Slow.PerClient, c)
		}
		return r
	}
	slowed := func(r *result.Result, ops, p99 float64) *result.Result {
		r.OpsPerS, r.P99Ms = ops, p99
		return r
	}
	hold := &result.Hold{Procs: 2, Conns: 100, Established: 100, RoomSize: 10, Broadcasts: 5, Deliveries: 50, HoldS: 30,
		Samples: []result.Sample{{T: 0, RSSKB: 1000, Threads: 5, FDs: 110}, {T: 10, RSSKB: 1100}, {T: 20, RSSKB: 1100}, {T: 30, RSSKB: 1120, Threads: 6, FDs: 110}}}
	hold.Summarize(60)
	extra := &Report{Rounds: 1, Env: Env{GitCommit: "bbb"}, Runs: []Run{
		{Round: 1, Server: sb, Scenario: "slowconsumer-base", Result: slowRes(true, 0), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2 -slow-read")},
		{Round: 1, Server: sb, Scenario: "slowconsumer-slow", Result: slowRes(false, 2), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2")},
		{Round: 1, Server: node, Scenario: "slowconsumer-slow", Error: "boom"},
		{Round: 2, Server: sb, Scenario: "slowconsumer-base", Result: slowed(slowRes(true, 0), 1200, 6), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2 -slow-read")},
		{Round: 2, Server: sb, Scenario: "slowconsumer-slow", Result: slowed(slowRes(false, 2), 900, 12), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2")},
		{Round: 3, Server: sb, Scenario: "slowconsumer-base", Result: slowed(slowRes(true, 0), 800, 10), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2 -slow-read")},
		{Round: 3, Server: sb, Scenario: "slowconsumer-slow", Result: slowed(slowRes(false, 2), 1100, 4), Args: args("-scenario fanout -n 10 -k 500 -w 5 -slow 2")},
		{Round: 1, Server: sb, Scenario: "manyconns", Result: &result.Result{Scenario: "hold", Hold: hold}, Args: args("-scenario hold -conns 100 -procs 2 -members 10 -sample 10s -hold 30s")},
	}}
	var files []string
	for i, rep := range []*Report{core, extra} {
		f := filepath.Join(dir, []string{"core.json", "extra.json"}[i])
		if err := writeJSON(f, rep); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	rep, err := loadReports(files)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rounds != 3 || len(rep.Runs) != 9 || rep.Runs[0].src == rep.Runs[1].src {
		t.Fatalf("merged: %d rounds, %d runs", rep.Rounds, len(rep.Runs))
	}
	md := markdown(rep, rows(rep), "chart.svg", files[0])
	for _, want := range []string{
		"## Slow consumers", "| Switchboard | 1: 2 not reading | 500 | 1,000 | 2.00 / 8.00 / 9.00 | 0 / 0 / 0 | 10.0 → 20.0 (30.0) | 2 of 2 |",
		"| Switchboard | 3: all reading | 500 | 800 | 2.00 / 10.0 / 9.00 |", "3 rounds, each running both",
		// medians: all reading 1000 ops, p99 8; not reading 1000 ops, p99 8.
		"| | *median*, all reading | 500 | 1,000 | 2.00 / 8.00 / 9.00 | | | |", "| | *median*, 2 not reading | 500 | 1,000 | 2.00 / 8.00 / 9.00 | | | |",
		"| | *ratio* | | 1.00× | 1.00× / 1.00× / 1.00× |", "| Node.js | 1: 2 not reading | | | | | | error: boom |",
		"- **Switchboard**: (round 3) 2 of the 2",
		"2 of the 2 slow clients were disconnected by the server; 2 had their TCP connection closed by the server during the run, 10.5 s after the first broadcast (11.0 s after connecting, before the heartbeat could have dropped them (pingInterval + pingTimeout = 45 s after connecting)), when 400 broadcasts (0.0 MB each) had been sent",
		"they found 300 broadcasts each (up to 0.0 MB, held by the kernel's socket buffers), the last of them sent 5.0 s into the run (5.5 s after connecting, before the heartbeat",
		"the server closed them 5.5 s after their sockets stopped taking data, with 0.01 MiB queued for each beyond what the kernel held.",
		"## Many connections", "| connections established / failed | 100 / 0 |", "| stable (end at most 5% above the reference) | yes (+1.8%) |",
		"| Also |", "extra.json",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "| 1 | slowconsumer") || strings.Contains(md, "| 1 | manyconns") {
		t.Error("the new scenarios are in the every-run table")
	}
	if _, err := loadReports([]string{filepath.Join(dir, "missing.json")}); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
