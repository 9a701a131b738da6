// Package redisadapter spreads Socket.IO namespaces over several nodes
// through Redis pub/sub, speaking the wire format of Node's
// @socket.io/redis-adapter 8.x, so Switchboard and Node.js nodes can share
// one cluster, and @socket.io/redis-emitter can publish to it.
//
// Channels (prefix "socket.io" by default, nsp the namespace name):
//
//	prefix#nsp#          broadcasts to the whole namespace or several rooms
//	prefix#nsp#room#     broadcasts to exactly one room
//	prefix-request#nsp#  requests (fetchSockets, socketsJoin, acks, ...)
//	prefix-response#nsp# responses (and prefix-response#nsp#uid#)
//
// Broadcasts are MessagePack [uid, packet, {rooms, except, flags}];
// requests and responses are JSON or MessagePack, as the reference sends
// them. Timeouts on the wire are in milliseconds.
//
// A Redis outage never stops a node: local delivery goes on, the outage is
// logged and counted (Healthy, Err, Stats), the subscription is retried
// with exponential backoff, and cluster traffic resumes once Redis is
// back. Messages published during the outage are dropped, not queued.
package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/socketio"
)

// Defaults of the zero Options' Key and RequestTimeout (the reference's).
const (
	DefaultKey            = "socket.io"
	DefaultRequestTimeout = 5 * time.Second
)

// Options configure a Cluster.
type Options struct {
	// Client publishes and subscribes. Required. Its own retry settings
	// apply to each command; the Cluster adds the outage handling.
	Client redis.UniversalClient
	// Key is the channel prefix (default "socket.io"). Every node of a
	// cluster, Node.js ones and emitters included, must use the same.
	Key string
	// RequestTimeout bounds requests to other nodes (fetchSockets,
	// allRooms, serverSideEmit with ack; default 5s, as in the reference).
	RequestTimeout time.Duration
	// PublishOnSpecificResponseChannel answers requests on the
	// requester's own response channel (prefix-response#nsp#uid#) rather
	// than the shared one; the reference's option of the same name.
	PublishOnSpecificResponseChannel bool
	// QueueSize bounds the messages waiting to be published (default
	// 4096), and QueueBytes their total size (default 64 MiB). When either
	// is reached, or Redis is down, cluster messages are dropped and
	// counted rather than blocking the emitting goroutine.
	QueueSize  int
	QueueBytes int64
	// Logger (default: discard).
	Logger *slog.Logger
	// Stats, when set, also counts messages published and received, and
	// those that failed or were dropped, for the server's metrics.
	Stats *socketio.AdapterStats
}

// Stats are counters since the Cluster started.
type Stats struct {
	Outages       int64 // transitions from healthy to down
	PublishErrors int64 // publishes Redis refused or that failed
	Dropped       int64 // messages not published (queue full or Redis down)
	Published     int64 // messages published to the other nodes
	Received      int64 // messages received from the other nodes
}

// Cluster is one node's link to the Redis bus. It owns one subscription
// connection and creates an Adapter per namespace (NewAdapter).
type Cluster struct {
	opts Options
	rdb  redis.UniversalClient
	uid  string
	log  *slog.Logger
	ps   *redis.PubSub

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan outMsg
	queued atomic.Int64 // bytes in queue

	mu       sync.RWMutex
	byPatt   map[string]*Adapter // broadcast pattern -> adapter
	byChan   map[string]*Adapter // request/response channels -> adapter
	healthy  atomic.Bool
	everUp   atomic.Bool // set once subscribed; before, a failure is reported once
	toldDown atomic.Bool
	lastErr  atomic.Pointer[error]
	stats    struct{ outages, pubErrs, dropped, published, received atomic.Int64 }
	closeErr error
	closed   sync.Once
	// closing, closed by Close, tells the publisher to publish what is
	// queued and stop; flushed is closed when it has.
	closing chan struct{}
	flushed chan struct{}
}

type outMsg struct {
	channel string
	payload []byte
}

