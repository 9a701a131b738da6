package redisstreams_test

import (
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// A node of a cluster where a client that reconnects to any node within
// two minutes gets its socket back, with what it missed.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	cluster, err := redisstreams.New(redisstreams.Options{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	srv := socketio.NewServer(&socketio.Options{
		NewAdapter:              cluster.NewAdapter,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Join("news")
	})
	// Reaches the room's sockets on every node, Node.js ones included.
	_ = srv.Of("/").To("news").Emit("headline", "hello")
	log.Fatal(http.ListenAndServe(":3000", srv))
}
