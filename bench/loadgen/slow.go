package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Slow clients never read their socket, so they cannot see the server
// close it: the server's FIN waits behind the data the client has not read.
// The kernel knows, though: the server's end of the connection leaves
// ESTABLISHED as soon as the server closes it, and /proc/net/tcp (this
// machine's network namespace, both ends on loopback) shows it.

// tcpEstablished is TCP_ESTABLISHED in /proc/net/tcp's st column.
const tcpEstablished = 0x01

// procNetAddr formats an address as /proc/net/tcp{,6} prints it: the
// address's 32-bit words in native byte order, as hex, then the port.
func procNetAddr(a *net.TCPAddr) (string, bool) {
	var b bytes.Buffer
	if ip4 := a.IP.To4(); ip4 != nil {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(ip4))
	} else if ip16 := a.IP.To16(); ip16 != nil {
		for i := 0; i < 16; i += 4 {
			fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(ip16[i:i+4]))
		}
	} else {
		return "", false
	}
	fmt.Fprintf(&b, ":%04X", a.Port)
	return b.String(), true
}

// tcpStates reads the state of the sockets in want ("LOCAL REMOTE" as
// /proc/net/tcp prints them) from a /proc/net/tcp listing; sockets not
// listed are absent from the result.
func tcpStates(listing []byte, want map[string]int) map[string]int {
	out := make(map[string]int, len(want))
	sc := bufio.NewScanner(bytes.NewReader(listing))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) < 4 {
			continue
		}
		key := string(f[1]) + " " + string(f[2])
		if _, ok := want[key]; !ok {
			continue
		}
		var st int
		if _, err := fmt.Sscanf(string(f[3]), "%X", &st); err == nil {
			out[key] = st
		}
	}
	return out
}

// closeWatcher notices the server closing its end of some connections.
type closeWatcher struct {
	file string
	keys []string // the server's end of each connection, "LOCAL REMOTE"
	want map[string]int

	mu       sync.Mutex
	closed   []time.Time
	sentThen []int64
}

func newCloseWatcher(conns []*wsConn) (*closeWatcher, error) {
	w := &closeWatcher{file: "/proc/net/tcp", want: map[string]int{}}
	for i, c := range conns {
		srv, ok1 := c.c.RemoteAddr().(*net.TCPAddr)
		cli, ok2 := c.c.LocalAddr().(*net.TCPAddr)
		if !ok1 || !ok2 {
			return nil, errors.New("not a TCP connection")
		}
		if srv.IP.To4() == nil {
			w.file = "/proc/net/tcp6"
		}
		l, ok1 := procNetAddr(srv)
		r, ok2 := procNetAddr(cli)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected address %v", srv)
		}
		key := l + " " + r
		w.keys = append(w.keys, key)
		w.want[key] = i
	}
	w.closed = make([]time.Time, len(conns))
	w.sentThen = make([]int64, len(conns))
	// Every connection must be seen established now, or the listing is
	// not what this code expects.
	b, err := os.ReadFile(w.file)
	if err != nil {
		return nil, err
	}
	st := tcpStates(b, w.want)
	for _, k := range w.keys {
		if st[k] != tcpEstablished {
			return nil, fmt.Errorf("%s does not list %s as established", w.file, k)
		}
	}
	return w, nil
}

// poll reads the listing once and records, for each connection newly seen
// closed (not established, or gone), the time and sent. It returns how many
// are still open.
func (w *closeWatcher) poll(now time.Time, sent int64) (int, error) {
	b, err := os.ReadFile(w.file)
	if err != nil {
		return 0, err
	}
	st := tcpStates(b, w.want)
	w.mu.Lock()
	defer w.mu.Unlock()
	open := 0
	for i, k := range w.keys {
		if !w.closed[i].IsZero() {
			continue
		}
		if st[k] == tcpEstablished {
			open++
			continue
		}
		w.closed[i], w.sentThen[i] = now, sent
	}
	return open, nil
}

// closedAt returns when connection i was seen closed and how many
// broadcasts had been sent by then. A nil watcher has seen nothing.
func (w *closeWatcher) closedAt(i int) (time.Time, int64, bool) {
	if w == nil {
		return time.Time{}, 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed[i], w.sentThen[i], !w.closed[i].IsZero()
}

// monitor samples the server's RSS and polls a closeWatcher at an interval
// until stopped.
type monitor struct {
	quit   chan struct{}
	done   chan struct{}
	maxKB  atomic.Int64
	pid    int
	watch  *closeWatcher
	sent   *atomic.Int64
	start  time.Time
	period time.Duration
}

func startMonitor(pid int, watch *closeWatcher, start time.Time, sent *atomic.Int64, period time.Duration) *monitor {
	m := &monitor{quit: make(chan struct{}), done: make(chan struct{}), pid: pid, watch: watch, sent: sent, start: start, period: period}
	go m.run()
	return m
}

func (m *monitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.period)
	defer t.Stop()
	watching := m.watch != nil
	for {
		m.tick(&watching)
		select {
		case <-m.quit:
			m.tick(&watching)
			return
		case <-t.C:
		}
	}
}

func (m *monitor) tick(watching *bool) {
	if m.pid != 0 {
		if s, err := rssKB(m.pid); err == nil && s > m.maxKB.Load() {
			m.maxKB.Store(s)
		}
	}
	if *watching {
		if open, err := m.watch.poll(time.Now(), m.sent.Load()); err != nil || open == 0 {
			*watching = false
		}
	}
}

func (m *monitor) stop() {
	close(m.quit)
	<-m.done
}

func (m *monitor) maxRSS() int64 { return m.maxKB.Load() }

// rssKB reads only VmRSS, cheaply enough to sample often.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.Index(b, []byte("VmRSS:"))
	if i < 0 {
		return 0, errors.New("no VmRSS")
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b[i+len("VmRSS:"):]), "%d", &kb); err != nil {
		return 0, err
	}
	return kb, nil
}

// drainFor bounds how long the slow clients read after a run: what is
// left in their sockets takes milliseconds, so a client still reading then
// is still connected.
var drainFor = 3 * time.Second

// drainResult is what a slow client found in its socket after the run.
type drainResult struct {
	events  int64 // EVENT packets (broadcasts) read
	lastSeq int64 // the last one's sequence number, -1 if none
	lastTS  int64 // and its send timestamp
	closed  bool  // the stream ended: the server had closed the connection
}

// drainAll reads what is waiting in each connection, for at most timeout:
// the stream ending means the server closed the connection; still open
// after timeout means it did not.
func drainAll(conns []*wsConn, timeout time.Duration) []drainResult {
	out := make([]drainResult, len(conns))
	var wg sync.WaitGroup
	deadline := time.Now().Add(timeout)
	for i, c := range conns {
		wg.Add(1)
		go func(d *drainResult, c *wsConn) {
			defer wg.Done()
			d.lastSeq = -1
			_ = c.c.SetReadDeadline(deadline)
			for {
				pkt, err := c.readPacket()
				if err != nil {
					var ne net.Error
					d.closed = !(errors.As(err, &ne) && ne.Timeout())
					return
				}
				if len(pkt) > 0 && pkt[0] == '2' {
					d.events++
					if seq, ts, ok := extract(pkt); ok {
						d.lastSeq, d.lastTS = seq, ts
					}
				}
			}
		}(&out[i], c)
	}
	wg.Wait()
	return out
}
