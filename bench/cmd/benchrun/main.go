// Command benchrun runs the benchmark suite: every scenario of
// bench/loadgen against Switchboard and against the Node.js reference
// server (bench/node), alternately, for several rounds, a fresh server
// process for each run. It prints medians and Switchboard/Node ratios and
// writes BENCHMARKS.md with an SVG chart. bench/run.sh builds everything
// and starts it; run it from the repository root.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// scenario is one loadgen configuration.
type scenario struct {
	Key    string // as in the results
	Title  string
	Args   []string // loadgen flags for the measured run
	Warmup []string // an unmeasured run on the same server first; nil: none
	// Group is "" for the core scenarios, which have medians, ratios and
	// the chart; others have sections of their own in the report.
	Group string
	// Once: run in the first round only (long runs, not medians).
	Once bool
	// Timeout bounds the loadgen process (default 6 minutes).
	Timeout time.Duration
	// OptIn: run only when named (its scenario or group) in -scenarios.
	OptIn bool
	// Mode is the deployment of a cluster scenario (modeSingle, …); ""
	// for the others, which run on one server process.
	Mode string
	// Transport is the clients' transport in the webtransport group
	// (transportWS or transportWT), whose server has the webtransport
	// section on; "" elsewhere (WebSocket, and no such section).
	Transport string
}

// Groups of the scenarios that are not core.
const (
	groupSlow = "slowconsumer"
	groupMany = "manyconns"
)

// defaultHold is how long manyconns holds its connections.
func defaultHold(quick bool) time.Duration {
	if quick {
		return 30 * time.Second
	}
	return 10 * time.Minute
}

func scenarios(quick bool) []scenario {
	fanoutWarmup := args("-scenario fanout -n 100 -k 300 -w 20")
	if quick {
		fanoutWarmup = args("-scenario fanout -n 50 -k 50 -w 10")
		return append([]scenario{
			{Key: "fanout-w50", Title: "fanout, W=50", Args: args("-scenario fanout -n 200 -k 200 -w 50"), Warmup: fanoutWarmup},
			{Key: "fanout-w1", Title: "fanout, W=1", Args: args("-scenario fanout -n 200 -k 50 -w 1"), Warmup: args("-scenario fanout -n 50 -k 20 -w 1")},
			{Key: "echo", Title: "echo", Args: args("-scenario echo -c 20 -rounds 200"), Warmup: args("-scenario echo -c 10 -rounds 50")},
			{Key: "polling", Title: "polling echo", Args: args("-scenario polling -m 10 -rounds 50"), Warmup: args("-scenario polling -m 5 -rounds 20")},
			{Key: "idle", Title: "idle connections", Args: args("-scenario idle -conns 1000 -settle 1s")},
			{Key: "churn", Title: "connection churn", Args: args("-scenario churn -rate 100 -duration 3s -settle 1s")},
			{Key: "slowconsumer-base", Title: "slow consumers: all reading", Group: groupSlow,
				Args: args("-scenario fanout -n 200 -k 3000 -w 50 -slow 5 -slow-read -send-for 10s -settle 1s"), Warmup: fanoutWarmup},
			{Key: "slowconsumer-slow", Title: "slow consumers: some never read", Group: groupSlow,
				Args: args("-scenario fanout -n 200 -k 3000 -w 50 -slow 5 -send-for 10s -settle 1s"), Warmup: fanoutWarmup},
			{Key: "manyconns", Title: "many connections", Group: groupMany, Once: true, Timeout: 5 * time.Minute,
				Args: args("-scenario hold -conns 4000 -procs 2 -members 100 -sample 10s -settle 1s -hold " + defaultHold(true).String())},
		}, append(clusterScenarios(true), wtScenarios(true)...)...)
	}
	return append([]scenario{
		{Key: "fanout-w50", Title: "fanout, W=50", Args: args("-scenario fanout -n 1000 -k 2000 -w 50"), Warmup: fanoutWarmup},
		{Key: "fanout-w1", Title: "fanout, W=1", Args: args("-scenario fanout -n 1000 -k 500 -w 1"), Warmup: args("-scenario fanout -n 100 -k 100 -w 1")},
		{Key: "echo", Title: "echo", Args: args("-scenario echo -c 100 -rounds 5000"), Warmup: args("-scenario echo -c 20 -rounds 200")},
		{Key: "polling", Title: "polling echo", Args: args("-scenario polling -m 50 -rounds 600"), Warmup: args("-scenario polling -m 10 -rounds 50")},
		{Key: "idle", Title: "idle connections", Args: args("-scenario idle -conns 10000")},
		{Key: "churn", Title: "connection churn", Args: args("-scenario churn -rate 200 -duration 20s")},
		// Issue 3. 60,000 broadcasts: a client that does not read has about
		// 4 MB of kernel buffers (its receive buffer, the server's send
		// buffer) to fill on loopback before the server's own queue grows.
		// Sending stops after 60 s all the same (Node.js is much slower).
		// Every round runs both, for medians: single pairs of runs differ
		// by ±10% on a shared machine, as much as the effect measured.
		{Key: "slowconsumer-base", Title: "slow consumers: all reading", Group: groupSlow,
			Args: args("-scenario fanout -n 1000 -k 60000 -w 50 -slow 10 -slow-read -send-for 60s"), Warmup: fanoutWarmup},
		{Key: "slowconsumer-slow", Title: "slow consumers: 10 never read", Group: groupSlow,
			Args: args("-scenario fanout -n 1000 -k 60000 -w 50 -slow 10 -send-for 60s"), Warmup: fanoutWarmup},
		// 19,000 connections: the open-file limit is 20,000 per process
		// here, for the server and for each of the two load generator
		// processes (9,500 each, the second from 127.0.0.2).
		{Key: "manyconns", Title: "many connections", Group: groupMany, Once: true, Timeout: defaultHold(false) + 10*time.Minute,
			Args: args("-scenario hold -conns 19000 -procs 2 -members 100 -sample 10s -hold " + defaultHold(false).String())},
	}, append(clusterScenarios(false), wtScenarios(false)...)...)
}

