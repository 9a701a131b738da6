package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connectMany opens n clients (WebSocket, or cfg.Transport) connected to
// "/", at most concurrency handshakes at a time; with room != "" each
// joins it (and waits for the ack). With tolerate, failed clients are counted and left
// out; otherwise the first failure is returned.
func connectMany(ctx context.Context, cfg config, n, readBuf int, room string, tolerate bool) ([]*wsConn, int64, error) {
	conns, failed, firstErr := connect(ctx, cfg, n, readBuf, room, tolerate)
	if firstErr != nil && !tolerate {
		return nil, failed, firstErr
	}
	return conns, failed, nil
}

// connect is connectMany returning, with tolerate, the first failure too.
// Clients bind to cfg.Source when it is set.
//
// cfg.URL may list several nodes of a cluster, comma-separated: client i
// connects to node i mod len (client 0, fanout's sender, to the first).
// cfg.Source too may list several addresses: client i binds to the i-th
// mod len.
func connect(ctx context.Context, cfg config, n, readBuf int, room string, tolerate bool) ([]*wsConn, int64, error) {
	dial, err := dialer(cfg, readBuf)
	if err != nil {
		return nil, 0, err
	}
	conns := make([]*wsConn, n)
	var (
		failed   atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(max(cfg.Concurrency, 1), n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, i)
				if err == nil && room != "" {
					if err = c.joinRoom(room); err != nil {
						c.close()
					}
				}
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = fmt.Errorf("client %d: %w", i, err) })
					if !tolerate {
						cancel()
						return
					}
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	if firstErr != nil && !tolerate {
		closeAll(out)
		return nil, failed.Load(), firstErr
	}
	return out, failed.Load(), firstErr
}

// dialer returns the function that opens client i for connect, over
// cfg.Transport.
func dialer(cfg config, readBuf int) (func(ctx context.Context, i int) (*wsConn, error), error) {
	urls := strings.Split(cfg.URL, ",")
	switch cfg.Transport {
	case "", transportWebSocket:
		sources := strings.Split(cfg.Source, ",")
		return func(ctx context.Context, i int) (*wsConn, error) {
			return dialWSFrom(ctx, wsURL(urls[i%len(urls)]), readBuf, sources[i%len(sources)])
		}, nil
	case transportWebTransport:
		if cfg.Source != "" {
			return nil, errors.New("-source is for WebSocket clients only")
		}
		tr, err := newWTTransport(cfg.CA)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, i int) (*wsConn, error) {
			return dialWT(ctx, tr, wtURL(urls[i%len(urls)]), readBuf)
		}, nil
	}
	return nil, fmt.Errorf("unknown transport %q (want %s or %s)", cfg.Transport, transportWebSocket, transportWebTransport)
}

func closeAll(conns []*wsConn) {
	for _, c := range conns {
		c.close()
	}
}

// errCounter counts errors and keeps the first one's text for the report.
type errCounter struct {
	n     atomic.Int64
	first atomic.Value
}

func (e *errCounter) add(err error) {
	e.first.CompareAndSwap(nil, err.Error())
	e.n.Add(1)
}

func (e *errCounter) count() int64 { return e.n.Load() }

// report adds the count to r.Errors and notes the first error.
func (e *errCounter) report(r *Result, what string) {
	r.Errors += e.n.Load()
	if msg, _ := e.first.Load().(string); msg != "" {
		r.Note("%d %s, the first: %s", e.n.Load(), what, msg)
	}
}

// clock returns nanoseconds since a fixed start, from the monotonic clock.
type clock struct{ base time.Time }

func newClock() clock      { return clock{time.Now()} }
func (c clock) now() int64 { return int64(time.Since(c.base)) }

// progressWatch waits for done, giving up when the count returned by
// progress has not moved for stall or the overall timeout has passed. It
// reports whether done was reached.
func progressWatch(ctx context.Context, done <-chan struct{}, progress func() int64, stall, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last, lastMove := progress(), time.Now()
	for {
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
			if p := progress(); p != last {
				last, lastMove = p, time.Now()
			} else if time.Since(lastMove) > stall {
				return false
			}
		}
	}
}

