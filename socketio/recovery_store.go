package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// SessionStore is implemented by a cluster adapter that takes connection
// state recovery over from the node's memory, as the reference's adapters
// do with persistSession and restoreSession: sessions and the broadcasts
// they missed are kept where every node reads them, so a client recovers
// its socket on whichever node it reconnects to. When a namespace's
// adapter implements it and recovery is on, the node keeps no packet log
// of its own: the adapter appends each eligible broadcast's offset (its
// position in the cluster's log) as the last argument, locally and on the
// other nodes.
//
// Only what the reference's session holds crosses nodes: the id, private
// id, rooms and data. What this node alone holds (the values set with
// SetValue, such as an auth layer's claims) cannot, so a session that had
// some is recovered on the node that persisted it and nowhere else: on
// another node the client connects fresh, through the middlewares,
// rather than keep rooms without the claims and counts that go with
// them. The event rate limit's bucket travels as its level.
type SessionStore interface {
	// PersistSession keeps a session after a recoverable disconnect, for
	// RecoveryOptions.MaxDisconnectionDuration.
	PersistSession(ctx context.Context, ss *StoredSession, ttl time.Duration) error
	// TakeSession removes and returns the session pid names, if it is
	// still kept and the log still holds offset (the last packet the
	// client got); nil, nil if not.
	TakeSession(ctx context.Context, pid, offset string) (*StoredSession, error)
	// ReplaySession finds, in order, the broadcasts of the namespace after
	// offset that the session's rooms select, each with its offset as
	// last argument, and calls deliver with them while no broadcast
	// reaches this node's sockets: deliver registers the socket and
	// queues the packets, so that those it misses and those it gets live
	// meet with none lost or repeated. More than maxPackets missed, or
	// more than maxBytes of them as stored, is an error: the session is
	// not recovered.
	ReplaySession(ctx context.Context, ss *StoredSession, offset string, maxPackets, maxBytes int, deliver func(missed []*Packet) error) error
}

// LiveSessionStore is a SessionStore that also keeps the sessions of the
// sockets still connected, so that a node that dies without disconnecting
// them (killed, or cut from the network) loses none: their clients
// recover on the other nodes. KeepSession is called once a socket is
// connected or recovered on this node; from then the store keeps the
// socket's session (Socket.StoredSession) up to date until the socket is
// removed from the adapter, PersistSession writing its final state when
// the disconnect is recoverable. SessionChanged is called when the
// socket's data is set (the adapter sees its rooms change).
type LiveSessionStore interface {
	SessionStore
	KeepSession(s *Socket)
	SessionChanged(s *Socket)
}

// StoredSession is a session as a SessionStore keeps it.
type StoredSession struct {
	SID, PID string
	Rooms    []string // its own id included, as the reference stores them
	// Data is the socket's data as JSON (its Data after recovery on
	// another node; the node that persisted it restores the Go value).
	Data json.RawMessage
	// NodeOnly: the socket had values set with SetValue, which only the
	// node that persisted the session holds.
	NodeOnly bool
	// EventTokens is what was left of the event rate limit's bucket
	// (HasEventTokens false without a limit).
	EventTokens    float64
	HasEventTokens bool
	// Socket is the socket the session is persisted from; nil for a
	// session read from the store.
	Socket *Socket
}

// ErrTooManyMissed is returned by a SessionStore's ReplaySession when the
// session missed more packets than recovery replays.
var ErrTooManyMissed = errors.New("socketio: too many missed packets to recover the session")

// RecoveryOptions returns the namespace's connection state recovery
// options, and false when recovery is off: a SessionStore adds offsets to
// broadcasts only when it is on.
func (n *Namespace) RecoveryOptions() (RecoveryOptions, bool) {
	if n.rec == nil {
		return RecoveryOptions{}, false
	}
	return n.rec.opts, true
}

// useStore hands recovery to the namespace's adapter, which implements
// SessionStore: the local log is bypassed for good.
func (r *recovery) useStore(st SessionStore) {
	r.store = st
	r.a.deliver = r.queue
}

// persistStored persists s's session in the store; the Go values stay in
// this node's memory (persist), for a recovery on this node.
func (r *recovery) persistStored(s *Socket, rooms []string) {
	ss := s.storedSession(rooms)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.store.PersistSession(ctx, ss, r.opts.MaxDisconnectionDuration); err != nil {
		s.nsp.srv.log.Debug("socketio: session not persisted", "nsp", s.nsp.name, "err", err)
	}
}

// keep hands a socket just connected or recovered to a LiveSessionStore.
func (r *recovery) keep(s *Socket) {
	if l, ok := r.store.(LiveSessionStore); ok && s.pid != "" {
		l.KeepSession(s)
	}
}

