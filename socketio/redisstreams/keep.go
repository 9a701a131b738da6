package redisstreams

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/socketio"
)

// The Adapter keeps the sessions of connected sockets in Redis, not only
// those of disconnected ones: a node that dies loses none.
var _ socketio.LiveSessionStore = (*Adapter)(nil)

// Bounds of the keeper.
const (
	// keepBatch bounds the commands of one pipeline.
	keepBatch = 256
	// The TTLs of connected sockets' sessions are refreshed every
	// MaxDisconnectionDuration/3, within these bounds: a key lives
	// MaxDisconnectionDuration plus that period after its last refresh,
	// so at least MaxDisconnectionDuration after its node died. The
	// period only trades Redis commands (60/period per socket per minute)
	// against how long a dead node's sessions outlive their window.
	minKeepEvery = time.Second
	maxKeepEvery = 30 * time.Second
)

// casSet writes a session only if the key still holds what this node
// wrote last: once another node took the session (GETDEL), and maybe
// wrote its own, a late write from this node would bring back a session
// already recovered elsewhere. It returns what casExpire does.
var casSet = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if v then return -1 end
return 0`)

// casDel deletes a session only if the key still holds what this node
// wrote last.
var casDel = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// casExpire pushes back a session's expiry only if the key still holds
// what this node wrote last: 1 if so, 0 if the key is gone, -1 if another
// node's socket holds it now (its client reconnected there).
var casExpire = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return -1 end
return 0`)

// kept is a connected socket whose session the node keeps.
type kept struct {
	a   *Adapter
	s   *socketio.Socket
	key string
	// owner is in the stored value, so that what two nodes write for one
	// session always differs.
	owner string
	// prev is the value written last ("" before the first write); gone:
	// the key no longer holds it (taken by another node, or lost by
	// Redis), so this node writes it no more.
	prev  string
	dirty bool
	gone  bool
}

// keeper holds a node's kept sessions; one goroutine writes and refreshes
// them (keepLoop). wmu serializes the writes: the loop's batches and the
// final write or delete at disconnect.
type keeper struct {
	mu    sync.Mutex
	socks map[*socketio.Socket]*kept
	dirty []*kept
	seq   uint64
	every time.Duration // refresh period (0: no namespace with recovery)
	kick  chan struct{}

	wmu sync.Mutex
}

func keepEvery(mdd time.Duration) time.Duration {
	return min(max(mdd/3, minKeepEvery), maxKeepEvery)
}

// useRecovery notes a namespace with recovery, whose sessions expire
// after mdd: the refresh period suits the shortest.
func (k *keeper) useRecovery(mdd time.Duration) {
	k.mu.Lock()
	if e := keepEvery(mdd); k.every == 0 || e < k.every {
		k.every = e
	}
	k.mu.Unlock()
}

func (k *keeper) period() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.every
}

// liveTTL is how long a connected socket's session is written for.
func (a *Adapter) liveTTL() time.Duration {
	ro, _ := a.nsp.RecoveryOptions()
	return ro.MaxDisconnectionDuration + a.c.keep.period()
}

// KeepSession keeps s's session in Redis while s is connected: written
// now (by the keeper's goroutine, so the connection waits for no round
// trip), again when its rooms change, its TTL refreshed periodically.
func (a *Adapter) KeepSession(s *socketio.Socket) {
	k := &a.c.keep
	k.mu.Lock()
	k.seq++
	e := &kept{a: a, s: s, key: a.c.opts.SessionKeyPrefix + s.StoredSession().PID, owner: a.c.uid + "-" + strconv.FormatUint(k.seq, 10)}
	k.socks[s] = e
	k.markLocked(e)
	k.mu.Unlock()
}

