package redisstreams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/switchboard/switchboard/socketio"
)

// Defaults, the reference's.
const (
	DefaultStreamName       = "socket.io"
	DefaultChannelPrefix    = "socket.io"
	DefaultMaxLen           = 10000
	DefaultReadCount        = 100
	DefaultBlockTime        = 5 * time.Second
	DefaultSessionKeyPrefix = "sio:session:"
	DefaultRequestTimeout   = 5 * time.Second
)

// Options configure a Cluster.
type Options struct {
	// Client runs the commands and the subscription. Required. When it
	// is a *redis.Client, the blocking stream reads run on a client of
	// their own with the same options (one connection); otherwise on
	// Client, holding one of its connections.
	Client redis.UniversalClient
	// StreamName is the stream every node appends to and reads (default
	// "socket.io"); ChannelPrefix starts the pub/sub channels (default
	// "socket.io"). Both must be the same on every node of a cluster.
	StreamName    string
	ChannelPrefix string
	// MaxLen trims the stream to about that many entries (default 10000):
	// it bounds Redis's memory, and how far back a session can be
	// recovered. Size it to hold MaxDisconnectionDuration's worth of
	// cluster messages.
	MaxLen int64
	// ReadCount bounds the entries one read takes (default 100), and
	// BlockTime how long a read waits for new ones (default 5s).
	ReadCount int64
	BlockTime time.Duration
	// SessionKeyPrefix starts the keys of persisted sessions (default
	// "sio:session:").
	SessionKeyPrefix string
	// RequestTimeout bounds the requests to other nodes (fetchSockets,
	// serverSideEmit with ack; default 5s) and each Redis command.
	RequestTimeout time.Duration
	// MaxMessageBytes bounds a message read from Redis (default 1 MiB);
	// larger ones are dropped unread.
	MaxMessageBytes int
	// MaxOutboxBytes bounds the bytes of the entries that wait for Redis
	// while it is unreachable (default 64 MiB; at most MaxLen entries
	// too); past it, a broadcast reaches this node's sockets only.
	MaxOutboxBytes int
	// MaxPendingRequests bounds the requests waiting for other nodes'
	// answers, all namespaces together (default 1024).
	MaxPendingRequests int
	// Logger (default: discard).
	Logger *slog.Logger
	// Stats, when set, counts messages published and received, and
	// those that failed, for the server's metrics.
	Stats *socketio.AdapterStats
}

