// Package result is the record one load generator run produces, shared by
// bench/loadgen, which writes it as JSON, and bench/cmd/benchrun, which
// collects and summarizes it.
package result

import "fmt"

// Result is one scenario run. Ops counts the scenario's unit of work (see
// OpsUnit): deliveries, round trips, messages, handshakes or connections.
type Result struct {
	Scenario string         `json:"scenario"`
	Params   map[string]any `json:"params"`
	OpsUnit  string         `json:"ops_unit"`
	Ops      int64          `json:"ops"`
	Elapsed  float64        `json:"elapsed_s"`
	OpsPerS  float64        `json:"ops_per_s"`

	// ServerCPU is the server's utime+stime over the measured phase.
	ServerCPU        float64 `json:"server_cpu_s"`
	CPUPerMillionOps float64 `json:"server_cpu_s_per_million"`
	// ClientCPU is the load generator's own CPU time over the same phase.
	ClientCPU float64 `json:"client_cpu_s"`

	// Latency: delivery latency (fanout), round-trip time (echo,
	// polling) or connect+join time (churn).
	P50Ms float64 `json:"p50_ms,omitempty"`
	P99Ms float64 `json:"p99_ms,omitempty"`
	MaxMs float64 `json:"max_ms,omitempty"`

	Expected   int64 `json:"expected,omitempty"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`
	Errors     int64 `json:"errors"`

	// Server process state: before the run, with all connections open
	// (idle), or between the two halves and after (churn).
	RSSBeforeKB   int64   `json:"rss_before_kb,omitempty"`
	RSSMidKB      int64   `json:"rss_mid_kb,omitempty"`
	RSSAfterKB    int64   `json:"rss_after_kb,omitempty"`
	MemPerConnKB  float64 `json:"mem_per_conn_kb,omitempty"`
	ThreadsBefore int     `json:"threads_before,omitempty"`
	ThreadsMid    int     `json:"threads_mid,omitempty"`
	ThreadsAfter  int     `json:"threads_after,omitempty"`
	FDsBefore     int     `json:"fds_before,omitempty"`
	FDsMid        int     `json:"fds_mid,omitempty"`
	FDsAfter      int     `json:"fds_after,omitempty"`

	Notes []string `json:"notes,omitempty"`
}

// Finish fills in the rates from the measured phase's wall time and CPU
// times, in seconds.
func (r *Result) Finish(wall, serverCPU, clientCPU float64) {
	r.Elapsed = wall
	r.ServerCPU = serverCPU
	r.ClientCPU = clientCPU
	if wall > 0 {
		r.OpsPerS = float64(r.Ops) / wall
	}
	if r.Ops > 0 {
		r.CPUPerMillionOps = serverCPU / float64(r.Ops) * 1e6
	}
}

// Note records a remark about the run.
func (r *Result) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Clean reports whether nothing was lost, duplicated, reordered or failed.
func (r *Result) Clean() bool {
	return r.Lost == 0 && r.Duplicates == 0 && r.OutOfOrder == 0 && r.Errors == 0
}