// changed tells a LiveSessionStore that s's data was set.
func (r *recovery) changed(s *Socket) {
	if l, ok := r.store.(LiveSessionStore); ok && s.pid != "" {
		l.SessionChanged(s)
	}
}

// StoredSession returns the socket's session as a SessionStore keeps it:
// its rooms and data as they are now.
func (s *Socket) StoredSession() *StoredSession { return s.storedSession(s.Rooms()) }

func (s *Socket) storedSession(rooms []string) *StoredSession {
	ss := &StoredSession{SID: s.id, PID: s.pid, Rooms: rooms, Socket: s}
	s.mu.Lock()
	data, values := s.data, len(s.values)
	s.mu.Unlock()
	if b, err := json.Marshal(data); err == nil {
		ss.Data = b
	} else {
		ss.NodeOnly = true // what cannot be stored must not be lost elsewhere
	}
	ss.NodeOnly = ss.NodeOnly || values > 0
	if s.events != nil {
		ss.EventTokens, ss.HasEventTokens = s.events.Tokens(), true
	}
	return ss
}

// prepareStored is prepare with a SessionStore.
func (r *recovery) prepareStored(s *Socket, auth []byte) *session {
	pid, off, ok := parseRecoveryAuth(auth)
	if !ok {
		s.pid = newSocketID()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := r.store.TakeSession(ctx, pid, off)
	if err != nil || st == nil || st.PID != pid {
		s.pid = newSocketID()
		return nil
	}
	r.mu.Lock()
	local := r.sessions[pid]
	if local != nil {
		delete(r.sessions, pid)
		local.taken = true
	}
	r.mu.Unlock()
	ss := &session{sid: st.SID, pid: st.PID, rooms: st.Rooms, stored: st, offset: off}
	switch {
	case local != nil:
		ss.data, ss.values, ss.events = local.data, local.values, local.events
	case st.NodeOnly:
		s.pid = newSocketID() // its values are on another node: start afresh
		return nil
	default:
		if len(st.Data) > 0 && string(st.Data) != "null" {
			ss.data = st.Data
		}
		if st.HasEventTokens && s.events != nil {
			// Take from the new bucket what the old one had spent:
			// recovering never refills it.
			burst := s.events.Burst()
			if spent := float64(burst) - st.EventTokens; spent > 0 {
				// AllowN takes nothing for more than the burst.
				s.events.AllowN(time.Now(), min(int(math.Ceil(spent)), burst))
			}
		}
	}
	s.id, s.pid, s.data, s.values, s.recovered = ss.sid, ss.pid, ss.data, ss.values, true
	if ss.events != nil {
		s.events = ss.events
	}
	return ss
}

// parseRecoveryAuth reads the pid and offset socket.io-client adds to a
// CONNECT's auth; both must be strings, as in the reference.
func parseRecoveryAuth(auth []byte) (pid, off string, ok bool) {
	if len(auth) == 0 || auth[0] != '{' {
		return "", "", false
	}
	var ra recoveryAuth
	if json.Unmarshal(auth, &ra) != nil || json.Unmarshal(ra.PID, &pid) != nil || json.Unmarshal(ra.Offset, &off) != nil {
		return "", "", false
	}
	return pid, off, pid != "" && off != ""
}

// restoreStored is restore with a SessionStore: the store replays the
// missed packets while no live broadcast reaches this node's sockets.
func (r *recovery) restoreStored(s *Socket, ss *session, connect *engineio.Message) (ok, added bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var postErr error
	rerr := r.store.ReplaySession(ctx, ss.stored, ss.offset, r.opts.MaxPackets, r.maxQueue, func(missed []*Packet) error {
		msgs := make([][]*engineio.Message, len(missed))
		size := connect.Len() + engineio.QueuedPacketCost
		for i, p := range missed {
			m, err := r.a.encode(p)
			if err != nil {
				return err
			}
			msgs[i] = m
			for _, f := range m {
				size += f.Len() + engineio.QueuedPacketCost
			}
		}
		if size > r.maxQueue {
			return ErrTooManyMissed
		}
		ok = true
		if !s.client.add(s) {
			postErr = engineio.ErrClosed
			return nil
		}
		added = true
		r.a.AddSocket(s)
		r.a.Join(s, ss.rooms...)
		r.keep(s)
		conn := s.client.conn
		if err := conn.Post(false, connect); err != nil {
			postErr = err
			return nil
		}
		for _, m := range msgs {
			if err := conn.Post(false, m...); err != nil {
				postErr = err
				return nil
			}
		}
		return nil
	})
	if rerr != nil && !ok {
		s.nsp.srv.log.Debug("socketio: session not recovered", "nsp", s.nsp.name, "err", rerr)
		return false, false, nil
	}
	return ok, added, postErr
}