// Backoff bounds for re-subscribing after an error.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
	healthInterval = 5 * time.Second
)

// New starts a Cluster. It does not wait for Redis: a node whose Redis is
// down starts anyway and joins the cluster once Redis answers.
func New(opts Options) (*Cluster, error) {
	if opts.Client == nil {
		return nil, errors.New("redisadapter: Options.Client is required")
	}
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		opts:    opts,
		rdb:     opts.Client,
		uid:     randomID(6),
		log:     opts.Logger.With("component", "redisadapter"),
		queue:   make(chan outMsg, opts.QueueSize),
		byPatt:  map[string]*Adapter{},
		byChan:  map[string]*Adapter{},
		closing: make(chan struct{}),
		flushed: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.ps = c.rdb.Subscribe(c.ctx)
	c.setDown(errors.New("redisadapter: not subscribed yet"), false)
	c.wg.Add(2)
	go c.receive()
	go c.publish()
	return c, nil
}

// UID returns this node's id on the bus.
func (c *Cluster) UID() string { return c.uid }

// NewAdapter returns the adapter of namespace n; use it as
// socketio.Options.NewAdapter.
func (c *Cluster) NewAdapter(n *socketio.Namespace) socketio.Adapter {
	a := newAdapter(c, n)
	c.mu.Lock()
	c.byPatt[a.channel+"*"] = a
	for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		c.byChan[ch] = a
	}
	c.mu.Unlock()
	// Recorded by go-redis even when Redis is down, and re-sent on
	// every reconnection.
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	if err := c.ps.PSubscribe(ctx, a.channel+"*"); err != nil {
		c.setDown(err, true)
	}
	if err := c.ps.Subscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err != nil {
		c.setDown(err, true)
	}
	return a
}

func (c *Cluster) forget(a *Adapter) {
	c.mu.Lock()
	delete(c.byPatt, a.channel+"*")
	for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		delete(c.byChan, ch)
	}
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Second)
	defer cancel()
	_ = c.ps.PUnsubscribe(ctx, a.channel+"*")
	_ = c.ps.Unsubscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel)
}

// Healthy reports whether the node is subscribed to Redis and its last
// publish succeeded. A node that is not healthy still serves its own
// clients; readiness checks can report it as degraded.
func (c *Cluster) Healthy() bool { return c.healthy.Load() }

// Err returns why the cluster is unhealthy, or nil.
func (c *Cluster) Err() error {
	if c.healthy.Load() {
		return nil
	}
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return errors.New("redisadapter: unavailable")
}

// Stats returns the counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		Outages:       c.stats.outages.Load(),
		PublishErrors: c.stats.pubErrs.Load(),
		Dropped:       c.stats.dropped.Load(),
		Published:     c.stats.published.Load(),
		Received:      c.stats.received.Load(),
	}
}

// Close publishes the messages still queued, for at most RequestTimeout,
// then stops the subscription and the publisher; later messages are
// dropped. A node shutting down thus still tells the other nodes what its
// last disconnections sent (a chat's "user left"). It does not close the
// Redis client, which the caller owns.
func (c *Cluster) Close() error {
	c.closed.Do(func() {
		close(c.closing)
		<-c.flushed
		c.cancel()
		c.closeErr = c.ps.Close()
		c.wg.Wait()
	})
	return c.closeErr
}

func (c *Cluster) setDown(err error, count bool) {
	c.lastErr.Store(&err)
	wasUp := c.healthy.Swap(false)
	if !count {
		return
	}
	// An outage is counted and logged when it starts, or, for a node
	// that has not reached Redis yet, at its first failure.
	if wasUp || (!c.everUp.Load() && !c.toldDown.Swap(true)) {
		c.stats.outages.Add(1)
		c.log.Warn("redis unavailable: cluster messages are dropped, local delivery continues", "err", err)
	}
}

