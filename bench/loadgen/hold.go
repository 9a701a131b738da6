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
	procs := cfg.Procs
	if procs <= 0 {
		procs = (cfg.Conns + perProcess - 1) / perProcess
	}
	procs = min(procs, cfg.Conns)
	share := func(i int) int {
		n := cfg.Conns / procs
		if i < cfg.Conns%procs {
			n++
		}
		return n
	}
	mine := share(0)
	members := min(cfg.Members, mine)
	h := &result.Hold{Procs: procs, Conns: cfg.Conns, RoomSize: members}
	res := &Result{
		Scenario: "hold",
		Params: map[string]any{"conns": cfg.Conns, "procs": procs, "hold_s": cfg.Hold.Seconds(),
			"sample_s": cfg.Sample.Seconds(), "members": members},
		OpsUnit:  "handshakes",
		Expected: int64(cfg.Conns),
		Hold:     h,
	}
	time.Sleep(cfg.Settle)
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return nil, err
	}
	res.RSSBeforeKB, res.ThreadsBefore, res.FDsBefore = before.RSSKB, before.Threads, before.FDs

	// The ramp: children first, each connecting its share, then ours.
	ramp, err := startMeter(cfg.PID)
	if err != nil {
		return nil, err
	}
	var kids []*holdChild
	defer func() {
		for _, k := range kids {
			k.kill()
		}
	}()
	for i := 1; i < procs; i++ {
		k, err := startHoldChild(cfg, share(i), childSource(cfg.URL, i))
		if err != nil {
			return nil, fmt.Errorf("load generator child %d: %w", i, err)
		}
		kids = append(kids, k)
	}
	var firstErr string
	for i, k := range kids {
		if err := k.waitReady(cfg.Timeout); err != nil {
			return nil, fmt.Errorf("load generator child %d: %w", i+1, err)
		}
		h.Established += k.ready.OK
		h.Failed += k.ready.Failed
		if firstErr == "" {
			firstErr = k.ready.FirstError
		}
	}
	room, failedM, errM := connect(ctx, cfg, members, 1024, "h", true)
	rest, failedR, errR := connect(ctx, cfg, mine-members, 1024, "", true)
	for _, e := range []error{errM, errR} {
		if e != nil && firstErr == "" {
			firstErr = e.Error()
		}
	}
	h.Established += int64(len(room) + len(rest))
	h.Failed += failedM + failedR
	h.FirstError = firstErr
	wall, scpu, ccpu, err := ramp.stop()
	if err != nil {
		closeAll(room)
		closeAll(rest)
		return nil, err
	}
	h.RampS = wall
	res.Ops = h.Established
	res.Finish(wall, scpu, ccpu)

	// Every connection reads: answers pings, counts broadcasts, notices
	// being dropped.
	clk := newClock()
	bound := int(cfg.Hold/time.Second) + 2
	counters := make([]*seqCounter, len(room))
	hists := make([]*histogram, len(room))
	var (
		exited   sync.WaitGroup
		stopping atomic.Bool
		dropped  errCounter
	)
	read := func(c *wsConn, cnt *seqCounter, hist *histogram) {
		defer exited.Done()
		for {
			pkt, err := c.readPacket()
			if err != nil {
				if !stopping.Load() {
					dropped.add(err)
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
			hist.record(clk.now() - ts)
			cnt.add(seq)
		}
	}
	for i, c := range room {
		counters[i], hists[i] = newSeqCounter(bound), new(histogram)
		exited.Add(1)
		go read(c, counters[i], hists[i])
	}
	for _, c := range rest {
		exited.Add(1)
		go read(c, nil, nil)
	}

	// The hold.
	hold, err := startMeter(cfg.PID)
	if err != nil {
		stopping.Store(true)
		closeAll(room)
		closeAll(rest)
		return nil, err
	}
	sample := func() {
		s, err := sampleProc(cfg.PID)
		if err != nil {
			res.Note("sampling the server at %.0fs: %v", time.Since(hold.start).Seconds(), err)
			return
		}
		h.Samples = append(h.Samples, result.Sample{T: time.Since(hold.start).Seconds(), RSSKB: s.RSSKB, Threads: s.Threads, FDs: s.FDs})
	}
	sample()
	end := time.After(cfg.Hold)
	samples := time.NewTicker(cfg.Sample)
	beats := time.NewTicker(time.Second)
	tmpl := newPayloadTemplate(`42["bcast","h",`, `]`, cfg.Payload)
	var sent int64
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
			if len(room) == 0 || sendErr != nil || sent >= int64(bound) {
				continue
			}
			if sendErr = room[0].writeText(tmpl.fill(sent, clk.now())); sendErr == nil {
				sent++
			}
		}
	}
	samples.Stop()
	beats.Stop()
	sample()
	_, h.ServerCPUS, _, _ = hold.stop()
	h.HoldS = time.Since(hold.start).Seconds()
	if sendErr != nil {
		res.Note("sender: %v", sendErr)
		res.Errors++
	}
	// The last broadcast's deliveries.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !allHave(counters, sent) {
		time.Sleep(20 * time.Millisecond)
	}
	stopping.Store(true)

	// The children report and let go; then ours.
	for i, k := range kids {
		out, err := k.finish(30 * time.Second)
		if err != nil {
			res.Note("load generator child %d: %v", i+1, err)
			res.Errors++
			continue
		}
		h.Dropped += out.Dropped
		if out.FirstDrop != "" {
			res.Note("child %d: %d connections dropped, the first: %s", i+1, out.Dropped, out.FirstDrop)
		}
	}
	kids = nil
	closeAll(room)
	closeAll(rest)
	exited.Wait()
	h.Dropped += dropped.count()
	dropped.report(res, "connections dropped while held")

	var t tally
	total := new(histogram)
	for i := range counters {
		counters[i].truncate(sent)
		t.add(counters[i])
		total.merge(hists[i])
	}
	h.Broadcasts, h.Deliveries = sent, t.Deliveries
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
	return res, nil
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