// withHold returns sc with its hold duration set to d.
func withHold(sc scenario, d time.Duration) scenario {
	a := slices.Clone(sc.Args)
	for i := 0; i+1 < len(a); i++ {
		if a[i] == "-hold" {
			a[i+1] = d.String()
			sc.Timeout = d + 10*time.Minute
		}
	}
	sc.Args = a
	return sc
}

// selected reports whether sc is chosen by the -scenarios list: names of
// scenarios or groups ("core", "slowconsumer", "manyconns", "cluster",
// "webtransport"), each including it, or with a leading "-", excluding
// it. With no inclusions, everything not excluded is chosen but the
// opt-in scenarios (cluster: it needs redis-server and haproxy;
// webtransport: Switchboard alone, a comparison of its transports).
func selected(sc scenario, list []string) bool {
	group := sc.Group
	if group == "" {
		group = "core"
	}
	include, anyInclude := false, false
	for _, name := range list {
		if ex, ok := strings.CutPrefix(name, "-"); ok {
			if ex == sc.Key || ex == group {
				return false
			}
			continue
		}
		anyInclude = true
		if name == sc.Key || name == group {
			include = true
		}
	}
	return include || (!anyInclude && !sc.OptIn)
}

func args(s string) []string { return strings.Fields(s) }

// Run is one measured run, as saved in the results file.
type Run struct {
	Round    int            `json:"round"`
	Server   string         `json:"server"`
	Scenario string         `json:"scenario"`
	Started  time.Time      `json:"started,omitzero"`
	Result   *result.Result `json:"result,omitempty"`
	Error    string         `json:"error,omitempty"`
	// Args are the loadgen flags of the scenario, when not core (the
	// report describes the run from them).
	Args []string `json:"args,omitempty"`
	// NodeCPU is, for a cluster scenario, each node's CPU seconds over
	// the whole measured loadgen run (connecting included): how evenly
	// the load was spread.
	NodeCPU []float64 `json:"node_cpu_s,omitempty"`

	src *source // the results file it came from
}

// Report is the results file.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Quick    bool      `json:"quick"`
	Rounds   int       `json:"rounds"`
	Env      Env       `json:"env"`
	Runs     []Run     `json:"runs"`

	src *source
}

// source is a results file a report was read from.
type source struct {
	file string
	rep  *Report
}

// loadReports reads results files and merges their runs into the first
// one's report; each run remembers its file.
func loadReports(files []string) (*Report, error) {
	var out *Report
	for _, f := range files {
		f = strings.TrimSpace(f)
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rep := new(Report)
		if err := json.Unmarshal(b, rep); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rep.src = &source{file: f, rep: rep}
		for i := range rep.Runs {
			rep.Runs[i].src = rep.src
		}
		if out == nil {
			out = rep
			continue
		}
		if rep.Quick != out.Quick {
			return nil, fmt.Errorf("%s: cannot merge quick and full results", f)
		}
		out.Runs = append(out.Runs, rep.Runs...)
	}
	if out == nil {
		return nil, errors.New("no results file")
	}
	return out, nil
}

