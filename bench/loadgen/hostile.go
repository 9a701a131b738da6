package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// The hostile-mix scenario: n honest clients chat in rooms (each sends a
// broadcast to its room every pace, and checks that it gets every other
// member's broadcasts exactly once and in order) for the whole run; the
// first quarter of the run is quiet, the rest runs every attack of
// attacks() at once beside them. It reports the honest losses, the honest
// latency without and with the attack, the server's RSS over time, what
// the attackers managed and how the server ended them.
//
// Honest clients connect from 127.0.2.x, fifty per address; attackers from
// 127.0.3.x and above, each worker from its own address, so the per-address
// limits see them as different clients, as they would be on the internet.
// The server must run bench/hostile.yaml (or the same namespaces and apps).

const (
	honestPerAddr = 50
	seqPerSender  = 1_000_000 // seq = sender*seqPerSender + n
)

// honestClient is one honest chat member.
type honestClient struct {
	id, room int
	c        *wsConn
	sent     atomic.Int64 // broadcasts sent; the next one's n
	mu       sync.Mutex
	last     map[int]int64 // sender -> last n received
	received int64
	dups     int64
	gaps     int64
	foreign  int64 // broadcasts from another room (must be 0)
	closed   error // set when the server ended the connection
}

type hostileRun struct {
	cfg     config
	clk     clock
	rooms   int
	clients []*honestClient
	attack  atomic.Bool // the attack phase has begun
	quiet   histogram   // honest latency before the attack
	loud    histogram   // honest latency during the attack
	hmu     sync.Mutex

	readers, senders sync.WaitGroup // the honest clients' goroutines
	stopping         atomic.Bool    // the run is over: readers expect their connection to end
}

// startClients starts each honest client's reader, and its sender until
// ctx ends.
func (h *hostileRun) startClients(ctx context.Context) {
	for _, c := range h.clients {
		h.readers.Add(1)
		go func() { defer h.readers.Done(); h.read(c) }()
		h.senders.Add(1)
		go func() { defer h.senders.Done(); h.send(ctx, c) }()
	}
}

// runHostile runs the hostile-mix scenario.
func runHostile(ctx context.Context, cfg config) (*Result, error) {
	if err := hostileConfig(&cfg); err != nil {
		return nil, err
	}
	h := &hostileRun{cfg: cfg, clk: newClock(), rooms: cfg.Rooms}
	res := &Result{
		Scenario: "hostile",
		Params: map[string]any{"n": cfg.N, "rooms": cfg.Rooms, "pace_ms": float64(cfg.Pace) / 1e6,
			"duration_s": cfg.Churn.Seconds(), "attack": !cfg.NoAttack},
		OpsUnit: "deliveries",
	}
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return nil, err
	}
	res.RSSBeforeKB = before.RSSKB
	if err := h.connect(ctx); err != nil {
		h.closeAll()
		return nil, err
	}
	defer h.closeAll()
	connected, _ := sampleProc(cfg.PID)
	hr := &result.Hostile{Honest: cfg.N, Rooms: cfg.Rooms, RSSHonestKB: connected.RSSKB}
	res.Hostile = hr

	runCtx, stop := context.WithTimeout(ctx, cfg.Churn)
	defer stop()
	h.startClients(runCtx)
	m, err := startMeter(cfg.PID)
	if err != nil {
		return nil, err
	}
	atk := h.sample(runCtx, hr)
	h.senders.Wait()
	if atk != nil {
		hr.Attacks = atk.wait()
	}
	// Let the last broadcasts arrive, then stop the readers and count.
	h.drain(20 * time.Second)
	h.stopping.Store(true)
	wall, serverCPU, clientCPU, _ := m.stop()
	res.Elapsed, res.ServerCPU, res.ClientCPU = wall, serverCPU, clientCPU
	h.serverAfter(ctx, res, hr, before)
	h.closeAll()
	h.readers.Wait()
	h.count(res, hr)
	h.latencies(res, hr)
	return res, nil
}

// hostileConfig checks the scenario's flags and fills in the defaults of
// the pace and the sampling period.
func hostileConfig(cfg *config) error {
	if cfg.N < 2 || cfg.Rooms < 1 || cfg.N < 2*cfg.Rooms {
		return errors.New("hostile needs n >= 2*rooms, rooms >= 1")
	}
	if cfg.Pace <= 0 {
		cfg.Pace = 2 * time.Second
	}
	if cfg.Churn <= 0 {
		return errors.New("hostile needs -duration")
	}
	if cfg.Sample <= 0 || cfg.Sample > cfg.Churn/4 {
		cfg.Sample = max(cfg.Churn/20, 500*time.Millisecond)
	}
	return nil
}

