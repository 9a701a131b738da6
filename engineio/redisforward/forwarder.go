package redisforward

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
)

// Defaults of the zero Options.
const (
	DefaultKey             = "socket.io"
	DefaultMaxPending      = 10_000
	DefaultMaxTunnelBuffer = 4 << 20
)

// tagLen is the length of a node tag, the first characters of every
// session id the node makes (8 base64url characters: 48 random bits).
const tagLen = 8

// Options configure a Forwarder.
type Options struct {
	// Client publishes and subscribes. Required. All nodes must use the
	// same Redis (or the same Redis Cluster).
	Client redis.UniversalClient
	// Key starts the channel names (default "socket.io", as the Redis
	// adapter's): node channels are "<Key>-eio#<node tag>".
	Key string
	// MaxPending bounds the requests and WebSocket tunnels a node has in
	// flight, each way: those it forwards, and those it serves for other
	// nodes (default 10,000). Beyond it a request gets HTTP 503.
	MaxPending int
	// MaxTunnelBuffer bounds, per WebSocket tunnel, the bytes received
	// and not yet taken by the reader: on the owner, from the client,
	// waiting for the engine; on the node holding the client's
	// connection, from the owner, waiting to be written to the client
	// (default 4 MiB). Past it the tunnel is closed, like a slow consumer.
	MaxTunnelBuffer int
	// Logger receives problems (default: discarded).
	Logger *slog.Logger
}

// Stats count a Forwarder's work since it started.
type Stats struct {
	Forwarded     uint64 // polling requests this node forwarded to their owner
	Served        uint64 // polling requests this node served for another node
	Tunnels       uint64 // WebSocket tunnels this node opened to an owner
	TunnelsServed uint64 // WebSocket tunnels this node served as the owner
	OwnerGone     uint64 // requests for a session whose owner did not answer (answered 400)
	Failed        uint64 // forwarded requests that failed on the way (timeout, Redis error)
	Refused       uint64 // requests refused by MaxPending
	TunnelsClosed uint64 // tunnels closed by a bound (MaxTunnelBuffer, a write deadline, lost message)
}

// Forwarder forwards Engine.IO requests between nodes through Redis
// pub/sub. It implements engineio.Forwarder.
type Forwarder struct {
	opts    Options
	rdb     redis.UniversalClient
	node    string // this node's tag
	channel string
	log     *slog.Logger
	engine  atomic.Pointer[engineio.Server]

	ps     *redis.PubSub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once

	goMu    sync.Mutex // spawn against Close
	closing bool

	nextID  atomic.Uint64
	mu      sync.Mutex
	calls   map[uint64]chan *message // forwarded polling requests, by id
	clients map[uint64]*clientTunnel // tunnels to an owner, by id
	served  map[servedKey]*served    // requests and tunnels served for other nodes
	pending int                      // len(calls)+len(clients)
	serving int                      // len(served)

	stats struct {
		forwarded, servedN, tunnels, tunnelsServed, ownerGone, failed, refused, tunnelsClosed atomic.Uint64
	}
}

type servedKey struct {
	node string
	id   uint64
}

// served is a request (cancel) or tunnel (conn) served for another node.
type served struct {
	cancel context.CancelFunc
	conn   *tunnelConn
}

