package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/internal/adapterwire"
)

// Request types, numbered as in @socket.io/redis-adapter.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// ErrTimeout is returned (with the answers received) when other nodes did
// not answer a request in time.
var ErrTimeout = errors.New("redisadapter: timeout reached while waiting for other nodes")

// Adapter is a namespace's adapter: local rooms in a MemoryAdapter, and
// the cluster through Redis.
type Adapter struct {
	*socketio.MemoryAdapter
	c   *Cluster
	nsp *socketio.Namespace

	channel, requestChannel, responseChannel, specificResponseChannel string

	mu       sync.Mutex
	requests map[string]*request
	acks     map[string]*ackRequest
}

// request is a pending request to the other nodes.
type request struct {
	typ      int
	numSub   int // answers expected
	got      int
	sockets  []*socketio.RemoteSocket
	rooms    []string
	answers  []socketio.Args
	done     chan struct{}
	finished bool
}

type ackRequest struct {
	onCount func(int)
	onAck   func(socketio.Args, error)
}

func newAdapter(c *Cluster, n *socketio.Namespace) *Adapter {
	key, name := c.opts.Key, n.Name()
	a := &Adapter{
		MemoryAdapter:   socketio.NewMemoryAdapter(n),
		c:               c,
		nsp:             n,
		channel:         key + "#" + name + "#",
		requestChannel:  key + "-request#" + name + "#",
		responseChannel: key + "-response#" + name + "#",
		requests:        map[string]*request{},
		acks:            map[string]*ackRequest{},
	}
	a.specificResponseChannel = a.responseChannel + c.uid + "#"
	return a
}

// Close stops the namespace's subscriptions.
func (a *Adapter) Close() error {
	a.c.forget(a)
	return nil
}

// Broadcast delivers p locally, then publishes it to the other nodes
// unless opts.Local.
func (a *Adapter) Broadcast(p *socketio.Packet, opts *socketio.BroadcastOptions) error {
	if err := a.MemoryAdapter.Broadcast(p, opts); err != nil {
		return err
	}
	if opts.Local {
		return nil
	}
	pt, err := adapterwire.Packet(p, a.nsp.Name())
	if err != nil {
		return err
	}
	msg, err := msgpack.Append(nil, []any{a.c.uid, pt, adapterwire.Opts(opts, true)})
	if err != nil {
		return err
	}
	ch := a.channel
	if len(opts.Rooms) == 1 {
		ch += opts.Rooms[0] + "#"
	}
	a.c.send(ch, msg)
	return nil
}

// BroadcastWithAck delivers p locally and asks the other nodes to deliver
// it; their client counts and answers come back as responses.
func (a *Adapter) BroadcastWithAck(p *socketio.Packet, opts *socketio.BroadcastOptions, onCount func(int), onAck func(socketio.Args, error)) (int, error) {
	if opts.Local {
		return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	}
	nodes, cerr := a.c.serverCount(context.Background(), a.requestChannel)
	if cerr != nil || nodes <= 1 {
		return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	}
	pt, err := adapterwire.Packet(p, a.nsp.Name())
	if err != nil {
		return 0, err
	}
	id := randomID(6)
	msg, err := msgpack.Append(nil, msgpack.Map{
		{Key: "uid", Value: a.c.uid}, {Key: "requestId", Value: id}, {Key: "type", Value: int64(reqBroadcast)},
		{Key: "packet", Value: pt}, {Key: "opts", Value: adapterwire.Opts(opts, true)},
	})
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	a.acks[id] = &ackRequest{onCount: onCount, onAck: onAck}
	a.mu.Unlock()
	// As in the reference, the answers are awaited for the broadcast's
	// timeout; late ones are dropped.
	wait := opts.Timeout
	if wait <= 0 {
		wait = a.c.opts.RequestTimeout
	}
	time.AfterFunc(wait, func() {
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
	})
	a.c.send(a.requestChannel, msg)
	if _, err := a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck); err != nil {
		return 0, err
	}
	return nodes, nil
}

// FetchSockets returns the local sockets and those of the other nodes.
func (a *Adapter) FetchSockets(ctx context.Context, opts *socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	r, err := a.ask(ctx, reqRemoteFetch, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, false)}})
	if r == nil {
		return local, err
	}
	return append(local, r.sockets...), err
}

// AllRooms returns the rooms of every node. Node.js nodes include their
// sockets' own rooms; this node lists explicit rooms only (Rooms).
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	local := a.MemoryAdapter.Rooms()
	r, err := a.ask(ctx, reqAllRooms, nil)
	if r == nil {
		return local, err
	}
	seen := map[string]bool{}
	out := local[:0:0]
	for _, rm := range append(local, r.rooms...) {
		if !seen[rm] {
			seen[rm] = true
			out = append(out, rm)
		}
	}
	return out, err
}

