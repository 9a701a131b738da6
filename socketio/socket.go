package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engineio"
)

// Socket is one client's connection to one namespace.
type Socket struct {
	id        string
	nsp       *Namespace
	client    *client
	handshake *Handshake

	mu           sync.Mutex
	connected    bool
	acks         map[int64]func(Args, error)
	handlers     map[string]EventHandler
	onDisconnect []func(reason DisconnectReason)
	data         any

	// events is the event rate limit's bucket (nil: no limit). Only the
	// connection's delivery goroutine uses it.
	events *rate.Limiter
	values map[any]any // SetValue's, one key per layer

	// pid is the private session id of connection state recovery ("" when
	// off); recovered is set before the socket is published.
	pid       string
	recovered bool
	// authLen is len(handshake.Auth) when the socket joined: what its
	// client's authBytes counts for it (the application may replace Auth).
	authLen int64

	// ctx is made by the first call to Context (most sockets never need
	// one) and cancelled when the socket ends; ended records that the
	// socket has ended, for a Context asked afterwards.
	ctx    context.Context
	cancel context.CancelCauseFunc
	ended  bool
}

// ID returns the socket id, which is also the name of its own room.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns what the client sent when it connected.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// Transport returns the current transport: "polling" or "websocket".
func (s *Socket) Transport() string { return s.client.conn.Transport() }

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Context returns a context that is cancelled when the socket disconnects
// (or, in a middleware, when the connection is refused), for the work a
// handler starts on the socket's behalf: a database query, a call to
// another service, a goroutine feeding the client. context.Cause of the
// ended context is ErrDisconnected, wrapped with the reason.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancelCause(context.Background())
		if s.ended {
			s.cancel(ErrDisconnected)
		}
	}
	return s.ctx
}

// end marks the socket as ended and cancels its Context, if it has one.
func (s *Socket) end(reason DisconnectReason) {
	s.mu.Lock()
	s.ended = true
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel(fmt.Errorf("%w (%s)", ErrDisconnected, reason))
	}
}

// Data returns the value stored with SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData stores an application value with the socket (socket.data in the
// reference server).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
	if s.nsp == nil { // a socket made by hand, in a test
		return
	}
	if r := s.nsp.rec; r != nil && r.store != nil {
		r.changed(s)
	}
}

// Emit sends an event to this client. Arguments are encoded as JSON;
// []byte arguments (also inside map[string]any and []any) travel as binary
// attachments; Args received from a client are sent on unchanged.
//
// With connection state recovery on, the event is logged with an offset
// (see RecoveryOptions) and Emit on a disconnected socket returns nil: the
// event waits for the client to recover its session.
func (s *Socket) Emit(event string, args ...any) error {
	if r := s.nsp.rec; r != nil {
		return r.emit(s, event, args)
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	msgs, err := s.client.encodeEvent(PacketEvent, s.nsp.name, noAck, event, true, args)
	if err != nil {
		return err
	}
	for _, o := range s.nsp.srv.observing() {
		o.EventSent(s, event, args)
	}
	return s.client.conn.Send(false, msgs...)
}

// EmitWithAck sends an event and waits for the client's acknowledgement,
// until ctx is done: then it returns an error for which both
// errors.Is(err, ErrAckTimeout) and errors.Is(err, ctx.Err()) hold. If the
// socket disconnects first, the error is ErrDisconnected.
//
// The trap: a client's packets are handled one at a time, by the
// goroutine that runs its event handlers. Called from one of this same
// client's handlers (of any namespace), EmitWithAck waits for an answer
// that cannot be read until the handler returns, so it always waits out
// ctx. Use EmitWithAckFunc there, which does not wait, or call
// EmitWithAck from a goroutine. When a wait ends while the handler that
// was running at its start still runs, the server logs a warning that
// says so and the error says it too.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	busy := s.client.handling.Load()
	id := s.nsp.nextAckID()
	ch := make(chan ackResult, 1)
	start := time.Now()
	if !s.addAck(id, func(a Args, err error) {
		if err == nil {
			s.nsp.srv.ackLatency.observe(time.Since(start))
		}
		ch <- ackResult{a, err}
	}) {
		return Args{}, ErrDisconnected
	}
	if err := s.sendAwaitingAck(id, event, args); err != nil {
		return Args{}, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.removeAck(id)
		return Args{}, s.ackTimeout(ctx, event, busy)
	}
}

