package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionHandler receives what happens to one session. Calls for one
// session never overlap, and OnClose is the last call.
type SessionHandler interface {
	// OnMessage is called for each message packet. data belongs to the
	// handler.
	OnMessage(data []byte, binary bool)
	// OnClose is called once when the session ends; err may add detail.
	OnClose(reason CloseReason, err error)
}

// SessionOpener is implemented by a SessionHandler that acts as soon as
// its session is open: OnOpen is called once, after the open packet has
// been queued or sent and before any client message is delivered (calls
// never overlap, as for OnMessage). The Socket.IO layer uses it to connect
// protocol v3 clients to "/" implicitly.
type SessionOpener interface {
	OnOpen()
}

// Handshake is what the client sent when it opened the session.
type Handshake struct {
	Query      url.Values  // the opening request's query parameters
	Header     http.Header // its headers (a Node.js client's extraHeaders among them)
	RemoteAddr string      // the peer's address, as http.Request.RemoteAddr
	Time       time.Time   // when the session opened
	Secure     bool        // the request came over TLS
	URL        string      // the request URI
	// Protocol is the Engine.IO protocol revision: 4, or 3 for
	// socket.io-client 2.x when Options.AllowEIO3 is set.
	Protocol int
}

// Server is an Engine.IO server: an http.Handler mounted at the Engine.IO
// path (e.g. "/engine.io/", or "/socket.io/" under Socket.IO).
type Server struct {
	opts   Options
	accept func(*Session) SessionHandler
	admit  *admission // nil: no limits

	mu       sync.RWMutex
	sessions map[string]*Session
	// opening holds the ids of WebSocket sessions whose open packet may
	// already be with the client while the session is being registered;
	// the channel is closed once it is. A request naming one waits for
	// that rather than answering "Session ID unknown" for a sid the
	// server has just handed out.
	opening map[string]chan struct{}
	closed  bool

	openPolling   []byte // handshake JSON for polling sessions, without sid
	openWebSocket []byte

	stats serverStats
}

// NewServer returns a server that calls accept for every new session before
// any of its messages are delivered. opts may be nil.
func NewServer(accept func(*Session) SessionHandler, opts *Options) *Server {
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{opts: opts.withDefaults(), accept: accept, sessions: make(map[string]*Session), opening: make(map[string]chan struct{})}
	s.admit = newAdmission(s.opts.Limits)
	upgrades := []string{}
	if !s.opts.DisableWebSocket {
		upgrades = append(upgrades, "websocket")
	}
	if s.opts.WebTransport {
		upgrades = append(upgrades, "webtransport")
	}
	s.openPolling = s.openJSON(upgrades)
	s.openWebSocket = s.openJSON([]string{})
	return s
}

func (s *Server) openJSON(upgrades []string) []byte {
	b, _ := json.Marshal(struct {
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}{upgrades, s.opts.PingInterval.Milliseconds(), s.opts.PingTimeout.Milliseconds(), s.opts.MaxPayload})
	return b
}

// Options returns the effective options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Session returns the open session with this id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[id]
}

// Count returns the number of open sessions.
func (s *Server) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// ServeHTTP implements the Engine.IO HTTP and WebSocket endpoints. A
// request carrying a sid belongs to an open session; one without opens a
// new session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		s.opts.CORS.preflight(w, r)
		return
	}
	s.opts.CORS.setHeaders(w, r)
	q := r.URL.Query()
	transport := q.Get("transport")
	isWS := isWebSocketRequest(r)
	if err := s.checkRequest(r, transport, isWS); err != nil {
		writeRequestError(w, err)
		return
	}
	if q.Get("sid") != "" {
		s.serveSession(w, r, q, transport, isWS)
		return
	}
	s.serveHandshake(w, r, q, transport, isWS)
}

