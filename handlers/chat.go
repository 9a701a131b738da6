package handlers

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/socketio"
)

// Chat is a multi-room chat. It speaks the event vocabulary of the classic
// Socket.IO chat demo ("add user", "new message", "typing", "stop typing",
// "login", "user joined", "user left"), so that demo's page works as it
// is, and adds rooms: "join room", "list rooms", and the "rooms",
// "room users", "user joined room" and "user left room" updates. README.md
// documents every event.
func Chat(n *socketio.Namespace) { newChat(n) }

func newChat(n *socketio.Namespace) *chat {
	c := &chat{nsp: n, users: make(map[*socketio.Socket]*chatUser), rooms: make(map[string]*chatRoom)}
	c.rooms[lobby] = &chatRoom{}

	socketio.On(n, "add user", c.addUser)
	socketio.On(n, "new message", c.newMessage)
	n.On("typing", func(s *socketio.Socket, _ *socketio.Event) { c.typing(s, "typing") })
	n.On("stop typing", func(s *socketio.Socket, _ *socketio.Event) { c.typing(s, "stop typing") })
	n.On("join room", func(s *socketio.Socket, e *socketio.Event) {
		var name string
		if err := e.Decode(0, &name); err != nil {
			ackIfAsked(e, map[string]string{"error": "room name must be a string"})
			return
		}
		c.joinRoom(s, e, name)
	})
	// Leaving a room means going back to the lobby.
	n.On("leave room", func(s *socketio.Socket, e *socketio.Event) { c.joinRoom(s, e, lobby) })
	n.On("list rooms", func(s *socketio.Socket, e *socketio.Event) { ackIfAsked(e, c.roomList()) })
	n.OnDisconnect(c.disconnect)
	return c
}

const (
	lobby          = "general"
	maxNameLen     = 32
	maxMessageLen  = 2000
	historyPerRoom = 50
)

type chat struct {
	nsp   *socketio.Namespace
	mu    sync.Mutex
	users map[*socketio.Socket]*chatUser // sockets that sent "add user"
	rooms map[string]*chatRoom
	// lobbyListeners get the lobby's messages from Socket.IO users (see
	// ChatLobby.OnMessage), guestListeners those of guests on other nodes
	// (see ChatLobby.OnGuestMessage).
	lobbyListeners, guestListeners []func(ChatMessage)
	// cl shares the chat with the other nodes of a cluster (nil: one
	// node, everything here). Then rooms holds this node's members and
	// guests only, and the cluster-wide answers come from cl.
	cl *chatCluster
}

type chatUser struct {
	name string
	room string
}

type chatRoom struct {
	members []*socketio.Socket
	guests  []string // participants that are not sockets (lobby only, see ChatLobby)
	history []ChatMessage
}

// historyCopy returns the room's history, empty rather than nil: clients
// get [] for a room without messages (not null), as from a cluster.
func (r *chatRoom) historyCopy() []ChatMessage {
	return append(make([]ChatMessage, 0, len(r.history)), r.history...)
}

// ChatMessage is a message as clients receive it.
type ChatMessage struct {
	Username string `json:"username"`
	Message  string `json:"message"`
	Room     string `json:"room"`
	Time     int64  `json:"time"`
}

// RoomInfo is an entry of the room list.
type RoomInfo struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// userEvent is "user joined" and "user left": namespace-wide.
type userEvent struct {
	Username string `json:"username"`
	NumUsers int    `json:"numUsers"`
}

// roomEvent is "typing", "stop typing", "user joined room", "user left room".
type roomEvent struct {
	Username string `json:"username"`
	Room     string `json:"room"`
}

// cleanName trims a user or room name and checks its length.
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	return s, n > 0 && n <= maxNameLen
}

