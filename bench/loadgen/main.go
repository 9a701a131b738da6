// Command loadgen drives Switchboard, or the Node.js reference server in
// bench/node, with Socket.IO load and measures the server from the outside.
// It speaks Engine.IO v4 / Socket.IO v5 itself, over WebSocket (and HTTP
// long-polling for one scenario), and only ever connects to the URL given,
// which must be a loopback address.
//
//	loadgen -scenario fanout -n 1000 -k 3000 -w 50 -pid $(pgrep -n switchboard)
//
// Scenarios, each bounded in count and time:
//
//	fanout   n clients join room "r"; client 0 emits bcast("r", payload) k
//	         times with at most w broadcasts in flight (sent, not yet
//	         received back by the sender). Deliveries/s, latency, lost,
//	         duplicated and out-of-order deliveries.
//	echo     c clients in a closed loop emitting echo, rounds each.
//	idle     conns WebSocket connections to "/": server RSS per connection,
//	         handshakes/s during the ramp.
//	polling  m long-polling clients in a closed echo loop, rounds each.
//	churn    rate connections/s for duration, each connecting, joining a
//	         room and leaving: server RSS, threads and fds before/after.
//	hold     conns WebSocket connections over procs processes, held for
//	         hold with one broadcast per second to a room of members of
//	         them: server RSS, threads and fds every sample.
//
// fanout with -slow S: the last S of the n clients join and then never read
// again (-slow-read: they do, a baseline); the counts are for the others,
// and the server's RSS and its closing of the slow clients are reported.
//
// fanout and echo with -transport webtransport -ca cert.pem: the clients
// speak the same Socket.IO over WebTransport (HTTP/3 over QUIC) to the
// URL's port in UDP, each with its own QUIC connection; the payloads, the
// counting and the measurement are those of WebSocket.
//
// With -pid, the server's CPU time (utime+stime from /proc/PID/stat) is read
// before and after the measured phase. -json prints one JSON object.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// config holds every scenario's parameters; each scenario reads its own.
type config struct {
	URL         string
	PID         int
	MorePIDs    []int         // a cluster's other nodes, counted with PID (-pid a,b,c)
	InfraPIDs   []int         // a cluster's Redis and load balancer (-infra-pid)
	Concurrency int           // parallel connection attempts during ramps
	Timeout     time.Duration // bound on the measured phase
	Settle      time.Duration // wait before reading the server's memory
	Payload     int           // payload size, bytes

	N, K, W int // fanout
	C       int // echo clients
	M       int // polling clients
	Rounds  int // echo / polling round trips per client
	Conns   int // idle connections
	Rate    int // churn connections per second
	Churn   time.Duration
	Hold    time.Duration // idle: how long to hold the connections open; hold: the hold

	Slow     int           // fanout: clients that stop reading
	SlowRead bool          // fanout: the slow group reads after all (baseline)
	SendFor  time.Duration // fanout: stop sending after this long (0: never)
	Pace     time.Duration // fanout, echo, polling: least time between one client's sends (0: no pause)

	Transport string // fanout, echo: websocket or webtransport
	CA        string // webtransport: PEM file of the server certificate to trust

	Source  string        // local IP address to bind clients to
	Procs   int           // hold: load generator processes (0: one per 9,500)
	Members int           // hold: connections in the room that gets traffic
	Sample  time.Duration // hold: how often the server is sampled
	Child   bool          // hold: run as another process's child

	Rooms        int    // hostile: honest clients' rooms
	NoAttack     bool   // hostile: honest clients only (a baseline)
	MetricsURL   string // hostile: where to read limit_rejections_total (default URL/metrics)
	MetricsToken string // hostile: its bearer token
}

func defaultConfig() config {
	return config{
		URL:         "http://127.0.0.1:3000",
		Concurrency: 64,
		Timeout:     120 * time.Second,
		Settle:      2 * time.Second,
		Payload:     100,
		N:           1000, K: 2000, W: 50,
		C: 100, M: 50, Rounds: 500,
		Conns: 10000,
		Rate:  200, Churn: 15 * time.Second,
		Members: 100, Sample: 10 * time.Second,
	}
}