// Cluster is one node's link to the stream and the channels. It creates
// an Adapter per namespace (NewAdapter).
type Cluster struct {
	opts Options
	rdb  redis.UniversalClient
	// reader runs the blocking reads: a client of its own when Client
	// is a *redis.Client (as the reference duplicates its client), so
	// that they hold none of Client's connections and Close can cut
	// them short; Client otherwise.
	reader    redis.UniversalClient
	ownReader bool
	uid       string
	log       *slog.Logger
	ps        *redis.PubSub

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.RWMutex
	adapters map[string]*Adapter // by namespace name
	channels map[string]*Adapter // by pub/sub channel

	// dmu is held while an entry of the stream is delivered to this
	// node's sockets, and while a session is replayed: see
	// Adapter.ReplaySession. last is the id of the last entry delivered
	// (or, before the first, the stream's last id when reading started).
	dmu  sync.Mutex
	last string

	pending atomic.Int64 // requests awaiting answers

	// outbox holds, in order, the entries appended while Redis is
	// unreachable (at most MaxLen entries and MaxOutboxBytes), until it is back: as Node's Redis
	// client queues its commands, the broadcasts sent meanwhile still
	// reach the other nodes. While it is not empty, new entries wait
	// behind it, so the stream keeps this node's order. flushing is set
	// while a goroutine appends them.
	outboxMu    sync.Mutex
	outbox      []*rawMessage
	outboxBytes int
	flushing    bool

	// healthy is readerUp && subUp: the node both reads the stream and
	// gets the channels' messages.
	healthy  atomic.Bool
	readerUp atomic.Bool
	subUp    atomic.Bool
	everUp   atomic.Bool
	toldDown atomic.Bool
	lastErr  atomic.Pointer[error]
	closed   sync.Once
	closeErr error

	keep keeper // the sessions of connected sockets
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// New starts a Cluster: its stream reader and its subscription. It does
// not wait for Redis: a node whose Redis is down starts anyway and joins
// the cluster once Redis answers.
func New(opts Options) (*Cluster, error) {
	if opts.Client == nil {
		return nil, errors.New("redisstreams: Options.Client is required")
	}
	if opts.StreamName == "" {
		opts.StreamName = DefaultStreamName
	}
	if opts.ChannelPrefix == "" {
		opts.ChannelPrefix = DefaultChannelPrefix
	}
	if opts.MaxLen <= 0 {
		opts.MaxLen = DefaultMaxLen
	}
	if opts.ReadCount <= 0 {
		opts.ReadCount = DefaultReadCount
	}
	if opts.BlockTime <= 0 {
		opts.BlockTime = DefaultBlockTime
	}
	if opts.SessionKeyPrefix == "" {
		opts.SessionKeyPrefix = DefaultSessionKeyPrefix
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 1 << 20
	}
	if opts.MaxOutboxBytes <= 0 {
		opts.MaxOutboxBytes = 64 << 20
	}
	if opts.MaxPendingRequests <= 0 {
		opts.MaxPendingRequests = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		opts:     opts,
		rdb:      opts.Client,
		uid:      randomID(),
		log:      opts.Logger.With("component", "redisstreams"),
		adapters: map[string]*Adapter{},
		channels: map[string]*Adapter{},
	}
	c.reader = c.rdb
	if cl, ok := c.rdb.(*redis.Client); ok {
		ro := *cl.Options()
		ro.PoolSize, ro.MinIdleConns, ro.MaxIdleConns = 1, 0, 1
		// Client's own, not to be shared; a stream reader needs none.
		ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		c.reader, c.ownReader = redis.NewClient(&ro), true
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.ps = c.rdb.Subscribe(c.ctx)
	c.setDown(partReader, errors.New("redisstreams: not connected yet"), false)
	c.keep.socks, c.keep.kick = map[*socketio.Socket]*kept{}, make(chan struct{}, 1)
	c.wg.Add(3)
	go c.read()
	go c.receive()
	go c.keepLoop()
	return c, nil
}

// UID returns this node's id in the cluster's messages.
func (c *Cluster) UID() string { return c.uid }

// NewAdapter returns the adapter of namespace n; use it as
// socketio.Options.NewAdapter.
func (c *Cluster) NewAdapter(n *socketio.Namespace) socketio.Adapter {
	a := newAdapter(c, n)
	if ro, ok := n.RecoveryOptions(); ok {
		c.keep.useRecovery(ro.MaxDisconnectionDuration)
	}
	c.mu.Lock()
	c.adapters[n.Name()] = a
	c.channels[a.public] = a
	c.channels[a.private] = a
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	// Recorded by go-redis even when Redis is down, and re-sent on
	// every reconnection.
	if err := c.ps.Subscribe(ctx, a.public, a.private); err != nil {
		c.setDown(partSub, err, true)
	}
	return a
}

func (c *Cluster) forget(a *Adapter) {
	c.mu.Lock()
	if c.adapters[a.nsp.Name()] == a {
		delete(c.adapters, a.nsp.Name())
	}
	delete(c.channels, a.public)
	delete(c.channels, a.private)
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Second)
	defer cancel()
	_ = c.ps.Unsubscribe(ctx, a.public, a.private)
}

// Healthy reports whether the node reads the stream and its subscription
// is up. A node that is not healthy still serves its own clients.
func (c *Cluster) Healthy() bool { return c.healthy.Load() }

// Err returns why the cluster is unhealthy, or nil.
func (c *Cluster) Err() error {
	if c.healthy.Load() {
		return nil
	}
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return errors.New("redisstreams: unavailable")
}

// Close stops the reader and the subscription. It does not close the
// Redis client, which the caller owns.
func (c *Cluster) Close() error {
	c.closed.Do(func() {
		c.cancel()
		c.closeErr = c.ps.Close()
		if c.ownReader {
			_ = c.reader.Close() // ends a blocked read at once
		}
		c.wg.Wait()
	})
	return c.closeErr
}

// The parts of the link setUp and setDown report on.
const (
	partReader = iota
	partSub
)

func (c *Cluster) part(p int) *atomic.Bool {
	if p == partReader {
		return &c.readerUp
	}
	return &c.subUp
}

func (c *Cluster) setDown(p int, err error, count bool) {
	c.lastErr.Store(&err)
	c.part(p).Store(false)
	wasUp := c.healthy.Swap(false)
	if count && (wasUp || (!c.everUp.Load() && !c.toldDown.Swap(true))) {
		c.log.Warn("redis unavailable: local delivery continues, the stream is read again from where it stopped once redis is back", "err", err)
	}
}

func (c *Cluster) setUp(p int) {
	c.part(p).Store(true)
	if !c.readerUp.Load() || !c.subUp.Load() {
		return
	}
	c.everUp.Store(true)
	if !c.healthy.Swap(true) {
		c.log.Info("redis available: cluster delivery resumed")
		c.flushOutbox()
	}
}

func (c *Cluster) sleep(backoff *time.Duration) bool {
	d := *backoff/2 + mrand.N(*backoff/2+1)
	*backoff = min(2**backoff, maxBackoff)
	select {
	case <-time.After(d):
		return true
	case <-c.ctx.Done():
		return false
	}
}

// read consumes the stream until Close. It starts after the stream's
// last entry and then always asks for the entries after the last one it
// got, so that after an outage it resumes where it stopped: nothing
// appended meanwhile by the other nodes is lost (unless trimmed).
func (c *Cluster) read() {
	defer c.wg.Done()
	backoff := minBackoff
	offset := ""
	for c.ctx.Err() == nil {
		if offset == "" {
			id, err := c.lastEntry()
			if err != nil {
				if c.ctx.Err() == nil {
					c.setDown(partReader, fmt.Errorf("redisstreams: reading the stream: %w", err), true)
					c.sleep(&backoff)
				}
				continue
			}
			offset = id
			c.setUp(partReader)
			c.dmu.Lock()
			c.last = id
			c.dmu.Unlock()
		}
		res, err := c.reader.XRead(c.ctx, &redis.XReadArgs{
			Streams: []string{c.opts.StreamName, offset},
			Count:   c.opts.ReadCount,
			Block:   c.opts.BlockTime,
		}).Result()
		if c.ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			c.setDown(partReader, fmt.Errorf("redisstreams: reading the stream: %w", err), true)
			c.sleep(&backoff)
			continue
		}
		backoff = minBackoff
		c.setUp(partReader)
		for _, st := range res {
			for _, m := range st.Messages {
				c.deliver(m)
				offset = m.ID
			}
		}
	}
}

