package socketio

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engineio"
)

// RecoveryOptions turn on connection state recovery, as the reference
// server's connectionStateRecovery option: a client whose connection was
// cut (not one that left, nor one the server disconnected) and that
// reconnects within MaxDisconnectionDuration gets its socket back: the same
// id, rooms and data, the values set with SetValue (an auth layer's claims,
// a relay's count of rooms joined by request), its event rate limit's
// bucket as it was, Socket.Recovered true, and every packet it missed,
// exactly once and in order. A recovered socket thus has exactly the
// rights and limits it had: recovering never buys a fresh burst or room
// count, and the middlewares it skips (see RunMiddlewares) need not run
// again to give it its rights. (A client that connects anew instead starts
// afresh, as any new socket does, without its rooms.)
//
// How: each eligible packet (an EVENT broadcast or Socket.Emit without
// acknowledgement, not volatile) gets an offset appended as its last
// argument, which socket.io-client 4.6+ remembers and sends back, with the
// session's private id (pid), when it reconnects. The clients see the
// offset as an extra last argument of their listeners, as with the
// reference server. The packets are kept in a log per namespace, in
// memory, bounded by time, count and bytes.
//
// Recovery is per node with the in-memory adapter and with
// socketio/redisadapter: each node logs what it delivers to its own
// clients, and a client that reconnects to another node connects fresh
// (Recovered false), through the middlewares. The session is therefore
// kept as Go values in this node's memory, never serialised: SetValue
// values may be anything. An adapter that implements SessionStore (such
// as socketio/redisstreams) makes it cluster-wide instead, with the limits
// SessionStore describes.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session is kept after its
	// connection is cut, and how long packets are logged (default 2m, the
	// reference's). Longer keeps every vanished client's session, and the
	// log, that much longer.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace's middlewares for a recovered
	// socket too. The default, as the reference's skipMiddlewares: true,
	// skips them: the socket passed them when it first connected, and
	// what they stored with SetValue is restored with the session. Set it
	// when a middleware must re-check something on every connection
	// (e.g. a token that may have been revoked); the restored values are
	// in place when the middlewares run, which may replace them.
	RunMiddlewares bool
	// MaxPackets caps the log's packets per namespace (default 10,000),
	// and MaxBytes their encoded size (default 32 MiB): memory stays
	// bounded whatever the broadcast rate. Past a cap the oldest packets
	// are dropped; a session that missed a dropped packet cannot be
	// recovered and connects fresh (Recovered false), as when the window
	// has expired. Size them to hold MaxDisconnectionDuration's worth of
	// broadcasts.
	MaxPackets int
	MaxBytes   int
}

func (o RecoveryOptions) withDefaults() RecoveryOptions {
	if o.MaxDisconnectionDuration <= 0 {
		o.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
	}
	if o.MaxPackets <= 0 {
		o.MaxPackets = DefaultRecoveryMaxPackets
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultRecoveryMaxBytes
	}
	return o
}

// recoverableReasons are the disconnect reasons after which a session is
// kept: the connection was lost, the client did not leave (the reference's
// RECOVERABLE_DISCONNECT_REASONS).
var recoverableReasons = map[string]bool{
	string(engineio.ReasonTransportError): true,
	string(engineio.ReasonTransportClose): true,
	string(engineio.ReasonForcedClose):    true,
	string(engineio.ReasonPingTimeout):    true,
	string(ReasonServerShuttingDown):      true,
	"forced server close":                 true,
}

