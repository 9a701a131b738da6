package redisstreams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/internal/adapterwire"
)

// Message types, numbered as socket.io-adapter's ClusterAdapter numbers
// them.
const (
	typeBroadcast              = 3
	typeSocketsJoin            = 4
	typeSocketsLeave           = 5
	typeDisconnectSockets      = 6
	typeFetchSockets           = 7
	typeFetchSocketsResponse   = 8
	typeServerSideEmit         = 9
	typeServerSideEmitResponse = 10
	typeBroadcastClientCount   = 11
	typeBroadcastAck           = 12
)

// packetEvent is socket.io-parser's EVENT type.
const packetEvent = 2

// ErrTimeout is returned (with the answers received) when other nodes did
// not answer a request in time.
var ErrTimeout = errors.New("redisstreams: timeout reached while waiting for other nodes")

// ErrTooManyRequests is returned when MaxPendingRequests requests already
// await answers.
var ErrTooManyRequests = errors.New("redisstreams: too many pending requests")

// rawMessage is a stream entry's fields: data is the JSON or, with binary
// data, base64 MessagePack of the message's data.
type rawMessage struct {
	uid, nsp string
	typ      int
	data     string
}

// size is what r counts toward Options.MaxOutboxBytes.
func (r *rawMessage) size() int { return len(r.uid) + len(r.nsp) + len(r.data) + 32 }

// rawOf reads a stream entry, nil if malformed or larger than max.
func rawOf(v map[string]any, max int) (*rawMessage, bool) {
	r := &rawMessage{}
	r.uid, _ = v["uid"].(string)
	r.nsp, _ = v["nsp"].(string)
	t, _ := v["type"].(string)
	r.data, _ = v["data"].(string)
	typ, err := strconv.Atoi(t)
	if err != nil || r.nsp == "" || len(r.data) > max {
		return nil, false
	}
	r.typ = typ
	return r, true
}

// decodeData decodes a stream entry's data as the reference does: JSON
// when it starts with '{', base64 MessagePack otherwise.
func decodeData(s string) (msgpack.Map, error) {
	if s == "" {
		return msgpack.Map{}, nil
	}
	var v any
	var err error
	if s[0] == '{' {
		v, err = msgpack.FromJSON([]byte(s), nil)
	} else {
		var b []byte
		if b, err = base64.StdEncoding.DecodeString(s); err == nil {
			v, err = msgpack.Decode(b)
		}
	}
	if err != nil {
		return nil, err
	}
	m, ok := v.(msgpack.Map)
	if !ok {
		return nil, errors.New("data is not an object")
	}
	return m, nil
}

