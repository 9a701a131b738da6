package main

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"
)

// Run as the loadgen command itself when asked: the hold scenario starts
// children from its own executable, which in a test is the test binary.
func TestMain(m *testing.M) {
	if os.Getenv("LOADGEN_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSeqCounterTruncate(t *testing.T) {
	c := newSeqCounter(100)
	for s := int64(0); s < 30; s++ {
		if s != 7 {
			c.add(s)
		}
	}
	c.truncate(30) // the sender stopped after 30
	if c.lost() != 1 || c.complete() {
		t.Errorf("after truncate(30): lost %d, complete %v; want 1, false", c.lost(), c.complete())
	}
	c.add(7)
	if c.lost() != 0 || !c.complete() {
		t.Errorf("lost %d, complete %v; want 0, true", c.lost(), c.complete())
	}
	c.truncate(200) // never raises k
	if c.lost() != 0 {
		t.Errorf("truncate(200) raised k: lost %d", c.lost())
	}
}

func TestProcNetAddr(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expected values are for little-endian machines")
	}
	for _, c := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}, "0100007F:0BB8"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 40001}, "0200007F:9C41"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 80}, "00000000000000000000000001000000:0050"},
	} {
		if got, ok := procNetAddr(c.addr); !ok || got != c.want {
			t.Errorf("procNetAddr(%v) = %q, %v; want %q", c.addr, got, ok, c.want)
		}
	}
}

func TestTCPStates(t *testing.T) {
	listing := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0BB8 0100007F:9C41 04 003D0F00:00000000 01:00000014 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:9C40 0100007F:0BB8 01 00000000:0001C8C0 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
`)
	want := map[string]int{
		"0100007F:0BB8 0100007F:9C40": 0, // established
		"0100007F:0BB8 0100007F:9C41": 1, // FIN_WAIT1: the server closed it
		"0100007F:0BB8 0100007F:9C42": 2, // gone
	}
	got := tcpStates(listing, want)
	if len(got) != 2 || got["0100007F:0BB8 0100007F:9C40"] != tcpEstablished || got["0100007F:0BB8 0100007F:9C41"] != 4 {
		t.Errorf("tcpStates = %v", got)
	}
}

// The watcher must see the server's end of a connection close although the
// client never reads, and not before.
func TestCloseWatcher(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var clients []*wsConn
	var servers []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		clients = append(clients, &wsConn{c: c})
		servers = append(servers, s)
	}
	w, err := newCloseWatcher(clients)
	if err != nil {
		t.Fatal(err)
	}
	if open, err := w.poll(time.Now(), 1); err != nil || open != 3 {
		t.Fatalf("poll = %d, %v; want 3 open", open, err)
	}
	// The server writes more than the client will ever read, then closes.
	_, _ = servers[1].Write(make([]byte, 64<<10))
	servers[1].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		open, err := w.poll(time.Now(), 42)
		if err != nil {
			t.Fatal(err)
		}
		if open == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d open; want 2", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, ok := w.closedAt(0); ok {
		t.Error("connection 0 seen closed")
	}
	if at, sent, ok := w.closedAt(1); !ok || sent != 42 || at.IsZero() {
		t.Errorf("connection 1: closedAt = %v, %d, %v", at, sent, ok)
	}
	var none *closeWatcher
	if _, _, ok := none.closedAt(0); ok {
		t.Error("a nil watcher saw a close")
	}
}

func TestPingDeadline(t *testing.T) {
	open := []byte(`0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	if d := pingDeadline(open); d != 45*time.Second {
		t.Errorf("pingDeadline = %v, want 45s", d)
	}
	if d := pingDeadline([]byte(`0{"sid":"x"}`)); d != 0 {
		t.Errorf("pingDeadline without the fields = %v, want 0", d)
	}
}

