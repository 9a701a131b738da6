// Package api is Switchboard's HTTP API for app backends, mounted under
// /api/: emit events, list rooms and sockets, make sockets join or leave
// rooms, and disconnect them. docs/api.yaml is its OpenAPI description and
// docs/api.md has request/response examples.
//
// Every call acts through socketio's BroadcastOperator (Namespace.To, In,
// Except, Volatile, Emit, Sockets, SocketsJoin, SocketsLeave,
// DisconnectSockets), so it reaches the whole cluster whenever the
// namespace's adapter spans several nodes.
//
// Requests carry "Authorization: Bearer <key>": a missing or malformed
// header is 401, a wrong key 403. Bodies are JSON objects with no unknown
// fields; a bad input is 400 with the offending field named:
//
//	{"error": "event: must not be empty", "field": "event"}
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/internal/nocode/auth"
	"github.com/switchboard/switchboard/socketio"
)

// Limits on inputs.
const (
	maxBody     = 1 << 20 // bytes of a request body
	maxRooms    = 1000    // rooms in one selector
	maxRoomLen  = 128
	maxEventLen = 256
)

// Options configure the API.
type Options struct {
	// Key is the bearer key callers must present. It grants full control
	// over every connected client: keep it out of browsers.
	Key string
	// Server is the Socket.IO server acted on.
	Server *socketio.Server
	// Namespaces lists the namespaces the API may address. Requests for
	// others are refused: Server.Of would create them.
	Namespaces []string
	// Stats, if set, is served at GET /api/stats.
	Stats func() any
	// ExposeHandshakeAuth lists sockets with the auth payload they sent
	// and the values of the RedactQuery parameters. By default the
	// payload's keys are kept and every value is "[redacted]": it holds
	// the client's token, a recovery secret, whatever the app asks for.
	ExposeHandshakeAuth bool
	// RedactQuery names query parameters that carry credentials (the
	// namespaces' auth query_param): their values are "[redacted]" in the
	// listed query and URL unless ExposeHandshakeAuth.
	RedactQuery []string
	// Logger (default: discard).
	Logger *slog.Logger
}

type server struct {
	opts   Options
	keySum [sha256.Size]byte
	log    *slog.Logger
	routes map[string]map[string]http.HandlerFunc // path -> method -> handler
}

// New returns the API handler. It expects request paths starting /api/.
func New(opts Options) (http.Handler, error) {
	if opts.Key == "" {
		return nil, errors.New("api: empty key")
	}
	if opts.Server == nil {
		return nil, errors.New("api: nil server")
	}
	s := &server{opts: opts, keySum: sha256.Sum256([]byte(opts.Key)), log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes = map[string]map[string]http.HandlerFunc{
		"/api/emit":       {http.MethodPost: s.emit},
		"/api/rooms":      {http.MethodGet: s.rooms},
		"/api/sockets":    {http.MethodGet: s.sockets},
		"/api/join":       {http.MethodPost: s.joinLeave(true)},
		"/api/leave":      {http.MethodPost: s.joinLeave(false)},
		"/api/disconnect": {http.MethodPost: s.disconnect},
		"/api/stats":      {http.MethodGet: s.stats},
	}
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.authorized(w, r) {
		return
	}
	methods, ok := s.routes[strings.TrimSuffix(r.URL.Path, "/")]
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such endpoint " + r.URL.Path})
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " not allowed (allowed: " + strings.Join(allow, ", ") + ")"})
		return
	}
	h(w, r)
}

// authorized checks the bearer key: 401 when absent or malformed (with a
// WWW-Authenticate challenge), 403 when wrong.
func (s *server) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		msg := "missing Authorization: Bearer <key> header"
		if h != "" {
			msg = "malformed Authorization header (want Bearer <key>)"
		}
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: msg})
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	if subtle.ConstantTimeCompare(sum[:], s.keySum[:]) != 1 {
		s.log.Warn("api: wrong key", "addr", r.RemoteAddr, "path", r.URL.Path)
		writeJSON(w, http.StatusForbidden, errorBody{Error: "wrong API key"})
		return false
	}
	return true
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// inputError is a 400 naming the field.
type inputError struct{ field, msg string }

