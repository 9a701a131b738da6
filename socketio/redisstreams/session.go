package redisstreams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/internal/adapterwire"
)

// The Adapter is a socketio.SessionStore: connection state recovery works
// across the cluster, Node.js nodes included.
var _ socketio.SessionStore = (*Adapter)(nil)

// ownKey holds, in a stored session, what only Switchboard reads; the
// reference ignores keys it does not know.
const ownKey = "switchboard"

// PersistSession stores the session as the reference does: SET
// <prefix><pid> <base64 MessagePack {sid, pid, rooms, data}> PX ttl. For a
// session kept while its socket was connected (KeepSession), only if the
// key still holds what this node wrote last: a node that notices a cut
// late must not bring back a session another node already recovered.
func (a *Adapter) PersistSession(ctx context.Context, ss *socketio.StoredSession, ttl time.Duration) error {
	if !a.c.healthy.Load() {
		return a.c.Err()
	}
	if ok, err := a.persistKept(ctx, ss, ttl); ok {
		return err
	}
	v, err := a.encodeSession(ss, "")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.c.opts.RequestTimeout)
	defer cancel()
	return a.c.rdb.Set(ctx, a.c.opts.SessionKeyPrefix+ss.PID, v, ttl).Err()
}

// encodeSession is a session as stored: base64 MessagePack {sid, pid,
// rooms, data} and, in a key the reference ignores, what only Switchboard
// reads; owner names the socket a kept session was written for.
func (a *Adapter) encodeSession(ss *socketio.StoredSession, owner string) (string, error) {
	var data any
	if len(ss.Data) > 0 {
		var err error
		if data, err = msgpack.FromJSON(ss.Data, nil); err != nil {
			return "", err
		}
	}
	own := msgpack.Map{{Key: "nodeOnly", Value: ss.NodeOnly}}
	if ss.HasEventTokens {
		own = append(own, msgpack.Entry{Key: "eventTokens", Value: ss.EventTokens})
	}
	if owner != "" {
		own = append(own, msgpack.Entry{Key: "owner", Value: owner})
	}
	b, err := msgpack.Append(nil, msgpack.Map{
		{Key: "sid", Value: ss.SID}, {Key: "pid", Value: ss.PID}, {Key: "rooms", Value: adapterwire.NonNil(ss.Rooms)},
		{Key: "data", Value: data}, {Key: ownKey, Value: own},
	})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// TakeSession gets and deletes the session, as the reference does (with
// MULTI GET DEL, for Redis before 6.2), and checks that the stream still
// holds offset: a trimmed offset means missed packets are gone.
func (a *Adapter) TakeSession(ctx context.Context, pid, offset string) (*socketio.StoredSession, error) {
	if _, ok := parseID(offset); !ok {
		return nil, errors.New("redisstreams: invalid offset")
	}
	ctx, cancel := context.WithTimeout(ctx, a.c.opts.RequestTimeout)
	defer cancel()
	key := a.c.opts.SessionKeyPrefix + pid
	var get *redis.StringCmd
	_, err := a.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	raw, gerr := get.Result()
	if gerr != nil {
		return nil, nil // no session: expired, taken, or never persisted
	}
	at, err := a.c.rdb.XRangeN(ctx, a.c.opts.StreamName, offset, offset, 1).Result()
	if err != nil {
		return nil, err
	}
	if len(at) == 0 || len(raw) > a.c.opts.MaxMessageBytes {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	v, err := msgpack.Decode(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(msgpack.Map)
	if !ok {
		return nil, errors.New("redisstreams: session is not an object")
	}
	ss := &socketio.StoredSession{SID: m.Str("sid"), PID: m.Str("pid"), Rooms: adapterwire.Rooms(mustGet(m, "rooms"))}
	if ss.SID == "" || ss.PID != pid {
		return nil, nil
	}
	if d, ok := m.Get("data"); ok && d != nil {
		js, err := msgpack.AppendJSON(nil, d, new([][]byte))
		if err != nil {
			return nil, err
		}
		ss.Data = json.RawMessage(js)
	}
	if own, ok := mustGet(m, ownKey).(msgpack.Map); ok {
		ss.NodeOnly = mustGet(own, "nodeOnly") == true
		switch t := mustGet(own, "eventTokens").(type) {
		case float64:
			ss.EventTokens, ss.HasEventTokens = t, true
		case int64:
			ss.EventTokens, ss.HasEventTokens = float64(t), true
		}
	}
	return ss, nil
}

// replayPage is how many entries one XRANGE of a replay reads.
const replayPage = 500

// ReplaySession reads the stream after offset, up to the last entry this
// node's reader delivered, and calls deliver with the broadcasts the
// session missed, while the reader waits: the entries the range holds
// were delivered to this node's sockets before the socket was back, the
// ones after it are delivered once it is, so none is lost or repeated,
// and they come in the stream's order. When the client got an entry this
// node has not read yet (from a node that reads ahead), the replay waits
// for the reader to reach it.
func (a *Adapter) ReplaySession(ctx context.Context, ss *socketio.StoredSession, offset string, maxPackets, maxBytes int, deliver func([]*socketio.Packet) error) error {
	from, ok := parseID(offset)
	if !ok {
		return errors.New("redisstreams: invalid offset")
	}
	ctx, cancel := context.WithTimeout(ctx, a.c.opts.RequestTimeout)
	defer cancel()
	var last streamID
	for {
		a.c.dmu.Lock()
		l, ok := parseID(a.c.last)
		if ok && !from.after(l) {
			last = l
			break
		}
		a.c.dmu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisstreams: this node has not read the stream up to %s", offset)
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer a.c.dmu.Unlock()
	// The offset was checked when the session was taken; the stream may
	// have been trimmed since.
	if at, err := a.c.rdb.XRangeN(ctx, a.c.opts.StreamName, offset, offset, 1).Result(); err != nil || len(at) == 0 {
		return fmt.Errorf("redisstreams: offset %s no longer in the stream (%v)", offset, err)
	}
	var missed []*socketio.Packet
	size, scanned := 0, 0
	end := fmt.Sprintf("%d-%d", last.ms, last.seq)
	start := from
	for last.after(start) {
		page, err := a.c.rdb.XRangeN(ctx, a.c.opts.StreamName, start.next(), end, replayPage).Result()
		if err != nil {
			return err
		}
		for _, e := range page {
			id, ok := parseID(e.ID)
			if !ok {
				return fmt.Errorf("redisstreams: bad entry id %q", e.ID)
			}
			start = id
			if scanned++; scanned > 2*int(a.c.opts.MaxLen)+replayPage {
				return socketio.ErrTooManyMissed // more than the stream should hold
			}
			raw, ok := rawOf(e.Values, a.c.opts.MaxMessageBytes)
			if !ok || raw.nsp != a.nsp.Name() || raw.typ != typeBroadcast {
				continue
			}
			p, ok := a.missedPacket(raw, e.ID, ss.Rooms)
			if !ok {
				continue
			}
			size += len(raw.data)
			if len(missed) == maxPackets || size > maxBytes {
				return socketio.ErrTooManyMissed
			}
			missed = append(missed, p)
		}
		if len(page) < replayPage {
			break
		}
	}
	return deliver(missed)
}

// missedPacket returns the broadcast of a stream entry, with its offset,
// if a socket in rooms was among its recipients.
func (a *Adapter) missedPacket(raw *rawMessage, id string, rooms []string) (*socketio.Packet, bool) {
	data, err := decodeData(raw.data)
	if err != nil {
		return nil, false
	}
	if _, ack := data.Get("requestId"); ack {
		return nil, false
	}
	pm, _ := mustGet(data, "packet").(msgpack.Map)
	opts := adapterwire.ReadOpts(mustGet(data, "opts"))
	if t, _ := pm.Int("type"); t != packetEvent || hasAckID(pm) || opts.Volatile || !includes(opts, rooms) {
		return nil, false
	}
	arr, _ := mustGet(pm, "data").([]any)
	p, err := adapterwire.Event(a.nsp.Name(), arr, socketio.NoAck, id)
	return p, err == nil
}

// includes is the reference's shouldIncludePacket: whether a socket in
// rooms (its own id among them) was a recipient.
func includes(opts *socketio.BroadcastOptions, rooms []string) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		if !in && slices.Contains(opts.Rooms, r) {
			in = true
		}
	}
	return in
}
