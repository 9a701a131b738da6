// Package serve runs an HTTP handler on a loopback port for one test.
//
//	srv := serve.Start(t, sio, sio.Close) // sio: a *socketio.Server
//	res, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
//
// When the test ends the server is taken down in the order that leaves
// nothing running: shutdown (the Socket.IO or Engine.IO server's Close, or
// the application's Shutdown) ends the sessions first, so their goroutines
// stop and leak checks pass; then the remaining client connections
// (WebSockets, pending polls) are cut and the listener is closed.
package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// ShutdownTimeout bounds the shutdown function at the end of the test.
const ShutdownTimeout = 5 * time.Second

// Start serves h on 127.0.0.1 at a free port until the test ends and
// returns the server (its URL is "http://127.0.0.1:PORT"). shutdown may be
// nil.
func Start(t testing.TB, h http.Handler, shutdown func(context.Context) error) *httptest.Server {
	t.Helper()
	return StartServer(t, httptest.NewUnstartedServer(h), shutdown)
}

// StartServer is Start for a server the caller prepared first (a wrapped
// Listener, its own http.Server settings in Config).
func StartServer(t testing.TB, srv *httptest.Server, shutdown func(context.Context) error) *httptest.Server {
	t.Helper()
	srv.Start()
	t.Cleanup(func() {
		if shutdown != nil {
			ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer cancel()
			_ = shutdown(ctx)
		}
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}
