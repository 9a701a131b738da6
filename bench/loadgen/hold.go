package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/bench/internal/result"
)

// perProcess is how many connections one load generator process holds by
// default: a process's open files are limited (20,000 here, and the
// server needs its own), and so are one source address's ephemeral ports.
const perProcess = 9500

// holdRefAt is when, into the hold, the reference RSS is taken: the end of
// the hold is compared with it.
const holdRefAt = 60.0

// runHold opens Conns WebSocket connections, spread over Procs load
// generator processes: this one and Procs-1 children, each with its own
// open-file budget and, when the server is on an IPv4 loopback address,
// its own source address (127.0.0.2, …) and so its own ephemeral ports.
// The children connect first; when every connection is up, the hold
// begins: for Hold, the server's RSS, threads and open fds are sampled
// every Sample, and the first Members connections of this process, in
// room "h", get one broadcast per second from the first of them, counted
// like fanout's. Connections the server drops while held are counted.
func runHold(ctx context.Context, cfg config) (*Result, error) {
	if cfg.Conns < 1 || cfg.Hold <= 0 || cfg.Sample <= 0 {
		return nil, errors.New("hold needs conns >= 1, hold > 0 and sample > 0")
	}
	r := newHoldRun(cfg)
	defer r.killKids()
	time.Sleep(cfg.Settle)
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return nil, err
	}
	r.res.RSSBeforeKB, r.res.ThreadsBefore, r.res.FDsBefore = before.RSSKB, before.Threads, before.FDs
	if err := r.ramp(ctx); err != nil {
		return nil, err
	}
	r.startReaders()
	if err := r.hold(ctx); err != nil {
		r.stopping.Store(true)
		closeAll(r.room)
		closeAll(r.rest)
		return nil, err
	}
	r.release()
	r.count()
	return r.res, nil
}

// holdRun is one hold run: its connections (this process's: room, in the
// room that gets traffic, and rest; and the children's), and the counts.
type holdRun struct {
	cfg   config
	res   *Result
	h     *result.Hold
	procs int
	share func(i int) int // connections process i holds

	kids       []*holdChild
	room, rest []*wsConn
	clk        clock
	bound      int // broadcasts at most: one per second of the hold
	counters   []*seqCounter
	hists      []*histogram
	sent       int64
	exited     sync.WaitGroup
	stopping   atomic.Bool
	dropped    errCounter
}

func newHoldRun(cfg config) *holdRun {
	procs := cfg.Procs
	if procs <= 0 {
		procs = (cfg.Conns + perProcess - 1) / perProcess
	}
	procs = min(procs, cfg.Conns)
	r := &holdRun{cfg: cfg, procs: procs, clk: newClock(), bound: int(cfg.Hold/time.Second) + 2}
	r.share = func(i int) int {
		n := cfg.Conns / procs
		if i < cfg.Conns%procs {
			n++
		}
		return n
	}
	members := min(cfg.Members, r.share(0))
	r.h = &result.Hold{Procs: procs, Conns: cfg.Conns, RoomSize: members}
	r.res = &Result{
		Scenario: "hold",
		Params: map[string]any{"conns": cfg.Conns, "procs": procs, "hold_s": cfg.Hold.Seconds(),
			"sample_s": cfg.Sample.Seconds(), "members": members},
		OpsUnit:  "handshakes",
		Expected: int64(cfg.Conns),
		Hold:     r.h,
	}
	return r
}

func (r *holdRun) killKids() {
	for _, k := range r.kids {
		k.kill()
	}
}

// ramp connects everything: the children first, each its share, then
// this process's.
func (r *holdRun) ramp(ctx context.Context) error {
	h := r.h
	ramp, err := startMeter(r.cfg.PID)
	if err != nil {
		return err
	}
	for i := 1; i < r.procs; i++ {
		k, err := startHoldChild(r.cfg, r.share(i), childSource(r.cfg.URL, i))
		if err != nil {
			return fmt.Errorf("load generator child %d: %w", i, err)
		}
		r.kids = append(r.kids, k)
	}
	var firstErr string
	for i, k := range r.kids {
		if err := k.waitReady(r.cfg.Timeout); err != nil {
			return fmt.Errorf("load generator child %d: %w", i+1, err)
		}
		h.Established += k.ready.OK
		h.Failed += k.ready.Failed
		if firstErr == "" {
			firstErr = k.ready.FirstError
		}
	}
	var failedM, failedR int64
	var errM, errR error
	r.room, failedM, errM = connect(ctx, r.cfg, h.RoomSize, 1024, "h", true)
	r.rest, failedR, errR = connect(ctx, r.cfg, r.share(0)-h.RoomSize, 1024, "", true)
	for _, e := range []error{errM, errR} {
		if e != nil && firstErr == "" {
			firstErr = e.Error()
		}
	}
	h.Established += int64(len(r.room) + len(r.rest))
	h.Failed += failedM + failedR
	h.FirstError = firstErr
	wall, scpu, ccpu, err := ramp.stop()
	if err != nil {
		closeAll(r.room)
		closeAll(r.rest)
		return err
	}
	h.RampS = wall
	r.res.Ops = h.Established
	r.res.Finish(wall, scpu, ccpu)
	return nil
}

