package main

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// The cluster group runs only when asked for, each workload in every
// deployment, and the Node reference has no non-sticky deployment.
func TestClusterScenarios(t *testing.T) {
	keys := func(list ...string) string {
		var out []string
		for _, sc := range scenarios(false) {
			if selected(sc, list) && sc.Group == groupCluster {
				out = append(out, sc.Key)
			}
		}
		return strings.Join(out, ",")
	}
	all := "cluster-fanout-single,cluster-fanout-sticky,cluster-fanout-nonsticky,cluster-polling-single,cluster-polling-sticky,cluster-polling-nonsticky"
	for _, c := range []struct {
		list []string
		want string
	}{
		{nil, ""},
		{[]string{"-manyconns"}, ""},
		{[]string{"cluster"}, all},
		{[]string{"cluster", "-cluster-polling-nonsticky"}, strings.TrimSuffix(all, ",cluster-polling-nonsticky")},
		{[]string{"cluster-fanout-sticky"}, "cluster-fanout-sticky"},
	} {
		if got := keys(c.list...); got != c.want {
			t.Errorf("-scenarios %v: %q, want %q", c.list, got, c.want)
		}
	}
	for _, quick := range []bool{false, true} {
		for _, sc := range clusterScenarios(quick) {
			if sc.Mode == "" || !sc.OptIn || !selected(sc, []string{"cluster"}) || selected(sc, []string{"core"}) {
				t.Errorf("%s: mode %q, opt-in %v", sc.Key, sc.Mode, sc.OptIn)
			}
			if got := clusterSkips(sc, node); got != (sc.Mode == modeNonSticky) || clusterSkips(sc, sb) {
				t.Errorf("%s: Node skipped %v", sc.Key, got)
			}
		}
	}
	// The same workloads as the core fanout and polling.
	core := map[string]string{}
	for _, sc := range scenarios(false) {
		core[sc.Key] = strings.Join(sc.Args, " ")
	}
	for _, sc := range clusterScenarios(false) {
		want := core["fanout-w50"]
		if strings.Contains(sc.Key, "polling") {
			want = core["polling"]
		}
		if got := strings.Join(sc.Args, " "); got != want {
			t.Errorf("%s: %s, want %s", sc.Key, got, want)
		}
	}
}

