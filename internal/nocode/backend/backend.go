// Package backend hands client events, and optionally connect and
// disconnect notifications, to an app backend over HTTP, so that a backend
// in any language can own an app's logic.
//
// Each forwarded event is one POST of a JSON body to the backend's URL:
//
//	{"type": "event", "namespace": "/", "socket_id": "…", "claims": {…},
//	 "event": "order", "args": [ … ]}
//
// A 2xx reply's JSON body becomes the event's acknowledgement argument (an
// empty body acknowledges with no argument). A slow backend (past the
// configured timeout), a non-2xx status, a reply that is not JSON or a
// connection failure become an acknowledgement {"error": "…"}: a client
// callback never waits forever. Each socket has a bound on its requests in
// flight; past it events are refused at once with an error ack, so one
// client cannot queue unbounded work. Requests of a socket that disconnects
// are cancelled.
//
// Notifications ({"type": "connect"|"disconnect", …, "reason"}) are
// fire-and-forget, bounded server-wide; when the bound is reached they are
// dropped and counted rather than queued.
//
// Server-side events from other nodes of a cluster (serverSideEmit), for
// the events a namespace's server_side rules send here, are POSTed as
// {"type": "server_side_event", "namespace", "event", "args"}; the reply
// is the node's answer, an error the answer {"error": "…"}. They are
// bounded server-wide like notifications; past the bound they are answered
// with an error at once.
package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/nocode/auth"
	"github.com/switchboard/switchboard/socketio"
)

// Bounds.
const (
	maxReply       = 1 << 20 // bytes of a backend reply
	maxNotifyAtted = 256     // notifications in flight, server-wide
)

// Request is the JSON body POSTed to the backend.
type Request struct {
	Type      string      `json:"type"` // event, connect or disconnect
	Namespace string      `json:"namespace"`
	SocketID  string      `json:"socket_id"`
	Claims    auth.Claims `json:"claims"`
	Event     string      `json:"event,omitempty"`
	Args      []any       `json:"args,omitempty"`
	Reason    string      `json:"reason,omitempty"`    // disconnect
	Handshake *Handshake  `json:"handshake,omitempty"` // connect
}

// Handshake is the part of the handshake sent with a connect notification.
type Handshake struct {
	Address string            `json:"address"`
	Time    time.Time         `json:"time"`
	Query   map[string]string `json:"query"`
	Auth    json.RawMessage   `json:"auth,omitempty"`
}

// Stats are a backend's counters.
type Stats struct {
	Requests        uint64 `json:"requests"`
	Errors          uint64 `json:"errors"`           // timeouts, failures and non-2xx replies
	Overloaded      uint64 `json:"overloaded"`       // events refused: socket at max_in_flight
	NotifyDropped   uint64 `json:"notify_dropped"`   // notifications dropped: server-wide bound reached
	NotifyDelivered uint64 `json:"notify_delivered"` // notifications answered 2xx
}

// Client forwards one namespace's events to its backend.
type Client struct {
	url         string
	key         string
	timeout     time.Duration
	maxInFlight int
	http        *http.Client
	log         *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notify chan struct{} // semaphore for notifications
	remote chan struct{} // semaphore for server-side events

	requests, errs, overloaded, notifyDropped, notifyOK atomic.Uint64
}

// New builds a Client for a validated backend section.
func New(cfg *config.Backend, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := cfg.Key
	if cfg.KeyEnv != "" {
		key = os.Getenv(cfg.KeyEnv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		url:         cfg.URL,
		key:         key,
		timeout:     cfg.Timeout,
		maxInFlight: cfg.MaxInFlight,
		// No client-wide timeout: each request has its own context.
		// Redirects are not followed: a POST body must not be re-sent
		// somewhere else.
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log:  log,
		ctx:  ctx, cancel: cancel,
		notify: make(chan struct{}, maxNotifyAtted),
		remote: make(chan struct{}, maxNotifyAtted),
	}
}

// Install registers the per-socket state and, when configured, the
// connect and disconnect notifications on n.
func (c *Client) Install(n *socketio.Namespace, connect, disconnect bool) {
	n.OnConnection(func(s *socketio.Socket) {
		ctx, cancel := context.WithCancel(c.ctx)
		s.SetValue(stateKey{}, &state{ctx: ctx, cancel: cancel, sem: make(chan struct{}, c.maxInFlight)})
		if connect {
			h := s.Handshake()
			q := make(map[string]string, len(h.Query))
			for k := range h.Query {
				q[k] = h.Query.Get(k)
			}
			c.notifyAsync(&Request{Type: "connect", Namespace: n.Name(), SocketID: s.ID(), Claims: auth.ClaimsOf(s),
				Handshake: &Handshake{Address: h.Address, Time: h.Time, Query: q, Auth: h.Auth}})
		}
	})
	n.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		if st, ok := s.Value(stateKey{}).(*state); ok {
			st.cancel()
		}
		if disconnect {
			c.notifyAsync(&Request{Type: "disconnect", Namespace: n.Name(), SocketID: s.ID(), Claims: auth.ClaimsOf(s), Reason: string(reason)})
		}
	})
}

type stateKey struct{}