// checkRequest refuses what no request may do, for a session or a new
// one: a transport that is unknown or turned off, an Origin header that is
// not a valid header value, a WebSocket from an origin CORS does not allow.
func (s *Server) checkRequest(r *http.Request, transport string, isWS bool) *requestError {
	if !(transport == "polling" && !s.opts.DisablePolling) && !(transport == "websocket" && !s.opts.DisableWebSocket) {
		return errUnknownTransport
	}
	if !validHeaderValue(r.Header.Get("Origin")) {
		return errBadRequest
	}
	if transport == "websocket" && isWS && !s.opts.CORS.allowWebSocket(r) {
		return errForbidden
	}
	return nil
}

// serveSession routes a request for an open session by transport and
// method: a WebSocket upgrade, a long-polling GET, or a POST of packets.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, q url.Values, transport string, isWS bool) {
	sess, err := s.findSession(r, q)
	if err != nil {
		if err == errForward {
			if s.opts.Forwarder.Forward(w, r, q.Get("sid")) {
				return
			}
			err = errUnknownSID
		}
		writeRequestError(w, err)
		return
	}
	switch {
	case transport == "websocket" && isWS:
		sess.serveUpgrade(w, r)
	case transport == "polling" && r.Method == http.MethodGet:
		sess.servePoll(w, r)
	case transport == "polling" && r.Method == http.MethodPost:
		sess.servePost(w, r)
	default:
		writeRequestError(w, errBadRequest)
	}
}

// findSession returns the session the request's sid names, if the request
// may use it: with Limits.BindSessionToIP only from the address that
// opened it, and always in the protocol revision it was opened with.
func (s *Server) findSession(r *http.Request, q url.Values) (*Session, *requestError) {
	sess := s.Session(q.Get("sid"))
	if sess == nil {
		sess = s.awaitOpening(r, q.Get("sid"))
	}
	if sess == nil {
		if s.opts.Forwarder != nil && !IsForwarded(r.Context()) {
			return nil, errForward
		}
		return nil, errUnknownSID
	}
	if s.opts.Limits.BindSessionToIP && s.opts.Limits.clientKey(r) != sess.clientKey {
		s.stats.rejected(LimitSessionBinding)
		s.opts.Logger.Debug("engineio: request for a session from another address refused", "client", s.opts.Limits.clientKey(r))
		return nil, errUnknownSID // as if it did not exist
	}
	if q.Get("EIO") != strconv.Itoa(sess.hs.Protocol) {
		return nil, errBadRequest // protocol mismatch
	}
	if sess.pongOverdue() {
		sess.close(ReasonPingTimeout, nil)
		return nil, errUnknownSID
	}
	return sess, nil
}

// awaitOpening returns the session with this id once it is registered, if
// it is being registered (see Server.opening); otherwise nil.
func (s *Server) awaitOpening(r *http.Request, id string) *Session {
	s.mu.RLock()
	ready := s.opening[id]
	s.mu.RUnlock()
	if ready == nil {
		return nil
	}
	select {
	case <-ready:
		return s.Session(id)
	case <-r.Context().Done():
		return nil
	}
}

// reserveOpening marks id as being registered; openingDone ends that,
// whether or not the session was registered.
func (s *Server) reserveOpening(id string) chan struct{} {
	ready := make(chan struct{})
	s.mu.Lock()
	s.opening[id] = ready
	s.mu.Unlock()
	return ready
}

func (s *Server) openingDone(id string, ready chan struct{}) {
	s.mu.Lock()
	delete(s.opening, id)
	s.mu.Unlock()
	close(ready)
}

// serveHandshake opens a new session: it checks the request, takes an
// admission slot for the client, then hands over to the transport's
// handshake.
func (s *Server) serveHandshake(w http.ResponseWriter, r *http.Request, q url.Values, transport string, isWS bool) {
	protocol, err := s.checkHandshake(r, q, transport, isWS)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	key, err := s.admitClient(r)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	hs := &Handshake{
		Query:      q,
		Header:     r.Header,
		RemoteAddr: r.RemoteAddr,
		Time:       time.Now(),
		Secure:     r.TLS != nil,
		URL:        r.URL.RequestURI(),
		Protocol:   protocol,
	}
	if transport == "websocket" {
		s.handshakeWebSocket(w, r, hs, key)
		return
	}
	s.handshakePolling(w, hs, key)
}

