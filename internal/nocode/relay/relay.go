// Package relay serves a namespace from configuration alone: relay rules
// say which client events go to whom, room rules say which rooms a client
// may join or leave by request, and events without a rule are dropped and
// counted, never relayed.
//
// A rule relays an event with its arguments unchanged (binary included) to
//
//   - others: everyone else in the namespace (socket.broadcast.emit);
//   - rooms:  everyone else in the sender's rooms (socket.to([...socket.rooms]).emit);
//   - room:   everyone else in the room named by the first argument, which is
//     not relayed (socket.to(room).emit); the sender must be a member unless
//     the rule's patterns allow the room;
//   - backend: the event is POSTed to the namespace's backend and the reply
//     becomes the acknowledgement (package forward).
//
// A namespace may also have a Go application (config key app): the
// application's handlers are installed first, and a rule for an event the
// application handles is a configuration error, so one never silently
// shadows the other.
package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/nocode/auth"
	"github.com/switchboard/switchboard/socketio"
)

// Bounds on what clients may ask for.
const (
	maxRoomLen = 128
	// maxJoined bounds the rooms a socket joins by request when the
	// configuration sets no limit: each costs memory in the adapter.
	maxJoined = 1000
)

// Forwarder hands events to the app backend (package forward).
type Forwarder interface {
	// Event forwards e and acknowledges it with the reply; it must not
	// block the caller.
	Event(s *socketio.Socket, e *socketio.Event)
}

// Stats are a namespace's relay counters.
type Stats struct {
	Relayed   uint64 `json:"relayed"`    // events relayed or forwarded
	NoRule    uint64 `json:"no_rule"`    // events dropped: no rule
	Denied    uint64 `json:"denied"`     // events or room requests refused
	Joins     uint64 `json:"joins"`      // rooms joined by request
	Leaves    uint64 `json:"leaves"`     // rooms left by request
	AutoJoins uint64 `json:"auto_joins"` // rooms joined at connection
}

// Engine applies one namespace's rules.
type Engine struct {
	nsp   *socketio.Namespace
	rooms *config.Rooms
	fwd   Forwarder
	log   *slog.Logger

	relayed, noRule, denied, joins, leaves, autoJoins atomic.Uint64
}

// Options for Install.
type Options struct {
	// Forwarder serves rules with to: backend (required when there are).
	Forwarder Forwarder
	Logger    *slog.Logger
}

// Install registers cfg's rules on n. Call it after the namespace's Go
// application (if any) is installed: a rule for an event that already
// has a handler is an error.
func Install(n *socketio.Namespace, cfg *config.Namespace, opts Options) (*Engine, error) {
	e := &Engine{nsp: n, rooms: cfg.Rooms, fwd: opts.Forwarder, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	claim := func(event string) error {
		if n.Handles(event) {
			return fmt.Errorf("event %q is already handled by app %q", event, cfg.App)
		}
		return nil
	}
	for i, r := range cfg.Relay {
		if err := claim(r.Event); err != nil {
			return nil, fmt.Errorf("relay[%d].event: %w", i, err)
		}
		if r.To == config.RelayBackend && e.fwd == nil {
			return nil, fmt.Errorf("relay[%d].to: backend without a forwarder", i)
		}
	}
	if r := cfg.Rooms; r != nil && len(r.Allow) > 0 {
		for _, ev := range []string{r.JoinEvent, r.LeaveEvent} {
			if err := claim(ev); err != nil {
				return nil, fmt.Errorf("rooms: %w", err)
			}
		}
	}
	for _, r := range cfg.Relay {
		n.On(r.Event, e.handler(r))
	}
	if r := cfg.Rooms; r != nil {
		if len(r.Allow) > 0 {
			n.On(r.JoinEvent, e.join)
			n.On(r.LeaveEvent, e.leave)
		}
		if len(r.AutoJoin) > 0 {
			n.OnConnection(e.autoJoin)
		}
	}
	n.OnUnhandled(e.unhandled)
	return e, nil
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Relayed: e.relayed.Load(), NoRule: e.noRule.Load(), Denied: e.denied.Load(),
		Joins: e.joins.Load(), Leaves: e.leaves.Load(), AutoJoins: e.autoJoins.Load(),
	}
}