// runEcho: C clients, each emitting echo and waiting for the answer,
// Rounds times.
func runEcho(ctx context.Context, cfg config) (*Result, error) {
	if cfg.C < 1 || cfg.Rounds < 1 {
		return nil, errors.New("echo needs c, rounds >= 1")
	}
	res := &Result{
		Scenario: "echo",
		Params:   map[string]any{"c": cfg.C, "rounds": cfg.Rounds, "payload": cfg.Payload},
		OpsUnit:  "round trips",
		Expected: int64(cfg.C) * int64(cfg.Rounds),
	}
	conns, _, err := connectMany(ctx, cfg, cfg.C, 4096, "", false)
	if err != nil {
		return nil, err
	}
	r := &echoRun{cfg: cfg, clk: newClock(), start: make(chan struct{}),
		hists: make([]*histogram, len(conns)), done: make([]atomic.Int64, len(conns))}
	r.complete.Add(len(conns))
	r.exited.Add(len(conns))
	for i, c := range conns {
		r.hists[i] = new(histogram)
		go r.echoes(c, r.hists[i], &r.done[i])
	}
	allDone := make(chan struct{})
	go func() { r.complete.Wait(); close(allDone) }()
	m, err := startMeter(cfg.PID)
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	close(r.start)
	finished := progressWatch(ctx, allDone, r.progress, 10*time.Second, cfg.Timeout)
	wall, scpu, ccpu, err := m.stop()
	if !finished {
		res.Note("gave up waiting: some round trips never completed")
	}
	r.stopping.Store(true)
	closeAll(conns)
	r.exited.Wait()
	total := new(histogram)
	for _, h := range r.hists {
		total.merge(h)
	}
	res.Ops = r.progress()
	res.Lost = res.Expected - res.Ops
	res.OutOfOrder = r.mismatch.Load()
	r.readErrs.report(res, "clients lost their connection")
	res.Finish(wall, scpu, ccpu)
	setLatency(res, total)
	return res, err
}

// echoRun is the measured phase of the echo scenario, shared by its
// clients.
type echoRun struct {
	cfg   config
	clk   clock
	start chan struct{} // closed when the clients may start
	hists []*histogram  // per client: the round trips' latencies
	done  []atomic.Int64
	// complete is done when every client has its answers, exited when
	// every client's goroutine has returned.
	complete, exited sync.WaitGroup
	stopping         atomic.Bool // the connections are being closed
	mismatch         atomic.Int64
	readErrs         errCounter
}

// progress returns the round trips completed so far.
func (r *echoRun) progress() int64 {
	var n int64
	for i := range r.done {
		n += r.done[i].Load()
	}
	return n
}

// echoes runs one client's round trips, recording each one's latency in h
// and counting it in n. After the last it keeps reading, to answer pings,
// until its connection is closed.
func (r *echoRun) echoes(c *wsConn, h *histogram, n *atomic.Int64) {
	defer r.exited.Done()
	signaled := false
	defer func() {
		if !signaled {
			r.complete.Done()
		}
	}()
	tmpl := newPayloadTemplate(`42["echo",`, `]`, r.cfg.Payload)
	<-r.start
	seq := int64(0)
	if err := c.writeText(tmpl.fill(seq, r.clk.now())); err != nil {
		r.readErrs.add(err)
		return
	}
	for {
		pkt, err := c.readPacket()
		if err != nil {
			if !r.stopping.Load() {
				r.readErrs.add(err)
			}
			return
		}
		if len(pkt) == 0 || pkt[0] != '2' {
			continue
		}
		got, ts, ok := extract(pkt)
		if !ok || got != seq {
			r.mismatch.Add(1)
			continue
		}
		h.record(r.clk.now() - ts)
		n.Add(1)
		seq++
		if seq == int64(r.cfg.Rounds) {
			signaled = true
			r.complete.Done()
			continue // keep answering pings until closed
		}
		time.Sleep(r.cfg.Pace)
		if err := c.writeText(tmpl.fill(seq, r.clk.now())); err != nil {
			r.readErrs.add(err)
			return
		}
	}
}

// runIdle: Conns WebSocket connections, opened Concurrency at a time; the
// server's RSS is read before the ramp and Settle after it.
func runIdle(ctx context.Context, cfg config) (*Result, error) {
	if cfg.Conns < 1 {
		return nil, errors.New("idle needs conns >= 1")
	}
	res := &Result{
		Scenario: "idle",
		Params:   map[string]any{"conns": cfg.Conns, "concurrency": cfg.Concurrency},
		OpsUnit:  "handshakes",
		Expected: int64(cfg.Conns),
	}
	time.Sleep(cfg.Settle)
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return nil, err
	}
	m, err := startMeter(cfg.PID)
	if err != nil {
		return nil, err
	}
	conns, failed, err := connectMany(ctx, cfg, cfg.Conns, 1024, "", true)
	if err != nil {
		return nil, err
	}
	wall, scpu, ccpu, err := m.stop()
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	res.Ops = int64(len(conns))
	res.Lost = failed
	res.Finish(wall, scpu, ccpu)

	// Keep reading: answer pings, notice drops.
	w := watchDrops(conns)
	time.Sleep(cfg.Settle)
	after, err := sampleProc(cfg.PID)
	if cfg.Hold > 0 {
		time.Sleep(cfg.Hold)
	}
	w.stop(conns)
	if err != nil {
		return nil, err
	}
	w.dropped.report(res, "connections dropped")
	res.RSSBeforeKB, res.RSSAfterKB = before.RSSKB, after.RSSKB
	res.ThreadsBefore, res.ThreadsAfter = before.Threads, after.Threads
	res.FDsBefore, res.FDsAfter = before.FDs, after.FDs
	if res.Ops > 0 && cfg.PID != 0 {
		res.MemPerConnKB = float64(after.RSSKB-before.RSSKB) / float64(res.Ops)
	}
	return res, nil
}

