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
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// config holds every scenario's parameters; each scenario reads its own.
type config struct {
	URL         string
	PID         int
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
	Hold    time.Duration // idle: how long to hold the connections open
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
}

func main() {
	cfg := defaultConfig()
	scenario := flag.String("scenario", "fanout", "fanout | echo | idle | polling | churn")
	asJSON := flag.Bool("json", false, "print the result as one JSON object")
	flag.StringVar(&cfg.URL, "url", cfg.URL, "server base URL (loopback only)")
	flag.IntVar(&cfg.PID, "pid", 0, "server process id, for CPU/memory from /proc (0: not measured)")
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
	flag.DurationVar(&cfg.Hold, "hold", 0, "idle: extra time to hold the connections after measuring")
	flag.IntVar(&cfg.Rate, "rate", cfg.Rate, "churn: connections per second")
	flag.DurationVar(&cfg.Churn, "duration", cfg.Churn, "churn: how long to churn")
	flag.Parse()

	run, ok := scenarios[*scenario]
	if !ok {
		fatalf("unknown scenario %q", *scenario)
	}
	if err := checkLoopback(cfg.URL); err != nil {
		fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout+2*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		fatalf("%s: %v", *scenario, err)
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
	for _, n := range r.Notes {
		fmt.Printf("  note: %s\n", n)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(1)
}