// errHandlerBlocked says why an acknowledgement could not arrive.
var errHandlerBlocked = errors.New("the client's packets were not read while one of its event handlers ran (EmitWithAck called from it?)")

// ackTimeout is the error of an acknowledgement that did not come before
// ctx ended. busy is the client's running handler when the emit began (0:
// none): if that handler still runs, the client's answer could not have
// been read, which is worth a warning.
func (s *Socket) ackTimeout(ctx context.Context, event string, busy uint64) error {
	if busy != 0 && s.client.handling.Load() == busy {
		s.nsp.srv.log.Warn("socketio: acknowledgement awaited while the client's own event handler ran; use EmitWithAckFunc or a goroutine", "nsp", s.nsp.name, "event", event, "id", s.id)
		return fmt.Errorf("%w: %w: %w", ErrAckTimeout, errHandlerBlocked, ctx.Err())
	}
	return fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
}

// EmitWithAckFunc sends an event with a request for acknowledgement and
// returns at once, as Node's socket.timeout(ms).emit(event, ...args, cb).
// fn is called once: with the client's answer; with an error that is
// ErrAckTimeout (and ctx.Err()) if ctx ends first; or with ErrDisconnected
// if the socket disconnects first. With a ctx that never ends, only the
// answer or a disconnection calls fn. If EmitWithAckFunc returns an error
// (the event could not be sent), fn is not called.
//
// Unlike EmitWithAck it is safe in the client's own event handlers. fn
// runs on the goroutine that reads the client's packets, or on ctx's or
// the disconnection's: it must not block. It may emit.
func (s *Socket) EmitWithAckFunc(ctx context.Context, event string, fn func(answer Args, err error), args ...any) error {
	id := s.nsp.nextAckID()
	start := time.Now()
	// The timer is stopped once fn has been called; the answer may come
	// before stop is stored, in which case the timer's call finds no ack
	// and does nothing.
	var stop atomic.Pointer[func() bool]
	if !s.addAck(id, func(a Args, err error) {
		if st := stop.Load(); st != nil {
			(*st)()
		}
		if err == nil {
			s.nsp.srv.ackLatency.observe(time.Since(start))
		}
		fn(a, err)
	}) {
		return ErrDisconnected
	}
	if err := s.sendAwaitingAck(id, event, args); err != nil {
		return err
	}
	st := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		_, waiting := s.acks[id]
		delete(s.acks, id)
		s.mu.Unlock()
		if waiting {
			fn(Args{}, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err()))
		}
	})
	stop.Store(&st)
	return nil
}

type ackResult struct {
	args Args
	err  error
}

func (s *Socket) addAck(id int64, fn func(Args, error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[int64]func(Args, error))
	}
	s.acks[id] = fn
	return true
}

