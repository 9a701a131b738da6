// Package adminui is the server side of the Socket.IO Admin UI
// (@socket.io/admin-ui 0.5.1): the admin namespace's protocol, with a
// required login (a bcrypt hash, or the application's Authorize func)
// limited per client, read-only mode and the development/production modes,
// and (Admin.Handler) the UI's web page itself, served from the binary.
//
// In an application: Instrument(io, Options{...}) once, then mount
// admin.Handler("/admin/") beside the Socket.IO server.
//
// The protocol, as the UI expects it from the Node.js instrument():
//   - auth: {username, password} or {sessionId} from an earlier login; a
//     successful login is answered with "session" (a new session id);
//   - on connection: "config" {supportedFeatures}, "all_sockets" [socket]
//     (development mode), then "server_stats" every 2 seconds;
//   - in development mode: socket_connected, socket_updated,
//     socket_disconnected, room_joined, room_left, event_received and
//     event_sent as they happen;
//   - actions (not in read-only mode): "emit" (nsp, filter, event, ...args),
//     "join" (nsp, room, filter), "leave" (nsp, room, filter) and
//     "_disconnect" (nsp, close, filter), where filter is a room (a socket
//     id selects one socket) or empty for the whole namespace.
//
// The per-socket events come from a socketio.Observer registered only
// while at least one admin is connected: with none, the Socket.IO server
// pays one atomic load per hook.
package adminui

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
)

// Options configure the admin namespace.
type Options struct {
	// Namespace is the admin namespace (default "/admin"). It cannot be
	// "/": the login would be asked of every client of the application,
	// and the admins' events sent to them.
	Namespace string
	// Username and PasswordHash (bcrypt, e.g. from bcrypt.GenerateFromPassword)
	// are the login. Either they or Authorize are required: an admin can
	// disconnect every client and read every handshake.
	Username     string
	PasswordHash string
	// Authorize, instead of Username and PasswordHash, checks the username
	// and password the UI sends (against the application's own user
	// store, say): nil accepts the login, an error refuses it. A success
	// starts a session as a password login does.
	Authorize func(hs *socketio.Handshake, username, password string) error
	// Readonly offers no actions (join, leave, disconnect, emit).
	Readonly bool
	// Production sends only the aggregated statistics: no per-socket
	// events, no socket list. Cheaper on a busy server.
	Production bool
	// ServerID names this node in the UI (default: the host name).
	ServerID string
	// StatsInterval is how often server_stats is sent (default 2s, as the
	// reference does).
	StatsInterval time.Duration
	// SocketIOPath is the path the Socket.IO server is mounted at (default
	// "/socket.io/"): the UI's page (Admin.Handler) fills it in for the
	// browser.
	SocketIOPath string
	// Logger receives login failures and admin actions (nil:
	// slog.Default(), so that failed logins are not lost silently).
	Logger *slog.Logger
	// ClientIP names the client a login attempt counts against: each
	// client gets 5 password checks, refilled one per 10 seconds, so that
	// guessing from some addresses never locks the admin out from another
	// (default: the host of the peer's address; for IPv6, its /64). Behind
	// a reverse proxy, return the client address from the X-Forwarded-For
	// header the proxy sets, or every admin shares the proxy's limit.
	ClientIP func(remoteAddr string, header http.Header) string
	// RedactQuery names query parameters that carry credentials (the
	// namespaces' auth query_param): the UI shows "[redacted]" for them.
	RedactQuery []string
}

const redacted = "[redacted]"

// Features the UI knows (typed-events.d.ts).
const (
	featureEmit         = "EMIT"
	featureJoin         = "JOIN"
	featureLeave        = "LEAVE"
	featureDisconnect   = "DISCONNECT"
	featureMJoin        = "MJOIN"
	featureMLeave       = "MLEAVE"
	featureMDisconnect  = "MDISCONNECT"
	featureAggregated   = "AGGREGATED_EVENTS"
	featureAllEvents    = "ALL_EVENTS"
	maxSessions         = 1000           // remembered logins
	sessionLifetime     = 24 * time.Hour // as the reference's RedisStore
	maxConcurrentBcrypt = 2              // a login costs ~50 ms of CPU
)

