package socketio

import (
	"context"
	"sync"
)

// NewAckID returns a fresh acknowledgement id for a packet of this
// namespace (see NewPacket); ids are unique per namespace and node.
func (n *Namespace) NewAckID() int64 { return n.nextAckID() }

// FetchSockets describes every socket of the namespace, on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return (&BroadcastOperator{nsp: n}).FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace, on every node, join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error {
	return (&BroadcastOperator{nsp: n}).SocketsJoin(rooms...)
}

// SocketsLeave makes every socket of the namespace, on every node, leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error {
	return (&BroadcastOperator{nsp: n}).SocketsLeave(rooms...)
}

// DisconnectSockets disconnects every socket of the namespace, on every node.
func (n *Namespace) DisconnectSockets(closeConn bool) error {
	return (&BroadcastOperator{nsp: n}).DisconnectSockets(closeConn)
}

// ServerSideHandler handles an event sent by another node with
// ServerSideEmit. ack answers the sender (once; later calls are ignored);
// it does nothing when the sender asked for no answer. Server-side events
// travel as JSON, as in the reference server: no binary arguments.
// It runs on the adapter's receiving goroutine: hand slow work to a
// goroutine, or the node's cluster traffic waits for it.
type ServerSideHandler func(args Args, ack func(answer any))

// OnServerSideEmit registers the handler for a server-side event from
// another node (the reference's namespace.on(event) for serverSideEmit).
func (n *Namespace) OnServerSideEmit(event string, h ServerSideHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serverSide == nil {
		n.serverSide = make(map[string]ServerSideHandler)
	}
	n.serverSide[event] = h
}

// ServerSideEmit sends an event to the namespace on the other nodes.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	_, err := n.adapter.ServerSideEmit(context.Background(), NewPacket(n.name, NoAck, event, args...), false)
	return err
}

// ServerSideEmitWithAck sends an event to the namespace on the other nodes
// and returns one answer per node, or the answers received with an error
// when ctx (or the adapter's request timeout) ends first.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.adapter.ServerSideEmit(ctx, NewPacket(n.name, NoAck, event, args...), true)
}

// HandleServerSideEmit runs the handler for a server-side event received
// from another node. Cluster adapters call it; ack is nil when the sender
// asked for no answer. A panic in the handler is contained.
func (n *Namespace) HandleServerSideEmit(event string, args Args, ack func(answer any)) {
	n.mu.RLock()
	h := n.serverSide[event]
	n.mu.RUnlock()
	if h == nil {
		n.srv.log.Debug("socketio: no handler for server-side event", "nsp", n.name, "event", event)
		return
	}
	var once sync.Once
	reply := func(answer any) {
		if ack != nil {
			once.Do(func() { ack(answer) })
		}
	}
	defer func() {
		if v := recover(); v != nil {
			n.srv.log.Error("socketio: panic in server-side event handler", "nsp", n.name, "event", event, "panic", v)
		}
	}()
	h(args, reply)
}