// encodeData is decodeData's inverse: JSON, unless the data holds binary
// values.
func encodeData(m msgpack.Map) (string, error) {
	var atts [][]byte
	js, err := msgpack.AppendJSON(nil, m, &atts)
	if err != nil {
		return "", err
	}
	if len(atts) == 0 {
		return string(js), nil
	}
	b, err := msgpack.Append(nil, m)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Adapter is a namespace's adapter: local rooms in a MemoryAdapter, the
// cluster through the stream and the channels.
type Adapter struct {
	*socketio.MemoryAdapter
	c   *Cluster
	nsp *socketio.Namespace
	// public is the channel of the namespace's ephemeral messages,
	// private this node's responses.
	public, private string

	mu       sync.Mutex
	requests map[string]*request
	acks     map[string]*ackRequest
}

type request struct {
	typ      int
	expected int
	got      int
	sockets  []*socketio.RemoteSocket
	answers  []socketio.Args
	done     chan struct{}
	finished bool
}

type ackRequest struct {
	onCount func(int)
	onAck   func(socketio.Args, error)
}

func newAdapter(c *Cluster, n *socketio.Namespace) *Adapter {
	a := &Adapter{
		MemoryAdapter: socketio.NewMemoryAdapter(n),
		c:             c,
		nsp:           n,
		public:        c.opts.ChannelPrefix + "#" + n.Name() + "#",
		requests:      map[string]*request{},
		acks:          map[string]*ackRequest{},
	}
	a.private = a.public + c.uid + "#"
	return a
}

// Close stops the namespace's subscription.
func (a *Adapter) Close() error {
	a.c.forget(a)
	return nil
}

// recoverable reports whether a broadcast carries an offset: as the
// reference's addOffsetIfNecessary, an event without acknowledgement, not
// volatile, with recovery on.
func (a *Adapter) recoverable(volatile bool, ackID int64) bool {
	_, on := a.nsp.RecoveryOptions()
	return on && !volatile && ackID == socketio.NoAck
}

// publish appends a message to the stream, returning its id.
func (a *Adapter) publish(ctx context.Context, typ int, data msgpack.Map) (string, error) {
	s, err := encodeData(data)
	if err != nil {
		return "", err
	}
	return a.c.xadd(ctx, &rawMessage{uid: a.c.uid, nsp: a.nsp.Name(), typ: typ, data: s})
}

// publishEphemeral sends a message over the namespace's channel.
func (a *Adapter) publishEphemeral(typ int, data msgpack.Map) error {
	return a.sendTo(a.public, typ, data)
}

// respond sends a response to the requester's own channel.
func (a *Adapter) respond(requester string, typ int, data msgpack.Map) {
	_ = a.sendTo(a.public+requester+"#", typ, data)
}

func (a *Adapter) sendTo(channel string, typ int, data msgpack.Map) error {
	b, err := msgpack.Append(nil, msgpack.Map{
		{Key: "type", Value: int64(typ)}, {Key: "data", Value: data},
		{Key: "uid", Value: a.c.uid}, {Key: "nsp", Value: a.nsp.Name()},
	})
	if err != nil {
		return err
	}
	return a.c.publish(channel, b)
}

// Broadcast appends the packet to the stream, unless opts.Local, and
// delivers it locally. A recoverable broadcast (see
// socketio.RecoveryOptions) reaches this node's sockets from the stream,
// as the other nodes' do, with its entry id as offset: every socket of
// the node then gets the cluster's broadcasts in the stream's order,
// which recovery relies on. The others are delivered right away. While
// Redis is unreachable, the entry waits on this node and is appended once
// Redis is back, as with the reference (its Redis client queues the
// XADD): the broadcast then reaches the other nodes, and this node's
// sockets for a recoverable one. Only when adapter.max_len entries wait
// already is it delivered locally only, without offset.
func (a *Adapter) Broadcast(p *socketio.Packet, opts *socketio.BroadcastOptions) error {
	if opts.Local {
		return a.MemoryAdapter.Broadcast(p, opts)
	}
	pt, err := adapterwire.Packet(p, a.nsp.Name())
	if err != nil {
		return err
	}
	viaStream := a.recoverable(opts.Volatile, p.AckID())
	if !viaStream {
		if err := a.MemoryAdapter.Broadcast(p, opts); err != nil {
			return err
		}
	}
	_, perr := a.publish(context.Background(), typeBroadcast, msgpack.Map{{Key: "packet", Value: pt}, {Key: "opts", Value: adapterwire.Opts(opts, true)}})
	if perr != nil && viaStream {
		a.c.log.Debug("broadcast not appended to the stream, delivered locally only", "err", perr)
		return a.MemoryAdapter.Broadcast(p, opts)
	}
	return nil
}

// onEntry handles a stream entry, under the cluster's delivery lock.
func (a *Adapter) onEntry(raw *rawMessage, id string) {
	own := raw.uid == a.c.uid
	if own && raw.typ != typeBroadcast {
		return // applied locally when it was sent
	}
	data, err := decodeData(raw.data)
	if err != nil {
		a.c.log.Debug("ignoring malformed stream entry", "id", id, "err", err)
		return
	}
	if own {
		// Only the recoverable broadcasts come back to their node.
		pt, _ := data.Get("packet")
		pm, _ := pt.(msgpack.Map)
		opts := adapterwire.ReadOpts(mustGet(data, "opts"))
		if hasAckID(pm) || !a.recoverable(opts.Volatile, socketio.NoAck) {
			return
		}
	}
	a.onMessage(raw.typ, raw.uid, data, id)
}

// hasAckID reports whether a packet object asks for an acknowledgement.
func hasAckID(pm msgpack.Map) bool {
	v, ok := pm.Get("id")
	return ok && v != nil
}

func mustGet(m msgpack.Map, key string) any {
	v, _ := m.Get(key)
	return v
}

// onPubSub handles a message of the namespace's channels: MessagePack
// {type, data, uid, nsp}.
func (a *Adapter) onPubSub(payload []byte) {
	v, err := msgpack.Decode(payload)
	if err != nil {
		return
	}
	m, ok := v.(msgpack.Map)
	if !ok {
		return
	}
	uid := m.Str("uid")
	if uid == a.c.uid || m.Str("nsp") != a.nsp.Name() {
		return
	}
	typ, _ := m.Int("type")
	data, _ := mustGet(m, "data").(msgpack.Map)
	a.onMessage(int(typ), uid, data, "")
}

// onMessage is the reference's ClusterAdapter.onMessage.
func (a *Adapter) onMessage(typ int, uid string, data msgpack.Map, offset string) {
	switch typ {
	case typeBroadcast:
		pt, _ := data.Get("packet")
		pm, _ := pt.(msgpack.Map)
		arr, _ := mustGet(pm, "data").([]any)
		opts := adapterwire.ReadOpts(mustGet(data, "opts"))
		if reqID, withAck := data.Get("requestId"); withAck {
			a.onBroadcastWithAck(uid, reqID, arr, opts)
			return
		}
		var extra []any
		if offset != "" && !hasAckID(pm) && a.recoverable(opts.Volatile, socketio.NoAck) {
			extra = []any{offset}
		}
		p, err := adapterwire.Event(a.nsp.Name(), arr, socketio.NoAck, extra...)
		if err != nil {
			a.c.log.Debug("ignoring broadcast", "err", err)
			return
		}
		_ = a.MemoryAdapter.Broadcast(p, opts)
	case typeSocketsJoin:
		_ = a.MemoryAdapter.AddSockets(adapterwire.ReadOpts(mustGet(data, "opts")), adapterwire.Rooms(mustGet(data, "rooms")))
	case typeSocketsLeave:
		_ = a.MemoryAdapter.DelSockets(adapterwire.ReadOpts(mustGet(data, "opts")), adapterwire.Rooms(mustGet(data, "rooms")))
	case typeDisconnectSockets:
		_ = a.MemoryAdapter.DisconnectSockets(adapterwire.ReadOpts(mustGet(data, "opts")), mustGet(data, "close") == true)
	case typeFetchSockets:
		a.onFetchSockets(uid, data)
	case typeServerSideEmit:
		a.onServerSideEmit(uid, data)
	case typeFetchSocketsResponse, typeServerSideEmitResponse, typeBroadcastClientCount, typeBroadcastAck:
		a.onResponse(typ, data)
	}
}

func (a *Adapter) onBroadcastWithAck(uid string, reqID any, arr []any, opts *socketio.BroadcastOptions) {
	p, err := adapterwire.Event(a.nsp.Name(), arr, a.nsp.NewAckID())
	if err != nil {
		return
	}
	_, _ = a.MemoryAdapter.BroadcastWithAck(p, opts,
		func(n int) {
			a.respond(uid, typeBroadcastClientCount, msgpack.Map{{Key: "requestId", Value: reqID}, {Key: "clientCount", Value: int64(n)}})
		},
		func(args socketio.Args, err error) {
			if err != nil {
				return // the socket left before answering: the reference sends nothing either
			}
			var first any
			if args.Len() > 0 {
				if first, err = msgpack.FromJSON(args.Raw(0), args.Attachments()); err != nil {
					return
				}
			}
			a.respond(uid, typeBroadcastAck, msgpack.Map{{Key: "requestId", Value: reqID}, {Key: "packet", Value: first}})
		})
}

func (a *Adapter) onFetchSockets(uid string, data msgpack.Map) {
	socks, _ := a.MemoryAdapter.FetchSockets(context.Background(), adapterwire.ReadOpts(mustGet(data, "opts")))
	list := make([]any, 0, len(socks))
	for _, s := range socks {
		b, err := json.Marshal(s)
		if err != nil {
			continue
		}
		if t, err := msgpack.FromJSON(b, nil); err == nil {
			list = append(list, t)
		}
	}
	a.respond(uid, typeFetchSocketsResponse, msgpack.Map{{Key: "requestId", Value: mustGet(data, "requestId")}, {Key: "sockets", Value: list}})
}

func (a *Adapter) onServerSideEmit(uid string, data msgpack.Map) {
	arr, _ := mustGet(data, "packet").([]any)
	if len(arr) == 0 {
		return
	}
	event, ok := arr[0].(string)
	if !ok {
		return
	}
	var atts [][]byte
	js, err := msgpack.AppendJSON(nil, arr[1:], &atts)
	if err != nil {
		return
	}
	args, err := socketio.ParseArgs(js, atts)
	if err != nil {
		return
	}
	var ack func(any)
	if reqID, ok := data.Get("requestId"); ok {
		var once sync.Once
		ack = func(answer any) {
			once.Do(func() {
				var tree any
				if b, err := json.Marshal(answer); err == nil {
					tree, _ = msgpack.FromJSON(b, nil)
				}
				a.respond(uid, typeServerSideEmitResponse, msgpack.Map{{Key: "requestId", Value: reqID}, {Key: "packet", Value: tree}})
			})
		}
	}
	a.nsp.HandleServerSideEmit(event, args, ack)
}

func (a *Adapter) onResponse(typ int, data msgpack.Map) {
	id := data.Str("requestId")
	if id == "" {
		return
	}
	a.mu.Lock()
	if ar := a.acks[id]; ar != nil {
		a.mu.Unlock()
		switch typ {
		case typeBroadcastClientCount:
			if n, ok := data.Int("clientCount"); ok {
				ar.onCount(int(n))
			}
		case typeBroadcastAck:
			if args, err := adapterwire.Args(mustGet(data, "packet")); err == nil {
				ar.onAck(args, nil)
			}
		}
		return
	}
	defer a.mu.Unlock()
	r := a.requests[id]
	if r == nil || r.finished || r.typ+1 != typ {
		return
	}
	r.got++
	switch typ {
	case typeFetchSocketsResponse:
		r.sockets = append(r.sockets, adapterwire.Sockets(mustGet(data, "sockets"))...)
	case typeServerSideEmitResponse:
		if args, err := adapterwire.Args(mustGet(data, "packet")); err == nil {
			r.answers = append(r.answers, args)
		}
	}
	if r.got >= r.expected {
		r.finished = true
		close(r.done)
	}
}

// BroadcastWithAck delivers p locally and asks the other nodes, over the
// channel, to deliver it; their client counts and answers come back on
// this node's channel.
func (a *Adapter) BroadcastWithAck(p *socketio.Packet, opts *socketio.BroadcastOptions, onCount func(int), onAck func(socketio.Args, error)) (int, error) {
	if opts.Local {
		return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	}
	nodes, cerr := a.c.serverCount(context.Background(), a.public)
	if cerr != nil || nodes <= 1 {
		return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	}
	pt, err := adapterwire.Packet(p, a.nsp.Name())
	if err != nil {
		return 0, err
	}
	pt = append(pt, msgpack.Entry{Key: "id", Value: p.AckID()})
	if a.c.pending.Add(1) > int64(a.c.opts.MaxPendingRequests) {
		a.c.pending.Add(-1)
		return 0, ErrTooManyRequests
	}
	id := randomID()
	a.mu.Lock()
	a.acks[id] = &ackRequest{onCount: onCount, onAck: onAck}
	a.mu.Unlock()
	wait := opts.Timeout
	if wait <= 0 {
		wait = a.c.opts.RequestTimeout
	}
	time.AfterFunc(wait, func() {
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
		a.c.pending.Add(-1)
	})
	if err := a.publishEphemeral(typeBroadcast, msgpack.Map{{Key: "packet", Value: pt}, {Key: "requestId", Value: id}, {Key: "opts", Value: adapterwire.Opts(opts, true)}}); err != nil {
		return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	}
	if _, err := a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck); err != nil {
		return 0, err
	}
	return nodes, nil
}

