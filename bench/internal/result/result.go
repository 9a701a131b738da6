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
	// InfraCPU is, for a cluster, the CPU time of the server-side
	// processes other than the nodes (Redis, the load balancer) over the
	// measured phase; ServerCPU is then the nodes' sum.
	InfraCPU float64 `json:"infra_cpu_s,omitempty"`
	// InfraCPUEach is InfraCPU process by process, in the order given to
	// the load generator (-infra-pid).
	InfraCPUEach []float64 `json:"infra_cpu_each_s,omitempty"`
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

	// RSSMaxKB is the largest VmRSS seen while the scenario ran (fanout
	// with slow clients, hold).
	RSSMaxKB int64 `json:"rss_max_kb,omitempty"`

	// Slow is set by fanout runs with a slow group (-slow).
	Slow *Slow `json:"slow,omitempty"`
	// Hold is set by the hold scenario (many connections).
	Hold *Hold `json:"hold,omitempty"`
	// Hostile is set by the hostile-mix scenario.
	Hostile *Hostile `json:"hostile,omitempty"`

	Notes []string `json:"notes,omitempty"`
}

// Slow describes the slow group of a fanout run: clients that joined the
// room like the others and then, unless Reading, never read their socket
// again. The run's Ops, latency and lost/duplicate/out-of-order counts are
// for the other clients only (the fast ones).
type Slow struct {
	Clients int  `json:"clients"`
	Reading bool `json:"reading"` // baseline run: the group read like the others
	// FastClients receive and are counted; Broadcasts were sent.
	FastClients int   `json:"fast_clients"`
	Broadcasts  int64 `json:"broadcasts"`
	// FrameBytes is the size of one relayed broadcast on the wire.
	FrameBytes int `json:"frame_bytes"`
	// PingDeadlineS is the server's pingInterval+pingTimeout (from its
	// open packet): a client that never answers a ping is dropped by the
	// heartbeat about this long after connecting, whatever it was sent.
	PingDeadlineS float64 `json:"ping_deadline_s,omitempty"`
	// Closed counts the group's connections the server closed, seen as
	// its end of the TCP connection leaving ESTABLISHED (/proc/net/tcp) or,
	// when the group drains its sockets at the end, as end of stream.
	Closed    int          `json:"closed"`
	PerClient []SlowClient `json:"per_client,omitempty"`
	// Drained: after the run, the group read what was waiting for it.
	DrainedMessages int64 `json:"drained_messages"`
}

// SlowClient is one client of the slow group.
type SlowClient struct {
	Closed bool `json:"closed"`
	// When the server closed it: seconds after broadcasting began and
	// after the client connected, and how many broadcasts had been sent
	// by then. Only set when seen in /proc/net/tcp during the run.
	ClosedAfterS     float64 `json:"closed_after_s,omitempty"`
	ClosedAfterConnS float64 `json:"closed_after_connect_s,omitempty"`
	SentBeforeClose  int64   `json:"sent_before_close,omitempty"`
	// Seen: how it was noticed ("tcp" state, "eof" while draining).
	Seen string `json:"seen,omitempty"`
	// Received: broadcasts it read while draining after the run; the last
	// of them, its sequence number and when it was sent (seconds after
	// broadcasting began and after the client connected): about when the
	// server stopped sending to it. LastSeq is -1 if none.
	Received           int64   `json:"received"`
	LastSeq            int64   `json:"last_seq"`
	LastSentAtS        float64 `json:"last_sent_at_s,omitempty"`
	LastSentAfterConnS float64 `json:"last_sent_after_connect_s,omitempty"`
}

// Hold describes the hold scenario: many connections held open with light
// traffic, the server sampled at intervals.
type Hold struct {
	Procs       int     `json:"procs"` // load generator processes
	Conns       int     `json:"conns"` // asked for
	Established int64   `json:"established"`
	Failed      int64   `json:"failed"`
	Dropped     int64   `json:"dropped"` // closed by the server while held
	RampS       float64 `json:"ramp_s"`
	HoldS       float64 `json:"hold_s"`
	FirstError  string  `json:"first_error,omitempty"`

	Samples []Sample `json:"samples"`
	// Summary of the samples; see Summarize.
	RSSStartKB int64   `json:"rss_start_kb"`
	RSSRefKB   int64   `json:"rss_ref_kb"`
	RefAtS     float64 `json:"ref_at_s"`
	RSSEndKB   int64   `json:"rss_end_kb"`
	RSSMaxKB   int64   `json:"rss_max_kb"`
	EndVsRef   float64 `json:"end_vs_ref"` // (end-ref)/ref
	Stable     bool    `json:"stable"`

	// Traffic: one broadcast per second to a room of RoomSize.
	RoomSize   int   `json:"room_size"`
	Broadcasts int64 `json:"broadcasts"`
	Deliveries int64 `json:"deliveries"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`
	// ServerCPUS is the server's CPU time over the hold.
	ServerCPUS float64 `json:"server_cpu_s"`
}