// lastEntry returns the id of the stream's last entry ("0-0" if empty).
func (c *Cluster) lastEntry() (string, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	msgs, err := c.rdb.XRevRangeN(ctx, c.opts.StreamName, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// deliver hands a stream entry to its namespace's adapter, under dmu.
func (c *Cluster) deliver(m redis.XMessage) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.last = m.ID
	raw, ok := rawOf(m.Values, c.opts.MaxMessageBytes)
	if !ok {
		return
	}
	c.mu.RLock()
	a := c.adapters[raw.nsp]
	c.mu.RUnlock()
	if a == nil {
		return
	}
	c.opts.Stats.Received(nil)
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic handling a stream entry", "id", m.ID, "panic", v)
		}
	}()
	a.onEntry(raw, m.ID)
}

// receive reads the subscription until Close.
func (c *Cluster) receive() {
	defer c.wg.Done()
	backoff := minBackoff
	for {
		msg, err := c.ps.ReceiveTimeout(c.ctx, c.opts.BlockTime)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				if perr := c.ps.Ping(c.ctx); perr == nil {
					continue
				} else {
					err = perr
				}
			}
			c.setDown(partSub, err, true)
			if !c.sleep(&backoff) {
				return
			}
			continue
		}
		backoff = minBackoff
		m, ok := msg.(*redis.Message)
		if !ok {
			c.setUp(partSub) // subscribed, or answered a ping
			continue
		}
		if len(m.Payload) > c.opts.MaxMessageBytes {
			continue
		}
		c.mu.RLock()
		a := c.channels[m.Channel]
		c.mu.RUnlock()
		if a == nil {
			continue
		}
		c.opts.Stats.Received(nil)
		func() {
			defer func() {
				if v := recover(); v != nil {
					c.log.Error("panic handling a cluster message", "channel", m.Channel, "panic", v)
				}
			}()
			a.onPubSub([]byte(m.Payload))
		}()
	}
}

