package socketio

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BroadcastOptions select the recipients of a broadcast.
type BroadcastOptions struct {
	// Rooms to send to (union); empty means the whole namespace.
	Rooms []string
	// Except lists rooms whose members are skipped.
	Except []string
	// Volatile packets may be dropped for clients whose transport is busy.
	Volatile bool
	// Local keeps the broadcast on this node (no effect without a
	// multi-node adapter).
	Local bool
	// Timeout is how long an acknowledgement broadcast waits for answers
	// (0: unknown). Cluster adapters tell the other nodes, in
	// milliseconds as the reference server does.
	Timeout time.Duration
}

// BroadcastOperator builds a broadcast: io.to(room).except(other).emit(...).
// Each method returns a new operator; operators can be reused.
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	volatile bool
	local    bool
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.rooms = append([]string(nil), b.rooms...)
	c.except = append([]string(nil), b.except...)
	return &c
}

// To adds rooms to send to.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.rooms = append(c.rooms, rooms...)
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except adds rooms whose members are skipped.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.except = append(c.except, rooms...)
	return c
}

// Volatile lets the packet be dropped for clients that are not ready.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.volatile = true
	return c
}

// Local restricts the broadcast to this node.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.local = true
	return c
}

func (b *BroadcastOperator) options() *BroadcastOptions {
	return &BroadcastOptions{Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Local: b.local}
}

// One broadcast's path, from a handler to the sockets' connections; each
// layer only calls the one below:
//
//  1. BroadcastOperator.Emit (here) builds a Packet (the event and its
//     arguments, not yet encoded) and hands it to the namespace's Adapter.
//  2. MemoryAdapter.Broadcast calls its deliverFunc, then flushes. A
//     cluster adapter (socketio/redisadapter) calls the same, for its
//     local sockets, then publishes the packet to the other nodes, whose
//     adapters deliver it to theirs the same way.
//  3. With connection state recovery on, the deliverFunc is the log's
//     (recovery.deliver): it adds the offset argument and logs the frames
//     the next layer queued, under its lock.
//  4. MemoryAdapter.queue encodes the packet once with the server's
//     parser (Packet.messages for JSON, Packet.msgpackFrames for
//     msgpack), selects the recipients (Apply) and posts the shared frames
//     to each one's Engine.IO session, collected in an engineio.Batch.
//  5. Batch.Flush hands the sessions to the engine's writers, which write
//     each session's queue to its connection without blocking the caller.

// Emit sends an event to every selected socket. The packet is encoded once.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	p := NewPacket(b.nsp.name, NoAck, event, args...)
	b.nsp.counters().broadcasts.Add(1)
	err := b.nsp.adapter.Broadcast(p, b.options())
	b.observeSent(event, args)
	return err
}

// observeSent tells observers, if any, which local sockets a broadcast
// went to: a second pass over the recipients, paid only while observed.
func (b *BroadcastOperator) observeSent(event string, args []any) {
	obs := b.nsp.srv.observing()
	if obs == nil {
		return
	}
	for _, s := range b.Sockets() {
		for _, o := range obs {
			o.EventSent(s, event, args)
		}
	}
}

// ErrAckTimeout is returned by EmitWithAck when some clients did not answer
// before the context was done; the answers received are returned with it.
var ErrAckTimeout = errors.New("socketio: some clients did not acknowledge in time")

// EmitWithAck sends an event to every selected socket, on every node, and
// waits until each has acknowledged it or ctx is done. Answers from sockets
// on other nodes carry the client's first acknowledgement argument only,
// as in the reference server.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	p := NewPacket(b.nsp.name, b.nsp.NewAckID(), event, args...)
	opts := b.options()
	if dl, ok := ctx.Deadline(); ok {
		opts.Timeout = max(time.Until(dl), time.Millisecond)
	}
	var (
		mu       sync.Mutex
		answers  []Args
		failed   int // recipients that disconnected before answering
		expected int // recipients announced so far
		counted  int // nodes that announced their recipients
		nodes    = -1
		done     = make(chan struct{})
	)
	check := func() {
		if nodes >= 0 && counted >= nodes && len(answers)+failed >= expected {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	b.nsp.counters().broadcasts.Add(1)
	start := time.Now()
	n, err := b.nsp.adapter.BroadcastWithAck(p, opts,
		func(n int) { mu.Lock(); expected += n; counted++; check(); mu.Unlock() },
		func(a Args, err error) {
			if err == nil {
				b.nsp.srv.ackLatency.observe(time.Since(start))
			}
			mu.Lock()
			if err != nil {
				failed++
			} else {
				answers = append(answers, a)
			}
			check()
			mu.Unlock()
		})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	nodes = n
	check()
	mu.Unlock()
	b.observeSent(event, args)
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	out := append([]Args(nil), answers...)
	if counted < nodes || len(out)+failed < expected {
		return out, ErrAckTimeout
	}
	return out, nil
}

// Sockets returns the matching sockets on this node (see FetchSockets for
// the whole cluster).
func (b *BroadcastOperator) Sockets() []*Socket {
	var out []*Socket
	b.nsp.adapter.Apply(b.options(), func(s *Socket) { out = append(out, s) })
	return out
}

// FetchSockets describes the matching sockets on every node (this one
// included; only this one with Local), waiting for the other nodes until
// ctx is done or the adapter's request timeout. When some nodes did not
// answer (or the cluster is unreachable) it returns what it has, with an
// error.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	out, err := b.nsp.adapter.FetchSockets(ctx, b.options())
	for _, r := range out {
		r.nsp = b.nsp
	}
	return out, err
}

// SocketsJoin makes the matching sockets join rooms, on every node. The
// local sockets join in any case; an error means the other nodes may not
// have been reached.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	return b.nsp.adapter.AddSockets(b.options(), rooms)
}

// SocketsLeave makes the matching sockets leave rooms, on every node.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	return b.nsp.adapter.DelSockets(b.options(), rooms)
}

// DisconnectSockets disconnects the matching sockets, on every node.
func (b *BroadcastOperator) DisconnectSockets(closeConn bool) error {
	return b.nsp.adapter.DisconnectSockets(b.options(), closeConn)
}