// Sample is the server's state T seconds into the hold.
type Sample struct {
	T       float64 `json:"t_s"`
	RSSKB   int64   `json:"rss_kb"`
	Threads int     `json:"threads"`
	FDs     int     `json:"fds"`
}

// StableWithin is how far the end of a hold may be above the reference
// sample and still count as stable.
const StableWithin = 0.05

// Summarize fills in the RSS summary from h.Samples: the first and last
// samples, the largest, and the reference sample, the first taken at or
// after min(refAt, half the last sample's time) seconds into the hold.
// The hold was stable if the last RSS is at most StableWithin above the
// reference (see StableRSS).
func (h *Hold) Summarize(refAt float64) {
	if len(h.Samples) == 0 {
		return
	}
	first, last := h.Samples[0], h.Samples[len(h.Samples)-1]
	h.RSSStartKB, h.RSSEndKB = first.RSSKB, last.RSSKB
	h.RSSMaxKB = 0
	for _, s := range h.Samples {
		h.RSSMaxKB = max(h.RSSMaxKB, s.RSSKB)
	}
	at := min(refAt, last.T/2)
	ref := last
	for _, s := range h.Samples {
		if s.T >= at {
			ref = s
			break
		}
	}
	h.RSSRefKB, h.RefAtS = ref.RSSKB, ref.T
	if ref.RSSKB > 0 {
		h.EndVsRef = float64(last.RSSKB-ref.RSSKB) / float64(ref.RSSKB)
	}
	h.Stable = h.StableRSS()
}

// StableRSS reports whether the RSS at the end of the hold is at most
// StableWithin above the reference. Growth is what a leak looks like; a
// drop is memory the runtime gave back to the system (Go's scavenger
// returns the ramp's freed pages minutes later), not instability.
func (h *Hold) StableRSS() bool {
	return h.RSSRefKB > 0 && h.EndVsRef <= StableWithin
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

// Hostile is a hostile-mix run: honest clients chatting in rooms, alone for
// the first quarter of the run, then beside every attack at once. The
// Result's counts (Ops, Expected, Lost, ...) are the honest deliveries.
type Hostile struct {
	Honest int `json:"honest"`
	Rooms  int `json:"rooms"`
	// RSSHonestKB: the server's RSS with the honest clients connected,
	// before any traffic: what the ceiling is reckoned from.
	RSSHonestKB int64 `json:"rss_honest_kb"`
	// HonestClosed counts honest clients whose connection the server
	// ended (must be 0).
	HonestClosed int64 `json:"honest_closed"`
	// Honest delivery latency before and during the attack.
	QuietP50Ms  float64         `json:"quiet_p50_ms"`
	QuietP99Ms  float64         `json:"quiet_p99_ms"`
	AttackP50Ms float64         `json:"attack_p50_ms"`
	AttackP99Ms float64         `json:"attack_p99_ms"`
	Samples     []HostileSample `json:"samples"`
	Attacks     []Attack        `json:"attacks"`
	// Rejections is the server's switchboard_limit_rejections_total by
	// kind at the end of the run.
	Rejections map[string]float64 `json:"rejections,omitempty"`
}

// HostileSample is the server's state at one moment of a hostile run.
type HostileSample struct {
	AtS    float64 `json:"at_s"`
	RSSKB  int64   `json:"rss_kb"`
	FDs    int     `json:"fds"`
	Attack bool    `json:"attack"`
}

// Attack is what one attack's workers did: attempts, and how each ended.
type Attack struct {
	Name     string           `json:"name"`
	Workers  int              `json:"workers"`
	Attempts int64            `json:"attempts"`
	Outcomes map[string]int64 `json:"outcomes"`
	// MaxHeldS is the longest one attempt lasted (the server let it hold
	// its connection or request that long).
	MaxHeldS float64 `json:"max_held_s"`
}