// xadd appends a message to the stream and returns its id. While Redis
// is unreachable, or entries wait for it, the message joins the outbox
// instead: it returns no id and no error, and the entry is appended once
// Redis is back. It fails when the outbox is full, or when Redis
// answered with an error or too late (the entry may have been appended).
func (c *Cluster) xadd(ctx context.Context, r *rawMessage) (string, error) {
	c.outboxMu.Lock()
	if !c.healthy.Load() || len(c.outbox) > 0 {
		queued := c.queue(r)
		c.outboxMu.Unlock()
		if !queued {
			err := fmt.Errorf("redisstreams: the outbox for redis is full: %w", c.Err())
			c.opts.Stats.Published(err)
			return "", err
		}
		if c.healthy.Load() {
			c.flushOutbox() // back meanwhile
		}
		return "", nil
	}
	c.outboxMu.Unlock()
	id, err := c.xaddNow(ctx, r)
	if err != nil && lostLink(err) && ctx.Err() == nil {
		c.outboxMu.Lock()
		queued := c.queue(r)
		c.outboxMu.Unlock()
		if queued {
			if c.healthy.Load() {
				c.flushOutbox() // the link is back, or was never seen down
			}
			return "", nil
		}
	}
	return id, err
}

// queue adds r to the outbox unless it is full; under outboxMu.
func (c *Cluster) queue(r *rawMessage) bool {
	n := r.size()
	if int64(len(c.outbox)) >= c.opts.MaxLen || c.outboxBytes+n > c.opts.MaxOutboxBytes {
		return false
	}
	c.outbox = append(c.outbox, r)
	c.outboxBytes += n
	return true
}

// lostLink reports whether an XADD failed without reaching Redis (no
// connection): Redis did not append it. An error reply or a timeout do
// not count: the entry may be in the stream.
func lostLink(err error) bool {
	var reply redis.Error
	if errors.As(err, &reply) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout() || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, redis.ErrClosed) || errors.Is(err, io.EOF)
}

// xaddNow appends a message to the stream.
func (c *Cluster) xaddNow(ctx context.Context, r *rawMessage) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	id, err := c.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: c.opts.StreamName,
		MaxLen: c.opts.MaxLen,
		Approx: true,
		Values: []any{"uid", r.uid, "nsp", r.nsp, "type", strconv.Itoa(r.typ), "data", r.data},
	}).Result()
	c.opts.Stats.Published(err)
	return id, err
}

// flushOutbox starts appending the outbox's entries, in order, unless a
// goroutine already does. It stops when the outbox is empty, when Redis
// is unreachable again (the next setUp starts it again), or at Close.
func (c *Cluster) flushOutbox() {
	c.outboxMu.Lock()
	defer c.outboxMu.Unlock()
	if c.flushing || len(c.outbox) == 0 || c.ctx.Err() != nil {
		return
	}
	c.flushing = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		backoff := minBackoff
		for {
			c.outboxMu.Lock()
			if len(c.outbox) == 0 || c.ctx.Err() != nil || !c.healthy.Load() {
				c.flushing = false
				c.outboxMu.Unlock()
				return
			}
			r := c.outbox[0]
			c.outboxMu.Unlock()
			if _, err := c.xaddNow(c.ctx, r); err != nil && lostLink(err) {
				if !c.sleep(&backoff) {
					c.outboxMu.Lock()
					c.flushing = false
					c.outboxMu.Unlock()
					return
				}
				continue
			} else if err != nil {
				c.log.Debug("entry of the outbox not appended", "err", err)
			}
			backoff = minBackoff
			c.outboxMu.Lock()
			c.outboxBytes -= c.outbox[0].size()
			c.outbox[0] = nil
			c.outbox = c.outbox[1:]
			c.outboxMu.Unlock()
		}
	}()
}

// publish sends a pub/sub message.
func (c *Cluster) publish(channel string, payload []byte) error {
	if !c.healthy.Load() {
		err := c.Err()
		c.opts.Stats.Published(err)
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	err := c.rdb.Publish(ctx, channel, payload).Err()
	c.opts.Stats.Published(err)
	return err
}

// serverCount returns the number of nodes subscribed to channel (this
// one included), as the reference counts them.
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

// randomID is a node id as the reference makes them: 8 random bytes in
// hex.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// streamID is a parsed stream entry id "ms-seq".
type streamID struct{ ms, seq uint64 }

func parseID(s string) (streamID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}, err1 == nil && err2 == nil
}

func (x streamID) after(y streamID) bool {
	return x.ms > y.ms || (x.ms == y.ms && x.seq > y.seq)
}

// next is the smallest id after x (XRANGE's start being inclusive).
func (x streamID) next() string {
	if x.seq == ^uint64(0) {
		return strconv.FormatUint(x.ms+1, 10) + "-0"
	}
	return strconv.FormatUint(x.ms, 10) + "-" + strconv.FormatUint(x.seq+1, 10)
}