// Admin is an instrumented Socket.IO server.
type Admin struct {
	io       *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	features []string
	started  time.Time
	hostname string

	bcryptSem chan struct{}
	logins    *loginLimiter
	// Counts: wrong credentials, and attempts refused over the limit.
	loginFailures, loginsRefused atomic.Uint64

	mu        sync.Mutex
	sessions  map[string]time.Time          // login session id -> expiry
	pending   map[*socketio.Socket]string   // new session ids, sent on connection
	admins    map[*socketio.Socket]struct{} // connected admin sockets
	stopObs   func()                        // unregisters the observer
	stopStats chan struct{}                 // stops the stats loop
	statsDone chan struct{}                 // closed when it has stopped
	last      engineio.Stats                // at the previous server_stats
	closed    bool
}

var (
	errInvalidCredentials = errors.New("invalid credentials")
	// errTooManyLogins also closes the connection: see loginBurst.
	errTooManyLogins = &socketio.ConnectError{Message: "too many login attempts, try again later", CloseConnection: true}
)

// LimitLoginAttempts is the limit_rejections_total kind of login attempts
// refused over the per-address limit.
const LimitLoginAttempts = "admin_login_attempts"

// Rejections returns the login attempts refused over the per-address
// limit, by kind, for limit_rejections_total.
func (a *Admin) Rejections() map[string]uint64 {
	return map[string]uint64{LimitLoginAttempts: a.loginsRefused.Load()}
}

// LoginFailures returns the number of logins refused for wrong
// credentials.
func (a *Admin) LoginFailures() uint64 { return a.loginFailures.Load() }