// ask publishes a JSON request and waits for the other nodes' answers.
// It returns nil when there is no other node (or Redis is down, with the
// error).
func (a *Adapter) ask(ctx context.Context, typ int, fields msgpack.Map) (*request, error) {
	nodes, err := a.c.serverCount(ctx, a.requestChannel)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: cluster unavailable, local answer only: %w", err)
	}
	if nodes <= 1 {
		return nil, nil
	}
	id := randomID(6)
	r := &request{typ: typ, numSub: nodes - 1, done: make(chan struct{})}
	body := msgpack.Map{{Key: "uid", Value: a.c.uid}, {Key: "requestId", Value: id}, {Key: "type", Value: int64(typ)}}
	body = append(body, fields...)
	msg, err := msgpack.AppendJSON(nil, body, new([][]byte))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.requests[id] = r
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.requests, id)
		r.finished = true
		a.mu.Unlock()
	}()
	a.c.send(a.requestChannel, msg)
	t := time.NewTimer(a.c.opts.RequestTimeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r, nil
	case <-t.C:
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return r, fmt.Errorf("%w (%d of %d answered)", ErrTimeout, r.got, r.numSub)
}

// publishSimple publishes a JSON request that expects no answer.
func (a *Adapter) publishSimple(typ int, fields msgpack.Map) error {
	body := append(msgpack.Map{{Key: "uid", Value: a.c.uid}, {Key: "type", Value: int64(typ)}}, fields...)
	msg, err := msgpack.AppendJSON(nil, body, new([][]byte))
	if err != nil {
		return err
	}
	a.c.send(a.requestChannel, msg)
	return a.c.Err()
}

// AddSockets makes the selected sockets join rooms, here and elsewhere.
func (a *Adapter) AddSockets(opts *socketio.BroadcastOptions, rooms []string) error {
	_ = a.MemoryAdapter.AddSockets(opts, rooms)
	if opts.Local {
		return nil
	}
	return a.publishSimple(reqRemoteJoin, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, false)}, {Key: "rooms", Value: adapterwire.NonNil(rooms)}})
}

// DelSockets makes the selected sockets leave rooms, here and elsewhere.
func (a *Adapter) DelSockets(opts *socketio.BroadcastOptions, rooms []string) error {
	_ = a.MemoryAdapter.DelSockets(opts, rooms)
	if opts.Local {
		return nil
	}
	return a.publishSimple(reqRemoteLeave, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, false)}, {Key: "rooms", Value: adapterwire.NonNil(rooms)}})
}

// DisconnectSockets disconnects the selected sockets, here and elsewhere.
func (a *Adapter) DisconnectSockets(opts *socketio.BroadcastOptions, closeConn bool) error {
	// Publish first: disconnecting locally changes the rooms opts select.
	var err error
	if !opts.Local {
		err = a.publishSimple(reqRemoteDisconnect, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, false)}, {Key: "close", Value: closeConn}})
	}
	_ = a.MemoryAdapter.DisconnectSockets(opts, closeConn)
	return err
}

// ServerSideEmit sends an event to the other nodes' namespaces.
func (a *Adapter) ServerSideEmit(ctx context.Context, p *socketio.Packet, wantAck bool) ([]socketio.Args, error) {
	data, atts, err := p.Payload()
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		return nil, errors.New("redisadapter: server-side events cannot carry binary data")
	}
	if !wantAck {
		return nil, a.publishSimple(reqServerSideEmit, msgpack.Map{{Key: "data", Value: json.RawMessage(data)}})
	}
	r, err := a.ask(ctx, reqServerSideEmit, msgpack.Map{{Key: "data", Value: json.RawMessage(data)}})
	if r == nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socketio.Args(nil), r.answers...), err
}

// onBroadcast handles a message on prefix#nsp#[room#].
func (a *Adapter) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.channel) {
		return
	}
	// prefix#nsp# (several rooms or none) or prefix#nsp#room#
	if room := strings.TrimSuffix(channel[len(a.channel):], "#"); room != "" && a.MemoryAdapter.RoomSize(room) == 0 {
		return // no local member: skip decoding
	}
	v, err := msgpack.Decode(payload)
	if err != nil {
		a.c.log.Debug("ignoring malformed broadcast", "err", err)
		return
	}
	msg, ok := v.([]any)
	if !ok || len(msg) < 3 {
		return
	}
	if uid, _ := msg[0].(string); uid == a.c.uid {
		return
	}
	pkt, _ := msg[1].(msgpack.Map)
	o, _ := msg[2].(msgpack.Map)
	p, err := a.remotePacket(pkt, socketio.NoAck)
	if err != nil || p == nil {
		a.c.log.Debug("ignoring broadcast", "err", err)
		return
	}
	_ = a.MemoryAdapter.Broadcast(p, adapterwire.ReadOpts(o))
}

// remotePacket rebuilds a packet {type, data, nsp} of this namespace;
// nil if it belongs to another.
func (a *Adapter) remotePacket(pkt msgpack.Map, ackID int64) (*socketio.Packet, error) {
	if pkt == nil {
		return nil, errors.New("no packet")
	}
	nsp := "/"
	if v, ok := pkt.Get("nsp"); ok && v != nil {
		nsp, _ = v.(string)
	}
	if nsp != a.nsp.Name() {
		return nil, nil
	}
	d, _ := pkt.Get("data")
	data, _ := d.([]any)
	return adapterwire.Event(a.nsp.Name(), data, ackID)
}