func (e *inputError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

func badInput(w http.ResponseWriter, err error) {
	var ie *inputError
	if !errors.As(err, &ie) {
		ie = &inputError{msg: err.Error()}
	}
	writeJSON(w, http.StatusBadRequest, errorBody{Error: ie.Error(), Field: ie.field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// okBody is the reply of actions that succeeded.
var okBody = map[string]bool{"ok": true}

// decode reads a JSON object body into dst strictly.
func decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &inputError{msg: "Content-Type must be application/json, got " + ct}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			// Fields of the embedded selector are named "selector.x".
			return &inputError{field: strings.TrimPrefix(te.Field, "selector."), msg: "want " + jsonKind(te.Type.String()) + ", got " + te.Value}
		case errors.As(err, &te):
			return &inputError{msg: "body must be a JSON object, got " + te.Value}
		case errors.As(err, &se):
			return &inputError{msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}
		case errors.Is(err, io.EOF):
			return &inputError{msg: "empty body (want a JSON object)"}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &inputError{field: name, msg: "unknown field"}
		default:
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return &inputError{msg: "body truncated or larger than 1 MiB"}
			}
			return &inputError{msg: "invalid JSON: " + err.Error()}
		}
	}
	if dec.More() {
		return &inputError{msg: "trailing data after the JSON object"}
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"):
		return "an object"
	}
	return goType
}

// namespace resolves a configured namespace ("" means "/").
func (s *server) namespace(name string) (*socketio.Namespace, error) {
	if name == "" {
		name = "/"
	}
	if !slices.Contains(s.opts.Namespaces, name) {
		return nil, &inputError{field: "namespace", msg: fmt.Sprintf("unknown namespace %q (configured: %s)", name, strings.Join(s.opts.Namespaces, ", "))}
	}
	return s.opts.Server.Of(name), nil
}

func checkRooms(field string, rooms []string) error {
	if len(rooms) > maxRooms {
		return &inputError{field: field, msg: fmt.Sprintf("too many rooms (%d, max %d)", len(rooms), maxRooms)}
	}
	for i, r := range rooms {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case r == "":
			return &inputError{field: f, msg: "must not be empty"}
		case len(r) > maxRoomLen:
			return &inputError{field: f, msg: fmt.Sprintf("longer than %d bytes", maxRoomLen)}
		case strings.ContainsFunc(r, func(c rune) bool { return c < 0x20 || c == 0x7f }):
			return &inputError{field: f, msg: "control characters not allowed"}
		}
	}
	return nil
}

// selector picks sockets: members of any of Rooms (all sockets when
// empty), minus members of Except. A socket id is also a room: put ids in
// Rooms to pick sockets one by one.
type selector struct {
	Namespace string   `json:"namespace"`
	Rooms     []string `json:"rooms"`
	Except    []string `json:"except"`
}

func (s *server) operator(sel *selector) (*socketio.BroadcastOperator, error) {
	n, err := s.namespace(sel.Namespace)
	if err != nil {
		return nil, err
	}
	if err := checkRooms("rooms", sel.Rooms); err != nil {
		return nil, err
	}
	if err := checkRooms("except", sel.Except); err != nil {
		return nil, err
	}
	return n.To(sel.Rooms...).Except(sel.Except...), nil
}

var reservedEvents = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

type emitRequest struct {
	selector
	Event    string            `json:"event"`
	Args     []json.RawMessage `json:"args"`
	Volatile bool              `json:"volatile"`
}

func (s *server) emit(w http.ResponseWriter, r *http.Request) {
	var req emitRequest
	if err := decode(r, &req); err != nil {
		badInput(w, err)
		return
	}
	switch {
	case req.Event == "":
		badInput(w, &inputError{field: "event", msg: "must not be empty"})
		return
	case len(req.Event) > maxEventLen:
		badInput(w, &inputError{field: "event", msg: fmt.Sprintf("longer than %d bytes", maxEventLen)})
		return
	case slices.Contains(reservedEvents, req.Event):
		badInput(w, &inputError{field: "event", msg: fmt.Sprintf("%q is reserved by Socket.IO clients", req.Event)})
		return
	}
	op, err := s.operator(&req.selector)
	if err != nil {
		badInput(w, err)
		return
	}
	if req.Volatile {
		op = op.Volatile()
	}
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		args[i] = a
	}
	if err := op.Emit(req.Event, args...); err != nil {
		s.log.Warn("api: emit failed", "event", req.Event, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "emit failed"})
		return
	}
	writeJSON(w, http.StatusOK, okBody)
}