// Instrument creates the admin namespace on io. It fails without a login
// (Username and PasswordHash, or Authorize) and for the namespace "/".
// Serve the UI's page with Admin.Handler.
func Instrument(io *socketio.Server, opts Options) (*Admin, error) {
	if opts.Namespace == "" {
		opts.Namespace = "/admin"
	}
	if opts.Namespace == "/" || !strings.HasPrefix(opts.Namespace, "/") {
		return nil, fmt.Errorf("adminui: namespace %q: the admin namespace must be one of its own, such as \"/admin\"", opts.Namespace)
	}
	switch {
	case opts.Authorize != nil:
		if opts.Username != "" || opts.PasswordHash != "" {
			return nil, errors.New("adminui: set either Authorize or Username and PasswordHash, not both")
		}
	case opts.Username == "":
		return nil, errors.New("adminui: a login is required: Username and PasswordHash, or Authorize")
	default:
		if _, err := bcrypt.Cost([]byte(opts.PasswordHash)); err != nil {
			return nil, errors.New("adminui: the password hash must be a bcrypt hash")
		}
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = 2 * time.Second
	}
	if opts.SocketIOPath == "" {
		opts.SocketIOPath = "/socket.io/"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	if opts.ServerID == "" {
		opts.ServerID = host
	}
	a := &Admin{
		io:        io,
		nsp:       io.Of(opts.Namespace),
		opts:      opts,
		started:   time.Now(),
		hostname:  host,
		bcryptSem: make(chan struct{}, maxConcurrentBcrypt),
		logins:    newLoginLimiter(),
		sessions:  make(map[string]time.Time),
		pending:   make(map[*socketio.Socket]string),
		admins:    make(map[*socketio.Socket]struct{}),
	}
	if !opts.Readonly {
		a.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	a.features = append(a.features, featureAggregated)
	if !opts.Production {
		a.features = append(a.features, featureAllEvents)
	}
	a.nsp.Use(a.authenticate)
	a.nsp.OnConnection(a.onConnection)
	a.nsp.OnDisconnect(func(s *socketio.Socket, _ socketio.DisconnectReason) { a.adminLeft(s) })
	if !opts.Readonly {
		a.registerActions()
	}
	return a, nil
}

// Close stops the statistics loop and the observer; the namespace stays.
func (a *Admin) Close() {
	a.mu.Lock()
	a.closed = true
	a.stopLocked()
	done := a.statsDone
	a.mu.Unlock()
	if done != nil {
		<-done
	}
}

type credentials struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	SessionID string `json:"sessionId"`
}

func (a *Admin) authenticate(s *socketio.Socket) error {
	var c credentials
	_ = s.Handshake().AuthInto(&c) // a malformed payload is no credentials
	now := time.Now()
	if c.SessionID != "" {
		a.mu.Lock()
		exp, ok := a.sessions[c.SessionID]
		a.mu.Unlock()
		if ok && now.Before(exp) {
			return nil
		}
	}
	if c.Username == "" {
		return errInvalidCredentials
	}
	hs := s.Handshake()
	addr := hs.Address
	if a.opts.ClientIP != nil {
		addr = a.opts.ClientIP(hs.Address, hs.Headers)
	}
	addr = addressKey(addr)
	if !a.logins.take(addr, now) {
		a.loginsRefused.Add(1)
		a.opts.Logger.Debug("adminui: login attempt over the limit refused", "client", addr)
		return errTooManyLogins
	}
	var err error
	if a.opts.Authorize != nil {
		err = a.opts.Authorize(hs, c.Username, c.Password)
	} else {
		timer := time.NewTimer(bcryptWait)
		select {
		case a.bcryptSem <- struct{}{}:
			timer.Stop()
		case <-timer.C:
			a.logins.refund(addr, time.Now()) // not checked: no attempt spent
			return errors.New("server busy, try again")
		}
		err = bcrypt.CompareHashAndPassword([]byte(a.opts.PasswordHash), []byte(c.Password))
		<-a.bcryptSem
		if err == nil && c.Username != a.opts.Username {
			err = errInvalidCredentials
		}
	}
	if err != nil {
		n := a.loginFailures.Add(1)
		log := a.opts.Logger.With("client", addr, "remote", hs.Address, "failures", n)
		if a.opts.Authorize != nil {
			log = log.With("err", err)
		}
		log.Warn("adminui: login failed")
		return errInvalidCredentials
	}
	a.logins.refund(addr, time.Now())
	id := randomID()
	a.mu.Lock()
	for k, exp := range a.sessions { // forget expired logins
		if now.After(exp) {
			delete(a.sessions, k)
		}
	}
	if len(a.sessions) >= maxSessions {
		for k := range a.sessions { // bounded: drop an arbitrary one
			delete(a.sessions, k)
			break
		}
	}
	a.sessions[id] = now.Add(sessionLifetime)
	if len(a.pending) >= maxSessions {
		// Logins whose connection failed right after: stale.
		clear(a.pending)
	}
	a.pending[s] = id
	a.mu.Unlock()
	a.opts.Logger.Info("adminui: login", "remote", s.Handshake().Address)
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (a *Admin) onConnection(s *socketio.Socket) {
	a.mu.Lock()
	session, fresh := a.pending[s]
	delete(a.pending, s)
	a.admins[s] = struct{}{}
	first := len(a.admins) == 1 && !a.closed
	a.mu.Unlock()
	if fresh {
		_ = s.Emit("session", session)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	if first {
		a.start()
	}
	if !a.opts.Production {
		_ = s.Emit("all_sockets", a.allSockets())
	}
	_ = s.Emit("server_stats", a.serverStats(false))
}

func (a *Admin) adminLeft(s *socketio.Socket) {
	a.mu.Lock()
	delete(a.pending, s)
	if _, ok := a.admins[s]; !ok {
		a.mu.Unlock()
		return // refused, or its connection failed before it was announced
	}
	delete(a.admins, s)
	if len(a.admins) == 0 {
		a.stopLocked() // the loop exits on its own: no waiting here
	}
	a.mu.Unlock()
}

// start registers the observer and starts the statistics loop for the
// first admin.
func (a *Admin) start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopStats != nil || a.closed || len(a.admins) == 0 {
		return
	}
	if !a.opts.Production {
		a.stopObs = a.io.Observe(a)
	}
	a.last = a.io.Engine().Stats() // the charts start now, not at boot
	stop, done := make(chan struct{}), make(chan struct{})
	a.stopStats, a.statsDone = stop, done
	go a.statsLoop(stop, done)
}

func (a *Admin) stopLocked() {
	if a.stopObs != nil {
		a.stopObs()
		a.stopObs = nil
	}
	if a.stopStats != nil {
		close(a.stopStats)
		a.stopStats = nil
	}
}

func (a *Admin) statsLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = a.nsp.Emit("server_stats", a.serverStats(true))
		}
	}
}