// checkHandshake returns the protocol revision a new session would speak,
// or why it may not open: a method other than GET, a revision not
// accepted, a WebSocket transport asked for over plain HTTP, a refusal by
// Options.AllowRequest, a server shutting down.
func (s *Server) checkHandshake(r *http.Request, q url.Values, transport string, isWS bool) (int, *requestError) {
	if r.Method != http.MethodGet {
		return 0, errBadHandshakeMethod
	}
	protocol := 4
	if eio := q.Get("EIO"); eio != "4" {
		if eio != "3" || !s.opts.AllowEIO3 {
			return 0, errUnsupportedVersion
		}
		protocol = 3
	}
	if transport == "websocket" && !isWS {
		return 0, errBadRequest
	}
	if err := s.mayOpen(r); err != nil {
		return 0, err
	}
	return protocol, nil
}

// mayOpen refuses a new session that Options.AllowRequest refuses, or
// that would open on a server shutting down; whatever its transport.
func (s *Server) mayOpen(r *http.Request) *requestError {
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			return errForbidden
		}
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return errShuttingDown
	}
	return nil
}

// admitClient takes an admission slot for the client under
// Options.Limits. key is the address the slot counts against ("" without
// limits); whoever holds it releases it if no session comes of it.
func (s *Server) admitClient(r *http.Request) (key string, _ *requestError) {
	if !s.opts.Limits.keyed() {
		return "", nil
	}
	key = s.opts.Limits.clientKey(r)
	if err := s.admit.admit(key); err != nil {
		s.stats.rejected(err.limit)
		s.opts.Logger.Debug("engineio: handshake refused", "reason", err.Message, "client", key)
		return "", err
	}
	return key, nil
}

func isWebSocketRequest(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		headerContainsToken(r.Header.Get("Connection"), "upgrade")
}

func headerContainsToken(v, token string) bool {
	for _, part := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// newSession runs accept for a new session, then registers it; ws is its
// WebSocket if it was opened over one, key the client key its admission
// slot was reserved under. The handler is attached before the session is
// visible to anyone (Close, a request with its sid). It returns nil when
// the server is closed.
func (s *Server) newSession(hs *Handshake, id string, ws *wsConn, key string) *Session {
	sess := &Session{srv: s, id: id, hs: hs, ws: ws, clientKey: key, eio3: hs.Protocol == 3, b64: hs.Query.Get("b64") != ""}
	if ws == nil {
		sess.poll = make(chan struct{}, 1) // WebSocket sessions are never polled
		sess.jsonp = jsonpHead(hs.Query)
	}
	// Under deliverMu, which every call into the handler takes: a close
	// racing with accept (its OnClose runs on another goroutine) waits
	// for the handler instead of finding none.
	sess.deliverMu.Lock()
	sess.handler = s.accept(sess)
	sess.deliverMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.admit.release(key)
		// Closed for good before OnClose: a Close of the session (the
		// handler has it) must not call OnClose a second time.
		sess.mu.Lock()
		sess.state = stateClosed
		sess.mu.Unlock()
		sess.ended.Store(true)
		sess.handler.OnClose(ReasonServerShutdown, nil)
		return nil
	}
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	switch {
	case ws == nil:
		s.stats.handshakesPolling.Add(1)
	case ws.wt:
		s.stats.handshakesWebTransport.Add(1)
	default:
		s.stats.handshakesWebSocket.Add(1)
	}
	s.stats.open(ws).Add(1)
	if log := s.opts.Logger; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("engineio: session opened", "transport", transportName(ws), "remote", hs.RemoteAddr)
	}
	return sess
}

func (s *Server) openPacket(id string, ws bool) *Message {
	rest := s.openPolling
	if ws {
		rest = s.openWebSocket
	}
	b := make([]byte, 0, 12+len(id)+len(rest))
	b = append(b, byte(PacketOpen))
	b = append(b, `{"sid":"`...)
	b = append(b, id...)
	b = append(b, `",`...)
	b = append(b, rest[1:]...)
	return newMessage(b, false)
}