func TestClusterConfig(t *testing.T) {
	base := []byte("# bench\nlisten: 127.0.0.1:3000\nstatic_dir: \"\"\nlimits:\n  max_connections: 0\n")
	single, err := clusterConfig(base, 4001, 4101, "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := "# bench\nlisten: 127.0.0.1:4001\nstatic_dir: \"\"\nlimits:\n  max_connections: 0\n\n# Written by benchrun for a cluster run.\nmetrics:\n  listen: 127.0.0.1:4101\n"
	if string(single) != want {
		t.Errorf("single node:\n%s\nwant\n%s", single, want)
	}
	sticky, err := clusterConfig(base, 4002, 4102, "redis://127.0.0.1:6400/0", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(sticky), "metrics:\n  listen: 127.0.0.1:4102\nadapter:\n  type: redis\n  url: redis://127.0.0.1:6400/0\n") {
		t.Errorf("sticky node:\n%s", sticky)
	}
	fwd, err := clusterConfig(base, 4003, 4103, "redis://127.0.0.1:6400/0", true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(fwd), "  url: redis://127.0.0.1:6400/0\n  forward_sessions: true\n") {
		t.Errorf("non-sticky node:\n%s", fwd)
	}
	if _, err := clusterConfig([]byte("static_dir: x\n"), 1, 2, "", false); err == nil {
		t.Error("a base without listen: was accepted")
	}
	if _, err := clusterConfig(append(base, "adapter:\n  type: memory\n"...), 1, 2, "", false); err == nil {
		t.Error("a base with an adapter: section was accepted")
	}
}

func TestHaproxyConfig(t *testing.T) {
	for _, sticky := range []bool{true, false} {
		cfg := haproxyConfig(5000, []int{5001, 5002, 5003}, sticky)
		balance := "    balance roundrobin\n"
		if sticky {
			balance = "    balance source\n"
		}
		for _, want := range []string{
			"    mode http\n", "    bind 127.0.0.1:5000\n", balance, "    timeout tunnel 1h\n", "    timeout server 60s\n",
			"    server node1 127.0.0.1:5001\n    server node2 127.0.0.1:5002\n    server node3 127.0.0.1:5003\n",
		} {
			if !strings.Contains(cfg, want) {
				t.Errorf("sticky %v: no %q in\n%s", sticky, want, cfg)
			}
		}
		if strings.Contains(cfg, " check") || strings.Contains(cfg, "cookie") {
			t.Errorf("sticky %v: health checks or cookies in\n%s", sticky, cfg)
		}
	}
}

func TestRoughly(t *testing.T) {
	for v, want := range map[float64]string{18181818: "18,000,000", 17341: "17,000", 14354: "14,000", 155: "160", 42.5: "42.5"} {
		if got := roughly(v); got != want {
			t.Errorf("roughly(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestClusterSection(t *testing.T) {
	res := func(ops int64, cpu, infra, opsPerS, p50, p99 float64) *result.Result {
		r := &result.Result{OpsUnit: "deliveries", Ops: ops, ServerCPU: cpu, InfraCPU: infra, OpsPerS: opsPerS, P50Ms: p50, P99Ms: p99}
		r.CPUPerMillionOps = cpu / float64(ops) * 1e6
		if infra > 0 {
			r.InfraCPUEach = []float64{infra / 4, infra * 3 / 4} // Redis, haproxy
		}
		return r
	}
	fa := args("-scenario fanout -n 1000 -k 2000 -w 50")
	pa := args("-scenario polling -m 50 -rounds 600")
	rep := &Report{Rounds: 2, Env: Env{NProc: 2, SocketIO: "4.8.4"}, Runs: []Run{
		{Round: 1, Server: sb, Scenario: "cluster-fanout-single", Args: fa, Result: res(2e6, 4, 0, 400000, 10, 30)},
		{Round: 1, Server: node, Scenario: "cluster-fanout-single", Args: fa, Result: res(2e6, 20, 0, 100000, 40, 90)},
		{Round: 1, Server: sb, Scenario: "cluster-fanout-sticky", Args: fa, Result: res(2e6, 6, 2, 300000, 20, 60), NodeCPU: []float64{1, 2, 1}},
		{Round: 1, Server: node, Scenario: "cluster-fanout-sticky", Args: fa, Result: res(2e6, 30, 2, 80000, 50, 120)},
		{Round: 1, Server: sb, Scenario: "cluster-fanout-nonsticky", Args: fa, Result: res(2e6, 6, 2, 300000, 20, 60)},
		{Round: 2, Server: sb, Scenario: "cluster-fanout-single", Args: fa, Result: res(2e6, 6, 0, 200000, 10, 30)},
		{Round: 1, Server: sb, Scenario: "cluster-polling-sticky", Args: pa, Result: res(30000, 3, 0.6, 3000, 2, 7)},
		{Round: 1, Server: sb, Scenario: "cluster-polling-nonsticky", Error: "switchboard node 1: exited at startup"},
		{Round: 2, Server: sb, Scenario: "cluster-polling-nonsticky", Args: pa, Result: res(30000, 4.5, 1.5, 2000, 4, 12)},
	}}
	md := clusterSection(rep)
	for _, want := range []string{
		"## Cluster\n",
		"fanout: 1000 clients in one room, 2000 broadcasts of 100 B, W=50; polling echo: 50 long-polling clients × 600 closed-loop echoes",
		"Medians over 2 rounds.",
		// single, Switchboard: median of 2.00 and 3.00 CPU-s/M, of 400,000 and 200,000/s.
		"| fanout (deliveries) | single node | Switchboard | 2.50 | 2.50 | 300,000 | 10.0 / 30.0 | – | 0 / 0 / 0 / 0 |",
		"| fanout (deliveries) | 3 nodes, sticky | Switchboard | 3.00 | 4.00 (0.250, 0.750) | 300,000 | 20.0 / 60.0 | 25 / 50 / 25 % | 0 / 0 / 0 / 0 |",
		"| fanout (deliveries) | 3 nodes, sticky | Node.js | 15.0 | 16.0 (0.250, 0.750) | 80,000 |",
		"| polling echo (deliveries) | 3 nodes, non-sticky | Switchboard | 150 | 200 (12.5, 37.5) | 2,000 | 4.00 / 12.0 | – | 0 / 0 / 0 / 0, 1 failed runs: switchboard node 1: exited at startup |",
		"| fanout | Switchboard: sticky / single | 1.20× | 1.60× | 1.00× | 2.00× | 2.00× |",
		"| fanout | Switchboard: non-sticky / sticky | 1.00× | 1.00× |",
		"| fanout | Node.js: sticky / single | 1.50× | 1.60× | 0.80× |",
		"| fanout | Switchboard / Node.js, sticky | 0.20× | 0.25× | 3.75× |",
		"| polling echo | Switchboard: non-sticky / sticky | 1.50× | 1.67× | 0.67× | 2.00× | 1.71× |",
		"share this machine's 2 cores", "the cluster costs 1.20× the single node's CPU per delivery on the nodes (1.60× counting Redis and haproxy)",
		"polling echo costs 1.50× the sticky cluster's CPU per message (1.67× counting Redis and haproxy)",
		"Here Redis used 0.250 CPU-s per million deliveries: one Redis core would carry about 4,000,000 deliveries/s",
		"Every forwarded request goes through Redis: 12.5 CPU-s per million messages here (5.00 with sticky sessions), so one Redis core caps the cluster at about 80,000 polling messages/s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	if strings.Contains(md, "polling echo | Node.js") || strings.Contains(md, "| fanout | Switchboard / Node.js, non-sticky") {
		t.Error("ratios for missing runs")
	}
	// In the whole report: the method says how the cluster runs, not how
	// the other groups do; no core tables.
	full := markdown(rep, rows(rep), "chart.svg", "results.json")
	if !strings.Contains(full, "- **cluster**: every run starts its own redis-server") || strings.Contains(full, "**slow consumers**") ||
		strings.Contains(full, "## Results") || !strings.Contains(full, "## Cluster") {
		t.Errorf("report:\n%s", full)
	}
	if clusterSection(&Report{Runs: []Run{{Server: sb, Scenario: "echo"}}}) != "" {
		t.Error("a cluster section without cluster runs")
	}
}