// serverStats builds a server_stats message; with aggregate, it carries
// the engine's traffic since the previous one.
func (a *Admin) serverStats(aggregate bool) map[string]any {
	st := a.io.Engine().Stats()
	events := []map[string]any{}
	if aggregate {
		a.mu.Lock()
		prev := a.last
		a.last = st
		a.mu.Unlock()
		ts := time.Now().Truncate(time.Second).UnixMilli()
		add := func(typ, sub string, n uint64) {
			if n == 0 {
				return
			}
			e := map[string]any{"timestamp": ts, "type": typ, "count": n}
			if sub != "" {
				e["subType"] = sub
			}
			events = append(events, e)
		}
		add("rawConnection", "", st.HandshakesPolling+st.HandshakesWebSocket+st.HandshakesWebTransport-prev.HandshakesPolling-prev.HandshakesWebSocket-prev.HandshakesWebTransport)
		for r, n := range st.Closes {
			add("rawDisconnection", string(r), n-prev.Closes[r])
		}
		add("packetsIn", "", st.MessagesIn-prev.MessagesIn)
		add("packetsOut", "", st.MessagesOut-prev.MessagesOut)
		add("bytesIn", "", st.BytesIn-prev.BytesIn)
		add("bytesOut", "", st.BytesOut-prev.BytesOut)
	}
	var namespaces []map[string]any
	for _, n := range a.io.Namespaces() {
		namespaces = append(namespaces, map[string]any{"name": n.Name(), "socketsCount": n.Len()})
	}
	return map[string]any{
		"serverId":            a.opts.ServerID,
		"hostname":            a.hostname,
		"pid":                 os.Getpid(),
		"uptime":              time.Since(a.started).Seconds(),
		"clientsCount":        st.OpenPolling + st.OpenWebSocket + st.OpenWebTransport,
		"pollingClientsCount": st.OpenPolling,
		"aggregatedEvents":    events,
		"namespaces":          namespaces,
	}
}

func (a *Admin) allSockets() []map[string]any {
	out := []map[string]any{}
	for _, n := range a.io.Namespaces() {
		for _, s := range n.Sockets() {
			out = append(out, a.serialize(s))
		}
	}
	return out
}

// serialize describes a socket as the UI wants it (SerializedSocket).
// Unlike Node's, it shows no credentials: the Cookie and Authorization
// headers and the RedactQuery parameters are "[redacted]" (the handshake
// auth payload is not sent, as in Node). An admin acts on clients through
// the UI; copying their browser sessions or tokens is not part of that,
// and the socket list can end up in a screenshot or a shared screen.
func (a *Admin) serialize(s *socketio.Socket) map[string]any {
	hs := s.Handshake()
	headers := make(map[string]string, len(hs.Headers))
	for k, v := range hs.Headers {
		k = strings.ToLower(k)
		if k == "cookie" || k == "authorization" {
			headers[k] = redacted
			continue
		}
		headers[k] = strings.Join(v, ", ")
	}
	query := make(map[string]string, len(hs.Query))
	redactURL := false
	for k, v := range hs.Query {
		if slices.Contains(a.opts.RedactQuery, k) {
			query[k] = redacted
			redactURL = true
		} else if len(v) > 0 {
			query[k] = v[0]
		}
	}
	u := hs.URL
	if path, _, ok := strings.Cut(u, "?"); ok && redactURL {
		q := make(url.Values, len(query))
		for k, v := range query {
			q.Set(k, v)
		}
		u = path + "?" + q.Encode()
	}
	address := headers["cf-connecting-ip"]
	if address == "" {
		address = headers["x-forwarded-for"]
	}
	if address == "" {
		address = hs.Address
		if h, _, err := net.SplitHostPort(address); err == nil {
			address = h
		}
	}
	clientID := s.ConnectionID()
	if len(clientID) > 12 {
		clientID = clientID[:12]
	}
	return map[string]any{
		"id":        s.ID(),
		"clientId":  clientID,
		"transport": s.Transport(),
		"nsp":       s.Namespace().Name(),
		"data":      socketData(s),
		"handshake": map[string]any{
			"address": address,
			"headers": headers,
			"query":   query,
			"issued":  hs.Time.UnixMilli(),
			"secure":  hs.Secure,
			"time":    hs.Time.UTC().Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"),
			"url":     u,
			"xdomain": headers["origin"] != "",
		},
		"rooms": s.Rooms(),
	}
}

// socketData is the socket's Data if it encodes as a JSON object, else {}.
func socketData(s *socketio.Socket) any {
	if d := s.Data(); d != nil {
		if b, err := json.Marshal(d); err == nil && len(b) > 0 && b[0] == '{' {
			return json.RawMessage(b)
		}
	}
	return map[string]any{}
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// The socketio.Observer methods: development mode, while admins are
// connected. Events of the admin namespace itself are not reported (the
// reports are emitted there).

// SocketConnected implements socketio.Observer.
func (a *Admin) SocketConnected(s *socketio.Socket) {
	_ = a.nsp.Emit("socket_connected", a.serialize(s), now())
}

// SocketDisconnected implements socketio.Observer.
func (a *Admin) SocketDisconnected(s *socketio.Socket, reason socketio.DisconnectReason) {
	_ = a.nsp.Emit("socket_disconnected", s.Namespace().Name(), s.ID(), string(reason), now())
}

// TransportUpgraded implements socketio.Observer.
func (a *Admin) TransportUpgraded(s *socketio.Socket) {
	_ = a.nsp.Emit("socket_updated", map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "transport": s.Transport()})
}

