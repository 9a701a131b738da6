package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// runFanout: N clients in room "r"; client 0 also sends K broadcasts, at
// most W of them in flight, and stops early when SendFor has passed.
//
// With Slow > 0, the last Slow clients form the slow group: they connect
// and join like the others, then (unless SlowRead) never read their socket
// again, keeping their TCP connection open. Deliveries, latency and the
// lost/duplicate/out-of-order counts are then those of the other N-Slow
// clients; the server's RSS is sampled throughout, and the server closing
// a slow client's connection is noticed in /proc/net/tcp and timed. After
// the run the slow group reads what is left for it (end of stream: the
// server had closed it). SlowRead is the baseline: the same clients read
// like the others but are still left out of the counts.
func runFanout(ctx context.Context, cfg config) (*Result, error) {
	f, err := newFanout(ctx, cfg)
	if err != nil {
		return nil, err
	}
	f.startReaders()
	before, err := sampleProc(cfg.PID)
	if err != nil {
		closeAll(f.conns)
		return nil, err
	}
	m, err := startClusterMeter(cfg)
	if err != nil {
		closeAll(f.conns)
		return nil, err
	}
	startTS := f.clk.now()
	// With a slow group, watch the server: its memory, and whether it
	// closes the slow clients.
	var mon *monitor
	if cfg.Slow > 0 {
		mon = startMonitor(cfg.PID, f.watch, m.start, &f.sent, 250*time.Millisecond)
	}
	abort := make(chan struct{})
	sendErr := make(chan error, 1)
	go func() { sendErr <- f.send(m.start, abort) }()

	finished := f.wait(ctx)
	wall, scpu, ccpu, err := m.stop()
	if !finished {
		f.res.Note("gave up waiting: not every broadcast reached every client")
	}
	close(abort)
	if err := <-sendErr; err != nil {
		f.res.Errors++
		f.res.Note("sender: %v", err)
	}
	// Let late duplicates show up, then stop the readers and count.
	time.Sleep(200 * time.Millisecond)
	var after procSample
	if mon != nil {
		// The server's memory with the slow clients still connected.
		time.Sleep(cfg.Settle)
		after, _ = sampleProc(cfg.PID)
		mon.stop()
	}
	f.stopReaders()
	f.count()
	f.res.Finish(wall, scpu, ccpu)
	m.setInfra(f.res)
	if cfg.Slow > 0 {
		f.reportSlow(before, after, mon, m.start, startTS)
	}
	return f.res, err
}

// fanout is one fanout run: its clients, the per-client counts its
// readers keep, and the sender's window.
type fanout struct {
	cfg   config
	res   *Result
	clk   clock
	conns []*wsConn
	nFast int           // conns[:nFast] are counted; the rest is the slow group
	watch *closeWatcher // the slow group's TCP state (nil: not watched)

	counters []*seqCounter
	hists    []*histogram
	tokens   chan struct{} // the sender's window: W broadcasts in flight

	complete sync.WaitGroup // fast receivers that have everything
	allDone  chan struct{}  // closed when complete is done
	exited   sync.WaitGroup // reader goroutines
	stopping atomic.Bool
	readErrs errCounter
	target   atomic.Int64 // broadcasts each fast client must get
	sent     atomic.Int64
}