// With a slow group, only the fast clients are counted; slow clients that
// never read find everything in their sockets afterwards, as this server
// does not drop them for so little. The baseline counts the same clients.
func TestFanoutSlowGroup(t *testing.T) {
	defer func(d time.Duration) { drainFor = d }(drainFor)
	drainFor = 300 * time.Millisecond
	for _, reading := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.N, cfg.K, cfg.W, cfg.Slow, cfg.SlowRead = 12, 80, 8, 3, reading
		res, err := runFanout(context.Background(), cfg)
		if err != nil {
			t.Fatalf("reading %v: %v", reading, err)
		}
		want := int64((cfg.N - cfg.Slow) * cfg.K)
		if res.Ops != want || res.Expected != want || !res.Clean() {
			t.Errorf("reading %v: %d deliveries of %d (want %d), lost %d dup %d ooo %d errors %d (notes %v)", reading,
				res.Ops, res.Expected, want, res.Lost, res.Duplicates, res.OutOfOrder, res.Errors, res.Notes)
		}
		s := res.Slow
		if s == nil || s.Clients != 3 || s.FastClients != 9 || s.Broadcasts != 80 || s.Reading != reading || len(s.PerClient) != 3 {
			t.Fatalf("reading %v: slow = %+v", reading, s)
		}
		if s.Closed != 0 || s.DrainedMessages != 3*80 || s.FrameBytes < 100 || s.PingDeadlineS <= 0 {
			t.Errorf("reading %v: closed %d, drained %d, frame %d B, ping deadline %v", reading, s.Closed, s.DrainedMessages, s.FrameBytes, s.PingDeadlineS)
		}
		for i, c := range s.PerClient {
			if !reading && (c.LastSeq != 79 || c.LastSentAtS < 0 || c.LastSentAfterConnS < c.LastSentAtS) {
				t.Errorf("slow client %d: last broadcast read #%d, sent at %vs (%vs after connecting)", i, c.LastSeq, c.LastSentAtS, c.LastSentAfterConnS)
			}
		}
	}
}

// Sending stops after SendFor: the counts are against what was sent.
func TestFanoutSendFor(t *testing.T) {
	cfg := testConfig(t)
	cfg.N, cfg.K, cfg.W, cfg.SendFor = 5, 1<<30, 1, 200*time.Millisecond
	res, err := runFanout(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expected == 0 || res.Expected%5 != 0 || res.Ops != res.Expected || !res.Clean() {
		t.Errorf("%d deliveries of %d, lost %d dup %d ooo %d errors %d (notes %v)",
			res.Ops, res.Expected, res.Lost, res.Duplicates, res.OutOfOrder, res.Errors, res.Notes)
	}
}

// hold: connections in two processes (the child is this test binary, run
// as the command), traffic to the room counted, samples taken.
func TestHold(t *testing.T) {
	t.Setenv("LOADGEN_TEST_AS_MAIN", "1") // for the child only
	cfg := testConfig(t)
	cfg.Conns, cfg.Procs, cfg.Members = 30, 2, 6
	cfg.Hold, cfg.Sample = 2200*time.Millisecond, 500*time.Millisecond
	res, err := runHold(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Hold
	if h.Established != 30 || h.Failed != 0 || h.Dropped != 0 || h.Procs != 2 || res.Ops != 30 {
		t.Errorf("established %d, failed %d, dropped %d, procs %d (notes %v)", h.Established, h.Failed, h.Dropped, h.Procs, res.Notes)
	}
	if h.Broadcasts < 1 || h.Deliveries != 6*h.Broadcasts || h.Lost != 0 || h.Duplicates != 0 || h.OutOfOrder != 0 {
		t.Errorf("%d broadcasts, %d deliveries, lost %d dup %d ooo %d", h.Broadcasts, h.Deliveries, h.Lost, h.Duplicates, h.OutOfOrder)
	}
	if len(h.Samples) < 4 || h.Samples[0].T > 0.1 || h.HoldS < 2.2 {
		t.Errorf("%d samples, first at %v, hold %vs", len(h.Samples), h.Samples[0].T, h.HoldS)
	}
}

func TestChildSource(t *testing.T) {
	for _, c := range []struct {
		url  string
		i    int
		want string
	}{
		{"http://127.0.0.1:3000", 1, "127.0.0.2"},
		{"http://127.0.0.1:3000", 2, "127.0.0.3"},
		{"http://localhost:3000", 1, ""},
		{"http://[::1]:3000", 1, ""},
	} {
		if got := childSource(c.url, c.i); got != c.want {
			t.Errorf("childSource(%q, %d) = %q, want %q", c.url, c.i, got, c.want)
		}
	}
}