func (s *Server) handshakePolling(w http.ResponseWriter, hs *Handshake, key string) {
	sess := s.newSession(hs, s.newID(), nil, key)
	if sess == nil {
		writeRequestError(w, errShuttingDown)
		return
	}
	open := s.openPacket(sess.id, false)
	if c := s.opts.Cookie; c != nil {
		w.Header().Add("Set-Cookie", c.header(sess.id))
	}
	sess.startHeartbeat()
	sess.opened()
	sess.writePolling(w, hs.Header.Get("Accept-Encoding"), []*Message{open})
}

func (s *Server) remove(sess *Session) {
	sess.mu.Lock()
	ws := sess.ws
	sess.mu.Unlock()
	s.mu.Lock()
	removed := s.sessions[sess.id] == sess
	if removed {
		delete(s.sessions, sess.id)
		s.stats.fold(sess)
		s.stats.open(ws).Add(-1)
	}
	s.mu.Unlock()
	if removed {
		s.admit.release(sess.clientKey)
	}
}

// Drain refuses new sessions (handshakes get HTTP 503); open sessions go
// on. It is the first step of a graceful shutdown: Close ends them.
func (s *Server) Drain() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// transportName names the transport of a session whose connection is c
// (nil for polling).
func transportName(c *wsConn) string {
	switch {
	case c == nil:
		return "polling"
	case c.wt:
		return "webtransport"
	}
	return "websocket"
}

// Close refuses new sessions and closes every open one with
// ReasonServerShutdown. A WebSocket session gets what was queued for it,
// then a close frame; a polling session with a GET pending gets what was
// queued and the close packet in that response. A polling session without
// one is closed at once and its queue dropped, as the reference server
// does: its client is between polls, or gone, and might never come back
// for it. Close waits until the sessions are gone or ctx is done, then
// closes what is left without waiting. A client that stopped reading holds
// it up for at most Options.WriteTimeout.
//
// With an http.Server, call Close first, then http.Server.Shutdown.
// Shutdown does not know WebSocket connections (they are taken over from
// net/http), and it waits for requests in progress, which a pending
// long-polling GET is until the next ping (up to PingInterval): Close
// answers those GETs with the close packet, then Shutdown stops the
// listener and waits for those answers to be written. Between the two,
// new sessions are refused with HTTP 503.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.close(ReasonServerShutdown, nil)
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.Count() > 0 {
		select {
		case <-ctx.Done():
			s.mu.RLock()
			rest := make([]*Session, 0, len(s.sessions))
			for _, sess := range s.sessions {
				rest = append(rest, sess)
			}
			s.mu.RUnlock()
			for _, sess := range rest {
				sess.finish()
			}
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// newID returns 120 random bits, URL-safe base64: unguessable session ids.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a new unguessable identifier, for use by upper layers.
func NewID() string { return newID() }

// newID returns a new session id: the Forwarder's, which names this node,
// when there is one.
func (s *Server) newID() string {
	if f := s.opts.Forwarder; f != nil {
		return f.NewID()
	}
	return newID()
}

// writePolling answers a polling GET (or a polling handshake) with msgs,
// in the session's protocol; acceptEncoding is the request's
// Accept-Encoding.
func (s *Session) writePolling(w http.ResponseWriter, acceptEncoding string, msgs []*Message) {
	if s.jsonp != "" {
		s.writeJSONP(w, acceptEncoding, msgs)
		return
	}
	if s.eio3 {
		body, binary := encodePayloadV3(nil, msgs, !s.b64)
		ct := "text/plain; charset=UTF-8"
		if binary {
			ct = "application/octet-stream"
		}
		s.srv.respond(w, acceptEncoding, ct, body)
		return
	}
	s.srv.respond(w, acceptEncoding, "text/plain; charset=UTF-8", encodePayload(nil, msgs))
}