// newFanout checks the parameters, connects the clients and joins them to
// room "r".
func newFanout(ctx context.Context, cfg config) (*fanout, error) {
	if cfg.N < 1 || cfg.K < 1 || cfg.W < 1 {
		return nil, errors.New("fanout needs n, k, w >= 1")
	}
	if cfg.Slow < 0 || cfg.Slow >= cfg.N {
		return nil, errors.New("fanout needs 0 <= slow < n")
	}
	f := &fanout{cfg: cfg, nFast: cfg.N - cfg.Slow, clk: newClock(), allDone: make(chan struct{})}
	f.res = &Result{
		Scenario: "fanout",
		Params:   map[string]any{"n": cfg.N, "k": cfg.K, "w": cfg.W, "payload": cfg.Payload},
		OpsUnit:  "deliveries",
		Expected: int64(f.nFast) * int64(cfg.K),
	}
	if cfg.Slow > 0 {
		f.res.Params["slow"] = cfg.Slow
		f.res.Params["slow_reading"] = cfg.SlowRead
	}
	if cfg.SendFor > 0 {
		f.res.Params["send_for_s"] = cfg.SendFor.Seconds()
	}
	var err error
	if f.conns, _, err = connectMany(ctx, cfg, cfg.N, 4096, "r", false); err != nil {
		return nil, err
	}
	if slow := f.conns[f.nFast:]; len(slow) > 0 && !cfg.SlowRead {
		if f.watch, err = newCloseWatcher(slow); err != nil {
			f.res.Note("the slow clients' TCP state cannot be watched: %v", err)
			f.watch = nil
		}
	}
	f.tokens = make(chan struct{}, cfg.W)
	for range cfg.W {
		f.tokens <- struct{}{}
	}
	f.target.Store(int64(cfg.K))
	return f, nil
}

// finishOne marks a fast client as having every broadcast.
func (f *fanout) finishOne(cnt *seqCounter) {
	if cnt.done.CompareAndSwap(false, true) {
		f.complete.Done()
	}
}

// startReaders starts a reader for every client but the slow group's
// (unless it reads, as a baseline).
func (f *fanout) startReaders() {
	f.counters = make([]*seqCounter, len(f.conns))
	f.hists = make([]*histogram, len(f.conns))
	f.complete.Add(f.nFast)
	for i, c := range f.conns {
		f.counters[i] = newSeqCounter(f.cfg.K)
		f.hists[i] = new(histogram)
		if i >= f.nFast && !f.cfg.SlowRead {
			continue // never read again
		}
		f.exited.Add(1)
		go f.read(i, c)
	}
	go func() { f.complete.Wait(); close(f.allDone) }()
}

// read counts client i's broadcasts until the connection ends.
func (f *fanout) read(i int, c *wsConn) {
	defer f.exited.Done()
	cnt, h := f.counters[i], f.hists[i]
	isFast := i < f.nFast
	if isFast {
		defer f.finishOne(cnt)
	}
	for {
		pkt, err := c.readPacket()
		if err != nil {
			if !f.stopping.Load() {
				f.readErrs.add(fmt.Errorf("client %d: %w", i, err))
			}
			return
		}
		if len(pkt) == 0 || pkt[0] != '2' { // EVENT
			continue
		}
		seq, ts, ok := extract(pkt)
		if !ok {
			cnt.bad++
			continue
		}
		h.record(f.clk.now() - ts)
		if cnt.add(seq) && i == 0 {
			select { // the sender's own copy closes the window slot
			case f.tokens <- struct{}{}:
			default:
			}
		}
		if isFast && cnt.unique.Load() >= f.target.Load() {
			f.finishOne(cnt)
		}
	}
}

// send broadcasts from client 0, within the window and the pace, until K
// are sent, SendFor has passed or abort is closed.
func (f *fanout) send(start time.Time, abort <-chan struct{}) error {
	tmpl := newPayloadTemplate(`42["bcast","r",`, `]`, f.cfg.Payload)
	sender := f.conns[0]
	for seq := range int64(f.cfg.K) {
		select {
		case <-f.tokens:
		case <-abort:
			return nil
		}
		if f.cfg.SendFor > 0 && time.Since(start) >= f.cfg.SendFor {
			break
		}
		if d := time.Duration(seq)*f.cfg.Pace - time.Since(start); d > 0 {
			time.Sleep(d)
		}
		if err := sender.writeText(tmpl.fill(seq, f.clk.now())); err != nil {
			return err
		}
		f.sent.Store(seq + 1)
	}
	if n := f.sent.Load(); n < int64(f.cfg.K) {
		// Stopped early: the fast clients are done when they have what
		// was sent.
		f.target.Store(n)
		for _, cnt := range f.counters[:f.nFast] {
			if cnt.unique.Load() >= n {
				f.finishOne(cnt)
			}
		}
	}
	return nil
}

