package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/health"
)

// Liveness and readiness for an application embedding a Socket.IO server:
// checks for the server and the application's own dependencies, the two
// endpoints in its mux, and readiness turned off when shutdown starts.
func Example() {
	io := socketio.NewServer(nil)
	h := &health.Health{}
	h.Add("socketio", true, health.SocketIO(io))
	// With the Redis adapter: h.Add("redis", false, health.Adapter(cluster)).
	h.Add("database", false, func(ctx context.Context) error { return nil })

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	h.Register(mux) // or mux.HandleFunc("/readyz", h.Readyz), r.GET("/readyz", gin.WrapF(h.Readyz))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	show := func() {
		res, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(res.Status)
	}
	show()

	// Graceful shutdown: unready first, then the clients, then HTTP.
	h.ShuttingDown()
	show()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = io.Close(ctx)
	// Output:
	// 200 OK
	// 503 Service Unavailable
}
