// Command gin is the shape of a Go app that embeds Switchboard: a Gin
// router with the app's own routes, the Socket.IO server mounted beside
// them, and a graceful shutdown. Run it with
//
//	go run ./examples/gin -addr 127.0.0.1:8080
//
// and connect any socket.io-client (4.x, 3.x; 2.x too, as AllowEIO3 is
// set) to it: emit "echo" with an acknowledgement callback, or "join" a
// room and "say" something to it.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/health"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, nil); err != nil {
		slog.Error("gin example", "err", err)
		os.Exit(1)
	}
}

// newSocketIO is the app's Socket.IO side.
func newSocketIO(log *slog.Logger) *socketio.Server {
	io := socketio.NewServer(&socketio.Options{
		Engine: engineio.Options{AllowEIO3: true},
		Logger: log,
	})
	chat := io.Of("/")
	// A middleware: every socket gets a display name before it connects.
	chat.Use(func(s *socketio.Socket) error {
		var auth struct{ Name string }
		_ = s.Handshake().AuthInto(&auth)
		if auth.Name == "" {
			auth.Name = "guest"
		}
		s.SetData(map[string]string{"name": auth.Name})
		return nil
	})
	// Acknowledged: the client's callback gets the handler's result.
	socketio.OnAck(chat, "echo", func(s *socketio.Socket, text string) string { return text })
	socketio.On(chat, "join", func(s *socketio.Socket, room string) { _ = s.Join(room) })
	chat.On("say", func(s *socketio.Socket, e *socketio.Event) {
		var room, text string
		if e.Bind(&room, &text) != nil {
			return
		}
		name := s.Data().(map[string]string)["name"]
		_ = s.To(room).Emit("said", name, text) // every other member of room
	})
	return io
}

// run serves on addr until ctx is done, then shuts down. ready, if set, is
// told the address.
func run(ctx context.Context, addr string, ready func(net.Addr)) error {
	log := slog.Default()
	io := newSocketIO(log)

	// Liveness and readiness for the orchestrator: /readyz turns 503 when
	// the server is full or shutting down, so new clients go elsewhere.
	hc := &health.Health{}
	hc.Add("socketio", true, health.SocketIO(io))

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/healthz", gin.WrapF(hc.Healthz))
	r.GET("/readyz", gin.WrapF(hc.Readyz))
	// The app's own HTTP API can reach the sockets too.
	r.POST("/announce", func(c *gin.Context) {
		_ = io.Of("/").Emit("announcement", c.Query("text"))
		c.Status(http.StatusNoContent)
	})
	r.Any("/socket.io/*rest", gin.WrapH(io))

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Unready first, then the clients (WebSockets are hijacked:
	// http.Server.Shutdown does not wait for them), then the listener and
	// the requests left.
	hc.ShuttingDown()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := io.Close(sctx); err != nil {
		log.Warn("clients did not all disconnect in time", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
