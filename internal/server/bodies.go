package server

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// bodyGuard bounds the reading of request bodies, for every route (polling
// POSTs, JSONP POSTs, the API, anything else): a body must arrive within
// timeout of the request's headers, and one client address may have at
// most perAddr requests whose body is being read or drained at a time.
// Past that, a request with a body is refused with 429 before any of its
// body is read, and its connection is closed.
//
// Requests without a body (long-polling GETs, WebSocket upgrades,
// handshakes) get no read deadline, which would cut a long poll (net/http's
// background read would end its context) or a WebSocket. A polling session
// has at most one GET pending, and the sessions per address are capped by
// the engine.
//
// Every response must also be written within writeTimeout (after the body's
// time, if there is one): a client that stops reading would otherwise hold
// the handler's goroutine and buffers for good. net/http's own WriteTimeout
// cannot do this: it would cut long polls, which wait up to a ping interval
// before they write. The engine sets a long poll's deadline itself once its
// data is ready, and a WebSocket's owner takes the connection's deadlines
// over with the hijack.
type bodyGuard struct {
	next         http.Handler
	timeout      time.Duration
	writeTimeout time.Duration
	perAddr      int // 0: no cap
	key          func(*http.Request) string
	log          *slog.Logger
	// rejected counts a refusal in the metrics (nil: not counted).
	rejected func(engineio.Limit)

	mu       sync.Mutex
	inFlight map[string]int
}

// drainMax is how much of a body its handler left unread is read before
// the slot is given back, so that the connection can serve another
// request (net/http reads as much, and closes the connection past it).
const drainMax = 256 << 10

func (g *bodyGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// net/http lifts the deadline after each response: a kept-alive
	// connection's next request starts without one.
	if r.Body == nil || r.Body == http.NoBody {
		_ = rc.SetWriteDeadline(time.Now().Add(g.writeTimeout))
		g.next.ServeHTTP(w, r)
		return
	}
	_ = rc.SetWriteDeadline(time.Now().Add(g.timeout + g.writeTimeout))
	if g.perAddr > 0 {
		key := g.key(r)
		if !g.acquire(key) {
			// Read nothing more: net/http would otherwise read what is
			// left of the body before closing the connection.
			_ = rc.SetReadDeadline(time.Now())
			g.log.Debug("request refused: too many bodies in flight from its address", "client", key, "path", r.URL.Path)
			if g.rejected != nil {
				g.rejected(engineio.LimitConnectionsPerIP)
			}
			w.Header().Set("Connection", "close")
			http.Error(w, "too many requests in flight from this address", http.StatusTooManyRequests)
			return
		}
		defer g.release(key)
	}
	// net/http clears the deadline itself once the body has been read to
	// its end (before it watches the connection for the client leaving):
	// the handler's work after that is not bounded by it.
	_ = rc.SetReadDeadline(time.Now().Add(g.timeout))
	b := &watchedBody{ReadCloser: r.Body}
	r.Body = b
	g.next.ServeHTTP(w, r)
	if !b.done {
		// What the handler left unread is read here, under the deadline
		// and within the slot.
		_, _ = io.CopyN(io.Discard, b, drainMax)
	}
}

func (g *bodyGuard) acquire(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight[key] >= g.perAddr {
		return false
	}
	g.inFlight[key]++
	return true
}

func (g *bodyGuard) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight[key]--; g.inFlight[key] <= 0 {
		delete(g.inFlight, key)
	}
}

// watchedBody tells whether its body has been read to the end.
type watchedBody struct {
	io.ReadCloser
	done bool // read to the end, or failed
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = true
	}
	return n, err
}
