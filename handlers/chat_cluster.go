package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/socketio"
)

// ChatOptions configure the chat for a cluster of nodes. The zero value is
// one node: everything is kept in memory.
type ChatOptions struct {
	// Redis, when set, is where the nodes of a cluster share the chat's
	// state, so that every user sees the same participants, room lists,
	// counts and history whichever node serves them. The namespace must
	// then have a cluster adapter (its server-side events tell the other
	// nodes what changed).
	Redis redis.UniversalClient
	// KeyPrefix starts the chat's Redis keys (default "switchboard").
	KeyPrefix string
	// Logger receives Redis errors (default: discarded).
	Logger *slog.Logger
}

// NewChatWith installs the chat on n, as NewChat does, with the given
// options.
func NewChatWith(n *socketio.Namespace, opts ChatOptions) *ChatLobby {
	c := newChat(n)
	if opts.Redis != nil {
		c.cl = newChatCluster(c, opts)
	}
	return &ChatLobby{c}
}

// Close stops sharing the chat with the cluster: this node's participants
// are removed from Redis at once rather than when their entry expires.
// Call it after the namespace's sockets are gone. Without Redis it does
// nothing.
func (l *ChatLobby) Close() {
	if cl := l.c.cl; cl != nil {
		cl.close()
	}
}

// How the chat is shared on Redis. Each item goes where it survives best:
//
//   - Participants (named sockets and lobby guests, with their room): each
//     node writes its own list as one key with a TTL, refreshed every
//     chatRefresh, and registers in a set of nodes. A node reads the other
//     nodes' lists and adds its own, from memory, so its answers (numUsers,
//     room users, the room list) count its latest changes before Redis has
//     them. A node that dies takes its participants with it when its key
//     expires, without anyone cleaning up. The adapter's FetchSockets could
//     list sockets, but not lobby guests (they are not sockets), and costs a
//     request to every node per question.
//   - History: one capped list per room (RPUSH then LTRIM to the last
//     historyPerRoom), so that a user joining any node, even a new one, gets
//     what one node would have kept. A room's history goes when the room
//     empties, as on one node; every key also expires after chatHistoryTTL
//     without messages, so that rooms left by a dead node do not stay.
//   - Guest names: a shared counter (INCR), so that guest-N is unique.
//   - Announcements: a node that changes the participants writes its list,
//     then tells the other nodes (a server-side event) which rooms changed;
//     every node then re-reads the state and sends "room users" and "rooms"
//     to its own sockets only. The last announcement each socket gets is
//     thus read after the last change, wherever it happened.
const (
	chatNodeTTL    = 30 * time.Second
	chatRefresh    = 10 * time.Second
	chatHistoryTTL = 24 * time.Hour
	chatRedisWait  = 5 * time.Second

	// Server-side events between the chat's nodes.
	chatChangedEvent = "switchboard:chat:changed" // rooms whose participants changed
	chatLobbyEvent   = "switchboard:chat:lobby"   // a lobby message, for the other nodes' guests
)

type chatCluster struct {
	c    *chat
	rdb  redis.UniversalClient
	log  *slog.Logger
	node string // this node's id in the set of nodes

	nodesKey, nodePrefix, historyPrefix, guestsKey string

	// writeMu makes each write of this node's participants take its
	// snapshot after the previous write's: a slow write never overwrites
	// a newer list.
	writeMu sync.Mutex
	// countMu orders this node's "user joined" and "user left": each
	// counts the users and is sent before the next change is counted, so
	// that the last count a user gets is the latest. Without it, users
	// leaving together (a node shutting down) could send an older, larger
	// count last, and it would stay on every page.
	countMu sync.Mutex

	mu        sync.Mutex
	dirty     map[string]bool // rooms to announce
	listDirty bool            // the room list to announce
	closed    bool

	// What run announced last (only run uses them): room -> sorted
	// names, and the room list.
	last     chatView
	lastList []RoomInfo

	wake chan struct{}
	done chan struct{}
}