// RoomJoined implements socketio.Observer.
func (a *Admin) RoomJoined(s *socketio.Socket, room string) {
	_ = a.nsp.Emit("room_joined", s.Namespace().Name(), room, s.ID(), now())
}

// RoomLeft implements socketio.Observer.
func (a *Admin) RoomLeft(s *socketio.Socket, room string) {
	_ = a.nsp.Emit("room_left", s.Namespace().Name(), room, s.ID(), now())
}

// EventReceived implements socketio.Observer.
func (a *Admin) EventReceived(s *socketio.Socket, event string, args socketio.Args) {
	if s.Namespace() == a.nsp {
		return
	}
	list := make([]any, 0, 1+args.Len())
	list = append(list, event)
	for i := 0; i < args.Len(); i++ {
		if b, ok := args.Bytes(i); ok {
			list = append(list, b)
		} else {
			list = append(list, args.Raw(i))
		}
	}
	_ = a.nsp.Emit("event_received", s.Namespace().Name(), s.ID(), list, now())
}

// EventSent implements socketio.Observer.
func (a *Admin) EventSent(s *socketio.Socket, event string, args []any) {
	if s.Namespace() == a.nsp {
		return
	}
	list := make([]any, 0, 1+len(args))
	list = append(list, event)
	for _, v := range args {
		if in, ok := v.(socketio.Args); ok { // relayed arguments: spread them
			for i := 0; i < in.Len(); i++ {
				if b, ok := in.Bytes(i); ok {
					list = append(list, b)
				} else {
					list = append(list, in.Raw(i))
				}
			}
			continue
		}
		list = append(list, v)
	}
	_ = a.nsp.Emit("event_sent", s.Namespace().Name(), s.ID(), list, now())
}

// Actions.

func (a *Admin) registerActions() {
	a.nsp.On("emit", func(s *socketio.Socket, e *socketio.Event) {
		var nsp, filter, event string
		if e.Decode(0, &nsp) != nil || e.Decode(2, &event) != nil || event == "" {
			return
		}
		_ = e.Decode(1, &filter) // null: the whole namespace
		n := a.namespace(nsp)
		if n == nil {
			return
		}
		a.opts.Logger.Info("adminui: emit", "nsp", nsp, "room", filter, "event", event)
		if filter != "" {
			_ = n.To(filter).Emit(event, e.Args.From(3))
		} else {
			_ = n.Emit(event, e.Args.From(3))
		}
	})
	a.nsp.On("join", func(s *socketio.Socket, e *socketio.Event) {
		if n, room, sel := a.target(e); n != nil && room != "" {
			a.opts.Logger.Info("adminui: join", "nsp", n.Name(), "room", room, "filter", sel)
			a.selection(n, sel).SocketsJoin(room)
		}
	})
	a.nsp.On("leave", func(s *socketio.Socket, e *socketio.Event) {
		if n, room, sel := a.target(e); n != nil && room != "" {
			a.opts.Logger.Info("adminui: leave", "nsp", n.Name(), "room", room, "filter", sel)
			a.selection(n, sel).SocketsLeave(room)
		}
	})
	a.nsp.On("_disconnect", func(s *socketio.Socket, e *socketio.Event) {
		var nsp, filter string
		var closeConn bool
		if e.Decode(0, &nsp) != nil {
			return
		}
		_ = e.Decode(1, &closeConn)
		_ = e.Decode(2, &filter)
		n := a.namespace(nsp)
		if n == nil {
			return
		}
		a.opts.Logger.Info("adminui: disconnect", "nsp", nsp, "filter", filter, "close", closeConn)
		a.selection(n, filter).DisconnectSockets(closeConn)
	})
}

// target decodes (nsp, room, filter).
func (a *Admin) target(e *socketio.Event) (*socketio.Namespace, string, string) {
	var nsp, room, filter string
	if e.Decode(0, &nsp) != nil || e.Decode(1, &room) != nil {
		return nil, "", ""
	}
	_ = e.Decode(2, &filter)
	return a.namespace(nsp), room, filter
}

func (a *Admin) selection(n *socketio.Namespace, filter string) *socketio.BroadcastOperator {
	if filter != "" {
		return n.In(filter)
	}
	return n.Except() // no exception: the whole namespace
}

// namespace finds an existing namespace: the admin never creates one.
func (a *Admin) namespace(name string) *socketio.Namespace {
	for _, n := range a.io.Namespaces() {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

var _ socketio.Observer = (*Admin)(nil)