// Result is what a scenario reports.
type Result = result.Result

func setLatency(r *Result, h *histogram) {
	r.P50Ms = float64(h.quantile(0.50)) / 1e6
	r.P99Ms = float64(h.quantile(0.99)) / 1e6
	r.MaxMs = float64(h.max) / 1e6
}

var scenarios = map[string]func(context.Context, config) (*Result, error){
	"fanout":  runFanout,
	"echo":    runEcho,
	"idle":    runIdle,
	"polling": runPolling,
	"churn":   runChurn,
	"hold":    runHold,
	"hostile": runHostile,
}

func main() {
	cfg := defaultConfig()
	scenario := flag.String("scenario", "fanout", "fanout | echo | idle | polling | churn | hold | hostile")
	asJSON := flag.Bool("json", false, "print the result as one JSON object")
	flag.StringVar(&cfg.URL, "url", cfg.URL, "server base URL (loopback only)")
	flag.Func("pid", "server process id, for CPU/memory from /proc (0: not measured); fanout, polling: a cluster's nodes, comma-separated (CPU summed, memory of the first)", func(s string) error {
		pids, err := parsePIDs(s)
		if err == nil && len(pids) > 0 {
			cfg.PID, cfg.MorePIDs = pids[0], pids[1:]
		}
		return err
	})
	flag.Func("infra-pid", "fanout, polling: a cluster's other server-side processes (Redis, the load balancer), comma-separated: their CPU time is reported apart", func(s string) error {
		var err error
		cfg.InfraPIDs, err = parsePIDs(s)
		return err
	})
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "parallel connection attempts while connecting clients")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "upper bound on the measured phase")
	flag.DurationVar(&cfg.Settle, "settle", cfg.Settle, "wait before reading the server's memory")
	flag.IntVar(&cfg.Payload, "payload", cfg.Payload, "payload size in bytes")
	flag.IntVar(&cfg.N, "n", cfg.N, "fanout: clients in the room (the sender is one of them)")
	flag.IntVar(&cfg.K, "k", cfg.K, "fanout: broadcasts")
	flag.IntVar(&cfg.W, "w", cfg.W, "fanout: broadcasts in flight")
	flag.IntVar(&cfg.C, "c", cfg.C, "echo: clients")
	flag.IntVar(&cfg.M, "m", cfg.M, "polling: clients")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "echo, polling: round trips per client")
	flag.IntVar(&cfg.Conns, "conns", cfg.Conns, "idle: connections")
	flag.DurationVar(&cfg.Hold, "hold", 0, "idle: extra time to hold the connections after measuring; hold: the hold (default 10m)")
	flag.IntVar(&cfg.Slow, "slow", 0, "fanout: clients (the last ones) that join, then never read again")
	flag.BoolVar(&cfg.SlowRead, "slow-read", false, "fanout: the -slow clients read after all (a baseline), still left out of the counts")
	flag.DurationVar(&cfg.SendFor, "send-for", 0, "fanout: stop sending broadcasts after this long (0: send all k)")
	flag.DurationVar(&cfg.Pace, "pace", 0, "fanout, echo, polling: least time between one client's sends, for a moderate load such as a soak (0: as fast as possible)")
	flag.StringVar(&cfg.Transport, "transport", transportWebSocket, "fanout, echo: the clients' transport, websocket or webtransport (HTTP/3 over QUIC, to the URL's port in UDP)")
	flag.StringVar(&cfg.CA, "ca", "", "webtransport: PEM file of the server certificate to trust")
	flag.StringVar(&cfg.Source, "source", "", "local IP address for the clients' sockets (a loopback address); fanout, echo, polling: several, comma-separated, client i using the i-th modulo their number (a load balancer hashing the source address then spreads them)")
	flag.IntVar(&cfg.Procs, "procs", 0, "hold: load generator processes to spread the connections over (0: one per 9,500)")
	flag.IntVar(&cfg.Members, "members", cfg.Members, "hold: connections in the room that gets one broadcast per second")
	flag.DurationVar(&cfg.Sample, "sample", cfg.Sample, "hold: how often to sample the server")
	flag.BoolVar(&cfg.Child, "child", false, "hold: internal, run as a child of another loadgen")
	flag.IntVar(&cfg.Rate, "rate", cfg.Rate, "churn: connections per second")
	flag.DurationVar(&cfg.Churn, "duration", cfg.Churn, "churn: how long to churn; hostile: how long to run")
	flag.IntVar(&cfg.Rooms, "rooms", 50, "hostile: rooms the n honest clients are spread over")
	flag.BoolVar(&cfg.NoAttack, "no-attack", false, "hostile: honest clients only (a baseline)")
	flag.StringVar(&cfg.MetricsURL, "metrics-url", "", "hostile: the server's metrics URL (default: the server URL + /metrics)")
	flag.StringVar(&cfg.MetricsToken, "metrics-token", "", "hostile: bearer token for the metrics")
	flag.Parse()

	run, ok := scenarios[*scenario]
	if !ok {
		fatalf("unknown scenario %q", *scenario)
	}
	for _, u := range strings.Split(cfg.URL, ",") { // several: the nodes of a cluster
		if err := checkLoopback(u); err != nil {
			fatalf("%v", err)
		}
	}
	if cfg.Source != "" {
		for _, src := range strings.Split(cfg.Source, ",") {
			if ip := net.ParseIP(src); ip == nil || !ip.IsLoopback() {
				fatalf("-source %q: only loopback addresses are allowed", src)
			}
		}
	}
	if cfg.Transport != transportWebSocket {
		if *scenario != "fanout" && *scenario != "echo" {
			fatalf("-transport %s: only the fanout and echo scenarios have it", cfg.Transport)
		}
		if cfg.Slow > 0 {
			fatalf("-transport %s: -slow watches TCP connections, WebSocket only", cfg.Transport)
		}
	}
	if *scenario == "hold" && cfg.Hold == 0 {
		cfg.Hold = 10 * time.Minute
	}
	// Bounded: the measured phase, plus sending and holding time (and a
	// hostile run's whole duration).
	budget := cfg.Timeout + cfg.SendFor + cfg.Hold + 2*time.Minute
	if *scenario == "hostile" {
		budget += cfg.Churn
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if cfg.Child {
		if *scenario != "hold" {
			fatalf("-child is for the hold scenario")
		}
		if err := runHoldChild(ctx, cfg); err != nil {
			fatalf("hold child: %v", err)
		}
		return
	}
	res, err := run(ctx, cfg)
	if err != nil {
		fatalf("%s: %v", *scenario, err)
	}
	if cfg.Transport != transportWebSocket && res.Params != nil {
		res.Params["transport"] = cfg.Transport
	}
	if cfg.Pace > 0 && res.Params != nil {
		res.Params["pace_ms"] = float64(cfg.Pace) / 1e6
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(res); err != nil {
			fatalf("%v", err)
		}
		return
	}
	printResult(res)
}