// runChurn opens Rate connections per second for Churn, in two halves;
// each connection connects, joins room "r" and leaves, half of them
// politely (DISCONNECT and a close frame), half by dropping TCP. The
// server's RSS, threads and fds are read before, between the halves and
// after, each time Settle after the last connection: the first half may
// warm the server up, the second must not grow it.
func runChurn(ctx context.Context, cfg config) (*Result, error) {
	if cfg.Rate < 1 || cfg.Churn <= 0 {
		return nil, errors.New("churn needs rate >= 1 and duration > 0")
	}
	total := int(float64(cfg.Rate) * cfg.Churn.Seconds())
	res := &Result{
		Scenario: "churn",
		Params:   map[string]any{"rate": cfg.Rate, "duration_s": cfg.Churn.Seconds()},
		OpsUnit:  "connections",
		Expected: int64(total),
	}
	time.Sleep(cfg.Settle)
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return nil, err
	}
	ch := &churner{cfg: cfg, url: wsURL(cfg.URL), hist: new(histogram), deadline: time.Now().Add(cfg.Timeout)}
	ch.sem = make(chan struct{}, max(cfg.Concurrency, 1)*4)
	var samples [2]procSample
	var wall, scpu, ccpu float64
	for half, n := range []int{total / 2, total - total/2} {
		m, err := startMeter(cfg.PID)
		if err != nil {
			return nil, err
		}
		ch.run(ctx, n)
		w, s, c, err := m.stop()
		if err != nil {
			return nil, err
		}
		wall, scpu, ccpu = wall+w, scpu+s, ccpu+c
		time.Sleep(cfg.Settle)
		if samples[half], err = sampleProc(cfg.PID); err != nil {
			return nil, err
		}
	}
	mid, after := samples[0], samples[1]
	res.Ops = ch.ok.Load()
	res.Lost = ch.skipped
	res.Errors = ch.failed.Load()
	if e, _ := ch.firstErr.Load().(string); e != "" {
		res.Note("first failure: %s", e)
	}
	if ch.skipped > 0 {
		res.Note("%d connections skipped: more than %d in flight", ch.skipped, cap(ch.sem))
	}
	res.Finish(wall, scpu, ccpu)
	setLatency(res, ch.hist)
	res.RSSBeforeKB, res.RSSMidKB, res.RSSAfterKB = before.RSSKB, mid.RSSKB, after.RSSKB
	res.ThreadsBefore, res.ThreadsMid, res.ThreadsAfter = before.Threads, mid.Threads, after.Threads
	res.FDsBefore, res.FDsMid, res.FDsAfter = before.FDs, mid.FDs, after.FDs
	return res, nil
}

// churner opens short-lived connections at a steady rate.
type churner struct {
	cfg      config
	url      string
	sem      chan struct{} // bounds connections in flight
	deadline time.Time

	ok, failed atomic.Int64
	skipped    int64
	firstErr   atomic.Value
	histMu     sync.Mutex
	hist       *histogram
	seq        int
}

// run opens n connections at cfg.Rate per second and waits for them.
func (ch *churner) run(ctx context.Context, n int) {
	interval := time.Second / time.Duration(ch.cfg.Rate)
	clk := newClock()
	var wg sync.WaitGroup
	for i := range n {
		if d := time.Duration(i)*interval - time.Duration(clk.now()); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil || time.Now().After(ch.deadline) {
			ch.skipped += int64(n - i)
			break
		}
		select {
		case ch.sem <- struct{}{}:
		default:
			ch.skipped++ // the server is not keeping up
			continue
		}
		ch.seq++
		wg.Add(1)
		go func(polite bool) {
			defer wg.Done()
			defer func() { <-ch.sem }()
			t0 := clk.now()
			c, err := dialWS(ctx, ch.url, 512)
			if err == nil {
				if err = c.joinRoom("r"); err != nil {
					c.close()
				}
			}
			if err != nil {
				ch.failed.Add(1)
				ch.firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			ch.histMu.Lock()
			ch.hist.record(clk.now() - t0)
			ch.histMu.Unlock()
			if polite {
				c.disconnect()
			} else {
				c.close()
			}
			ch.ok.Add(1)
		}(ch.seq%2 == 0)
	}
	wg.Wait()
}

// dropWatch reads connections that are only held (answering pings) and
// counts those that end before stop.
type dropWatch struct {
	exited   sync.WaitGroup
	stopping atomic.Bool
	dropped  errCounter
}

func watchDrops(conns []*wsConn) *dropWatch {
	w := &dropWatch{}
	w.exited.Add(len(conns))
	for _, c := range conns {
		go func(c *wsConn) {
			defer w.exited.Done()
			for {
				if _, err := c.readPacket(); err != nil {
					if !w.stopping.Load() {
						w.dropped.add(err)
					}
					return
				}
			}
		}(c)
	}
	return w
}

// stop ends the watch: later drops are the closing, not failures.
func (w *dropWatch) stop(conns []*wsConn) {
	w.stopping.Store(true)
	closeAll(conns)
	w.exited.Wait()
}
