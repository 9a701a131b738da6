package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// The cluster group: fanout and polling echo on one server process, and on
// three behind haproxy sharing a redis-server, with and without sticky
// sessions. Every process runs on 127.0.0.1, started and stopped by each
// run.

const groupCluster = "cluster"

// Cluster modes: how the servers are deployed.
const (
	modeSingle    = "single"    // one process, no Redis, no load balancer
	modeSticky    = "sticky"    // three, Redis adapter, haproxy balance source
	modeNonSticky = "nonsticky" // three, haproxy round-robin, sessions forwarded
)

var clusterModes = []string{modeSingle, modeSticky, modeNonSticky}

// clusterNodes is the number of server processes in the cluster modes.
const clusterNodes = 3

// clusterSources are the clients' source addresses. haproxy's `balance
// source` hashes the client's address: from 127.0.0.1 alone every client
// would land on the same node. Three consecutive addresses give three
// different nodes (the hash is the address modulo the servers' total
// weight).
var clusterSources = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

// Paths of the cluster's infrastructure (Debian's packages).
var (
	redisServerBin = "/usr/bin/redis-server"
	haproxyBin     = "/usr/sbin/haproxy"
)

// clusterScenarios are the cluster group's scenarios, fanout and polling
// in the shape of the core ones, each in every mode.
func clusterScenarios(quick bool) []scenario {
	type shape struct{ key, title, args, warmup string }
	shapes := []shape{
		{"fanout", "cluster fanout", "-scenario fanout -n 1000 -k 2000 -w 50", "-scenario fanout -n 100 -k 300 -w 20"},
		{"polling", "cluster polling echo", "-scenario polling -m 50 -rounds 600", "-scenario polling -m 10 -rounds 50"},
	}
	if quick {
		shapes = []shape{
			{"fanout", "cluster fanout", "-scenario fanout -n 200 -k 200 -w 50", "-scenario fanout -n 50 -k 50 -w 10"},
			{"polling", "cluster polling echo", "-scenario polling -m 10 -rounds 50", "-scenario polling -m 5 -rounds 20"},
		}
	}
	var out []scenario
	for _, s := range shapes {
		for _, mode := range clusterModes {
			out = append(out, scenario{Key: "cluster-" + s.key + "-" + mode, Title: s.title + ", " + modeTitle(mode),
				Args: args(s.args), Warmup: args(s.warmup), Group: groupCluster, OptIn: true, Mode: mode})
		}
	}
	return out
}

func modeTitle(mode string) string {
	switch mode {
	case modeSingle:
		return "single node"
	case modeSticky:
		return fmt.Sprintf("%d nodes, sticky", clusterNodes)
	case modeNonSticky:
		return fmt.Sprintf("%d nodes, non-sticky", clusterNodes)
	}
	return mode
}

// clusterSkips reports whether server srv has no such deployment: the Node
// reference needs sticky sessions for polling.
func clusterSkips(sc scenario, srv string) bool {
	return sc.Mode == modeNonSticky && srv == node
}

// freePorts returns n distinct free ports on 127.0.0.1. They are free when
// chosen; a process that loses one to someone else fails at startup.
func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// clusterConfig is bench/bench.yaml (base) for one Switchboard node:
// listening on port, its metrics on metricsPort (the default, 9090, would
// be shared by the nodes), and with redisURL != "" the Redis adapter,
// forwarding requests for other nodes' sessions when forward is set.
func clusterConfig(base []byte, port, metricsPort int, redisURL string, forward bool) ([]byte, error) {
	re := regexp.MustCompile(`(?m)^listen:.*$`)
	if !re.Match(base) {
		return nil, errors.New("bench/bench.yaml has no listen: line")
	}
	if regexp.MustCompile(`(?m)^(adapter|metrics):`).Match(base) {
		return nil, errors.New("bench/bench.yaml has an adapter: or metrics: section of its own")
	}
	b := re.ReplaceAll(base, []byte(fmt.Sprintf("listen: 127.0.0.1:%d", port)))
	b = append(b, fmt.Sprintf("\n# Written by benchrun for a cluster run.\nmetrics:\n  listen: 127.0.0.1:%d\n", metricsPort)...)
	if redisURL == "" {
		return b, nil
	}
	b = append(b, fmt.Sprintf("adapter:\n  type: redis\n  url: %s\n", redisURL)...)
	if forward {
		b = append(b, "  forward_sessions: true\n"...)
	}
	return b, nil
}