// sample records the server's RSS and fds every cfg.Sample until ctx ends,
// and starts the attack after a quarter of the run (unless -no-attack); it
// returns the attack, nil if none started.
func (h *hostileRun) sample(ctx context.Context, hr *result.Hostile) *attackRun {
	var atk *attackRun
	attackAt := time.Now().Add(h.cfg.Churn / 4)
	tick := time.NewTicker(h.cfg.Sample)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return atk
		case now := <-tick.C:
			s, err := sampleProc(h.cfg.PID)
			if err == nil {
				hr.Samples = append(hr.Samples, result.HostileSample{
					AtS: now.Sub(start).Seconds(), RSSKB: s.RSSKB, FDs: s.FDs, Attack: h.attack.Load()})
			}
			if atk == nil && !h.cfg.NoAttack && now.After(attackAt) {
				h.attack.Store(true)
				atk = startAttacks(ctx, h.cfg)
			}
		}
	}
}

// serverAfter records the server's state after the run against before, its
// largest sampled RSS, and the limits' rejections it counted.
func (h *hostileRun) serverAfter(ctx context.Context, res *Result, hr *result.Hostile, before procSample) {
	after, _ := sampleProc(h.cfg.PID)
	res.RSSAfterKB, res.ThreadsBefore, res.ThreadsAfter, res.FDsBefore, res.FDsAfter =
		after.RSSKB, before.Threads, after.Threads, before.FDs, after.FDs
	for _, s := range hr.Samples {
		res.RSSMaxKB = max(res.RSSMaxKB, s.RSSKB)
	}
	var err error
	hr.Rejections, err = scrapeRejections(ctx, h.cfg)
	if err != nil {
		res.Note("limit_rejections_total not read: %v", err)
	}
}