// ackError acknowledges a refused event, if the client asked for an ack,
// so that its callback does not wait for a timeout.
func ackError(ev *socketio.Event, msg string) {
	if ev.WantsAck() {
		_ = ev.Ack(map[string]string{"error": msg})
	}
}

func (e *Engine) unhandled(s *socketio.Socket, ev *socketio.Event) {
	e.noRule.Add(1)
	e.log.Debug("relay: event without a rule dropped", "nsp", e.nsp.Name(), "event", ev.Name, "sid", s.ID())
	ackError(ev, "no rule for event "+ev.Name)
}

func (e *Engine) deny(s *socketio.Socket, ev *socketio.Event, msg string) {
	e.denied.Add(1)
	e.log.Debug("relay: event refused", "nsp", e.nsp.Name(), "event", ev.Name, "sid", s.ID(), "why", msg)
	ackError(ev, msg)
}

func (e *Engine) handler(r config.RelayRule) socketio.EventHandler {
	return func(s *socketio.Socket, ev *socketio.Event) {
		args := ev.Args
		var op *socketio.BroadcastOperator
		switch r.To {
		case config.RelayBackend:
			e.relayed.Add(1)
			e.fwd.Event(s, ev)
			return
		case config.RelayOthers:
			op = s.Broadcast()
		case config.RelayRooms:
			var rooms []string
			for _, room := range s.Rooms() {
				if room != s.ID() {
					rooms = append(rooms, room)
				}
			}
			if len(rooms) == 0 {
				// In no room: nobody to relay to. Not an error.
				e.relayed.Add(1)
				ackOK(ev)
				return
			}
			op = s.To(rooms...)
		case config.RelayRoom:
			var room string
			if args.Len() == 0 || args.Decode(0, &room) != nil || room == "" {
				e.deny(s, ev, "first argument must be a room name")
				return
			}
			if !e.maySendTo(s, r, room) {
				e.deny(s, ev, "not allowed to send to room "+clip(room))
				return
			}
			args = args.From(1)
			op = s.To(room)
		}
		var err error
		if r.AttachSender {
			err = op.Emit(ev.Name, args, sender(s))
		} else {
			err = op.Emit(ev.Name, args)
		}
		if err != nil {
			e.log.Warn("relay: broadcast failed", "nsp", e.nsp.Name(), "event", ev.Name, "err", err)
			ackError(ev, "relay failed")
			return
		}
		e.relayed.Add(1)
		ackOK(ev)
	}
}

// ackOK acknowledges a relayed event with {"ok": true} when asked to:
// clients that emit with a callback learn the event went out.
func ackOK(ev *socketio.Event) {
	if ev.WantsAck() {
		_ = ev.Ack(map[string]bool{"ok": true})
	}
}

// sender is the identity attached to relayed events.
func sender(s *socketio.Socket) map[string]any {
	m := map[string]any{"id": s.ID()}
	if sub := auth.ClaimsOf(s).Subject(); sub != "" {
		m["sub"] = sub
	}
	return m
}

func (e *Engine) maySendTo(s *socketio.Socket, r config.RelayRule, room string) bool {
	if !validRoom(room) || e.isSocketRoom(s, room) {
		return false
	}
	for _, p := range r.Rooms {
		if matchTemplate(p, room, auth.ClaimsOf(s)) {
			return true
		}
	}
	for _, have := range s.Rooms() {
		if have == room {
			return true
		}
	}
	return false
}

// isSocketRoom reports whether room is, or may be, a socket's own room:
// joining it, or sending to it by pattern, would read or write that
// socket's private messages. Any name with the shape of a socket id is
// refused, the sender's own included: with a cluster adapter the socket
// may be on another node, where this node's sockets cannot tell, and no
// room a rule allows needs that shape (templates and patterns such as
// "user:{sub}" or "game:*" have a ':'; socket ids have none).
func (e *Engine) isSocketRoom(s *socketio.Socket, room string) bool {
	return room == s.ID() || e.nsp.LooksLikeSocketID(room)
}

// clip shortens a client-given name echoed in an error.
func clip(s string) string {
	if len(s) <= maxRoomLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxRoomLen], "") + "..."
}