// recovery is a namespace's packet log and persisted sessions. Its mutex
// orders the logged broadcasts: each one is logged and handed to its
// recipients' queues under it, so that the log's order is each client's
// delivery order, and a socket being restored gets the packets logged
// before it joins and sees the ones after, with none lost or repeated.
type recovery struct {
	opts RecoveryOptions
	// a is the namespace's MemoryAdapter (a cluster adapter's local
	// part), and queue its own deliverFunc, which the log wraps: see
	// attach.
	a     *MemoryAdapter
	queue deliverFunc
	epoch string // offsets of another namespace or server run never match
	// maxQueue is the engine's bound on a session's queue: missed packets
	// past it cannot be sent at once, and the session connects fresh.
	maxQueue int

	mu       sync.Mutex
	next     uint64 // sequence number of the next packet
	log      []loggedPacket
	bytes    int
	sessions map[string]*session // by pid
	order    []*session          // persisted order, for expiry

	// store, when the namespace's adapter is a SessionStore, keeps the
	// sessions and the log cluster-wide; sessions then holds only what
	// this node alone can restore (values, the Go data, the event
	// bucket), and log stays empty.
	store SessionStore
}

type loggedPacket struct {
	seq    uint64
	at     time.Time
	rooms  []string
	except []string
	msgs   []*engineio.Message
	size   int
}

type session struct {
	sid, pid string
	rooms    []string
	data     any
	values   map[any]any   // SetValue's, as they were at the cut
	events   *rate.Limiter // the event rate limit's bucket, nil without one
	at       time.Time
	taken    bool
	// With a SessionStore: the session as stored, and the offset the
	// client reconnected with.
	stored *StoredSession
	offset string
}

// newRecovery returns a namespace's log, before its adapter exists:
// NewMemoryAdapter attaches it. maxQueue is the engine's MaxBufferedBytes.
func newRecovery(opts RecoveryOptions, maxQueue int) *recovery {
	return &recovery{opts: opts.withDefaults(), maxQueue: maxQueue, epoch: engineio.NewID()[:8], next: 1, sessions: make(map[string]*session)}
}

// attach puts the log in front of adapter a's deliverFunc queue, and
// returns the deliverFunc a must broadcast with. A namespace's log serves
// the first MemoryAdapter built for it.
func (r *recovery) attach(a *MemoryAdapter, queue deliverFunc) deliverFunc {
	if r.a != nil {
		return queue
	}
	r.a, r.queue = a, queue
	return r.deliver
}

func (r *recovery) offset(seq uint64) string {
	return r.epoch + "-" + strconv.FormatUint(seq, 36)
}

func (r *recovery) parseOffset(off string) (uint64, bool) {
	rest, ok := strings.CutPrefix(off, r.epoch+"-")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 36, 64)
	return seq, err == nil
}