// New subscribes to this node's channel and returns the Forwarder. Set it
// as the engine's Options.Forwarder, then call Attach with the engine.
func New(opts Options) (*Forwarder, error) {
	if opts.Client == nil {
		return nil, errors.New("redisforward: Options.Client is required")
	}
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.MaxTunnelBuffer <= 0 {
		opts.MaxTunnelBuffer = DefaultMaxTunnelBuffer
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	f := &Forwarder{
		opts:    opts,
		rdb:     opts.Client,
		node:    base64.RawURLEncoding.EncodeToString(b[:]),
		log:     opts.Logger.With("component", "redisforward"),
		calls:   map[uint64]chan *message{},
		clients: map[uint64]*clientTunnel{},
		served:  map[servedKey]*served{},
	}
	f.channel = f.channelOf(f.node)
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.ps = f.rdb.Subscribe(f.ctx, f.channel)
	// Wait for the subscription, so that other nodes reach this one as
	// soon as it hands out session ids; a Redis that is down is not
	// fatal (the receive loop retries), the node then serves its own.
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	if _, err := f.ps.Receive(ctx); err != nil {
		f.log.Warn("redis unavailable: requests for sessions of other nodes fail until it is back", "err", err)
	}
	cancel()
	f.wg.Add(1)
	go f.receive()
	return f, nil
}

// Attach sets the engine that serves the requests forwarded to this node,
// and whose options (MaxPayload, timeouts, heartbeat) bound forwarding.
func (f *Forwarder) Attach(engine *engineio.Server) { f.engine.Store(engine) }

// Node returns this node's tag, the start of its session ids.
func (f *Forwarder) Node() string { return f.node }

// NewID returns a session id naming this node: its tag, then 120 random
// bits.
func (f *Forwarder) NewID() string { return f.node + engineio.NewID() }

// ownerOf returns the tag of the node that made sid, or "".
func ownerOf(sid string) string {
	if len(sid) != tagLen+20 {
		return ""
	}
	return sid[:tagLen]
}

func (f *Forwarder) channelOf(node string) string { return f.opts.Key + "-eio#" + node }

// Stats returns the counters.
func (f *Forwarder) Stats() Stats {
	s := &f.stats
	return Stats{
		Forwarded: s.forwarded.Load(), Served: s.servedN.Load(), Tunnels: s.tunnels.Load(), TunnelsServed: s.tunnelsServed.Load(),
		OwnerGone: s.ownerGone.Load(), Failed: s.failed.Load(), Refused: s.refused.Load(), TunnelsClosed: s.tunnelsClosed.Load(),
	}
}

// Close unsubscribes, ends the requests and tunnels in flight both ways,
// and waits for them. It does not close the Redis client, which the
// caller owns. Close the engine first, so that no new request comes.
func (f *Forwarder) Close() error {
	var err error
	f.closed.Do(func() {
		f.goMu.Lock()
		f.closing = true
		f.goMu.Unlock()
		f.cancel()
		err = f.ps.Close()
		f.mu.Lock()
		var conns []*tunnelConn
		for _, s := range f.served {
			if s.conn != nil {
				conns = append(conns, s.conn)
			}
		}
		var clients []*clientTunnel
		for _, t := range f.clients {
			clients = append(clients, t)
		}
		f.mu.Unlock()
		for _, c := range conns {
			c.shut(false)
		}
		for _, t := range clients {
			t.shut(false)
		}
		f.wg.Wait()
	})
	return err
}

// spawn runs fn in a goroutine that Close waits for; once Close has begun,
// fn runs at once instead (what it publishes then fails fast).
func (f *Forwarder) spawn(fn func()) {
	f.goMu.Lock()
	if f.closing {
		f.goMu.Unlock()
		fn()
		return
	}
	f.wg.Add(1)
	f.goMu.Unlock()
	go func() {
		defer f.wg.Done()
		fn()
	}()
}

// publish sends m to node's channel and tells whether a node received it.
func (f *Forwarder) publish(ctx context.Context, node string, m *message) (bool, error) {
	n, err := f.rdb.Publish(ctx, f.channelOf(node), m.encode()).Result()
	return n > 0, err
}

// publishSoon publishes with a short deadline, for small control messages.
func (f *Forwarder) publishSoon(node string, m *message) bool {
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	ok, err := f.publish(ctx, node, m)
	return ok && err == nil
}

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// receive reads the subscription until Close, re-subscribing with backoff
// after an error. Nothing it calls blocks: requests are served in their
// own goroutines, bytes are queued.
func (f *Forwarder) receive() {
	defer f.wg.Done()
	backoff := minBackoff
	for {
		msg, err := f.ps.ReceiveTimeout(f.ctx, 30*time.Second)
		if f.ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				if err = f.ps.Ping(f.ctx); err == nil {
					continue
				}
			}
			f.log.Debug("subscription error", "err", err)
			d := backoff/2 + mrand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			select {
			case <-time.After(d):
			case <-f.ctx.Done():
				return
			}
			continue
		}
		backoff = minBackoff
		if m, ok := msg.(*redis.Message); ok {
			f.dispatch([]byte(m.Payload))
		}
	}
}

func (f *Forwarder) dispatch(payload []byte) {
	m, err := decode(payload)
	if err != nil {
		f.log.Warn("malformed message dropped", "err", err)
		return
	}
	switch m.kind {
	case kindRequest:
		f.serveRequest(m)
	case kindOpen:
		f.serveTunnel(m)
	case kindResponse:
		f.mu.Lock()
		ch := f.calls[m.id]
		f.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default: // a duplicate: the first one counts
			}
		}
	case kindCancel:
		f.mu.Lock()
		s := f.served[servedKey{m.from, m.id}]
		f.mu.Unlock()
		if s != nil && s.cancel != nil {
			s.cancel()
		}
	case kindData, kindClose:
		f.mu.Lock()
		s := f.served[servedKey{m.from, m.id}]
		f.mu.Unlock()
		if s != nil && s.conn != nil {
			s.conn.received(m)
		}
	case kindDataBack, kindClosed:
		f.mu.Lock()
		t := f.clients[m.id]
		f.mu.Unlock()
		if t != nil {
			t.received(m)
		}
	}
}

// reserve counts one more request or tunnel in flight (out: forwarded by
// this node; else served by it), or refuses it past MaxPending.
func (f *Forwarder) reserve(out bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := &f.serving
	if out {
		n = &f.pending
	}
	if *n >= f.opts.MaxPending {
		f.stats.refused.Add(1)
		return false
	}
	*n++
	return true
}

func (f *Forwarder) release(out bool) {
	f.mu.Lock()
	if out {
		f.pending--
	} else {
		f.serving--
	}
	f.mu.Unlock()
}

// errorBody is an Engine.IO error answer, as the engine writes them.
func errorBody(code int, msg string) []byte {
	return []byte(`{"code":` + strconv.Itoa(code) + `,"message":"` + msg + `"}`)
}