// latencies sets the honest latency before and during the attack, and
// overall, and the delivery rate.
func (h *hostileRun) latencies(res *Result, hr *result.Hostile) {
	hr.QuietP50Ms, hr.QuietP99Ms = ms(h.quiet.quantile(0.5)), ms(h.quiet.quantile(0.99))
	hr.AttackP50Ms, hr.AttackP99Ms = ms(h.loud.quantile(0.5)), ms(h.loud.quantile(0.99))
	all := h.quiet
	all.merge(&h.loud)
	setLatency(res, &all)
	if res.Elapsed > 0 {
		res.OpsPerS = float64(res.Ops) / res.Elapsed
	}
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// connect opens the honest clients, fifty per source address, and joins
// each to its room.
func (h *hostileRun) connect(ctx context.Context) error {
	h.clients = make([]*honestClient, h.cfg.N)
	sem := make(chan struct{}, max(h.cfg.Concurrency, 1))
	errs := make(chan error, h.cfg.N)
	var wg sync.WaitGroup
	for i := range h.cfg.N {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			src := fmt.Sprintf("127.0.2.%d", 1+i/honestPerAddr)
			c, err := dialWSFrom(ctx, wsURL(h.cfg.URL), 4096, src)
			if err == nil {
				err = c.joinRoom(roomName(i % h.rooms))
				if err != nil {
					c.close()
				}
			}
			if err != nil {
				errs <- fmt.Errorf("honest client %d: %w", i, err)
				return
			}
			h.clients[i] = &honestClient{id: i, room: i % h.rooms, c: c, last: map[int]int64{}}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func roomName(r int) string { return "h" + strconv.Itoa(r) }

func (h *hostileRun) closeAll() {
	for _, c := range h.clients {
		if c != nil {
			c.c.close()
		}
	}
}

// send broadcasts to the client's room every pace (with a random phase, so
// the load is even) until ctx ends.
func (h *hostileRun) send(ctx context.Context, c *honestClient) {
	tpl := newPayloadTemplate(`42["bcast",`+jsonString(roomName(c.room))+`,`, `]`, h.cfg.Payload)
	t := time.NewTimer(rand.N(h.cfg.Pace))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := c.sent.Load()
		if err := c.c.writeText(tpl.fill(int64(c.id)*seqPerSender+n, h.clk.now())); err != nil {
			return // the reader records why
		}
		c.sent.Add(1)
		t.Reset(h.cfg.Pace)
	}
}

// read checks every broadcast the client gets: from a member of its room,
// the next of that sender's, never twice.
func (h *hostileRun) read(c *honestClient) {
	// Latency before and during the attack, merged into the run's at
	// the end.
	var quiet, loud histogram
	defer func() {
		h.hmu.Lock()
		h.quiet.merge(&quiet)
		h.loud.merge(&loud)
		h.hmu.Unlock()
	}()
	for {
		pkt, err := c.c.readPacket()
		if err != nil {
			if !h.stopping.Load() {
				c.mu.Lock()
				c.closed = err
				c.mu.Unlock()
			}
			return
		}
		if len(pkt) == 0 || pkt[0] != '2' {
			continue
		}
		seq, ts, ok := extract(pkt)
		if !ok {
			continue
		}
		if h.attack.Load() {
			loud.record(h.clk.now() - ts)
		} else {
			quiet.record(h.clk.now() - ts)
		}
		sender, n := int(seq/seqPerSender), seq%seqPerSender
		c.mu.Lock()
		switch last, seen := c.last[sender]; {
		case sender%h.rooms != c.room:
			c.foreign++
		case seen && n <= last:
			c.dups++
		default:
			if !seen {
				last = -1
			}
			c.gaps += n - last - 1
			c.last[sender] = n
			c.received++
		}
		c.mu.Unlock()
	}
}

// drain waits until every member has every broadcast of its room, or
// timeout.
func (h *hostileRun) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if h.missing() == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// missing counts the broadcasts sent that a member of the room has not
// received (connections the server closed included: they count as lost).
func (h *hostileRun) missing() int64 {
	var sum int64
	for _, c := range h.clients {
		c.mu.Lock()
		for _, s := range h.clients {
			if s.room != c.room {
				continue
			}
			want := s.sent.Load()
			got := int64(0)
			if last, ok := c.last[s.id]; ok {
				got = last + 1
			}
			if want > got {
				sum += want - got
			}
		}
		c.mu.Unlock()
	}
	return sum
}

func (h *hostileRun) count(res *Result, hr *result.Hostile) {
	for _, c := range h.clients {
		res.Expected += c.sent.Load() * int64(h.membersOf(c.room))
		c.mu.Lock()
		res.Ops += c.received
		res.Duplicates += c.dups
		res.OutOfOrder += c.foreign
		if c.closed != nil && !errors.Is(c.closed, net.ErrClosed) {
			res.Errors++
			hr.HonestClosed++
			if len(res.Notes) < 5 {
				res.Note("honest client %d: %v", c.id, c.closed)
			}
		}
		c.mu.Unlock()
	}
	res.Lost = h.missing()
}

func (h *hostileRun) membersOf(room int) int {
	n := h.cfg.N / h.rooms
	if room < h.cfg.N%h.rooms {
		n++
	}
	return n
}

// scrapeRejections reads switchboard_limit_rejections_total by kind from
// the server's metrics.
func scrapeRejections(ctx context.Context, cfg config) (map[string]float64, error) {
	u := cfg.MetricsURL
	if u == "" {
		u = strings.TrimSuffix(cfg.URL, "/") + "/metrics"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	if cfg.MetricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.MetricsToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, res.Status)
	}
	out := map[string]float64{}
	const key = `switchboard_limit_rejections_total{kind="`
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		kind, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[kind] += v
		}
	}
	return out, nil
}

// sortedKeys returns m's keys in order, for stable reports.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func printHostile(r *Result, h *result.Hostile) {
	fmt.Printf("  honest: %d clients in %d rooms, %d closed by the server; latency p50/p99 %.1f/%.1f ms quiet, %.1f/%.1f ms under attack\n",
		h.Honest, h.Rooms, h.HonestClosed, h.QuietP50Ms, h.QuietP99Ms, h.AttackP50Ms, h.AttackP99Ms)
	fmt.Printf("  server RSS before %d kB, with the honest clients %d kB, max %d kB, after %d kB\n",
		r.RSSBeforeKB, h.RSSHonestKB, r.RSSMaxKB, r.RSSAfterKB)
	for _, s := range h.Samples {
		fmt.Printf("    t=%5.0fs RSS %7d kB fds %5d attack %v\n", s.AtS, s.RSSKB, s.FDs, s.Attack)
	}
	for _, a := range h.Attacks {
		fmt.Printf("  attack %q (%d workers): %d attempts, longest %.1fs;", a.Name, a.Workers, a.Attempts, a.MaxHeldS)
		for _, k := range sortedKeys(a.Outcomes) {
			fmt.Printf(" %s: %d;", k, a.Outcomes[k])
		}
		fmt.Println()
	}
	for _, k := range sortedKeys(h.Rejections) {
		fmt.Printf("  limit_rejections_total{kind=%q} %.0f\n", k, h.Rejections[k])
	}
}