func (c *chat) addUser(s *socketio.Socket, name string) {
	name, ok := cleanName(name)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.users[s] != nil {
		c.mu.Unlock()
		return // as in the demo: a socket names itself once
	}
	c.users[s] = &chatUser{name: name, room: lobby}
	r := c.rooms[lobby]
	r.members = append(r.members, s)
	history := r.historyCopy()
	num := c.numUsersLocked()
	c.mu.Unlock()
	var rooms []RoomInfo
	if c.cl != nil {
		c.cl.countMu.Lock()
		c.cl.writeOwn()
		v := c.cl.view()
		num, rooms, history = v.numUsers(), v.roomList(), c.cl.history(lobby)
	} else {
		rooms = c.roomList()
	}

	_ = s.Join(lobby) // a chat user is in one room at a time: no room limit applies
	_ = s.Emit("login", map[string]any{
		"numUsers": num, "room": lobby, "rooms": rooms, "history": history,
	})
	_ = s.Broadcast().Emit("user joined", userEvent{Username: name, NumUsers: num})
	if c.cl != nil {
		c.cl.countMu.Unlock()
	}
	_ = s.To(lobby).Emit("user joined room", roomEvent{Username: name, Room: lobby})
	c.announceRoom(lobby)
	c.announceRooms()
}

func (c *chat) newMessage(s *socketio.Socket, text string) {
	if text == "" || utf8.RuneCountInString(text) > maxMessageLen {
		return
	}
	c.mu.Lock()
	u := c.users[s]
	if u == nil {
		c.mu.Unlock()
		return
	}
	msg := ChatMessage{Username: u.name, Message: text, Room: u.room, Time: time.Now().UnixMilli()}
	if c.cl == nil {
		c.recordLocked(msg)
	}
	var listeners []func(ChatMessage)
	if msg.Room == lobby {
		listeners = c.lobbyListeners
	}
	c.mu.Unlock()
	if c.cl != nil {
		c.cl.record(msg)
	}
	_ = s.To(msg.Room).Emit("new message", msg)
	for _, fn := range listeners {
		fn(msg)
	}
	if c.cl != nil && msg.Room == lobby {
		c.cl.lobbyMessage(msg, false)
	}
}

// numUsersLocked counts named sockets and lobby guests.
func (c *chat) numUsersLocked() int { return len(c.users) + len(c.rooms[lobby].guests) }

// recordLocked appends msg to its room's history.
func (c *chat) recordLocked(msg ChatMessage) {
	r := c.rooms[msg.Room]
	r.history = append(r.history, msg)
	if len(r.history) > historyPerRoom {
		r.history = slices.Clone(r.history[len(r.history)-historyPerRoom:])
	}
}

func (c *chat) typing(s *socketio.Socket, event string) {
	c.mu.Lock()
	u := c.users[s]
	var ev roomEvent
	if u != nil {
		ev = roomEvent{Username: u.name, Room: u.room}
	}
	c.mu.Unlock()
	if u != nil {
		_ = s.To(ev.Room).Emit(event, ev)
	}
}

func ackIfAsked(e *socketio.Event, v any) {
	if e.WantsAck() {
		_ = e.Ack(v)
	}
}

// joinRoom moves s from its current room to name; e's ack, if asked for,
// gets the new room's users and history.
func (c *chat) joinRoom(s *socketio.Socket, e *socketio.Event, name string) {
	reply := func(v any) { ackIfAsked(e, v) }
	name, ok := cleanName(name)
	if !ok {
		reply(map[string]string{"error": "room name must be 1 to 32 characters"})
		return
	}
	c.mu.Lock()
	u := c.users[s]
	if u == nil {
		c.mu.Unlock()
		reply(map[string]string{"error": "send \"add user\" first"})
		return
	}
	old := u.room
	if old != name {
		c.leaveLocked(s, old)
		r := c.rooms[name]
		if r == nil {
			r = &chatRoom{}
			c.rooms[name] = r
		}
		r.members = append(r.members, s)
		u.room = name
	}
	r := c.rooms[name]
	users := c.namesLocked(r)
	history := r.historyCopy()
	who := u.name
	c.mu.Unlock()
	if c.cl != nil {
		if old != name {
			c.cl.writeOwn()
		}
		users, history = c.cl.view()[name], c.cl.history(name)
		if users == nil {
			users = []string{}
		}
	}

	if old != name {
		s.Leave(old)
		_ = s.Join(name) // one room at a time: no room limit applies
	}
	reply(map[string]any{"room": name, "users": users, "history": history})
	if old == name {
		return
	}
	_ = c.nsp.To(old).Emit("user left room", roomEvent{Username: who, Room: old})
	_ = s.To(name).Emit("user joined room", roomEvent{Username: who, Room: name})
	c.announceRoom(old)
	c.announceRoom(name)
	c.announceRooms()
}