func (c *Cluster) setUp() {
	c.everUp.Store(true)
	if !c.healthy.Swap(true) {
		c.log.Info("redis available: cluster delivery resumed")
	}
}

// receive reads the subscription until Close, re-subscribing with
// exponential backoff (and jitter) after an error.
func (c *Cluster) receive() {
	defer c.wg.Done()
	backoff := minBackoff
	for {
		msg, err := c.ps.ReceiveTimeout(c.ctx, healthInterval)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				// Idle: make sure the connection is alive.
				if perr := c.ps.Ping(c.ctx); perr == nil {
					continue
				} else {
					err = perr
				}
			}
			c.setDown(err, true)
			d := backoff/2 + mrand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			select {
			case <-time.After(d):
			case <-c.ctx.Done():
				return
			}
			continue
		}
		backoff = minBackoff
		switch m := msg.(type) {
		case *redis.Subscription, *redis.Pong:
			c.setUp()
		case *redis.Message:
			c.setUp()
			c.stats.received.Add(1)
			c.opts.Stats.Received(nil)
			c.dispatch(m)
		}
	}
}

func (c *Cluster) dispatch(m *redis.Message) {
	c.mu.RLock()
	var a *Adapter
	if m.Pattern != "" {
		a = c.byPatt[m.Pattern]
	} else {
		a = c.byChan[m.Channel]
	}
	c.mu.RUnlock()
	if a == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic handling a cluster message", "channel", m.Channel, "panic", v)
		}
	}()
	if m.Pattern != "" {
		a.onBroadcast(m.Channel, []byte(m.Payload))
	} else {
		a.onRequestOrResponse(m.Channel, []byte(m.Payload))
	}
}

// send queues a message for publishing without blocking.
func (c *Cluster) send(channel string, payload []byte) {
	if !c.healthy.Load() || c.isClosing() {
		c.drop()
		return
	}
	n := int64(len(payload))
	if c.queued.Add(n) > c.opts.QueueBytes {
		c.queued.Add(-n)
		c.drop()
		return
	}
	select {
	case c.queue <- outMsg{channel, payload}:
	default:
		c.queued.Add(-n)
		c.drop()
	}
}

// errDropped counts, in the server's metrics, a message that was never
// published (Redis down or the queue full).
var errDropped = errors.New("redisadapter: message dropped")

func (c *Cluster) drop() {
	c.stats.dropped.Add(1)
	c.opts.Stats.Published(errDropped)
}

// publish sends queued messages in order until Close, then what is left.
func (c *Cluster) publish() {
	defer c.wg.Done()
	defer close(c.flushed)
	for {
		select {
		case <-c.closing:
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
			defer cancel()
			for {
				select {
				case m := <-c.queue:
					c.publishOne(ctx, m)
				default:
					return
				}
			}
		case m := <-c.queue:
			c.publishOne(c.ctx, m)
		}
	}
}

func (c *Cluster) publishOne(ctx context.Context, m outMsg) {
	c.queued.Add(-int64(len(m.payload)))
	if !c.healthy.Load() {
		c.drop()
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	err := c.rdb.Publish(ctx, m.channel, m.payload).Err()
	cancel()
	c.opts.Stats.Published(err)
	if err != nil {
		c.stats.pubErrs.Add(1)
		if c.ctx.Err() == nil {
			c.setDown(fmt.Errorf("redisadapter: publish: %w", err), true)
		}
		return
	}
	c.stats.published.Add(1)
}

func (c *Cluster) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// serverCount returns the number of nodes subscribed to channel.
func (c *Cluster) serverCount(ctx context.Context, channel string) (int, error) {
	if !c.healthy.Load() {
		return 1, c.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	res, err := c.rdb.PubSubNumSub(ctx, channel).Result()
	if err != nil {
		return 1, err
	}
	return int(max(res[channel], 1)), nil
}

const idChars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randomID returns n random URL-safe characters, like the reference's uid2.
func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(idChars))))
		b[i] = idChars[k.Int64()]
	}
	return string(b)
}
