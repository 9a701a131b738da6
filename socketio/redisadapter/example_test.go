package redisadapter_test

import (
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisadapter"
)

// Several nodes share rooms and broadcasts through Redis, in the wire
// format of Node's @socket.io/redis-adapter: Switchboard and Node.js
// socket.io nodes can serve one cluster. A broadcast from any node reaches
// the room's members on every node.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	cluster, err := redisadapter.New(redisadapter.Options{
		Client: client,
		Key:    "socket.io", // Node's default key: the same on every node
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	srv := socketio.NewServer(&socketio.Options{NewAdapter: cluster.NewAdapter})
	socketio.On(srv.Of("/"), "shout", func(s *socketio.Socket, text string) {
		_ = s.Namespace().To("all").Emit("shout", text) // every node's members
	})
	srv.Of("/").OnConnection(func(s *socketio.Socket) { _ = s.Join("all") })
	log.Fatal(http.ListenAndServe(":8080", srv))
}
