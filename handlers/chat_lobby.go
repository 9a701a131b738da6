package handlers

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/socketio"
)

// ChatLobby is the main room ("general") of a chat, opened to participants
// that are not Socket.IO sockets, such as the plain WebSocket clients of
// handlers/rawchat. Such a guest is an ordinary user to the Socket.IO
// clients: it is announced ("user joined", "user joined room"), listed in
// "room users" and counted in numUsers, and its messages arrive as "new
// message" and stay in the room's history.
//
// Guests stay in the lobby; they do not type, switch rooms or get acks.
type ChatLobby struct{ c *chat }

// NewChat installs the chat on n, as Chat does, and returns its lobby.
func NewChat(n *socketio.Namespace) *ChatLobby { return &ChatLobby{newChat(n)} }

// OnMessage registers fn for every message a Socket.IO user posts in the
// lobby (not those of guests: whoever brings guests in relays their
// messages among them). fn runs on the sender's event goroutine, after the
// room has been sent the message: it must not block. Register listeners
// before clients connect. On a cluster (NewChatWith with Redis), fn runs
// on every node, once per message wherever it was posted; on the other
// nodes, on the adapter's receiving goroutine.
func (l *ChatLobby) OnMessage(fn func(ChatMessage)) {
	c := l.c
	c.mu.Lock()
	c.lobbyListeners = append(slices.Clip(c.lobbyListeners), fn)
	c.mu.Unlock()
}

// OnGuestMessage registers fn for every message a guest posts in the
// lobby through another node of the cluster: whoever brings guests in
// relays those posted here among them, and gets the others from fn. Like
// OnMessage's, fn must not block. On one node it is never called.
func (l *ChatLobby) OnGuestMessage(fn func(ChatMessage)) {
	c := l.c
	c.mu.Lock()
	c.guestListeners = append(slices.Clip(c.guestListeners), fn)
	c.mu.Unlock()
}

// GuestNumbers returns a function numbering guests across the cluster,
// for unique names (rawchat's Options.Number); on one node, nil.
func (l *ChatLobby) GuestNumbers() func() uint64 {
	if l.c.cl == nil {
		return nil
	}
	return l.c.cl.guestNumber
}

// Enter adds a guest to the lobby. Names are the caller's to keep unique
// (GuestNumbers helps on a cluster).
func (l *ChatLobby) Enter(name string) {
	c := l.c
	c.mu.Lock()
	r := c.rooms[lobby]
	r.guests = append(r.guests, name)
	num := c.numUsersLocked()
	c.mu.Unlock()
	if c.cl != nil {
		c.cl.countMu.Lock()
		c.cl.writeOwn()
		num = c.cl.view().numUsers()
	}

	_ = c.nsp.Emit("user joined", userEvent{Username: name, NumUsers: num})
	if c.cl != nil {
		c.cl.countMu.Unlock()
	}
	_ = c.nsp.To(lobby).Emit("user joined room", roomEvent{Username: name, Room: lobby})
	c.announceRoom(lobby)
	c.announceRooms()
}

// Leave removes a guest that entered with this name.
func (l *ChatLobby) Leave(name string) {
	c := l.c
	c.mu.Lock()
	r := c.rooms[lobby]
	i := slices.Index(r.guests, name)
	if i < 0 {
		c.mu.Unlock()
		return
	}
	r.guests = slices.Delete(r.guests, i, i+1)
	num := c.numUsersLocked()
	c.mu.Unlock()
	if c.cl != nil {
		c.cl.countMu.Lock()
		c.cl.writeOwn()
		num = c.cl.view().numUsers()
	}

	_ = c.nsp.Emit("user left", userEvent{Username: name, NumUsers: num})
	if c.cl != nil {
		c.cl.countMu.Unlock()
	}
	_ = c.nsp.To(lobby).Emit("user left room", roomEvent{Username: name, Room: lobby})
	c.announceRoom(lobby)
	c.announceRooms()
}

// Say posts text from a guest to the lobby's Socket.IO users. Text that
// the chat refuses from its own users (empty, over 2,000 characters) is
// dropped, as is text from a name that has not entered.
func (l *ChatLobby) Say(name, text string) {
	if text == "" || utf8.RuneCountInString(text) > maxMessageLen {
		return
	}
	c := l.c
	c.mu.Lock()
	if !slices.Contains(c.rooms[lobby].guests, name) {
		c.mu.Unlock()
		return
	}
	msg := ChatMessage{Username: name, Message: text, Room: lobby, Time: time.Now().UnixMilli()}
	if c.cl == nil {
		c.recordLocked(msg)
	}
	c.mu.Unlock()
	if c.cl != nil {
		c.cl.record(msg)
	}
	_ = c.nsp.To(lobby).Emit("new message", msg)
	if c.cl != nil {
		c.cl.lobbyMessage(msg, true)
	}
}