// ask publishes a request over the channel and waits for the other
// nodes' answers. It returns nil when there is no other node.
func (a *Adapter) ask(ctx context.Context, typ int, data msgpack.Map) (*request, error) {
	nodes, err := a.c.serverCount(ctx, a.public)
	if err != nil {
		return nil, fmt.Errorf("redisstreams: cluster unavailable, local answer only: %w", err)
	}
	if nodes <= 1 {
		return nil, nil
	}
	if a.c.pending.Add(1) > int64(a.c.opts.MaxPendingRequests) {
		a.c.pending.Add(-1)
		return nil, ErrTooManyRequests
	}
	defer a.c.pending.Add(-1)
	id := randomID()
	r := &request{typ: typ, expected: nodes - 1, done: make(chan struct{})}
	a.mu.Lock()
	a.requests[id] = r
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.requests, id)
		r.finished = true
		a.mu.Unlock()
	}()
	if err := a.publishEphemeral(typ, append(data, msgpack.Entry{Key: "requestId", Value: id})); err != nil {
		return nil, err
	}
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
	return r, fmt.Errorf("%w (%d of %d answered)", ErrTimeout, r.got, r.expected)
}

// FetchSockets returns the local sockets and those of the other nodes.
func (a *Adapter) FetchSockets(ctx context.Context, opts *socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	r, err := a.ask(ctx, typeFetchSockets, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, true)}})
	if r == nil {
		return local, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append(local, r.sockets...), err
}