type options struct {
	quick      bool
	rounds     int
	port       int
	out        string
	chart      string
	resultsDir string
	bin        string
	nodeDir    string
	nodeBin    string
	// nodeAdapterDir holds the node_modules with @socket.io/redis-adapter
	// and redis, for the Node reference's cluster.
	nodeAdapterDir string
	only           []string
	servers        []string
	fromResults    string
	hold           time.Duration
	// wtCert and wtKey are the webtransport group's certificate and key
	// (PEM files), written by run when the group is selected.
	wtCert, wtKey string
}

func main() {
	var o options
	var only, servers string
	flag.BoolVar(&o.quick, "quick", false, "small sizes: a smoke test of the whole suite in a minute or two")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds (each runs every scenario on every server)")
	flag.IntVar(&o.port, "port", 0, "port for the servers on 127.0.0.1 (0: 3000 if free, else a free one in 3900-3999)")
	flag.StringVar(&o.out, "out", "", "Markdown report (default BENCHMARKS.md; bench/results/BENCHMARKS-quick.md with -quick)")
	flag.StringVar(&o.chart, "chart", "", "SVG chart (default bench/benchmarks.svg; bench/results/benchmarks-quick.svg with -quick)")
	flag.StringVar(&o.resultsDir, "results", "bench/results", "directory for the JSON results and server logs")
	flag.StringVar(&o.bin, "bin", "bench/results/bin", "directory holding the switchboard and loadgen binaries")
	flag.StringVar(&o.nodeDir, "node-dir", "bench/node", "directory of the Node.js reference server")
	flag.StringVar(&o.nodeBin, "node", "node", "node binary")
	flag.StringVar(&o.nodeAdapterDir, "node-adapter-dir", "e2e/js", "cluster: directory whose node_modules has @socket.io/redis-adapter and redis, for the Node reference's nodes")
	flag.StringVar(&only, "scenarios", "", "comma-separated scenarios or groups (core, slowconsumer, manyconns, cluster, webtransport) to run; -name excludes one (default: all but cluster and webtransport)")
	flag.DurationVar(&o.hold, "hold", 0, "manyconns: how long to hold the connections (default 10m, 30s with -quick)")
	flag.StringVar(&servers, "servers", "switchboard,node", "servers to run, in this order within a round")
	flag.StringVar(&o.fromResults, "from", "", "don't run anything: rebuild the report from these results JSON files (comma-separated: their runs are merged, the first one's header kept)")
	flag.Parse()
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.only = append(o.only, s)
		}
	}
	o.servers = strings.Split(servers, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// setOutputs fills in the default report paths: quick runs never
// overwrite the committed report.
func (o *options) setOutputs(quick bool) {
	if o.out == "" {
		o.out = "BENCHMARKS.md"
		if quick {
			o.out = filepath.Join(o.resultsDir, "BENCHMARKS-quick.md")
		}
	}
	if o.chart == "" {
		o.chart = filepath.Join("bench", "benchmarks.svg")
		if quick {
			o.chart = filepath.Join(o.resultsDir, "benchmarks-quick.svg")
		}
	}
}

func run(o options) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository root (bench/run.sh does)")
	}
	if o.fromResults != "" {
		rep, err := loadReports(strings.Split(o.fromResults, ","))
		if err != nil {
			return err
		}
		o.setOutputs(rep.Quick)
		return summarize(rep, o, rep.src.file)
	}
	o.setOutputs(o.quick)
	if err := os.MkdirAll(filepath.Join(o.resultsDir, "logs"), 0o755); err != nil {
		return err
	}
	unlock, err := lockMachine()
	if err != nil {
		return err
	}
	defer unlock()
	port, err := choosePort(o.port, 0)
	if err != nil {
		return err
	}
	// A configuration file of our own: several benchruns may share the
	// results directory.
	cfgPath := filepath.Join(o.resultsDir, fmt.Sprintf("bench-%d.yaml", os.Getpid()))
	defer os.Remove(cfgPath)
	rep := &Report{Started: time.Now().UTC(), Quick: o.quick, Rounds: o.rounds, Env: collectEnv(o)}
	resultsFile := filepath.Join(o.resultsDir, fmt.Sprintf("results-%s-%d.json", rep.Started.Format("20060102-150405"), os.Getpid()))
	rep.src = &source{file: resultsFile, rep: rep}
	var list []scenario
	for _, s := range scenarios(o.quick) {
		if !selected(s, o.only) {
			continue
		}
		if o.hold > 0 && s.Group == groupMany {
			s = withHold(s, o.hold)
		}
		list = append(list, s)
	}
	if len(list) == 0 {
		return errors.New("no scenario selected")
	}
	if slices.ContainsFunc(list, func(s scenario) bool { return s.Group == groupWT }) {
		if o.wtCert, o.wtKey, err = writeWTCert(o.resultsDir); err != nil {
			return err
		}
	}
	fmt.Printf("benchrun: %d rounds x %d scenarios x %v on 127.0.0.1:%d; results in %s\n", o.rounds, len(list), o.servers, port, resultsFile)
	for round := 1; round <= o.rounds; round++ {
		for _, sc := range list {
			if sc.Once && round > 1 {
				continue
			}
			for _, srv := range o.servers {
				if skips(sc, srv) {
					continue
				}
				r := Run{Round: round, Server: srv, Scenario: sc.Key, Started: time.Now().UTC(), src: rep.src}
				if sc.Group != "" {
					r.Args = sc.Args
				}
				var res *result.Result
				var err error
				if sc.Mode != "" {
					res, r.NodeCPU, err = runCluster(o, srv, sc, round)
				} else {
					res, err = runOne(o, srv, sc, cfgPath, &port, round)
				}
				if err != nil {
					r.Error = err.Error()
					fmt.Printf("round %d %-11s %-11s ERROR %v\n", round, sc.Key, srv, err)
				} else {
					r.Result = res
					fmt.Printf("round %d %-11s %-11s %s\n", round, sc.Key, srv, groupLine(res))
				}
				rep.Runs = append(rep.Runs, r)
				rep.Finished = time.Now().UTC()
				if err := writeJSON(resultsFile, rep); err != nil {
					return err
				}
			}
		}
	}
	rep.Env.LoadAvgEnd = loadAvg()
	if err := writeJSON(resultsFile, rep); err != nil {
		return err
	}
	return summarize(rep, o, resultsFile)
}