// wait waits until every fast client has every broadcast, giving up on a
// stall or the timeout; it reports whether they all did.
func (f *fanout) wait(ctx context.Context) bool {
	progress := func() int64 {
		var n int64
		for _, c := range f.counters[:f.nFast] {
			n += c.unique.Load()
		}
		return n
	}
	// A slow client may hold a server up for a while (a write timeout):
	// wait longer before calling it a stall.
	stall := 10 * time.Second
	if f.cfg.Slow > 0 && !f.cfg.SlowRead {
		stall = 30 * time.Second
	}
	return progressWatch(ctx, f.allDone, progress, stall, f.cfg.Timeout+f.cfg.SendFor)
}

// stopReaders closes the clients that are read and waits for their
// readers.
func (f *fanout) stopReaders() {
	f.stopping.Store(true)
	closeAll(f.conns[:f.nFast])
	if f.cfg.SlowRead {
		closeAll(f.conns[f.nFast:])
	}
	f.exited.Wait()
}

// count fills the result's deliveries, losses and latency from the fast
// clients' counts.
func (f *fanout) count() {
	nSent := f.sent.Load()
	var t tally
	total := new(histogram)
	for i := range f.conns[:f.nFast] {
		f.counters[i].truncate(nSent)
		t.add(f.counters[i])
		total.merge(f.hists[i])
	}
	r := f.res
	r.Expected = int64(f.nFast) * nSent
	r.Ops = t.Deliveries
	r.Lost, r.Duplicates, r.OutOfOrder = t.Lost, t.Duplicates, t.OutOfOrder
	r.Errors += t.Bad
	f.readErrs.report(r, "clients lost their connection")
	setLatency(r, total)
}

// reportSlow describes the slow group: the server's memory, and when and
// how each slow client was closed (drained of what was left for it first).
func (f *fanout) reportSlow(before, after procSample, mon *monitor, start time.Time, startTS int64) {
	r := f.res
	r.RSSBeforeKB, r.RSSAfterKB = before.RSSKB, after.RSSKB
	r.ThreadsBefore, r.ThreadsAfter = before.Threads, after.Threads
	r.FDsBefore, r.FDsAfter = before.FDs, after.FDs
	r.RSSMaxKB = max(mon.maxRSS(), after.RSSKB)
	relay := newPayloadTemplate(`42["msg",`, `]`, f.cfg.Payload)
	slow := f.conns[f.nFast:]
	sr := &result.Slow{
		Clients:       f.cfg.Slow,
		Reading:       f.cfg.SlowRead,
		FastClients:   f.nFast,
		Broadcasts:    f.sent.Load(),
		FrameBytes:    len(relay.buf) + 2, // + the WebSocket header
		PingDeadlineS: f.conns[0].pingDeadline.Seconds(),
	}
	var drained []drainResult
	if !f.cfg.SlowRead {
		drained = drainAll(slow, drainFor)
	}
	for j, c := range slow {
		sc := result.SlowClient{LastSeq: -1}
		if f.cfg.SlowRead {
			sc.Received = f.counters[f.nFast+j].unique.Load()
		} else {
			d := drained[j]
			sc.Received = d.events
			if d.lastSeq >= 0 {
				sc.LastSeq = d.lastSeq
				sc.LastSentAtS = time.Duration(d.lastTS - startTS).Seconds()
				sc.LastSentAfterConnS = f.clk.base.Add(time.Duration(d.lastTS)).Sub(c.opened).Seconds()
			}
			if at, n, ok := f.watch.closedAt(j); ok {
				sc.Closed, sc.Seen = true, "tcp"
				sc.ClosedAfterS = at.Sub(start).Seconds()
				sc.ClosedAfterConnS = at.Sub(c.opened).Seconds()
				sc.SentBeforeClose = n
			} else if d.closed {
				sc.Closed, sc.Seen = true, "eof"
			}
			c.close()
		}
		if sc.Closed {
			sr.Closed++
		}
		sr.DrainedMessages += sc.Received
		sr.PerClient = append(sr.PerClient, sc)
	}
	r.Slow = sr
}