// query reads a GET selector: ?namespace=/&room=a&room=b&except=c.
func querySelector(r *http.Request) (*selector, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "namespace" && k != "room" && k != "except" {
			return nil, &inputError{field: k, msg: "unknown query parameter (want namespace, room, except)"}
		}
	}
	if len(q["namespace"]) > 1 {
		return nil, &inputError{field: "namespace", msg: "given more than once"}
	}
	return &selector{Namespace: q.Get("namespace"), Rooms: q["room"], Except: q["except"]}, nil
}

// queryOperator reads a selector from r's query, checks it with check (if
// not nil) and builds its operator. On bad input it answers 400 and
// returns a nil operator.
func (s *server) queryOperator(w http.ResponseWriter, r *http.Request, check func(*selector) error) (*selector, *socketio.BroadcastOperator) {
	sel, err := querySelector(r)
	if err == nil && check != nil {
		err = check(sel)
	}
	var op *socketio.BroadcastOperator
	if err == nil {
		op, err = s.operator(sel)
	}
	if err != nil {
		badInput(w, err)
		return nil, nil
	}
	return sel, op
}

type roomInfo struct {
	Name    string `json:"name"`
	Sockets int    `json:"sockets"`
}

func (s *server) rooms(w http.ResponseWriter, r *http.Request) {
	sel, op := s.queryOperator(w, r, func(sel *selector) error {
		if len(sel.Rooms) > 0 || len(sel.Except) > 0 {
			return &inputError{field: "room", msg: "rooms lists every room of a namespace: only namespace is accepted"}
		}
		return nil
	})
	if op == nil {
		return
	}
	socks, ferr := op.FetchSockets(r.Context())
	counts := map[string]int{}
	for _, sock := range socks {
		for _, room := range sock.Rooms {
			if room != sock.ID {
				counts[room]++
			}
		}
	}
	out := make([]roomInfo, 0, len(counts))
	for name, n := range counts {
		out = append(out, roomInfo{name, n})
	}
	slices.SortFunc(out, func(a, b roomInfo) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, withPartial(map[string]any{"namespace": nsName(sel.Namespace), "rooms": out}, ferr))
}

// withPartial marks an answer that lacks some nodes' sockets (a node did
// not answer in time, or the cluster is unreachable): "partial" holds why.
func withPartial(body map[string]any, err error) map[string]any {
	if err != nil {
		body["partial"] = err.Error()
	}
	return body
}

func nsName(n string) string {
	if n == "" {
		return "/"
	}
	return n
}

type socketInfo struct {
	ID        string        `json:"id"`
	Rooms     []string      `json:"rooms"`
	Handshake handshakeInfo `json:"handshake"`
	Claims    auth.Claims   `json:"claims"`
}

type handshakeInfo struct {
	Address string              `json:"address"`
	Time    string              `json:"time"`
	Secure  bool                `json:"secure"`
	URL     string              `json:"url"`
	Query   map[string][]string `json:"query"`
	Headers map[string][]string `json:"headers"`
	Auth    json.RawMessage     `json:"auth,omitempty"`
}

// redacted headers: credentials of the browser session, not of the app.
var redacted = []string{"Cookie", "Authorization"}

const redactedValue = "[redacted]"

// redactAuth returns an auth payload with its keys and every value
// replaced by "[redacted]" (a payload that is not an object becomes
// "[redacted]"): which credentials a client sent, not what they are.
func redactAuth(p json.RawMessage) json.RawMessage {
	if len(p) == 0 || string(p) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		b, _ := json.Marshal(redactedValue)
		return b
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = redactedValue
	}
	b, _ := json.Marshal(out) // keys sorted
	return b
}

// redactQuery replaces the values of the names parameters in query and in
// the query string of uri.
func redactQuery(query map[string][]string, uri string, names []string) (map[string][]string, string) {
	found := false
	for _, n := range names {
		if _, ok := query[n]; ok {
			found = true
		}
	}
	if !found {
		return query, uri
	}
	q := make(url.Values, len(query))
	for k, v := range query {
		if slices.Contains(names, k) {
			v = []string{redactedValue}
		}
		q[k] = v
	}
	if path, _, ok := strings.Cut(uri, "?"); ok {
		uri = path + "?" + q.Encode()
	}
	return q, uri
}