// deliver is the adapter's queue with the log: an eligible packet (an
// event without acknowledgement, not volatile) gets the next offset as its
// last argument, and is queued and logged under the log's lock. The caller
// flushes the batch after the lock is released: the order is set by the
// queueing, which puts the packet behind what each session had.
func (r *recovery) deliver(p *Packet, opts *BroadcastOptions, b *engineio.Batch) ([]*engineio.Message, error) {
	if opts.Volatile || p.id != noAck {
		return r.queue(p, opts, b)
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.next
	args := make([]any, len(p.args), len(p.args)+1)
	copy(args, p.args)
	msgs, err := r.queue(NewPacket(p.nsp, NoAck, p.event, append(args, r.offset(seq))...), opts, b)
	if err != nil {
		return nil, err
	}
	r.next++
	size := 0
	for _, m := range msgs {
		size += m.Len()
	}
	r.log = append(r.log, loggedPacket{seq: seq, at: now, rooms: slices.Clone(opts.Rooms), except: slices.Clone(opts.Except), msgs: msgs, size: size})
	r.bytes += size
	r.evictLocked(now)
	return msgs, nil
}

// evictLocked drops the packets and sessions past the window or the caps.
func (r *recovery) evictLocked(now time.Time) {
	old := now.Add(-r.opts.MaxDisconnectionDuration)
	i := 0
	for i < len(r.log) && (r.log[i].at.Before(old) || len(r.log)-i > r.opts.MaxPackets || r.bytes > r.opts.MaxBytes) {
		r.bytes -= r.log[i].size
		r.log[i] = loggedPacket{}
		i++
	}
	if i > 0 {
		r.log = r.log[i:]
		if cap(r.log) > 2*r.opts.MaxPackets && len(r.log) < cap(r.log)/4 {
			r.log = slices.Clone(r.log) // let the old backing array go
		}
	}
	j := 0
	for j < len(r.order) && (r.order[j].taken || r.order[j].at.Before(old)) {
		if !r.order[j].taken {
			delete(r.sessions, r.order[j].pid)
		}
		r.order[j] = nil
		j++
	}
	if j > 0 {
		r.order = r.order[j:]
	}
}

// persist keeps a socket's state after a recoverable disconnect.
func (r *recovery) persist(s *Socket, rooms []string) {
	now := time.Now()
	ss := &session{sid: s.id, pid: s.pid, rooms: rooms, events: s.events, at: now}
	s.mu.Lock()
	ss.data = s.data
	// A copy: a handler still running for the old socket must not write
	// into the map the recovered socket gets.
	ss.values = maps.Clone(s.values)
	s.mu.Unlock()
	r.mu.Lock()
	r.sessions[s.pid] = ss
	r.order = append(r.order, ss)
	r.evictLocked(now)
	r.mu.Unlock()
	if r.store != nil {
		r.persistStored(s, rooms)
	}
}

// recoveryAuth is what socket.io-client adds to its auth object when it
// reconnects.
type recoveryAuth struct {
	PID    json.RawMessage `json:"pid"`
	Offset json.RawMessage `json:"offset"`
}

// lookup returns the persisted session a CONNECT's auth names, if it can
// still be recovered, with the sequence number of the client's last packet.
func (r *recovery) lookup(auth []byte) (*session, uint64) {
	if len(auth) == 0 || auth[0] != '{' {
		return nil, 0
	}
	var ra recoveryAuth
	var pid, off string
	if json.Unmarshal(auth, &ra) != nil || json.Unmarshal(ra.PID, &pid) != nil || json.Unmarshal(ra.Offset, &off) != nil {
		return nil, 0 // both must be strings, as in the reference
	}
	seq, ok := r.parseOffset(off)
	if !ok {
		return nil, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evictLocked(time.Now())
	ss := r.sessions[pid]
	if ss == nil || !r.completeLocked(seq) {
		return nil, 0
	}
	return ss, seq
}

// completeLocked reports whether every packet after seq is still logged.
func (r *recovery) completeLocked(seq uint64) bool {
	if seq >= r.next {
		return false // an offset this log never gave
	}
	first := r.next
	if len(r.log) > 0 {
		first = r.log[0].seq
	}
	return seq+1 >= first
}

// prepare gives a connecting socket its private session id, or, when the
// CONNECT's auth names a session that can be recovered, that session's
// id, pid, data, values and event bucket (the session is taken for good
// by restore). They are in place before the middlewares, if they run.
func (r *recovery) prepare(s *Socket, auth []byte) (*session, uint64) {
	if r.store != nil {
		return r.prepareStored(s, auth), 0
	}
	ss, seq := r.lookup(auth)
	if ss == nil {
		s.pid = newSocketID()
		return nil, 0
	}
	s.id, s.pid, s.data, s.values, s.recovered = ss.sid, ss.pid, ss.data, ss.values, true
	if ss.events != nil {
		s.events = ss.events
	}
	return ss, seq
}

// connectRecovered is the end of Namespace.connect for a recovered socket.
func (n *Namespace) connectRecovered(s *Socket, ss *session, seq uint64, fns []func(*Socket), auth []byte) {
	c := s.client
	payload := make([]byte, 0, 64)
	payload = append(payload, `{"sid":`...)
	payload = appendJSONString(payload, s.id)
	payload = append(payload, `,"pid":`...)
	payload = appendJSONString(payload, s.pid)
	payload = append(payload, '}')
	var ok, added bool
	var err error
	if n.rec.store != nil {
		ok, added, err = n.rec.restoreStored(s, ss, c.encodeControl(PacketConnect, n.name, payload))
	} else {
		ok, added, err = n.rec.restore(s, ss, seq, c.encodeControl(PacketConnect, n.name, payload))
	}
	if !ok {
		// The session cannot be recovered after all (taken by another
		// connection or evicted while middlewares ran, or too much to
		// send at once). The client was told nothing: it connects fresh,
		// through the middlewares.
		n.connect(c, auth)
		return
	}
	if err != nil {
		if added {
			reason := ReasonTransportError // keep the session for the next try
			if err == engineio.ErrQueueFull {
				reason = ReasonServerNamespaceDisconnect // it would not fit next time either
			}
			s.onClose(reason)
		}
		return
	}
	n.counters().connects.Add(1)
	if log := n.srv.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("socketio: socket recovered", "nsp", n.name, "transport", s.Transport(), "remote", s.handshake.Address, "id", s.id)
	}
	for _, o := range n.srv.observing() {
		o.SocketConnected(s)
		for _, r := range ss.rooms {
			if r != s.id {
				o.RoomJoined(s, r)
			}
		}
	}
	for _, fn := range fns {
		callConnection(fn, s)
	}
}

// restore registers a recovered socket, under the log's lock: it takes the
// session (once), puts the socket back in its rooms, and queues the
// CONNECT reply, then the packets the client missed, so that the logged
// broadcasts that follow come after them, none lost and none repeated. It
// reports ok false when the session cannot be recovered after all (taken,
// packets it missed evicted, or more missed bytes than a session's queue
// holds); nothing was sent then. added reports that the socket was
// registered.
func (r *recovery) restore(s *Socket, ss *session, seq uint64, connect *engineio.Message) (ok, added bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[ss.pid] != ss {
		return false, false, nil
	}
	delete(r.sessions, ss.pid) // whatever happens next: a session is tried once
	ss.taken = true
	if !r.completeLocked(seq) {
		return false, false, nil
	}
	var missed []*loggedPacket
	// Counted as the engine counts its queue: each packet's bytes and its
	// place in the queue.
	size := connect.Len() + engineio.QueuedPacketCost
	for i := range r.log {
		lp := &r.log[i]
		if lp.seq > seq && lp.includes(ss.rooms) {
			missed = append(missed, lp)
			size += lp.size + len(lp.msgs)*engineio.QueuedPacketCost
		}
	}
	if size > r.maxQueue {
		return false, false, nil
	}
	if !s.client.add(s) {
		return true, false, engineio.ErrClosed
	}
	r.a.AddSocket(s)
	r.a.Join(s, ss.rooms...)
	conn := s.client.conn
	if err := conn.Post(false, connect); err != nil {
		return true, true, err
	}
	for _, lp := range missed {
		if err := conn.Post(false, lp.msgs...); err != nil {
			return true, true, err
		}
	}
	return true, true, nil
}

// includes reports whether a socket in rooms (its own id included) was a
// recipient of the packet.
func (lp *loggedPacket) includes(rooms []string) bool {
	in := len(lp.rooms) == 0
	for _, r := range rooms {
		if slices.Contains(lp.except, r) {
			return false
		}
		if !in && slices.Contains(lp.rooms, r) {
			in = true
		}
	}
	return in
}

// emit is Socket.Emit with recovery on: the packet is logged for the
// socket's own room, so that it is not lost if the connection is cut. As
// in the reference, this holds even once the socket has disconnected: the
// packet reaches the socket that recovers its id, if one does.
func (r *recovery) emit(s *Socket, event string, args []any) error {
	for _, o := range s.nsp.srv.observing() {
		o.EventSent(s, event, args)
	}
	var a Adapter = r.a
	if r.store != nil {
		a = s.nsp.adapter // through the cluster's log, which gives the offset
	}
	return a.Broadcast(NewPacket(s.nsp.name, NoAck, event, args...), &BroadcastOptions{Rooms: []string{s.id}})
}

// Recovered reports whether the socket was recovered after a temporary
// disconnection (see RecoveryOptions): it has its former id, rooms and
// data and values, and the packets it missed were sent after its CONNECT
// reply.
func (s *Socket) Recovered() bool { return s.recovered }