// state is a socket's forwarding state.
type state struct {
	ctx    context.Context // cancelled at disconnect
	cancel context.CancelFunc
	sem    chan struct{} // max_in_flight
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Errors: c.errs.Load(), Overloaded: c.overloaded.Load(),
		NotifyDropped: c.notifyDropped.Load(), NotifyDelivered: c.notifyOK.Load()}
}

// Close lets the requests in flight (such as the disconnect notifications
// of a shutdown) finish until ctx is done, then cancels the rest and waits
// for their goroutines. Call it once no more events can arrive.
func (c *Client) Close(ctx context.Context) {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	c.cancel()
	<-done
	c.http.CloseIdleConnections()
}

// Event forwards ev and acknowledges it with the backend's reply. It
// returns at once; the request runs on its own goroutine.
func (c *Client) Event(s *socketio.Socket, ev *socketio.Event) {
	st, ok := s.Value(stateKey{}).(*state)
	if !ok || c.ctx.Err() != nil {
		ackError(ev, "backend unavailable")
		return
	}
	select {
	case st.sem <- struct{}{}:
	default:
		c.overloaded.Add(1)
		ackError(ev, fmt.Sprintf("too many pending backend requests (max %d)", c.maxInFlight))
		return
	}
	req := &Request{Type: "event", Namespace: s.Namespace().Name(), SocketID: s.ID(), Claims: auth.ClaimsOf(s), Event: ev.Name, Args: ev.Values()}
	if req.Args == nil {
		req.Args = []any{}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-st.sem }()
		reply, err := c.post(st.ctx, req)
		if err != nil {
			c.log.Warn("forward: backend request failed", "nsp", req.Namespace, "event", req.Event, "sid", req.SocketID, "err", err)
			ackError(ev, err.Error())
			return
		}
		if ev.WantsAck() {
			if len(reply) == 0 {
				_ = ev.Ack()
			} else {
				_ = ev.Ack(reply)
			}
		}
	}()
}

// ServerSideEvent forwards another node's server-side event to the
// backend and answers with its reply (ack is nil when no answer is
// wanted). It returns at once; the request runs on its own goroutine.
func (c *Client) ServerSideEvent(nsp, event string, args socketio.Args, ack func(any)) {
	answer := func(v any) {
		if ack != nil {
			ack(v)
		}
	}
	if c.ctx.Err() != nil {
		answer(map[string]string{"error": errFailed.Error()})
		return
	}
	select {
	case c.remote <- struct{}{}:
	default:
		c.overloaded.Add(1)
		answer(map[string]string{"error": fmt.Sprintf("too many pending backend requests (max %d)", maxNotifyAtted)})
		return
	}
	req := &Request{Type: "server_side_event", Namespace: nsp, Event: event, Args: args.Values()}
	if req.Args == nil {
		req.Args = []any{}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.remote }()
		reply, err := c.post(c.ctx, req)
		if err != nil {
			c.log.Warn("forward: backend request failed", "nsp", nsp, "server_side_event", event, "err", err)
			answer(map[string]string{"error": err.Error()})
			return
		}
		if len(reply) == 0 {
			answer(nil)
		} else {
			answer(reply)
		}
	}()
}

func ackError(ev *socketio.Event, msg string) {
	if ev.WantsAck() {
		_ = ev.Ack(map[string]string{"error": msg})
	}
}

func (c *Client) notifyAsync(req *Request) {
	select {
	case c.notify <- struct{}{}:
	default:
		c.notifyDropped.Add(1)
		c.log.Warn("forward: notification dropped (too many in flight)", "nsp", req.Namespace, "type", req.Type, "sid", req.SocketID)
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.notify }()
		if _, err := c.post(c.ctx, req); err != nil {
			c.log.Warn("forward: notification failed", "nsp", req.Namespace, "type", req.Type, "sid", req.SocketID, "err", err)
			return
		}
		c.notifyOK.Add(1)
	}()
}

// Errors given to clients. They say what happened without leaking the
// backend's address or its error text.
var (
	errTimeout   = errors.New("backend timeout")
	errCancelled = errors.New("backend request cancelled")
	errFailed    = errors.New("backend unavailable")
	errBadReply  = errors.New("backend reply is not JSON")
	errTooLarge  = errors.New("backend reply too large")
)

// post sends req and returns the reply body (nil when empty).
func (c *Client) post(parent context.Context, req *Request) (json.RawMessage, error) {
	c.requests.Add(1)
	body, err := json.Marshal(req)
	if err != nil {
		c.errs.Add(1)
		return nil, fmt.Errorf("cannot encode arguments: %v", err)
	}
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		c.errs.Add(1)
		return nil, errFailed
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		c.errs.Add(1)
		return nil, c.ctxErr(ctx, parent, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		c.errs.Add(1)
		return nil, c.ctxErr(ctx, parent, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.errs.Add(1)
		return nil, fmt.Errorf("backend error (HTTP %d)", resp.StatusCode)
	}
	if len(data) > maxReply {
		c.errs.Add(1)
		return nil, errTooLarge
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	if !json.Valid(data) {
		c.errs.Add(1)
		return nil, errBadReply
	}
	return json.RawMessage(data), nil
}

func (c *Client) ctxErr(ctx, parent context.Context, err error) error {
	switch {
	case parent.Err() != nil:
		return errCancelled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errTimeout
	}
	c.log.Debug("forward: backend request error", "err", err)
	return errFailed
}
