package rawchat

// Room is the conversation raw clients take part in besides each other:
// the Socket.IO chat's main room (handlers.ChatLobby implements it). A raw
// client enters when its WebSocket opens, says each text message it sends,
// and leaves when it closes. The methods are called from connection
// goroutines: they must not block for long.
//
// Messages the room's other participants post reach raw clients through
// Server.Deliver.
type Room interface {
	Enter(name string)
	Say(name, text string)
	Leave(name string)
}