func (c *chat) disconnect(s *socketio.Socket, _ socketio.DisconnectReason) {
	c.mu.Lock()
	u := c.users[s]
	if u == nil {
		c.mu.Unlock()
		return
	}
	delete(c.users, s)
	c.leaveLocked(s, u.room)
	num := c.numUsersLocked()
	c.mu.Unlock()
	if c.cl != nil {
		c.cl.countMu.Lock()
		c.cl.writeOwn()
		num = c.cl.view().numUsers()
	}

	_ = c.nsp.Emit("user left", userEvent{Username: u.name, NumUsers: num})
	if c.cl != nil {
		c.cl.countMu.Unlock()
	}
	_ = c.nsp.To(u.room).Emit("user left room", roomEvent{Username: u.name, Room: u.room})
	c.announceRoom(u.room)
	c.announceRooms()
}

// leaveLocked removes s from a room; empty rooms other than the lobby go.
func (c *chat) leaveLocked(s *socketio.Socket, room string) {
	r := c.rooms[room]
	if r == nil {
		return
	}
	if i := slices.Index(r.members, s); i >= 0 {
		r.members = slices.Delete(r.members, i, i+1)
	}
	if len(r.members) == 0 && room != lobby {
		delete(c.rooms, room)
	}
}

func (c *chat) namesLocked(r *chatRoom) []string {
	names := make([]string, 0, len(r.members)+len(r.guests))
	for _, m := range r.members {
		if u := c.users[m]; u != nil {
			names = append(names, u.name)
		}
	}
	names = append(names, r.guests...)
	slices.Sort(names)
	return names
}

func (c *chat) roomList() []RoomInfo {
	if c.cl != nil {
		return c.cl.view().roomList()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]RoomInfo, 0, len(c.rooms))
	for name, r := range c.rooms {
		out = append(out, RoomInfo{Name: name, Count: len(r.members) + len(r.guests)})
	}
	sortRooms(out)
	return out
}

// sortRooms puts the lobby first, then the other rooms by name.
func sortRooms(out []RoomInfo) {
	slices.SortFunc(out, func(a, b RoomInfo) int {
		if a.Name == lobby {
			return -1
		}
		if b.Name == lobby {
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// announceRoom tells a room's members who is in it. On a cluster, the
// announcement waits for this node's participants to reach Redis, then
// every node makes it to its own sockets.
func (c *chat) announceRoom(room string) {
	if c.cl != nil {
		c.cl.changed([]string{room}, false)
		return
	}
	c.mu.Lock()
	r := c.rooms[room]
	var users []string
	if r != nil {
		users = c.namesLocked(r)
	}
	c.mu.Unlock()
	if r != nil {
		_ = c.nsp.To(room).Emit("room users", map[string]any{"room": room, "users": users})
	}
}

// announceRooms sends the room list to the whole namespace (on a cluster,
// as announceRoom does).
func (c *chat) announceRooms() {
	if c.cl != nil {
		c.cl.changed(nil, true)
		return
	}
	_ = c.nsp.Emit("rooms", c.roomList())
}