// startReaders has every connection read: answer pings, count the room's
// broadcasts, notice being dropped.
func (r *holdRun) startReaders() {
	r.counters = make([]*seqCounter, len(r.room))
	r.hists = make([]*histogram, len(r.room))
	for i, c := range r.room {
		r.counters[i], r.hists[i] = newSeqCounter(r.bound), new(histogram)
		r.exited.Add(1)
		go r.read(c, r.counters[i], r.hists[i])
	}
	for _, c := range r.rest {
		r.exited.Add(1)
		go r.read(c, nil, nil)
	}
}

// read reads c until it ends, counting broadcasts in cnt (nil: none).
func (r *holdRun) read(c *wsConn, cnt *seqCounter, hist *histogram) {
	defer r.exited.Done()
	for {
		pkt, err := c.readPacket()
		if err != nil {
			if !r.stopping.Load() {
				r.dropped.add(err)
			}
			return
		}
		if cnt == nil || len(pkt) == 0 || pkt[0] != '2' {
			continue
		}
		seq, ts, ok := extract(pkt)
		if !ok {
			cnt.bad++
			continue
		}
		hist.record(r.clk.now() - ts)
		cnt.add(seq)
	}
}

// hold holds the connections for Hold, sampling the server every Sample
// and broadcasting to the room once a second.
func (r *holdRun) hold(ctx context.Context) error {
	h, res := r.h, r.res
	meter, err := startMeter(r.cfg.PID)
	if err != nil {
		return err
	}
	sample := func() {
		s, err := sampleProc(r.cfg.PID)
		if err != nil {
			res.Note("sampling the server at %.0fs: %v", time.Since(meter.start).Seconds(), err)
			return
		}
		h.Samples = append(h.Samples, result.Sample{T: time.Since(meter.start).Seconds(), RSSKB: s.RSSKB, Threads: s.Threads, FDs: s.FDs})
	}
	sample()
	end := time.After(r.cfg.Hold)
	samples := time.NewTicker(r.cfg.Sample)
	beats := time.NewTicker(time.Second)
	tmpl := newPayloadTemplate(`42["bcast","h",`, `]`, r.cfg.Payload)
	var sendErr error
loop:
	for {
		select {
		case <-end:
			break loop
		case <-ctx.Done():
			res.Note("stopped early: %v", ctx.Err())
			break loop
		case <-samples.C:
			sample()
		case <-beats.C:
			if len(r.room) == 0 || sendErr != nil || r.sent >= int64(r.bound) {
				continue
			}
			if sendErr = r.room[0].writeText(tmpl.fill(r.sent, r.clk.now())); sendErr == nil {
				r.sent++
			}
		}
	}
	samples.Stop()
	beats.Stop()
	sample()
	_, h.ServerCPUS, _, _ = meter.stop()
	h.HoldS = time.Since(meter.start).Seconds()
	if sendErr != nil {
		res.Note("sender: %v", sendErr)
		res.Errors++
	}
	// The last broadcast's deliveries.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !allHave(r.counters, r.sent) {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// release has the children report and let go of theirs, then lets go of
// this process's connections.
func (r *holdRun) release() {
	r.stopping.Store(true)
	for i, k := range r.kids {
		out, err := k.finish(30 * time.Second)
		if err != nil {
			r.res.Note("load generator child %d: %v", i+1, err)
			r.res.Errors++
			continue
		}
		r.h.Dropped += out.Dropped
		if out.FirstDrop != "" {
			r.res.Note("child %d: %d connections dropped, the first: %s", i+1, out.Dropped, out.FirstDrop)
		}
	}
	r.kids = nil
	closeAll(r.room)
	closeAll(r.rest)
	r.exited.Wait()
	r.h.Dropped += r.dropped.count()
	r.dropped.report(r.res, "connections dropped while held")
}

// count fills the result from the room's counts and the samples.
func (r *holdRun) count() {
	h, res := r.h, r.res
	var t tally
	total := new(histogram)
	for i := range r.counters {
		r.counters[i].truncate(r.sent)
		t.add(r.counters[i])
		total.merge(r.hists[i])
	}
	h.Broadcasts, h.Deliveries = r.sent, t.Deliveries
	h.Lost, h.Duplicates, h.OutOfOrder = t.Lost, t.Duplicates, t.OutOfOrder
	setLatency(res, total)
	res.Lost = h.Failed + h.Lost
	res.Duplicates, res.OutOfOrder = h.Duplicates, h.OutOfOrder
	res.Errors += t.Bad
	if h.FirstError != "" {
		res.Note("%d connections failed, the first: %s", h.Failed, h.FirstError)
	}
	h.Summarize(holdRefAt)
	res.RSSMaxKB = h.RSSMaxKB
	if n := len(h.Samples); n > 0 {
		last := h.Samples[n-1]
		res.RSSAfterKB, res.ThreadsAfter, res.FDsAfter = last.RSSKB, last.Threads, last.FDs
	}
}

// allHave reports whether every counter has the first n numbers.
func allHave(cs []*seqCounter, n int64) bool {
	for _, c := range cs {
		if c.unique.Load() < n {
			return false
		}
	}
	return true
}

// childSource is the source address for child i (1, 2, …): 127.0.0.1+i
// when the server is on an IPv4 loopback address, else the kernel's choice.
func childSource(base string, i int) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(u.Hostname()).To4()
	if ip == nil || !ip.IsLoopback() || i > 250 {
		return ""
	}
	return fmt.Sprintf("127.0.0.%d", 1+i)
}