func newChatCluster(c *chat, opts ChatOptions) *chatCluster {
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = "switchboard"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	base := prefix + "#chat#" + c.nsp.Name() + "#"
	cl := &chatCluster{
		c: c, rdb: opts.Redis, log: log, node: hex.EncodeToString(id[:]),
		nodesKey: base + "nodes", nodePrefix: base + "node#",
		historyPrefix: base + "history#", guestsKey: base + "guests",
		dirty: make(map[string]bool),
		wake:  make(chan struct{}, 1), done: make(chan struct{}),
	}
	c.nsp.OnServerSideEmit(chatChangedEvent, func(args socketio.Args, _ func(any)) {
		var rooms []string
		var list bool
		if args.Decode(0, &rooms) != nil || args.Decode(1, &list) != nil {
			return
		}
		cl.mark(rooms, list)
	})
	c.nsp.OnServerSideEmit(chatLobbyEvent, func(args socketio.Args, _ func(any)) {
		var m ChatMessage
		var guest bool
		if args.Decode(0, &m) != nil || args.Decode(1, &guest) != nil {
			return
		}
		c.mu.Lock()
		fns := c.lobbyListeners
		if guest {
			fns = c.guestListeners
		}
		c.mu.Unlock()
		for _, fn := range fns {
			fn(m)
		}
	})
	go cl.run()
	return cl
}

func (cl *chatCluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), chatRedisWait)
}

// changed tells every node, this one included, to announce rooms (and the
// room list if list): this node's participants changed and are written.
// The other nodes are told at once, from the handler that made the
// change, so that the notice leaves while the adapter is up, also when
// the node shuts down.
func (cl *chatCluster) changed(rooms []string, list bool) {
	if rooms == nil {
		rooms = []string{}
	}
	if err := cl.c.nsp.ServerSideEmit(chatChangedEvent, rooms, list); err != nil {
		cl.log.Debug("chat: telling the other nodes failed", "err", err)
	}
	cl.mark(rooms, list)
}

// mark records what to announce and wakes the announcer.
func (cl *chatCluster) mark(rooms []string, list bool) {
	cl.mu.Lock()
	for _, r := range rooms {
		cl.dirty[r] = true
	}
	cl.listDirty = cl.listDirty || list
	cl.mu.Unlock()
	select {
	case cl.wake <- struct{}{}:
	default:
	}
}

// run announces changes, one batch at a time; it also refreshes the
// node's key and notices nodes that went away.
func (cl *chatCluster) run() {
	defer close(cl.done)
	tick := time.NewTicker(chatRefresh)
	defer tick.Stop()
	for {
		refresh := false
		select {
		case <-cl.wake:
		case <-tick.C:
			refresh = true
		}
		cl.mu.Lock()
		if cl.closed {
			cl.mu.Unlock()
			return
		}
		dirty, list := cl.dirty, cl.listDirty
		cl.dirty, cl.listDirty = make(map[string]bool), false
		cl.mu.Unlock()
		if refresh {
			cl.writeOwn()
		}
		cl.announce(dirty, list)
	}
}

// participant is one entry of a node's list in Redis.
type participant struct {
	Name string `json:"n"`
	Room string `json:"r"`
}

// local lists this node's participants.
func (c *chat) localParticipants() []participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]participant, 0, len(c.users)+len(c.rooms[lobby].guests))
	for _, u := range c.users {
		out = append(out, participant{u.name, u.room})
	}
	for _, g := range c.rooms[lobby].guests {
		out = append(out, participant{g, lobby})
	}
	return out
}

// writeOwn writes this node's participants to Redis. The chat calls it
// after each change of participants, before it answers or announces
// anything, so that whatever a user sees next from any node counts the
// change.
func (cl *chatCluster) writeOwn() {
	cl.writeMu.Lock()
	defer cl.writeMu.Unlock()
	cl.mu.Lock()
	closed := cl.closed
	cl.mu.Unlock()
	if closed {
		return // the node has left the cluster's chat
	}
	b, _ := json.Marshal(cl.c.localParticipants())
	ctx, cancel := cl.ctx()
	defer cancel()
	_, err := cl.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, cl.nodePrefix+cl.node, b, chatNodeTTL)
		p.SAdd(ctx, cl.nodesKey, cl.node)
		return nil
	})
	if err != nil {
		cl.log.Debug("chat: writing this node's participants failed", "err", err)
	}
}

// othersScript returns the participant lists of the nodes other than
// ARGV[2], forgetting nodes whose key has expired. It reads keys it is not
// given (a single Redis server, as the adapter uses, allows it).
var othersScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    local v = redis.call('GET', ARGV[1] .. id)
    if v then table.insert(out, v) else redis.call('SREM', KEYS[1], id) end
  end