func (s *Socket) removeAck(id int64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// Join adds the socket to rooms.
//
// With Limits.MaxRoomsPerSocket set, a Join that would pass it joins none
// of the rooms and returns ErrTooManyRooms.
func (s *Socket) Join(rooms ...string) error {
	if err := s.checkRooms(rooms); err != nil {
		return err
	}
	obs := s.nsp.srv.observing()
	if obs == nil {
		s.nsp.adapter.Join(s, rooms...)
		return nil
	}
	before := s.Rooms()
	s.nsp.adapter.Join(s, rooms...)
	for i, r := range rooms {
		if r != s.id && !slices.Contains(before, r) && !slices.Contains(rooms[:i], r) {
			for _, o := range obs {
				o.RoomJoined(s, r)
			}
		}
	}
	return nil
}

// Leave removes the socket from rooms (it is not in them afterwards,
// whether or not it was before).
func (s *Socket) Leave(rooms ...string) {
	obs := s.nsp.srv.observing()
	for _, room := range rooms {
		if obs == nil {
			s.nsp.adapter.Leave(s, room)
			continue
		}
		was := room != s.id && slices.Contains(s.Rooms(), room)
		s.nsp.adapter.Leave(s, room)
		if was {
			for _, o := range obs {
				o.RoomLeft(s, room)
			}
		}
	}
}

// Rooms lists the socket's rooms, its own room (its id) included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s) }

// To broadcasts to the rooms' members, this socket excepted.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.Broadcast().To(rooms...)
}

// Broadcast sends to every socket of the namespace but this one.
func (s *Socket) Broadcast() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// On registers a handler for one event of this socket only; it takes
// precedence over the namespace's handler for the same event.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string]EventHandler)
	}
	s.handlers[event] = h
	s.mu.Unlock()
}

// OnDisconnect registers a function called once when the socket
// disconnects, with the reason (see DisconnectReason).
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// Disconnect disconnects the socket from its namespace; the client is told
// and will not reconnect by itself. With closeConn the underlying
// connection is closed too, disconnecting its other namespaces.
func (s *Socket) Disconnect(closeConn bool) {
	if s.Connected() {
		_ = s.client.conn.Send(false, s.client.encodeControl(PacketDisconnect, s.nsp.name, nil))
		s.onClose(ReasonServerNamespaceDisconnect)
	}
	if closeConn {
		s.client.close(ReasonServerNamespaceDisconnect)
	}
}

func (s *Socket) onEvent(p *packet) error {
	if p.data == nil {
		return nil // no payload, no name: nobody handles it (see valid)
	}
	raw, err := splitArray(p.data)
	if err != nil || len(raw) == 0 {
		return errBadPacket
	}
	name, ok := s.nsp.eventName(raw[0])
	if !ok {
		return errBadPacket
	}
	if s.events != nil && !s.events.Allow() {
		s.nsp.srv.limitHits.hit(LimitEventsPerSecond)
		s.nsp.srv.log.Debug("socketio: event over the rate limit dropped", "nsp", s.nsp.name, "event", name)
		if p.id != noAck {
			if msgs, err := s.client.encodeEvent(PacketAck, s.nsp.name, p.id, "", false, []any{errAckRateLimited}); err == nil {
				_ = s.client.conn.Send(false, msgs...)
			}
		}
		return nil
	}
	ev := &Event{Name: name, Args: Args{raw: raw[1:], buffers: p.buffers}, socket: s, ackID: p.id}
	s.nsp.counters().eventsReceived.Add(1)
	for _, o := range s.nsp.srv.observing() {
		o.EventReceived(s, name, ev.Args)
	}
	s.mu.Lock()
	h := s.handlers[name]
	s.mu.Unlock()
	if h == nil {
		h = s.nsp.handler(name)
	}
	if h == nil {
		h = s.nsp.unhandledHandler()
	}
	if h == nil {
		s.nsp.srv.log.Debug("socketio: no handler for event", "nsp", s.nsp.name, "event", name)
		return nil
	}
	s.call(h, ev)
	return nil
}

// call runs a handler; a panic is contained to this event.
func (s *Socket) call(h EventHandler, ev *Event) {
	running := &s.nsp.srv.running
	running.Add(1)
	// Which handler runs, for EmitWithAck's diagnosis (see ackTimeout).
	c := s.client
	c.handlerSeq++
	c.handling.Store(c.handlerSeq)
	defer func() {
		c.handling.Store(0)
		running.Add(-1)
	}()
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.log.Error("socketio: panic in event handler", "nsp", s.nsp.name, "event", ev.Name, "remote", s.handshake.Address, "panic", v)
			if ev.WantsAck() {
				_ = ev.Ack(map[string]string{"message": "internal server error"})
			}
		}
	}()
	h(s, ev)
}

