package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The body deadline bounds the body only: not a request without one (a
// long poll), nor a handler's work once the body is in; and slots are
// given back.
func TestBodyGuard(t *testing.T) {
	const timeout = 300 * time.Millisecond
	g := &bodyGuard{timeout: timeout, writeTimeout: 5 * time.Second, perAddr: 2, key: func(*http.Request) string { return "k" }, log: slog.New(slog.DiscardHandler), inFlight: map[string]int{}}
	g.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		time.Sleep(3 * timeout) // working (or long-polling) after the body
		if r.Context().Err() != nil {
			http.Error(w, "context ended", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})
	srv := httptest.NewServer(g)
	defer srv.Close()

	for _, method := range []string{"GET", "POST"} {
		for range 3 { // more than perAddr, one after another
			res, err := http.DefaultClient.Do(must(http.NewRequest(method, srv.URL, strings.NewReader(strings.Repeat("x", 100)))))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(b) != "100" {
				t.Fatalf("%s with a whole body: %d %q", method, res.StatusCode, b)
			}
		}
	}
	res, err := http.Get(srv.URL) // no body: nothing bounds the handler
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET without a body: %d", res.StatusCode)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("trickling body: %d after %v", res.StatusCode, time.Since(start))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.inFlight) != 0 {
		t.Fatalf("slots not given back: %v", g.inFlight)
	}
}

// Every response must be written within writeTimeout of its request, and
// a kept-alive connection does not carry one request's deadline over to
// the next.
func TestBodyGuardWriteDeadline(t *testing.T) {
	const write = 300 * time.Millisecond
	big := bytes.Repeat([]byte("x"), 16<<20) // more than loopback's socket buffers hold
	ended := make(chan error, 1)
	g := &bodyGuard{timeout: time.Second, writeTimeout: write, key: func(*http.Request) string { return "k" }, log: slog.New(slog.DiscardHandler), inFlight: map[string]int{}}
	g.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, err := w.Write(big)
			ended <- err
			return
		}
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(g)
	defer srv.Close()

	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	for i := range 2 {
		if i > 0 {
			time.Sleep(3 * write) // the first request's deadline is long past
		}
		res, err := c.Get(srv.URL + "/small")
		if err != nil {
			t.Fatalf("request %d on a kept-alive connection: %v", i+1, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("request %d on a kept-alive connection: %q", i+1, b)
		}
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // unblocks the handler if the deadline did not
	start := time.Now()
	fmt.Fprint(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("16 MiB written to a client that reads nothing")
		}
		t.Logf("write to a client that reads nothing ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		t.Fatalf("a write to a client that reads nothing still blocked after 5s (write timeout %v)", write)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