end
return out`)

// chatView is the cluster's participants: room -> names, the lobby always
// present.
type chatView map[string][]string

// view reads the participants of every node, this one from memory.
func (cl *chatCluster) view() chatView {
	ctx, cancel := cl.ctx()
	defer cancel()
	v := chatView{lobby: nil}
	lists, err := othersScript.Run(ctx, cl.rdb, []string{cl.nodesKey}, cl.nodePrefix, cl.node).StringSlice()
	if err != nil {
		cl.log.Debug("chat: reading the other nodes' participants failed", "err", err)
	}
	add := func(ps []participant) {
		for _, p := range ps {
			v[p.Room] = append(v[p.Room], p.Name)
		}
	}
	for _, s := range lists {
		var ps []participant
		if json.Unmarshal([]byte(s), &ps) == nil {
			add(ps)
		}
	}
	add(cl.c.localParticipants())
	for _, names := range v {
		slices.Sort(names)
	}
	return v
}

func (v chatView) numUsers() int {
	n := 0
	for _, names := range v {
		n += len(names)
	}
	return n
}

func (v chatView) roomList() []RoomInfo {
	out := make([]RoomInfo, 0, len(v))
	for name, names := range v {
		out = append(out, RoomInfo{Name: name, Count: len(names)})
	}
	sortRooms(out)
	return out
}

// announce sends this node's sockets "room users" for each dirty room, or
// each room whose names changed since the last announcement (a node went
// away), and the room list if asked or changed. It also drops the history
// of dirty rooms that are now empty, as one node does.
func (cl *chatCluster) announce(dirty map[string]bool, list bool) {
	v := cl.view()
	for room, names := range v {
		if dirty[room] || !slices.Equal(names, cl.last[room]) {
			_ = cl.c.nsp.To(room).Local().Emit("room users", map[string]any{"room": room, "users": names})
		}
	}
	var gone []string
	for room := range dirty {
		if _, ok := v[room]; !ok {
			gone = append(gone, cl.historyPrefix+room)
		}
	}
	if len(gone) > 0 {
		ctx, cancel := cl.ctx()
		if err := cl.rdb.Del(ctx, gone...).Err(); err != nil {
			cl.log.Debug("chat: dropping the history of empty rooms failed", "err", err)
		}
		cancel()
	}
	rooms := v.roomList()
	if list || !slices.Equal(rooms, cl.lastList) {
		_ = cl.c.nsp.Except().Local().Emit("rooms", rooms)
	}
	cl.last, cl.lastList = v, rooms
}

// record appends msg to its room's history, capped.
func (cl *chatCluster) record(msg ChatMessage) {
	b, _ := json.Marshal(msg)
	key := cl.historyPrefix + msg.Room
	ctx, cancel := cl.ctx()
	defer cancel()
	_, err := cl.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, b)
		p.LTrim(ctx, key, -historyPerRoom, -1)
		p.Expire(ctx, key, chatHistoryTTL)
		return nil
	})
	if err != nil {
		cl.log.Debug("chat: recording a message failed", "err", err)
	}
}

// history returns a room's history, oldest first.
func (cl *chatCluster) history(room string) []ChatMessage {
	ctx, cancel := cl.ctx()
	defer cancel()
	items, err := cl.rdb.LRange(ctx, cl.historyPrefix+room, 0, -1).Result()
	if err != nil {
		cl.log.Debug("chat: reading the history failed", "err", err)
	}
	out := make([]ChatMessage, 0, len(items))
	for _, s := range items {
		var m ChatMessage
		if json.Unmarshal([]byte(s), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// lobbyMessage tells the other nodes about a lobby message, for their
// listeners (guest: posted by a guest).
func (cl *chatCluster) lobbyMessage(msg ChatMessage, guest bool) {
	if err := cl.c.nsp.ServerSideEmit(chatLobbyEvent, msg, guest); err != nil {
		cl.log.Debug("chat: passing a lobby message to the other nodes failed", "err", err)
	}
}

// guestNumber returns a number for a guest's name, unique in the cluster.
func (cl *chatCluster) guestNumber() uint64 {
	ctx, cancel := cl.ctx()
	defer cancel()
	n, err := cl.rdb.Incr(ctx, cl.guestsKey).Uint64()
	if err != nil {
		// Without Redis, a random number beyond what the counter reaches
		// in practice keeps names apart.
		cl.log.Debug("chat: numbering a guest failed", "err", err)
		r, _ := rand.Int(rand.Reader, big.NewInt(1e9))
		return 1e9 + r.Uint64()
	}
	return n
}

func (cl *chatCluster) close() {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return
	}
	cl.closed = true
	cl.mu.Unlock()
	cl.mark(nil, false)
	<-cl.done
	cl.writeMu.Lock()
	defer cl.writeMu.Unlock()
	ctx, cancel := cl.ctx()
	defer cancel()
	_, err := cl.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, cl.nodePrefix+cl.node)
		p.SRem(ctx, cl.nodesKey, cl.node)
		return nil
	})
	if err != nil {
		cl.log.Debug("chat: removing this node's participants failed", "err", err)
	}
}