// AllRooms returns the rooms of every node. The reference's cluster
// protocol has no such request: the rooms are those of the sockets
// fetchSockets returns (their own ids excluded, as Rooms does).
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	local := a.MemoryAdapter.Rooms()
	r, err := a.ask(ctx, typeFetchSockets, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(&socketio.BroadcastOptions{}, true)}})
	if r == nil {
		return local, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[string]bool{}
	out := local[:0:0]
	for _, rm := range local {
		if !seen[rm] {
			seen[rm] = true
			out = append(out, rm)
		}
	}
	for _, s := range r.sockets {
		for _, rm := range s.Rooms {
			if rm != s.ID && !seen[rm] {
				seen[rm] = true
				out = append(out, rm)
			}
		}
	}
	return out, err
}

// AddSockets makes the selected sockets join rooms, here and elsewhere.
func (a *Adapter) AddSockets(opts *socketio.BroadcastOptions, rooms []string) error {
	var err error
	if !opts.Local {
		_, err = a.publish(context.Background(), typeSocketsJoin, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, true)}, {Key: "rooms", Value: adapterwire.NonNil(rooms)}})
	}
	_ = a.MemoryAdapter.AddSockets(opts, rooms)
	return err
}

// DelSockets makes the selected sockets leave rooms, here and elsewhere.
func (a *Adapter) DelSockets(opts *socketio.BroadcastOptions, rooms []string) error {
	var err error
	if !opts.Local {
		_, err = a.publish(context.Background(), typeSocketsLeave, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, true)}, {Key: "rooms", Value: adapterwire.NonNil(rooms)}})
	}
	_ = a.MemoryAdapter.DelSockets(opts, rooms)
	return err
}

// DisconnectSockets disconnects the selected sockets, here and elsewhere.
func (a *Adapter) DisconnectSockets(opts *socketio.BroadcastOptions, closeConn bool) error {
	var err error
	if !opts.Local {
		_, err = a.publish(context.Background(), typeDisconnectSockets, msgpack.Map{{Key: "opts", Value: adapterwire.Opts(opts, true)}, {Key: "close", Value: closeConn}})
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
	tree, err := msgpack.FromJSON(data, atts)
	if err != nil {
		return nil, err
	}
	if !wantAck {
		return nil, a.publishEphemeral(typeServerSideEmit, msgpack.Map{{Key: "packet", Value: tree}})
	}
	r, err := a.ask(ctx, typeServerSideEmit, msgpack.Map{{Key: "packet", Value: tree}})
	if r == nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socketio.Args(nil), r.answers...), err
}