// haproxyConfig is the load balancer's configuration: HTTP mode on
// 127.0.0.1:port in front of the nodes' ports, balancing on the client's
// source address (sticky) or request by request (round-robin).
func haproxyConfig(port int, nodePorts []int, sticky bool) string {
	var b strings.Builder
	balance := "roundrobin"
	if sticky {
		balance = "source"
	}
	// maxconn: haproxy needs two file descriptors per connection, under
	// run.sh's limit of 20,000. Timeouts: a long-polling GET is held by the server up to its
	// pingInterval (25 s) and a WebSocket is idle between pings, so the
	// client, server and tunnel timeouts are well above that. No health
	// checks: their CPU would be counted, and a run fails anyway if a node
	// dies.
	fmt.Fprintf(&b, `global
    maxconn 9000

defaults
    mode http
    maxconn 9000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-keep-alive 60s
    timeout http-request 30s

frontend bench
    bind 127.0.0.1:%d
    default_backend nodes

backend nodes
    balance %s
`, port, balance)
	for i, p := range nodePorts {
		fmt.Fprintf(&b, "    server node%d 127.0.0.1:%d\n", i+1, p)
	}
	return b.String()
}

// cluster is the running processes of one cluster run.
type cluster struct {
	nodes []*server
	infra []*server // redis-server and haproxy
	url   string    // where the clients connect
}

func (c *cluster) stop() {
	// The load balancer first (infra[1]), then the nodes, then Redis
	// (infra[0]): nothing is left talking to a process that is gone.
	for i := len(c.infra) - 1; i >= 1; i-- {
		c.infra[i].stop()
	}
	for _, n := range c.nodes {
		n.stop()
	}
	if len(c.infra) > 0 {
		c.infra[0].stop()
	}
}

// alive returns an error naming a process of the cluster that has exited.
func (c *cluster) alive() error {
	for _, s := range append(append([]*server(nil), c.nodes...), c.infra...) {
		if !s.alive() {
			return fmt.Errorf("%s exited during the run; see %s", s.name, s.log.Name())
		}
	}
	return nil
}