func validRoom(room string) bool {
	return room != "" && len(room) <= maxRoomLen && !strings.ContainsFunc(room, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// joined tracks the rooms a socket joined by request, for max_per_socket.
type joined struct {
	mu    sync.Mutex
	rooms map[string]struct{}
}

type joinedKey struct{}

func joinedOf(s *socketio.Socket) *joined {
	if j, ok := s.Value(joinedKey{}).(*joined); ok {
		return j
	}
	// A client's events are handled one at a time, so no other goroutine
	// creates this socket's record concurrently.
	j := &joined{rooms: map[string]struct{}{}}
	s.SetValue(joinedKey{}, j)
	return j
}

var errRoomArg = errors.New("first argument must be a room name")

func roomArg(ev *socketio.Event) (string, error) {
	var room string
	if ev.Len() == 0 || ev.Decode(0, &room) != nil || room == "" {
		return "", errRoomArg
	}
	return room, nil
}

func (e *Engine) join(s *socketio.Socket, ev *socketio.Event) {
	room, err := roomArg(ev)
	if err != nil {
		e.deny(s, ev, err.Error())
		return
	}
	allowed := validRoom(room) && !e.isSocketRoom(s, room)
	if allowed {
		allowed = false
		claims := auth.ClaimsOf(s)
		for _, p := range e.rooms.Allow {
			if matchTemplate(p, room, claims) {
				allowed = true
				break
			}
		}
	}
	if !allowed {
		e.deny(s, ev, "not allowed to join room "+clip(room))
		return
	}
	j := joinedOf(s)
	j.mu.Lock()
	_, already := j.rooms[room]
	limit := e.rooms.MaxPerSocket
	if limit <= 0 {
		limit = maxJoined
	}
	if !already && len(j.rooms) >= limit {
		j.mu.Unlock()
		e.deny(s, ev, fmt.Sprintf("room limit reached (%d)", limit))
		return
	}
	j.rooms[room] = struct{}{}
	j.mu.Unlock()
	s.Join(room)
	e.joins.Add(1)
	if ev.WantsAck() {
		_ = ev.Ack(map[string]any{"ok": true, "room": room})
	}
}

func (e *Engine) leave(s *socketio.Socket, ev *socketio.Event) {
	room, err := roomArg(ev)
	if err != nil {
		e.deny(s, ev, err.Error())
		return
	}
	j := joinedOf(s)
	j.mu.Lock()
	_, ok := j.rooms[room]
	delete(j.rooms, room)
	j.mu.Unlock()
	if !ok {
		// Only rooms joined by request can be left by request: auto-joined
		// rooms (user:{sub}) and rooms an app put the socket in stay.
		e.deny(s, ev, "not in room "+clip(room)+" by request")
		return
	}
	s.Leave(room)
	e.leaves.Add(1)
	if ev.WantsAck() {
		_ = ev.Ack(map[string]any{"ok": true, "room": room})
	}
}

func (e *Engine) autoJoin(s *socketio.Socket) {
	claims := auth.ClaimsOf(s)
	for _, t := range e.rooms.AutoJoin {
		room, ok := fillTemplate(t, claims, false)
		if !ok || !validRoom(room) {
			e.log.Debug("relay: auto_join skipped (claim missing or not a string)", "nsp", e.nsp.Name(), "sid", s.ID(), "template", t)
			continue
		}
		if e.isSocketRoom(s, room) {
			// A claim such as "{sub}" alone could name another socket's
			// room; the issuer of the token may not know the shape.
			e.log.Debug("relay: auto_join skipped (room has a socket id's shape)", "nsp", e.nsp.Name(), "sid", s.ID(), "room", room)
			continue
		}
		s.Join(room)
		e.autoJoins.Add(1)
	}
}

// fillTemplate replaces {claim} placeholders with the claims' values. For
// patterns, glob metacharacters in the values are escaped, so that a
// subject such as "*" matches only itself.
func fillTemplate(t string, claims auth.Claims, pattern bool) (string, bool) {
	if !strings.Contains(t, "{") {
		return t, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String(), true
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return "", false
		}
		v, ok := claims.String(t[i+1 : i+j])
		if !ok || v == "" {
			return "", false
		}
		b.WriteString(t[:i])
		if pattern {
			v = escapeGlob(v)
		}
		b.WriteString(v)
		t = t[i+j+1:]
	}
}

func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// matchTemplate matches room against a pattern with placeholders.
func matchTemplate(p, room string, claims auth.Claims) bool {
	pat, ok := fillTemplate(p, claims, true)
	if !ok {
		return false
	}
	m, err := path.Match(pat, room)
	return err == nil && m
}
