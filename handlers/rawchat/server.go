// Package rawchat serves chat clients that speak bare WebSocket, as in the
// tutorial Switchboard grew out of: the page opens
// `new WebSocket("ws://host/")`, sends each message as one text frame and
// shows every text frame it receives.
//
// Every text message from a raw client goes, unchanged, to every raw
// client (the sender included, as the tutorial's server does) and to the
// Room, where the Socket.IO users read it from a name such as guest-3.
// What the Room's other participants post reaches raw clients through
// Deliver as one text frame "name: text".
//
// Input is bounded: a binary message closes that client with 1003
// (unsupported data), a message over Options.MaxMessage with 1009 (too
// big), invalid UTF-8 with 1007 and a framing error with 1002; messages
// over Options.EventsPerSecond are dropped; a client whose next frame does
// not arrive whole within Options.PingInterval+PingTimeout (the server
// pings it) is cut off. Output is
// queued per client and written by that client's own goroutine: senders
// never wait for a client, and a client whose queue passes
// Options.MaxBufferedBytes is disconnected.
package rawchat

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Server accepts raw WebSocket chat clients. Its ServeHTTP takes upgrade
// requests (see IsUpgrade); mount it where the tutorial's page connects.
type Server struct {
	opts Options
	seq  atomic.Uint64 // for names

	overRate, overSize atomic.Uint64 // refusals, for Rejections

	mu      sync.RWMutex
	clients map[*conn]struct{}
	closed  bool
	wg      sync.WaitGroup // one per accepted connection, until it is gone
}

// NewServer returns a Server; opts may be nil.
func NewServer(opts *Options) *Server {
	return &Server{opts: opts.withDefaults(), clients: make(map[*conn]struct{})}
}

// IsUpgrade reports whether r asks for a WebSocket (a GET with Upgrade:
// websocket and Connection: upgrade), so that other requests for the same
// path can be served otherwise (the static page at /).
func IsUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// ServeHTTP upgrades r and serves the client until it goes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.opts.CheckOrigin(r) {
		http.Error(w, "rawchat: origin not allowed", http.StatusForbidden)
		return
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		http.Error(w, "rawchat: server shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.opts.Admit != nil {
		release, ok := s.opts.Admit(w, r)
		if !ok {
			return
		}
		defer release()
	}
	nc, rw, _, err := ws.HTTPUpgrader{Timeout: 5 * time.Second}.Upgrade(r, w)
	if err != nil {
		// The upgrader has answered with an HTTP error if it could.
		if nc != nil {
			_ = nc.Close()
		}
		s.opts.Logger.Debug("rawchat: upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	var num uint64
	if s.opts.Number != nil {
		num = s.opts.Number()
	} else {
		num = s.seq.Add(1)
	}
	c := newConn(s, nc, rw.Reader, s.opts.NamePrefix+strconv.FormatUint(num, 10))

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.closeNow()
		return
	}
	s.clients[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	if s.opts.Room != nil {
		s.opts.Room.Enter(c.name)
	}
	c.serve()
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	if s.opts.Room != nil {
		s.opts.Room.Leave(c.name)
	}
}

// relay passes a client's message to every raw client and to the room.
func (s *Server) relay(from *conn, msg []byte) {
	text := string(msg)
	s.broadcast(textFrame(text))
	if s.opts.Room != nil {
		s.opts.Room.Say(from.name, text)
	}
}

// Deliver sends every raw client one text frame "from: text": a message
// posted in the Room by someone who is not a raw client. It never blocks.
func (s *Server) Deliver(from, text string) {
	if s.Len() == 0 {
		return // the usual case: no frame to build
	}
	s.broadcast(textFrame(from, ": ", text))
}

// Relay sends every raw client text unchanged, as one text frame: a
// message of a raw client of another node (a cluster's nodes relay their
// raw clients' messages to each other). It never blocks.
func (s *Server) Relay(text string) {
	if s.Len() == 0 {
		return
	}
	s.broadcast(textFrame(text))
}

// broadcast queues one encoded frame, shared, to every client.
func (s *Server) broadcast(frame []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.clients {
		c.send(frame)
	}
}

// The limits Rejections counts refusals of, named as the Socket.IO
// server's and engine's counts of the same limits.
const (
	LimitEventsPerSecond = "events_per_second" // messages dropped
	LimitMaxPayload      = "max_payload"       // clients closed with 1009
)

func (s *Server) rejected(kind string) {
	if kind == LimitEventsPerSecond {
		s.overRate.Add(1)
	} else {
		s.overSize.Add(1)
	}
}

// Rejections returns how many times each limit refused a client's input
// since the server started.
func (s *Server) Rejections() map[string]uint64 {
	return map[string]uint64{LimitEventsPerSecond: s.overRate.Load(), LimitMaxPayload: s.overSize.Load()}
}

// Len returns the number of connected clients.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.clients)
}

// Close refuses new clients, closes every connection with 1001 (going
// away) and waits for them to be gone, until ctx is done; then it cuts
// the connections that remain and returns ctx's error.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	cs := make([]*conn, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.goAway()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range cs {
			c.closeNow()
		}
		<-done
		return ctx.Err()
	}
}