// parsePIDs parses a comma-separated list of process ids; 0 is left out.
func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 0 {
			return nil, fmt.Errorf("bad process id %q", f)
		}
		if pid != 0 {
			out = append(out, pid)
		}
	}
	return out, nil
}

// checkLoopback refuses any target but this machine.
func checkLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to load %q: only loopback addresses are allowed", base)
}

func printResult(r *Result) {
	fmt.Printf("%s %v\n", r.Scenario, r.Params)
	fmt.Printf("  %d %s in %.2fs: %.0f/s\n", r.Ops, r.OpsUnit, r.Elapsed, r.OpsPerS)
	if r.ServerCPU > 0 {
		fmt.Printf("  server CPU %.2fs = %.2f CPU-s per million %s (client CPU %.2fs)\n",
			r.ServerCPU, r.CPUPerMillionOps, r.OpsUnit, r.ClientCPU)
	}
	if r.P50Ms > 0 || r.P99Ms > 0 {
		fmt.Printf("  latency p50 %.3fms p99 %.3fms max %.3fms\n", r.P50Ms, r.P99Ms, r.MaxMs)
	}
	fmt.Printf("  lost %d, duplicates %d, out of order %d, errors %d\n", r.Lost, r.Duplicates, r.OutOfOrder, r.Errors)
	switch {
	case r.RSSMidKB > 0:
		fmt.Printf("  server before -> half-way -> after: RSS %d -> %d -> %d kB, threads %d -> %d -> %d, fds %d -> %d -> %d\n",
			r.RSSBeforeKB, r.RSSMidKB, r.RSSAfterKB, r.ThreadsBefore, r.ThreadsMid, r.ThreadsAfter, r.FDsBefore, r.FDsMid, r.FDsAfter)
	case r.RSSAfterKB > 0:
		fmt.Printf("  server RSS %d -> %d kB", r.RSSBeforeKB, r.RSSAfterKB)
		if r.MemPerConnKB != 0 {
			fmt.Printf(" (%.2f kB per connection)", r.MemPerConnKB)
		}
		fmt.Printf(", threads %d -> %d, fds %d -> %d\n", r.ThreadsBefore, r.ThreadsAfter, r.FDsBefore, r.FDsAfter)
	}
	if s := r.Slow; s != nil {
		fmt.Printf("  slow group: %d clients (reading: %v), %d fast; %d broadcasts of %d B; server RSS %d -> %d kB (max %d)\n",
			s.Clients, s.Reading, s.FastClients, s.Broadcasts, s.FrameBytes, r.RSSBeforeKB, r.RSSAfterKB, r.RSSMaxKB)
		fmt.Printf("  slow clients closed by the server: %d of %d", s.Closed, s.Clients)
		if s.PingDeadlineS > 0 {
			fmt.Printf(" (heartbeat deadline %.0fs after connecting)", s.PingDeadlineS)
		}
		fmt.Println()
		for i, c := range s.PerClient {
			if c.Closed {
				fmt.Printf("    slow %d: closed (%s) %.2fs into the run, %.2fs after connecting, %d broadcasts sent by then;", i, c.Seen, c.ClosedAfterS, c.ClosedAfterConnS, c.SentBeforeClose)
			} else {
				fmt.Printf("    slow %d: open;", i)
			}
			fmt.Printf(" %d broadcasts read afterwards, the last #%d sent %.2fs into the run\n", c.Received, c.LastSeq, c.LastSentAtS)
		}
	}
	if h := r.Hold; h != nil {
		fmt.Printf("  %d connections over %d processes: %d established, %d failed, %d dropped while held %.0fs\n",
			h.Conns, h.Procs, h.Established, h.Failed, h.Dropped, h.HoldS)
		fmt.Printf("  RSS before %d kB; hold start %d, at %.0fs %d, end %d, max %d kB: end vs ref %+.1f%%, stable %v\n",
			r.RSSBeforeKB, h.RSSStartKB, h.RefAtS, h.RSSRefKB, h.RSSEndKB, h.RSSMaxKB, 100*h.EndVsRef, h.Stable)
		fmt.Printf("  traffic: %d broadcasts to %d members, %d deliveries, lost %d dup %d ooo %d; server CPU over the hold %.2fs\n",
			h.Broadcasts, h.RoomSize, h.Deliveries, h.Lost, h.Duplicates, h.OutOfOrder, h.ServerCPUS)
		for _, s := range h.Samples {
			fmt.Printf("    t=%4.0fs RSS %7d kB threads %3d fds %6d\n", s.T, s.RSSKB, s.Threads, s.FDs)
		}
	}
	if h := r.Hostile; h != nil {
		printHostile(r, h)
	}
	for _, n := range r.Notes {
		fmt.Printf("  note: %s\n", n)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(1)
}