// holdReady is a child's first line: its connections are up.
type holdReady struct {
	OK         int64  `json:"ok"`
	Failed     int64  `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
}

// holdDone is a child's last line, once its standard input has closed.
type holdDone struct {
	Dropped   int64  `json:"dropped"`
	FirstDrop string `json:"first_drop,omitempty"`
}

// holdChild is a child load generator process holding connections.
type holdChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	ready holdReady
	done  chan error
}

func startHoldChild(cfg config, conns int, source string) (*holdChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-scenario", "hold", "-child", "-url", cfg.URL, "-conns", strconv.Itoa(conns),
		"-concurrency", strconv.Itoa(cfg.Concurrency), "-timeout", cfg.Timeout.String(), "-hold", cfg.Hold.String()}
	if source != "" {
		args = append(args, "-source", source)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	k := &holdChild{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), done: make(chan error, 1)}
	return k, nil
}

// line reads the child's next output line into v, within timeout.
func (k *holdChild) line(v any, timeout time.Duration) error {
	got := make(chan error, 1)
	go func() {
		if !k.out.Scan() {
			err := k.out.Err()
			if err == nil {
				err = errors.New("exited without reporting")
			}
			got <- err
			return
		}
		got <- json.Unmarshal(k.out.Bytes(), v)
	}()
	select {
	case err := <-got:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer in %v", timeout)
	}
}

func (k *holdChild) waitReady(timeout time.Duration) error {
	return k.line(&k.ready, timeout)
}

// finish closes the child's standard input, which makes it report and
// close its connections, and waits for it.
func (k *holdChild) finish(timeout time.Duration) (holdDone, error) {
	var d holdDone
	_ = k.stdin.Close()
	err := k.line(&d, timeout)
	if werr := k.wait(timeout); err == nil {
		err = werr
	}
	return d, err
}

func (k *holdChild) wait(timeout time.Duration) error {
	go func() { k.done <- k.cmd.Wait() }()
	select {
	case err := <-k.done:
		return err
	case <-time.After(timeout):
		_ = k.cmd.Process.Kill()
		return fmt.Errorf("did not exit in %v", timeout)
	}
}

// kill ends a child that was not finished (on an error path).
func (k *holdChild) kill() {
	_ = k.stdin.Close()
	_ = k.cmd.Process.Kill()
	_ = k.cmd.Wait()
}

// runHoldChild is a child's side of runHold: connect Conns clients, report
// (one JSON line), hold them, reading, until standard input closes (or the
// hold plus Timeout has passed), then report the drops and close them.
func runHoldChild(ctx context.Context, cfg config) error {
	conns, failed, err := connect(ctx, cfg, cfg.Conns, 1024, "", true)
	w := watchDrops(conns)
	ready := holdReady{OK: int64(len(conns)), Failed: failed}
	if err != nil {
		ready.FirstError = err.Error()
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(ready); err != nil {
		closeAll(conns)
		return err
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	w.stopping.Store(true)
	done := holdDone{Dropped: w.dropped.count()}
	if msg, _ := w.dropped.first.Load().(string); msg != "" {
		done.FirstDrop = msg
	}
	w.stop(conns)
	return enc.Encode(done)
}
