//go:build unix

package engineio

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/serve"
)

// A long poll's response must reach the client within WriteTimeout of its
// data being ready (the wait before is not counted), and the deadline does
// not outlive it on a kept-alive connection (net/http lifts it).
func TestPollWriteDeadline(t *testing.T) {
	const write = 300 * time.Millisecond
	sessions := make(chan *Session, 4)
	srv := NewServer(func(s *Session) SessionHandler {
		sessions <- s
		return &recorder{sess: s, closed: make(chan struct{})}
	}, &Options{WriteTimeout: write, MaxBufferedBytes: 64 << 20, PingInterval: time.Minute, PingTimeout: time.Minute})
	polled := make(chan time.Time, 4) // when a poll's handler returned
	hs := serve.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" { // another handler of the application
			time.Sleep(3 * write)
			io.WriteString(w, "late")
			return
		}
		srv.ServeHTTP(w, r)
		if r.Method == http.MethodGet && r.URL.Query().Get("sid") != "" {
			polled <- time.Now()
		}
	}), srv.Close)
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	get := func(path string) string {
		t.Helper()
		res, err := c.Get(hs.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %q", path, res.StatusCode, b)
		}
		return string(b)
	}
	open := func() (string, *Session) {
		t.Helper()
		body := get("/engine.io/?EIO=4&transport=polling")
		var o struct{ SID string }
		if err := json.Unmarshal([]byte(body[1:]), &o); err != nil {
			t.Fatalf("handshake %q: %v", body, err)
		}
		return o.SID, <-sessions
	}

	// A poll that waited longer than WriteTimeout is answered, and the
	// next request on its connection is not cut by its deadline.
	sid, sess := open()
	go func() {
		time.Sleep(3 * write)
		_ = sess.Send(false, NewTextMessage([]byte("hi")))
	}()
	if got := get("/engine.io/?EIO=4&transport=polling&sid=" + sid); got != "4hi" {
		t.Fatalf("poll: %q", got)
	}
	<-polled
	if got := get("/late"); got != "late" {
		t.Fatalf("next request on the connection: %q", got)
	}

	// A client that reads nothing (a tiny receive window) does not hold
	// the poll once its data is ready.
	sid, sess = open()
	msg := NewTextMessage([]byte(strings.Repeat("x", 2<<20)))
	for range 8 { // 16 MiB: more than loopback's socket buffers hold
		if err := sess.Send(false, msg); err != nil {
			t.Fatal(err)
		}
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // unblocks the handler if the deadline did not
	start := time.Now()
	fmt.Fprintf(conn, "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid)
	select {
	case end := <-polled:
		t.Logf("poll to a client that reads nothing ended after %v", end.Sub(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatalf("poll to a client that reads nothing still writing after 5s (write timeout %v)", write)
	}
}
