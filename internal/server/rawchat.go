package server

import (
	"fmt"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/handlers/rawchat"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// The plain-WebSocket chat bridge (config raw_websocket): WebSocket
// upgrades of its exact path go to a rawchat.Server whose room is the
// lobby of the chat on the configured namespace; every other request,
// such as the GET of the static page at the same path, goes on to Gin.

// installRawChatLobby installs the chat on the namespace the raw clients
// join, keeping its lobby; it reports whether ns was that namespace.
func (a *Server) installRawChatLobby(ns config.Namespace) bool {
	rw := a.cfg.RawWebSocket
	if rw == nil || ns.Name != rw.Namespace || ns.App != config.ChatApp {
		return false
	}
	a.lobby = a.newChat(a.io.Of(ns.Name), true)
	return true
}

// newChat installs the chat on n. With the Redis adapter and a fixed
// namespace name (shared), its state is shared through the adapter's Redis
// client, so that every node shows the same chat; Shutdown closes it. A
// pattern's chat stays per node: its one state serves every matching
// namespace, which no other node could tell apart.
func (a *Server) newChat(n *socketio.Namespace, shared bool) *handlers.ChatLobby {
	var opts handlers.ChatOptions
	if rdb, ok := a.redis.(redis.UniversalClient); ok && shared {
		opts = handlers.ChatOptions{Redis: rdb, KeyPrefix: a.cfg.Adapter.KeyPrefix, Logger: a.log}
	}
	l := handlers.NewChatWith(n, opts)
	a.chats = append(a.chats, l)
	return l
}

// mountRawChat puts the bridge in front of a.handler.
func (a *Server) mountRawChat() error {
	rw := a.cfg.RawWebSocket
	if rw == nil {
		return nil
	}
	if a.lobby == nil {
		return fmt.Errorf("raw_websocket.namespace: no namespace %q with app %s", rw.Namespace, config.ChatApp)
	}
	cors := engineOptions(a.cfg, a.log).CORS
	a.raw = rawchat.NewServer(&rawchat.Options{
		Room:             a.lobby,
		MaxMessage:       rw.MaxMessage,
		MaxBufferedBytes: a.cfg.SocketIO.MaxBufferedBytes,
		// The heartbeat and event rate of Socket.IO clients: a bridged
		// client gets no more than they do.
		PingInterval:    a.cfg.SocketIO.PingInterval,
		PingTimeout:     a.cfg.SocketIO.PingTimeout,
		WriteTimeout:    a.cfg.Limits.WriteTimeout,
		EventsPerSecond: a.cfg.Limits.EventsPerSecond,
		EventBurst:      a.cfg.Limits.EventBurst,
		CheckOrigin:     cors.AllowWebSocket,
		Admit:           a.io.Engine().Admit,
		Number:          a.lobby.GuestNumbers(),
		Logger:          a.log,
	})
	// On a cluster the lobby passes its messages between nodes (server-side
	// events), so raw clients get every message once, wherever posted.
	a.lobby.OnMessage(func(m handlers.ChatMessage) { a.raw.Deliver(m.Username, m.Message) })
	a.lobby.OnGuestMessage(func(m handlers.ChatMessage) { a.raw.Relay(m.Message) })
	a.handler = rawRoute{path: rw.Path, raw: a.raw, next: a.handler}
	return nil
}

// rawRoute sends WebSocket upgrades of exactly path to raw, all else to
// next.
type rawRoute struct {
	path      string
	raw, next http.Handler
}

func (h rawRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == h.path && rawchat.IsUpgrade(r) {
		h.raw.ServeHTTP(w, r)
		return
	}
	h.next.ServeHTTP(w, r)
}