// listensOn reports whether process pid has a TCP socket listening on
// 127.0.0.1:port (or all addresses), per /proc/net/tcp and /proc/PID/fd.
func listensOn(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		if ip := strings.TrimSuffix(f[1], want); ip == "0100007F" || ip == "00000000" {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && inodes[target] {
			return true
		}
	}
	return false
}

func oneLine(r *result.Result) string {
	s := fmt.Sprintf("%9.0f %s/s  %7.2f CPU-s/M", r.OpsPerS, r.OpsUnit, r.CPUPerMillionOps)
	if r.P50Ms > 0 {
		s += fmt.Sprintf("  p50 %.2fms p99 %.2fms", r.P50Ms, r.P99Ms)
	}
	if r.MemPerConnKB != 0 {
		s += fmt.Sprintf("  %.1f kB/conn", r.MemPerConnKB)
	}
	if r.Scenario == "churn" {
		s += fmt.Sprintf("  rss %d->%d->%d kB threads %d->%d->%d fds %d->%d->%d", r.RSSBeforeKB, r.RSSMidKB, r.RSSAfterKB,
			r.ThreadsBefore, r.ThreadsMid, r.ThreadsAfter, r.FDsBefore, r.FDsMid, r.FDsAfter)
	}
	if !r.Clean() {
		s += fmt.Sprintf("  LOST %d DUP %d OOO %d ERR %d", r.Lost, r.Duplicates, r.OutOfOrder, r.Errors)
	}
	return s
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// choosePort returns want, or when want is 0, 3000 if it is free and
// otherwise the first free port in 3900-3999 other than avoid.
func choosePort(want, avoid int) (int, error) {
	if want != 0 {
		if !portFree(want) {
			return 0, fmt.Errorf("127.0.0.1:%d is in use", want)
		}
		return want, nil
	}
	if avoid != 3000 && portFree(3000) {
		return 3000, nil
	}
	for p := 3900; p < 4000; p++ {
		if p != avoid && portFree(p) {
			fmt.Printf("benchrun: 127.0.0.1:3000 is in use, using port %d\n", p)
			return p, nil
		}
	}
	return 0, errors.New("no free port in 3900-3999")
}

// lockMachine makes concurrent benchruns on this machine take turns: two
// benchmarks sharing 2 cores would measure each other.
func lockMachine() (func(), error) {
	path := filepath.Join(os.TempDir(), "switchboard-benchrun.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	waited := false
	// A full run takes 40-50 minutes.
	deadline := time.Now().Add(90 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another benchrun has held %s for 90 minutes", path)
		}
		if !waited {
			fmt.Printf("benchrun: waiting for another benchmark run on this machine to finish (%s)\n", path)
			waited = true
		}
		time.Sleep(time.Second)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// writeConfig copies bench/bench.yaml to path with the listen address
// changed.
func writeConfig(path string, port int) error {
	b, err := os.ReadFile("bench/bench.yaml")
	if err != nil {
		return err
	}
	re := regexp.MustCompile(`(?m)^listen:.*$`)
	if !re.Match(b) {
		return errors.New("bench/bench.yaml has no listen: line")
	}
	b = re.ReplaceAll(b, []byte(fmt.Sprintf("listen: 127.0.0.1:%d", port)))
	return os.WriteFile(path, b, 0o644)
}

// appendFile appends text to the file at path.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// errPortInUse: the server could not bind its port (taken by someone else
// between our check and its start).
var errPortInUse = errors.New("port in use")

// server is a running server process.
type server struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

func startServer(o options, name, cfgPath string, port int, logPath string) (*server, error) {
	var cmd *exec.Cmd
	switch name {
	case "switchboard":
		cmd = exec.Command(filepath.Join(o.bin, "switchboard"), "-config", cfgPath)
	case "node":
		cmd = exec.Command(o.nodeBin, "server.js")
		cmd.Dir = o.nodeDir
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	return startProcess(cmd, name, port, logPath)
}

// startProcess starts cmd, its output going to logPath, and waits until it
// listens on 127.0.0.1:port.
func startProcess(cmd *exec.Cmd, name string, port int, logPath string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{name: name, cmd: cmd, done: make(chan error, 1), log: logf}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The port must be listened on by our process, not by anyone
		// else who happens to hold it.
		if listensOn(cmd.Process.Pid, port) {
			return s, nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			s.stop()
			if b, _ := os.ReadFile(logPath); strings.Contains(strings.ToLower(string(b)), "address already in use") {
				return nil, errPortInUse
			}
			return nil, fmt.Errorf("%s exited at startup (%v); see %s", name, err, logPath)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not listen on port %d; see %s", name, port, logPath)
		}
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case err := <-s.done:
		s.done <- err
		return false
	default:
		return true
	}
}

// stop asks the server to shut down, then kills it if it takes too long.
func (s *server) stop() {
	defer s.log.Close()
	if !s.alive() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func runOne(o options, srvName string, sc scenario, cfgPath string, portp *int, round int) (*result.Result, error) {
	logPath := filepath.Join(o.resultsDir, "logs", fmt.Sprintf("%d-r%d-%s-%s.log", os.Getpid(), round, sc.Key, srvName))
	var srv *server
	for attempt := 0; ; attempt++ {
		if (!portFree(*portp) || sc.Group == groupWT && !udpFree(*portp)) && o.port == 0 {
			p, err := choosePort(0, *portp)
			if err != nil {
				return nil, err
			}
			*portp = p
		}
		if err := writeConfig(cfgPath, *portp); err != nil {
			return nil, err
		}
		if sc.Group == groupWT {
			if err := appendFile(cfgPath, wtConfigSection(o.wtCert, o.wtKey)); err != nil {
				return nil, err
			}
		}
		var err error
		srv, err = startServer(o, srvName, cfgPath, *portp, logPath)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || o.port != 0 || attempt == 3 {
			return nil, fmt.Errorf("%s: %w", srvName, err)
		}
	}
	defer srv.stop()
	port := *portp
	pid := srv.cmd.Process.Pid
	common := []string{"-url", fmt.Sprintf("http://127.0.0.1:%d", port)}
	if sc.Warmup != nil {
		if _, err := loadgen(o, append(withTransport(append(common, sc.Warmup...), sc, o.wtCert), "-pid", "0"), 0); err != nil {
			return nil, fmt.Errorf("warmup: %w", err)
		}
	}
	out, err := loadgen(o, append(withTransport(append(common, sc.Args...), sc, o.wtCert), "-pid", strconv.Itoa(pid), "-json"), sc.Timeout)
	if err != nil {
		return nil, err
	}
	if !srv.alive() {
		return nil, fmt.Errorf("%s exited during the run; see %s", srvName, logPath)
	}
	var res result.Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("loadgen output: %w", err)
	}
	return &res, nil
}

func loadgen(o options, argv []string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = 6 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(o.bin, "loadgen"), argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("loadgen %s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
