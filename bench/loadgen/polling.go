package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pollClient is a Socket.IO client that stays on HTTP long-polling.
type pollClient struct {
	hc   *http.Client
	url  string // with sid
	body bytes.Buffer
}

const recordSep = 0x1e

// dialPolling runs the Engine.IO handshake over polling and connects to "/".
func dialPolling(ctx context.Context, hc *http.Client, base string) (*pollClient, error) {
	u := strings.TrimSuffix(base, "/") + "/socket.io/?EIO=4&transport=polling"
	p := &pollClient{hc: hc}
	body, err := p.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if len(body) == 0 || body[0] != '0' {
		return nil, fmt.Errorf("handshake: expected an open packet, got %q", body)
	}
	sid, ok := stringField(body, `"sid":"`)
	if !ok {
		return nil, fmt.Errorf("handshake: no sid in %q", body)
	}
	p.url = u + "&sid=" + sid
	if err := p.post(ctx, []byte("40")); err != nil {
		return nil, fmt.Errorf("CONNECT: %w", err)
	}
	for {
		pkts, err := p.poll(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for CONNECT: %w", err)
		}
		for _, pkt := range pkts {
			if len(pkt) > 0 && pkt[0] == '0' {
				return p, nil
			}
		}
	}
}

func stringField(b []byte, key string) (string, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

func (p *pollClient) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p.body.Reset()
	if _, err := p.body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: %s: %q", resp.Status, p.body.Bytes())
	}
	return p.body.Bytes(), nil
}

func (p *pollClient) post(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: %s", resp.Status)
	}
	return nil
}

// poll runs one GET and returns its Socket.IO packets (Engine.IO messages
// without the '4'), answering pings. The slices are valid until the next
// request.
func (p *pollClient) poll(ctx context.Context) ([][]byte, error) {
	body, err := p.get(ctx, p.url)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(body) > 0 {
		rec := body
		if i := bytes.IndexByte(body, recordSep); i >= 0 {
			rec, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(rec) == 0 {
			continue
		}
		switch rec[0] {
		case '4':
			out = append(out, rec[1:])
		case '2':
			if err := p.post(ctx, []byte("3")); err != nil {
				return nil, err
			}
		case '1':
			return nil, errServerClosed
		}
	}
	return out, nil
}

func (p *pollClient) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = p.post(ctx, []byte("41\x1e1"))
}

// runPolling: M long-polling clients, each emitting echo and polling for
// the answer, Rounds times. A message is one echo round trip (a POST and
// the GET that brings the answer).
func runPolling(ctx context.Context, cfg config) (*Result, error) {
	if cfg.M < 1 || cfg.Rounds < 1 {
		return nil, errors.New("polling needs m, rounds >= 1")
	}
	res := &Result{
		Scenario: "polling",
		Params:   map[string]any{"m": cfg.M, "rounds": cfg.Rounds, "payload": cfg.Payload},
		OpsUnit:  "messages",
		Expected: int64(cfg.M) * int64(cfg.Rounds),
	}
	// One HTTP client per source address (-source), each with its own
	// pool of connections bound to it.
	var hcs []*http.Client
	for _, src := range strings.Split(cfg.Source, ",") {
		tr := &http.Transport{
			MaxIdleConns:        4 * cfg.M,
			MaxIdleConnsPerHost: 4 * cfg.M,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}
		if src != "" {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Control: bindNoPort}
			tr.DialContext = d.DialContext
		}
		defer tr.CloseIdleConnections()
		hcs = append(hcs, &http.Client{Transport: tr, Timeout: 60 * time.Second})
	}
	clients, err := dialPollingClients(ctx, hcs, cfg)
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &pollingRun{ctx: runCtx, cfg: cfg, clk: newClock(), start: make(chan struct{}),
		hists: make([]*histogram, len(clients)), done: make([]atomic.Int64, len(clients))}
	m, err := startClusterMeter(cfg)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		r.hists[i] = new(histogram)
		wg.Go(func() { r.echoes(c, r.hists[i], &r.done[i]) })
	}
	close(r.start)
	wg.Wait()
	wall, scpu, ccpu, err := m.stop()
	for _, c := range clients {
		c.close(ctx)
	}
	r.count(res)
	res.Finish(wall, scpu, ccpu)
	m.setInfra(res)
	return res, err
}

// dialPollingClients connects cfg.M polling clients, cfg.Concurrency at a
// time, client i with hcs[i mod len]; it fails if any client does.
func dialPollingClients(ctx context.Context, hcs []*http.Client, cfg config) ([]*pollClient, error) {
	clients := make([]*pollClient, cfg.M)
	var (
		wg      sync.WaitGroup
		errMu   sync.Mutex
		connErr error
	)
	sem := make(chan struct{}, max(cfg.Concurrency, 1))
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialPolling(ctx, hcs[i%len(hcs)], cfg.URL)
			if err != nil {
				errMu.Lock()
				connErr = cmpErr(connErr, fmt.Errorf("client %d: %w", i, err))
				errMu.Unlock()
				return
			}
			clients[i] = c
		}(i)
	}
	wg.Wait()
	if connErr != nil {
		return nil, connErr
	}
	return clients, nil
}

// pollingRun is the measured phase of the polling scenario, shared by its
// clients.
type pollingRun struct {
	ctx      context.Context // ends the run at cfg.Timeout
	cfg      config
	clk      clock
	start    chan struct{} // closed when the clients may start
	hists    []*histogram  // per client: the round trips' latencies
	done     []atomic.Int64
	mismatch atomic.Int64 // answers that were not to the last echo
	reqErrs  errCounter
}

// count sets the run's counts and latencies in res.
func (r *pollingRun) count(res *Result) {
	total := new(histogram)
	for i, h := range r.hists {
		total.merge(h)
		res.Ops += r.done[i].Load()
	}
	res.Lost = res.Expected - res.Ops
	res.OutOfOrder = r.mismatch.Load()
	r.reqErrs.report(res, "requests failed")
	if r.ctx.Err() != nil {
		res.Note("timed out")
	}
	setLatency(res, total)
}

// echoes runs one client's round trips, recording each one's latency in h
// and counting it in n.
func (r *pollingRun) echoes(c *pollClient, h *histogram, n *atomic.Int64) {
	tmpl := newPayloadTemplate(`42["echo",`, `]`, r.cfg.Payload)
	<-r.start
	for seq := range int64(r.cfg.Rounds) {
		if seq > 0 {
			time.Sleep(r.cfg.Pace)
		}
		if err := c.post(r.ctx, tmpl.fill(seq, r.clk.now())); err != nil {
			r.reqErrs.add(err)
			return
		}
		if err := r.awaitAnswer(c, seq, h, n); err != nil {
			r.reqErrs.add(err)
			return
		}
	}
}

// awaitAnswer polls until the answer to echo seq arrives.
func (r *pollingRun) awaitAnswer(c *pollClient, seq int64, h *histogram, n *atomic.Int64) error {
	for got := false; !got; {
		pkts, err := c.poll(r.ctx)
		if err != nil {
			return err
		}
		for _, pkt := range pkts {
			if len(pkt) == 0 || pkt[0] != '2' {
				continue
			}
			s, ts, ok := extract(pkt)
			if !ok || s != seq {
				r.mismatch.Add(1)
				continue
			}
			h.record(r.clk.now() - ts)
			n.Add(1)
			got = true
		}
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
