package redisforward_test

import (
	"context"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/engineio/redisforward"
)

// Every node of the cluster runs the same code, on the same Redis.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	fwd, err := redisforward.New(redisforward.Options{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	opts := engineio.Options{Forwarder: fwd}
	engine := engineio.NewServer(func(s *engineio.Session) engineio.SessionHandler {
		return nil // your handler
	}, &opts)
	fwd.Attach(engine)
	http.Handle("/engine.io/", engine)
	go func() { _ = http.ListenAndServe(":8080", nil) }()

	// ... at shutdown:
	_ = engine.Close(context.Background())
	_ = fwd.Close()
	_ = rdb.Close()
}
