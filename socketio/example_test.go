package socketio_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// Mount the server in net/http at its path, beside the app's own routes.
// Browsers load the client from the server itself (/socket.io/socket.io.min.js,
// see Options.DisableServeClient) and connect with io("http://localhost:8080").
func Example() {
	srv := socketio.NewServer(nil)
	chat := srv.Of("/")
	socketio.On(chat, "message", func(s *socketio.Socket, text string) {
		// To everyone else in the namespace.
		_ = s.Broadcast().Emit("message", text)
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// A middleware sees every socket before it connects; an error refuses it,
// and a *ConnectError's Data reaches the client's connect_error handler as
// err.data.
func ExampleNamespace_Use() {
	srv := socketio.NewServer(nil)
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		var auth struct{ Token string }
		if err := s.Handshake().AuthInto(&auth); err != nil || auth.Token != os.Getenv("ADMIN_TOKEN") {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]string{"hint": "log in first"}}
		}
		s.SetData(map[string]string{"role": "admin"})
		return nil
	})
}

// On decodes an event's first argument into a Go type; OnAck also answers
// the client's acknowledgement callback with the handler's result.
func ExampleOn() {
	type move struct {
		X, Y int
	}
	srv := socketio.NewServer(nil)
	game := srv.Of("/game")
	socketio.On(game, "move", func(s *socketio.Socket, m move) {
		_ = s.To("table-1").Emit("move", m)
	})
	// Client: socket.emit("double", 21, (n) => console.log(n)) logs 42.
	socketio.OnAck(game, "double", func(s *socketio.Socket, n int) int { return 2 * n })
}

// EmitWithAck waits for the client's answer, or for the context to end.
func ExampleSocket_EmitWithAck() {
	srv := socketio.NewServer(nil)
	srv.Of("/").OnConnection(func(s *socketio.Socket) {
		// Not in the connection handler's goroutine: the answer arrives
		// through the same connection.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "are-you-there")
			if err != nil {
				log.Printf("%s did not answer: %v", s.ID(), err)
				return
			}
			var reply string
			_ = answer.Decode(0, &reply)
			log.Printf("%s says %q", s.ID(), reply)
		}()
	})
}

// Rooms group sockets for broadcasting: To(room) reaches every member
// (the sender too, from the namespace), s.To(room) every member but the
// sender.
func ExampleNamespace_To() {
	srv := socketio.NewServer(nil)
	chat := srv.Of("/")
	socketio.On(chat, "join", func(s *socketio.Socket, room string) {
		if err := s.Join(room); err != nil {
			return // socketio.ErrTooManyRooms past Limits.MaxRoomsPerSocket
		}
		_ = s.To(room).Emit("joined", s.ID())
	})
	// From anywhere in the app, e.g. an HTTP handler:
	_ = chat.To("lobby").Except("muted").Emit("announcement", "maintenance at noon")
}

// Dynamic namespaces: every name the pattern matches is a namespace of its
// own, created when a client first connects to it, with the handlers
// registered on the parent.
func ExampleServer_OfRegexp() {
	srv := socketio.NewServer(nil)
	workspaces := srv.OfRegexp(regexp.MustCompile(`^/workspace-\d+$`))
	workspaces.OnConnection(func(s *socketio.Socket) {
		// s.Namespace() is the child, e.g. /workspace-42.
		_ = s.Namespace().Emit("presence", s.ID())
	})
}

// With connection state recovery, a client whose connection was cut gets
// its socket back (same id, rooms and data) with every packet it missed.
func ExampleRecoveryOptions() {
	srv := socketio.NewServer(&socketio.Options{
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	srv.Of("/").OnConnection(func(s *socketio.Socket) {
		if s.Recovered() {
			return // rooms and data are back; nothing to set up again
		}
		_ = s.Join("news")
	})
}

// Graceful shutdown: stop accepting HTTP requests, then let the Socket.IO
// server close its clients (they reconnect elsewhere) and finish the
// handlers in progress.
func ExampleServer_Close() {
	srv := socketio.NewServer(nil)
	hs := &http.Server{Addr: ":8080", Handler: srv}
	go func() {
		if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	<-stop.Done()
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelTimeout()
	_ = srv.Close(ctx)   // clients first: hijacked WebSockets are not the http.Server's
	_ = hs.Shutdown(ctx) // then the listener and any polling requests left
}