// markLocked queues e for a write.
func (k *keeper) markLocked(e *kept) {
	if e.dirty || e.gone {
		return
	}
	e.dirty = true
	k.dirty = append(k.dirty, e)
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// SessionChanged writes s's session again: its data was set.
func (a *Adapter) SessionChanged(s *socketio.Socket) { a.changed(s) }

// changed queues a write of s's session if it is kept.
func (a *Adapter) changed(s *socketio.Socket) {
	k := &a.c.keep
	k.mu.Lock()
	if e := k.socks[s]; e != nil {
		k.markLocked(e)
	}
	k.mu.Unlock()
}

// Join adds s to rooms, and writes its session again.
func (a *Adapter) Join(s *socketio.Socket, rooms ...string) {
	a.MemoryAdapter.Join(s, rooms...)
	a.changed(s)
}

// Leave removes s from room, and writes its session again.
func (a *Adapter) Leave(s *socketio.Socket, room string) {
	a.MemoryAdapter.Leave(s, room)
	a.changed(s)
}

// RemoveSocket removes s; its session is no longer kept. After a
// disconnect that is not recoverable, it is deleted: PersistSession ran
// before for one that is, and took the entry.
func (a *Adapter) RemoveSocket(s *socketio.Socket) {
	a.MemoryAdapter.RemoveSocket(s)
	e := a.c.keep.take(s)
	if e == nil {
		return
	}
	k := &a.c.keep
	k.wmu.Lock()
	defer k.wmu.Unlock()
	if e.gone || e.prev == "" || !a.c.healthy.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(a.c.ctx, a.c.opts.RequestTimeout)
	defer cancel()
	_ = casDel.Run(ctx, a.c.rdb, []string{e.key}, e.prev).Err()
}

// take stops keeping s's session, and returns its entry.
func (k *keeper) take(s *socketio.Socket) *kept {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.socks[s]
	if e != nil {
		delete(k.socks, s)
		e.dirty = false // the loop skips it
	}
	return e
}

// persistKept writes the final state of a kept session, only if the key
// still holds what this node wrote last; ok false if the session is not
// kept.
func (a *Adapter) persistKept(ctx context.Context, ss *socketio.StoredSession, ttl time.Duration) (ok bool, err error) {
	if ss.Socket == nil {
		return false, nil
	}
	k := &a.c.keep
	e := k.take(ss.Socket)
	if e == nil {
		return false, nil
	}
	k.wmu.Lock()
	defer k.wmu.Unlock()
	if e.gone {
		return true, nil // taken by another node meanwhile
	}
	v, err := a.encodeSession(ss, e.owner)
	if err != nil {
		return true, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.c.opts.RequestTimeout)
	defer cancel()
	if e.prev == "" { // never written: nobody can have taken it
		return true, a.c.rdb.Set(ctx, e.key, v, ttl).Err()
	}
	return true, casSet.Run(ctx, a.c.rdb, []string{e.key}, e.prev, v, ttl.Milliseconds()).Err()
}

// keepLoop writes the sessions queued by KeepSession, Join and Leave, and
// refreshes the TTLs of the kept ones every period, until Close.
func (c *Cluster) keepLoop() {
	defer c.wg.Done()
	k := &c.keep
	next := time.Now().Add(maxKeepEvery)
	t := time.NewTimer(maxKeepEvery)
	defer t.Stop()
	for {
		if p := k.period(); p > 0 && time.Until(next) > p {
			next = time.Now().Add(p)
		}
		t.Reset(time.Until(next))
		select {
		case <-c.ctx.Done():
			return
		case <-k.kick:
			c.writeKept()
		case <-t.C:
			c.refreshKept()
			next = time.Now().Add(max(k.period(), minKeepEvery))
		}
	}
}

// writeKept writes the queued sessions, keepBatch per pipeline. While
// Redis is unavailable they stay queued, for the next refresh.
func (c *Cluster) writeKept() {
	k := &c.keep
	if !c.healthy.Load() {
		return
	}
	k.mu.Lock()
	all := make([]*kept, 0, len(k.dirty))
	for _, e := range k.dirty {
		if e.dirty {
			e.dirty = false
			all = append(all, e)
		}
	}
	k.dirty = k.dirty[:0]
	k.mu.Unlock()
	for len(all) > 0 && c.ctx.Err() == nil {
		batch := all[:min(len(all), keepBatch)]
		all = all[len(batch):]
		c.writeBatch(batch)
	}
}

func (c *Cluster) writeBatch(batch []*kept) {
	endStale(c.writeBatchLocked(batch)) // after the locks are released
}

// writeBatchLocked writes batch, and returns the sockets found stale.
func (c *Cluster) writeBatchLocked(batch []*kept) (stale []*socketio.Socket) {
	k := &c.keep
	k.wmu.Lock()
	defer k.wmu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	vals := make([]string, len(batch))
	cmds := make([]redis.Cmder, len(batch))
	p := c.rdb.Pipeline()
	for i, e := range batch {
		k.mu.Lock()
		skip := e.gone || k.socks[e.s] != e // gone, or disconnected meanwhile
		k.mu.Unlock()
		if skip {
			continue
		}
		v, err := e.a.encodeSession(e.s.StoredSession(), e.owner)
		if err != nil {
			continue
		}
		vals[i] = v
		ttl := e.a.liveTTL()
		if e.prev == "" {
			cmds[i] = p.Set(ctx, e.key, v, ttl)
		} else {
			cmds[i] = casSet.Eval(ctx, p, []string{e.key}, e.prev, v, ttl.Milliseconds())
		}
	}
	if p.Len() == 0 {
		return nil
	}
	_, _ = p.Exec(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, cmd := range cmds {
		if cmd == nil || cmd.Err() != nil {
			if e := batch[i]; cmd != nil && k.socks[e.s] == e && !e.dirty {
				e.dirty = true // again at the next kick or refresh
				k.dirty = append(k.dirty, e)
			}
			continue
		}
		e := batch[i]
		if ic, ok := cmd.(*redis.Cmd); ok {
			if n, _ := ic.Int64(); n != 1 {
				e.gone = true
				if n == -1 {
					stale = append(stale, e.s)
				}
				continue
			}
		}
		e.prev = vals[i]
	}
	return stale
}

// refreshKept pushes back the expiry of the kept sessions, keepBatch per
// pipeline. A key that is gone was taken by another node (or lost by
// Redis): the session is no longer written.
func (c *Cluster) refreshKept() {
	if !c.healthy.Load() {
		return
	}
	c.writeKept()
	k := &c.keep
	k.mu.Lock()
	all := make([]*kept, 0, len(k.socks))
	for _, e := range k.socks {
		if !e.gone && e.prev != "" {
			all = append(all, e)
		}
	}
	k.mu.Unlock()
	for len(all) > 0 && c.ctx.Err() == nil {
		batch := all[:min(len(all), keepBatch)]
		all = all[len(batch):]
		c.refreshBatch(batch)
	}
}

func (c *Cluster) refreshBatch(batch []*kept) {
	k := &c.keep
	k.wmu.Lock()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	p := c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, e := range batch {
		cmds[i] = casExpire.EvalSha(ctx, p, []string{e.key}, e.prev, e.a.liveTTL().Milliseconds())
	}
	_, err := p.Exec(ctx)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Loaded once per Redis run; the batch is sent again in full.
		p = c.rdb.Pipeline()
		for i, e := range batch {
			cmds[i] = casExpire.Eval(ctx, p, []string{e.key}, e.prev, e.a.liveTTL().Milliseconds())
		}
		_, err = p.Exec(ctx)
	}
	if err != nil {
		k.wmu.Unlock()
		return
	}
	var stale []*socketio.Socket
	k.mu.Lock()
	for i, cmd := range cmds {
		switch n, err := cmd.Int64(); {
		case err != nil || n == 1:
		case n == 0:
			batch[i].gone = true
		default:
			batch[i].gone = true
			stale = append(stale, batch[i].s)
		}
	}
	k.mu.Unlock()
	k.wmu.Unlock()
	endStale(stale)
}

// endStale disconnects sockets whose session another node holds now: the
// client reconnected there, and took it; these are what is left of
// connections this node has not yet seen cut.
func endStale(stale []*socketio.Socket) {
	for _, s := range stale {
		s.Disconnect(true)
	}
}
