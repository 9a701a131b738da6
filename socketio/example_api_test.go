package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// The server serves the browser client itself, as Node's serveClient:
// a page loads <script src="/socket.io/socket.io.min.js"></script> (or
// socket.io.esm.min.js, or socket.io.msgpack.min.js with ParserMsgPack)
// from wherever the server is mounted. Options.DisableServeClient turns it
// off.
func ExampleOptions_serveClient() {
	srv := socketio.NewServer(nil)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/socket.io/socket.io.min.js")
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	// Output: 200 OK application/javascript; charset=utf-8 public, max-age=0
}

// Typed handlers take the event's arguments as Go values, a context that
// ends with the socket, and answer the client's acknowledgement with their
// result or error:
//
//	// Client:
//	const res = await socket.emitWithAck("transfer", "alice", 30);
//	if (res && res.message) showError(res.message); else show(res.balance);
func ExampleTyped() {
	type receipt struct {
		Balance int `json:"balance"`
	}
	srv := socketio.NewServer(nil)
	socketio.Handle(srv.Of("/"), "transfer", func(ctx context.Context, s *socketio.Socket, to string, amount int) (receipt, error) {
		if amount <= 0 {
			// The client's ack gets {"message":"amount must be positive"}.
			return receipt{}, errors.New("amount must be positive")
		}
		// ctx ends if the client disconnects: pass it to slow work.
		select {
		case <-ctx.Done():
			return receipt{}, ctx.Err()
		case <-time.After(time.Millisecond): // a database call, say
		}
		return receipt{Balance: 100 - amount}, nil
	})
	// Typed also makes an EventHandler for Socket.On and Server.On.
	srv.On("ping", socketio.Typed(func(s *socketio.Socket) string { return "pong" }))
	// Output:
}

// EmitWithAckFunc asks the client for an acknowledgement without waiting:
// unlike EmitWithAck, it can be used in the client's own event handlers,
// which run one at a time on the goroutine that reads its packets.
func ExampleSocket_EmitWithAckFunc() {
	srv := socketio.NewServer(nil)
	srv.On("ready", func(s *socketio.Socket, e *socketio.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.EmitWithAckFunc(ctx, "confirm", func(answer socketio.Args, err error) {
			defer cancel()
			if errors.Is(err, socketio.ErrAckTimeout) {
				log.Printf("%s did not confirm in time", s.ID())
				return
			}
			var ok bool
			_ = answer.Decode(0, &ok)
			log.Printf("%s confirmed: %v", s.ID(), ok)
		}, "are you sure?")
		if err != nil {
			cancel() // not sent: the callback will not run
		}
	})
	// Output:
}

// Disconnect handlers get one of Node's reasons, typed.
func ExampleDisconnectReason() {
	srv := socketio.NewServer(nil)
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		switch reason {
		case socketio.ReasonClientNamespaceDisconnect:
			log.Printf("%s left", s.ID())
		case socketio.ReasonPingTimeout, socketio.ReasonTransportClose, socketio.ReasonTransportError:
			log.Printf("%s lost its connection (%s)", s.ID(), reason)
		}
	})
	fmt.Println(socketio.ReasonPingTimeout, socketio.ReasonPingTimeout.Recoverable())
	fmt.Println(socketio.ReasonServerNamespaceDisconnect, socketio.ReasonServerNamespaceDisconnect.Recoverable())
	// Output:
	// ping timeout true
	// server namespace disconnect false
}

// Socket.Context ends when the socket disconnects: a goroutine that feeds
// the client stops with it.
func ExampleSocket_Context() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-s.Context().Done():
					return
				case t := <-tick.C:
					_ = s.Emit("time", t.Unix())
				}
			}
		}()
	})
	// Output:
}
