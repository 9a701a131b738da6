package backend

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func newClient(t *testing.T, h http.HandlerFunc, timeout time.Duration) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := New(&config.Backend{URL: srv.URL, Timeout: timeout, MaxInFlight: 1, Key: "k"}, nil)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestPost(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		reply   string
		err     string
	}{
		{"json", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer k" {
				w.WriteHeader(401)
				return
			}
			w.Write([]byte(` {"a":1} `))
		}, `{"a":1}`, ""},
		{"empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, "", ""},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, "", "backend error (HTTP 302)"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`"` + strings.Repeat("a", maxReply) + `"`))
		}, "", "backend reply too large"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client gave up only once the body is read.
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, "", "backend timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Generous, except where the timeout is what is tested: a loaded
			// machine (the race detector, CI) must not turn a reply into one.
			timeout := 10 * time.Second
			if tt.err == "backend timeout" {
				timeout = 200 * time.Millisecond
			}
			c := newClient(t, tt.handler, timeout)
			reply, err := c.post(context.Background(), &Request{Type: "event", Event: "x"})
			if got := errString(err); got != tt.err || string(reply) != tt.reply {
				t.Fatalf("post = %q, %q; want %q, %q", reply, got, tt.reply, tt.err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Close waits for notifications in flight until its context is done, then
// cancels them: a hung backend cannot hold a shutdown.
func TestCloseCancelsHungRequests(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := New(&config.Backend{Timeout: time.Minute, MaxInFlight: 1}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	c.url = srv.URL
	c.notifyAsync(&Request{Type: "disconnect"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	c.Close(ctx)
	if d := time.Since(t0); d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Close took %v, want about 100ms", d)
	}
	if st := c.Stats(); st.NotifyDelivered != 0 || st.Errors != 1 {
		t.Fatalf("stats = %+v", st)
	}
}
