package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

const stressSenders = 6

// TestWriteStress drives the production write path (inline writes, Post,
// Batch, partial writes handed to writers, close and reset meanwhile) over
// real sockets from many goroutines, and checks what the clients receive:
// every frame whole, each sender's messages in order, none twice, and all
// of them on the connections that stay; once the clients are gone, every
// session is released (goroutines: TestMain's leak check). Under -race the engine writes with
// syscall writes instead of raw ones (rawio_race.go) and reads without the
// raw reader; this test is what covers the raw path, in the suites run
// without -race (.ci/test), and it runs under -race as well.
func TestWriteStress(t *testing.T) {
	const (
		senders = stressSenders
		steady  = 12 // clients that read everything
		slow    = 8  // clients that pause now and then
		churn   = 9  // clients that go away while messages flow
	)
	perSender := 300
	if raceEnabled {
		perSender = 120 // the race detector slows everything ten times
	}
	var (
		mu       sync.Mutex
		sessions = map[string]*Session{}
	)
	srv := NewServer(func(s *Session) SessionHandler {
		mu.Lock()
		sessions[s.ID()] = s
		mu.Unlock()
		return nopHandler{}
	}, &Options{
		// No pings in the stream, and no client dropped for its queue:
		// every message must reach every client that stays.
		PingInterval:     time.Minute,
		PingTimeout:      time.Minute,
		MaxBufferedBytes: 256 << 20,
		WriteTimeout:     20 * time.Second,
	})
	hs := httptest.NewUnstartedServer(srv)
	// Small send buffers fill quickly: the server's non-blocking writes
	// come up short often, and the rest goes through writers.
	hs.Listener = smallSendBuffers{hs.Listener}
	serve.StartServer(t, hs, srv.Close)
	url := strings.Replace(hs.URL, "http://", "ws://", 1) + "/engine.io/?EIO=4&transport=websocket"

	var clients []*stressClient
	for i := 0; i < steady+slow+churn; i++ {
		kind := "steady"
		switch {
		case i >= steady+slow:
			kind = "churn"
		case i >= steady:
			kind = "slow"
		}
		var o wsclient.Options
		if kind == "slow" {
			// A bounded receive buffer (no autotuning) fills while the
			// client pauses; then the server's writes come up short.
			// Not below the loopback MSS (64K), which stalls TCP.
			o.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetReadBuffer(64 << 10)
				}
				return c, err
			}
		}
		w := wsclient.Dial(t, url, &o)
		c := &stressClient{kind: kind, ws: w, conn: w.NetConn()}
		for i := range c.last {
			c.last[i] = -1
		}
		open, _, err := c.ws.Read(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var sid string
		if i := bytes.Index(open, []byte(`"sid":"`)); i >= 0 {
			sid, _, _ = strings.Cut(string(open[i+7:]), `"`)
		}
		// The open packet leaves with the 101, before the session is
		// registered.
		for start := time.Now(); c.sess == nil && time.Since(start) < 5*time.Second; {
			mu.Lock()
			c.sess = sessions[sid]
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
		if c.sess == nil {
			t.Fatalf("no session for open packet %q", open)
		}
		clients = append(clients, c)
	}
	all := make([]*Session, len(clients))
	for i, c := range clients {
		all[i] = c.sess
	}

	// Readers check each frame as it comes.
	var readers sync.WaitGroup
	for i, c := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			// A churner leaves after a random share of the stream: by
			// closing, by a reset, or by having the server close it.
			leaveAt := senders * perSender
			if c.kind == "churn" {
				leaveAt = rng.IntN(senders * perSender / 2)
			}
			for c.got < senders*perSender {
				if c.got == leaveAt {
					switch i % 3 {
					case 0:
						_ = c.conn.Close()
					case 1:
						if tc, ok := c.conn.(*net.TCPConn); ok {
							_ = tc.SetLinger(0) // close sends RST
						}
						_ = c.conn.Close()
					case 2:
						c.sess.Close()
					}
					return
				}
				if c.kind == "slow" && rng.IntN(150) == 0 {
					// The socket fills meanwhile, and a non-blocking
					// write comes up short.
					time.Sleep(time.Duration(50+rng.IntN(100)) * time.Millisecond)
				}
				data, op, err := c.ws.Read(20 * time.Second)
				if err != nil {
					c.err = fmt.Errorf("after %d messages: %w", c.got, err)
					return
				}
				if err := checkStressFrame(op, data, c.last[:]); err != nil {
					c.err = fmt.Errorf("message %d: %w", c.got, err)
					return
				}
				c.got++
			}
		}()
	}

	// Senders broadcast their numbered messages to every client, by each
	// of the three ways in, in turn.
	var senderWG sync.WaitGroup
	for w := 0; w < senders; w++ {
		senderWG.Add(1)
		go func() {
			defer senderWG.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for seq := 0; seq < perSender; seq++ {
				m := stressMessage(w, seq, rng)
				// Phases of 100 messages, the same for every sender: a
				// writer woken by Post or Batch keeps a session busy, and
				// inline writes happen only on a session that is not.
				switch (seq / 100) % 3 {
				case 0:
					for _, s := range all {
						_ = s.Send(false, m)
					}
				case 1:
					for _, s := range all {
						_ = s.Post(false, m)
					}
				default:
					b := NewBatch()
					for _, s := range all {
						_ = b.Post(s, false, m)
					}
					b.Flush()
				}
				if rng.IntN(20) == 0 {
					time.Sleep(time.Millisecond) // let queues drain at times
				}
			}
		}()
	}
	senderWG.Wait()
	readers.Wait()

	for i, c := range clients {
		if c.err != nil {
			t.Errorf("client %d (%s): %v", i, c.kind, c.err)
			continue
		}
		if c.kind != "churn" && c.got != senders*perSender {
			t.Errorf("client %d (%s): got %d messages, want %d", i, c.kind, c.got, senders*perSender)
		}
	}

	// Nothing outlives its connection: once the clients are gone, every
	// session ends and its queue is released.
	for _, c := range clients {
		_ = c.conn.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := srv.Stats()
		if st.OpenWebSocket == 0 {
			break
		}
		if time.Now().After(deadline) {
			var left []string
			for i, c := range clients {
				if srv.Session(c.sess.ID()) != nil {
					left = append(left, fmt.Sprintf("client %d (%s, left by way %d)", i, c.kind, i%3))
				}
			}
			t.Fatalf("%d WebSocket sessions still open after their clients left: %s", st.OpenWebSocket, strings.Join(left, ", "))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range clients {
		c.sess.mu.Lock()
		queued, partial := len(c.sess.queue), len(c.sess.partial)
		c.sess.mu.Unlock()
		if queued != 0 || partial != 0 {
			t.Errorf("client %d (%s): closed session still holds %d messages and %d bytes", i, c.kind, queued, partial)
		}
	}
}

// smallSendBuffers gives accepted connections a small send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// stressClient is one client of TestWriteStress.
type stressClient struct {
	kind string
	ws   *wsclient.Conn
	conn net.Conn // the TCP connection, to cut it
	sess *Session
	last [stressSenders]int // last sequence number seen per sender
	got  int
	err  error
}

// stressMessage is sender w's message number seq: an 8-byte header (sender,
// sequence number, in decimal) and a body of a random size, from a few bytes to past
// the inline and direct-write thresholds, filled with a byte derived from
// both, so that a torn or mixed-up frame shows.
func stressMessage(w, seq int, rng *rand.Rand) *Message {
	var size int
	switch r := rng.IntN(100); {
	case r < 60:
		size = rng.IntN(200)
	case r < 95:
		size = rng.IntN(16 << 10)
	default:
		size = 32<<10 + rng.IntN(32<<10)
	}
	p := make([]byte, 8+size)
	copy(p, fmt.Sprintf("%02d%06d", w, seq)) // text frames must be UTF-8
	fill := stressFill(w, seq)
	for i := 8; i < len(p); i++ {
		p[i] = fill
	}
	if seq%2 == 1 {
		return NewBinaryMessage(p)
	}
	return NewTextMessage(p)
}

func stressFill(w, seq int) byte { return byte('a' + (w*31+seq)%26) }

// checkStressFrame checks one received frame against stressMessage and
// the sequence numbers seen so far.
func checkStressFrame(op ws.OpCode, data []byte, last []int) error {
	if op == ws.OpText {
		if len(data) == 0 || data[0] != '4' {
			return fmt.Errorf("text frame %q is not a message packet", trunc(data))
		}
		data = data[1:]
	}
	if len(data) < 8 {
		return fmt.Errorf("frame of %d bytes: torn", len(data))
	}
	w, err1 := strconv.Atoi(string(data[:2]))
	seq, err2 := strconv.Atoi(string(data[2:8]))
	if err1 != nil || err2 != nil || w >= len(last) {
		return fmt.Errorf("unknown sender %d: torn or mixed frame %q", w, trunc(data))
	}
	if (seq%2 == 1) != (op == ws.OpBinary) {
		return fmt.Errorf("sender %d message %d came as %v", w, seq, op)
	}
	if seq != last[w]+1 {
		return fmt.Errorf("sender %d: message %d after %d (lost, duplicated or out of order)", w, seq, last[w])
	}
	last[w] = seq
	fill := stressFill(w, seq)
	for i := 8; i < len(data); i++ {
		if data[i] != fill {
			return errors.New("body corrupted: torn or mixed frame")
		}
	}
	return nil
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