func (s *server) sockets(w http.ResponseWriter, r *http.Request) {
	sel, op := s.queryOperator(w, r, nil)
	if op == nil {
		return
	}
	// Every node's sockets; the claims are known for this node's only
	// (they live with the socket, not in its data).
	socks, ferr := op.FetchSockets(r.Context())
	local := map[string]*socketio.Socket{}
	for _, sock := range op.Local().Sockets() {
		local[sock.ID()] = sock
	}
	out := make([]socketInfo, 0, len(socks))
	for _, sock := range socks {
		h := sock.Handshake
		if h == nil {
			h = &socketio.Handshake{}
		}
		headers := make(map[string][]string, len(h.Headers))
		for k, v := range h.Headers {
			if slices.Contains(redacted, k) {
				v = []string{"[redacted]"}
			}
			headers[k] = v
		}
		rooms := slices.Clone(sock.Rooms)
		slices.Sort(rooms)
		query, u, authPayload := h.Query, h.URL, h.Auth
		if !s.opts.ExposeHandshakeAuth {
			query, u = redactQuery(query, u, s.opts.RedactQuery)
			authPayload = redactAuth(authPayload)
		}
		info := socketInfo{
			ID:    sock.ID,
			Rooms: rooms,
			Handshake: handshakeInfo{
				Address: h.Address, Time: h.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Secure: h.Secure, URL: u,
				Query: query, Headers: headers, Auth: authPayload,
			},
		}
		if ls := local[sock.ID]; ls != nil {
			info.Claims = auth.ClaimsOf(ls)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b socketInfo) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, withPartial(map[string]any{"namespace": nsName(sel.Namespace), "sockets": out}, ferr))
}

type joinRequest struct {
	selector
	All   bool     `json:"all"`
	Join  []string `json:"join"`
	Leave []string `json:"leave"`
}

// requireSelection refuses an empty selector unless all is set: acting on
// every socket of a namespace should be deliberate.
func requireSelection(sel *selector, all bool) error {
	if len(sel.Rooms) == 0 && !all {
		return &inputError{field: "rooms", msg: `empty: this would select every socket of the namespace; list rooms (socket ids are rooms too) or set "all": true`}
	}
	if len(sel.Rooms) > 0 && all {
		return &inputError{field: "all", msg: `"all": true with rooms: give one or the other`}
	}
	return nil
}

func (s *server) joinLeave(join bool) http.HandlerFunc {
	field := "leave"
	if join {
		field = "join"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var req joinRequest
		if err := decode(r, &req); err != nil {
			badInput(w, err)
			return
		}
		rooms := req.Leave
		other := req.Join
		if join {
			rooms, other = req.Join, req.Leave
		}
		var err error
		switch {
		case len(other) > 0:
			err = &inputError{field: map[bool]string{true: "leave", false: "join"}[join], msg: "not for this endpoint"}
		case len(rooms) == 0:
			err = &inputError{field: field, msg: "must list at least one room"}
		default:
			err = checkRooms(field, rooms)
		}
		if err == nil {
			err = requireSelection(&req.selector, req.All)
		}
		if err != nil {
			badInput(w, err)
			return
		}
		op, err := s.operator(&req.selector)
		if err != nil {
			badInput(w, err)
			return
		}
		if join {
			op.SocketsJoin(rooms...)
		} else {
			op.SocketsLeave(rooms...)
		}
		writeJSON(w, http.StatusOK, okBody)
	}
}

type disconnectRequest struct {
	selector
	All   bool `json:"all"`
	Close bool `json:"close"`
}

func (s *server) disconnect(w http.ResponseWriter, r *http.Request) {
	var req disconnectRequest
	if err := decode(r, &req); err != nil {
		badInput(w, err)
		return
	}
	if err := requireSelection(&req.selector, req.All); err != nil {
		badInput(w, err)
		return
	}
	op, err := s.operator(&req.selector)
	if err != nil {
		badInput(w, err)
		return
	}
	op.DisconnectSockets(req.Close)
	writeJSON(w, http.StatusOK, okBody)
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		badInput(w, &inputError{field: k, msg: "unknown query parameter"})
		return
	}
	var v any = map[string]any{}
	if s.opts.Stats != nil {
		v = s.opts.Stats()
	}
	writeJSON(w, http.StatusOK, v)
}
