package redisforward

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// replyMargin is added to the longest an owner may take to answer, for
// the trip through Redis.
const replyMargin = 5 * time.Second

// Forward implements engineio.Forwarder: it serves r on the node that
// made sid, or returns false when that node is this one, is unknown, or
// does not answer.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, sid string) bool {
	owner := ownerOf(sid)
	engine := f.engine.Load()
	if owner == "" || owner == f.node || engine == nil || f.ctx.Err() != nil {
		return false
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return f.forwardTunnel(w, r, owner, engine.Options())
	}
	return f.forwardPoll(w, r, owner, engine.Options())
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(code, msg))
}

// forwardPoll forwards a polling GET or POST and writes the owner's
// answer.
func (f *Forwarder) forwardPoll(w http.ResponseWriter, r *http.Request, owner string, eo engineio.Options) bool {
	var body []byte
	if r.Method == http.MethodPost {
		// Read as the owner would, with its bounds: a body over
		// MaxPayload is passed on cut one byte past it (with its
		// Content-Length), so that the owner refuses it and closes
		// the session as it does for its own clients.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(eo.BodyTimeout))
		var err error
		if r.ContentLength <= eo.MaxPayload {
			body, err = io.ReadAll(io.LimitReader(r.Body, eo.MaxPayload+1))
		}
		if err != nil {
			f.stats.failed.Add(1)
			writeError(w, http.StatusBadRequest, 3, "Bad request")
			return true
		}
	}
	if !f.reserve(true) {
		writeError(w, http.StatusServiceUnavailable, 4, "Server busy")
		return true
	}
	defer f.release(true)
	id := f.nextID.Add(1)
	reply := make(chan *message, 1)
	f.mu.Lock()
	f.calls[id] = reply
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, id)
		f.mu.Unlock()
	}()
	m := requestMessage(kindRequest, f.node, id, r)
	m.body = body
	if r.ContentLength > int64(len(body)) {
		m.header.Set("Content-Length", itoa(r.ContentLength))
	}
	ctx, cancel := context.WithTimeout(r.Context(), replyMargin)
	ok, err := f.publish(ctx, owner, m)
	cancel()
	if err != nil || !ok {
		// No owner: the session is gone with it (or Redis is down and
		// the session unreachable); the client reconnects.
		f.stats.ownerGone.Add(1)
		return false
	}
	f.stats.forwarded.Add(1)
	// The owner holds a GET until there is data or a ping is due, and
	// answers a POST once it has taken the payload.
	wait := eo.BodyTimeout + replyMargin
	if r.Method == http.MethodGet {
		wait = eo.PingInterval + eo.PingTimeout + replyMargin
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case res := <-reply:
		h := w.Header()
		for k, v := range res.header {
			h[k] = v
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(eo.WriteTimeout))
		w.WriteHeader(res.status)
		_, _ = w.Write(res.body)
	case <-r.Context().Done():
		f.publishSoon(owner, &message{kind: kindCancel, from: f.node, id: id})
	case <-t.C:
		f.stats.failed.Add(1)
		f.publishSoon(owner, &message{kind: kindCancel, from: f.node, id: id})
		writeError(w, http.StatusGatewayTimeout, 3, "Bad request")
	case <-f.ctx.Done():
		writeError(w, http.StatusServiceUnavailable, 4, "Server shutting down")
	}
	return true
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// requestMessage describes r for the owner (body aside).
func requestMessage(kind byte, from string, id uint64, r *http.Request) *message {
	return &message{kind: kind, from: from, id: id, method: r.Method, uri: r.URL.RequestURI(), host: r.Host, remote: r.RemoteAddr, header: r.Header.Clone()}
}

// newRequest rebuilds a forwarded request on the owner, marked so that the
// engine does not forward it again.
func newRequest(ctx context.Context, m *message, body io.Reader) (*http.Request, error) {
	switch m.method {
	case http.MethodGet, http.MethodPost:
	default:
		return nil, errors.New("redisforward: method not forwarded")
	}
	if !strings.HasPrefix(m.uri, "/") {
		return nil, errMalformed
	}
	r, err := http.NewRequestWithContext(engineio.WithForwarded(ctx), m.method, m.uri, body)
	if err != nil {
		return nil, err
	}
	r.RequestURI, r.Host, r.RemoteAddr, r.Header = m.uri, m.host, m.remote, m.header
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.ContentLength = int64(len(m.body))
	if cl := r.Header.Get("Content-Length"); cl != "" && m.method == http.MethodPost {
		// A body cut at MaxPayload+1 keeps its announced length.
		var n int64
		for _, c := range cl {
			if c < '0' || c > '9' || n > 1<<50 {
				n = -1
				break
			}
			n = n*10 + int64(c-'0')
		}
		if n > r.ContentLength {
			r.ContentLength = n
		}
	}
	return r, nil
}

// serveRequest serves a polling request forwarded by another node with
// this node's engine and publishes the answer.
func (f *Forwarder) serveRequest(m *message) {
	engine := f.engine.Load()
	answer := func(status int, h http.Header, body []byte) {
		f.publishSoon(m.from, &message{kind: kindResponse, from: f.node, id: m.id, status: status, header: h, body: body})
	}
	// Called by the receive loop: publishing is left to a goroutine.
	if engine == nil {
		f.spawn(func() { answer(http.StatusBadRequest, jsonHeader(), errorBody(1, "Session ID unknown")) })
		return
	}
	if !f.reserve(false) {
		f.spawn(func() { answer(http.StatusServiceUnavailable, jsonHeader(), errorBody(4, "Server busy")) })
		return
	}
	key := servedKey{m.from, m.id}
	ctx, cancel := context.WithCancel(f.ctx)
	f.mu.Lock()
	f.served[key] = &served{cancel: cancel}
	f.mu.Unlock()
	f.stats.servedN.Add(1)
	f.spawn(func() {
		defer f.release(false)
		defer func() {
			f.mu.Lock()
			delete(f.served, key)
			f.mu.Unlock()
			cancel()
		}()
		r, err := newRequest(ctx, m, bytes.NewReader(m.body))
		if err != nil {
			answer(http.StatusBadRequest, jsonHeader(), errorBody(3, "Bad request"))
			return
		}
		rec := &recorder{h: http.Header{}}
		engine.ServeHTTP(rec, r)
		if ctx.Err() != nil {
			return // cancelled: nobody waits for the answer
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		answer(rec.status, rec.h, rec.body.Bytes())
	})
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// recorder is the ResponseWriter of a forwarded polling request: the
// answer goes back whole, in one message.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.h }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