func (s *Socket) onAck(p *packet) error {
	var raw []json.RawMessage
	if p.data != nil { // "431": the ack, with no arguments
		var err error
		if raw, err = splitArray(p.data); err != nil {
			return errBadPacket
		}
	}
	s.mu.Lock()
	fn := s.acks[p.id]
	delete(s.acks, p.id)
	s.mu.Unlock()
	if fn != nil {
		fn(Args{raw: raw, buffers: p.buffers}, nil)
	}
	return nil
}

// onClose ends the socket: pending acks fail, rooms are left, and the
// disconnect handlers run.
func (s *Socket) onClose(reason DisconnectReason) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	acks := s.acks
	s.acks = nil
	handlers := s.onDisconnect
	s.onDisconnect = nil
	s.mu.Unlock()
	s.end(reason)

	if r := s.nsp.rec; r != nil && s.pid != "" && reason.Recoverable() {
		r.persist(s, s.Rooms())
	}
	obs := s.nsp.srv.observing()
	var rooms []string
	if obs != nil {
		rooms = s.Rooms()
	}
	s.nsp.remove(s)
	s.client.remove(s)
	s.nsp.counters().disconnected(string(reason))
	if log := s.nsp.srv.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("socketio: socket disconnected", "nsp", s.nsp.name, "reason", string(reason), "transport", s.Transport(), "remote", s.handshake.Address, "id", s.id)
	}
	for _, r := range rooms {
		if r == s.id {
			continue
		}
		for _, o := range obs {
			o.RoomLeft(s, r)
		}
	}
	for _, fn := range acks {
		fn(Args{}, ErrDisconnected)
	}
	for _, fn := range handlers {
		fn(reason)
	}
	s.nsp.disconnected(s, reason)
	for _, o := range obs {
		o.SocketDisconnected(s, reason)
	}
}

// Event is an incoming event: its name and arguments, and the means to
// acknowledge it.
type Event struct {
	// Name is the event's name, the first element of what the client
	// emitted.
	Name string
	// Args are the event's arguments, the acknowledgement callback aside.
	Args
	socket *Socket
	ackID  int64
	acked  atomic.Bool
}

// Socket returns the socket the event came from.
func (e *Event) Socket() *Socket { return e.socket }

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.ackID != noAck }

// Ack acknowledges the event with arguments, once.
func (e *Event) Ack(args ...any) error {
	if !e.WantsAck() {
		return ErrNoAck
	}
	if e.acked.Swap(true) {
		return ErrAcked
	}
	msgs, err := e.socket.client.encodeEvent(PacketAck, e.socket.nsp.name, e.ackID, "", false, args)
	if err != nil {
		return err
	}
	return e.socket.client.conn.Send(false, msgs...)
}

// newHandshake builds a namespace handshake from the engine's.
func newHandshake(hs *engineio.Handshake, auth json.RawMessage) *Handshake {
	return &Handshake{
		Auth:    auth,
		Query:   hs.Query,
		Headers: hs.Header,
		Address: hs.RemoteAddr,
		Time:    hs.Time,
		Secure:  hs.Secure,
		URL:     hs.URL,
	}
}

// sendAwaitingAck sends an event whose acknowledgement id was registered
// with addAck; if it cannot be sent, the registration is removed.
func (s *Socket) sendAwaitingAck(id int64, event string, args []any) error {
	msgs, err := s.client.encodeEvent(PacketEvent, s.nsp.name, id, event, true, args)
	if err == nil {
		for _, o := range s.nsp.srv.observing() {
			o.EventSent(s, event, args)
		}
		err = s.client.conn.Send(false, msgs...)
	}
	if err != nil {
		s.removeAck(id)
	}
	return err
}