// startCluster starts srvName's deployment for mode, its logs named after
// logBase; dir holds the configuration files.
func startCluster(o options, srvName, mode, dir, logBase string) (*cluster, error) {
	c := &cluster{}
	n := clusterNodes
	if mode == modeSingle {
		n = 1
	}
	ports, err := freePorts(2*n + 2)
	if err != nil {
		return nil, err
	}
	nodePorts, metricsPorts, redisPort, lbPort := ports[:n], ports[n:2*n], ports[2*n], ports[2*n+1]
	fail := func(err error) (*cluster, error) {
		c.stop()
		return nil, err
	}
	redisURL := ""
	if mode != modeSingle {
		cmd := exec.Command(redisServerBin, "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir)
		s, err := startProcess(cmd, "redis-server", redisPort, logBase+"-redis.log")
		if err != nil {
			return fail(err)
		}
		c.infra = append(c.infra, s)
		redisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", redisPort)
	}
	base, err := os.ReadFile("bench/bench.yaml")
	if err != nil {
		return fail(err)
	}
	for i, port := range nodePorts {
		var cmd *exec.Cmd
		switch srvName {
		case sb:
			cfg, err := clusterConfig(base, port, metricsPorts[i], redisURL, mode == modeNonSticky)
			if err != nil {
				return fail(err)
			}
			path := filepath.Join(dir, fmt.Sprintf("node%d.yaml", i+1))
			if err := os.WriteFile(path, cfg, 0o644); err != nil {
				return fail(err)
			}
			cmd = exec.Command(filepath.Join(o.bin, "switchboard"), "-config", path)
		case node:
			cmd = exec.Command(o.nodeBin, "server.js")
			cmd.Dir = o.nodeDir
			cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
			if redisURL != "" {
				// The adapter and its Redis client come from the e2e
				// tests' packages.
				from, err := filepath.Abs(o.nodeAdapterDir)
				if err != nil {
					return fail(err)
				}
				cmd.Env = append(cmd.Env, "REDIS_URL="+redisURL, "REDIS_ADAPTER_FROM="+from)
			}
		default:
			return fail(fmt.Errorf("unknown server %q", srvName))
		}
		s, err := startProcess(cmd, fmt.Sprintf("%s node %d", srvName, i+1), port, fmt.Sprintf("%s-node%d.log", logBase, i+1))
		if err != nil {
			return fail(err)
		}
		c.nodes = append(c.nodes, s)
	}
	c.url = fmt.Sprintf("http://127.0.0.1:%d", nodePorts[0])
	if mode == modeSingle {
		return c, nil
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(haproxyConfig(lbPort, nodePorts, mode == modeSticky)), 0o644); err != nil {
		return fail(err)
	}
	// -db: in the foreground, logging to stderr, stopped by SIGTERM.
	s, err := startProcess(exec.Command(haproxyBin, "-db", "-f", path), "haproxy", lbPort, logBase+"-haproxy.log")
	if err != nil {
		return fail(err)
	}
	c.infra = append(c.infra, s)
	c.url = fmt.Sprintf("http://127.0.0.1:%d", lbPort)
	return c, nil
}

// runCluster is runOne for the cluster group: a fresh deployment for each
// run. It also returns each node's CPU seconds over the measured run
// (connecting and all), which shows how evenly the load was spread.
func runCluster(o options, srvName string, sc scenario, round int) (*result.Result, []float64, error) {
	logBase := filepath.Join(o.resultsDir, "logs", fmt.Sprintf("%d-r%d-%s-%s", os.Getpid(), round, sc.Key, srvName))
	dir, err := os.MkdirTemp("", "benchrun-cluster-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	c, err := startCluster(o, srvName, sc.Mode, dir, logBase)
	if err != nil {
		return nil, nil, err
	}
	defer c.stop()
	common := []string{"-url", c.url, "-source", strings.Join(clusterSources, ",")}
	if sc.Warmup != nil {
		if _, err := loadgen(o, append(append(common, sc.Warmup...), "-pid", "0"), 0); err != nil {
			return nil, nil, fmt.Errorf("warmup: %w", err)
		}
	}
	var nodePIDs, infraPIDs []string
	for _, s := range c.nodes {
		nodePIDs = append(nodePIDs, strconv.Itoa(s.cmd.Process.Pid))
	}
	for _, s := range c.infra {
		infraPIDs = append(infraPIDs, strconv.Itoa(s.cmd.Process.Pid))
	}
	argv := append(append(common, sc.Args...), "-pid", strings.Join(nodePIDs, ","), "-json")
	if len(infraPIDs) > 0 {
		argv = append(argv, "-infra-pid", strings.Join(infraPIDs, ","))
	}
	before := nodesCPU(c.nodes)
	out, err := loadgen(o, argv, sc.Timeout)
	if err != nil {
		return nil, nil, err
	}
	after := nodesCPU(c.nodes)
	for i := range after {
		after[i] -= before[i]
	}
	if err := c.alive(); err != nil {
		return nil, nil, err
	}
	var res result.Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, nil, fmt.Errorf("loadgen output: %w", err)
	}
	return &res, after, nil
}

// nodesCPU returns each node's CPU seconds so far (0 if unreadable).
func nodesCPU(nodes []*server) []float64 {
	out := make([]float64, len(nodes))
	for i, s := range nodes {
		out[i], _ = procCPUSeconds(s.cmd.Process.Pid)
	}
	return out
}

// procCPUSeconds is pid's utime+stime from /proc/PID/stat, in seconds
// (USER_HZ is 100 on every Linux architecture Go supports).
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return float64(u+s) / 100, nil
}
