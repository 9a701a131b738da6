package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/adminui"
)

// The Socket.IO Admin UI in an application: the admin namespace on the
// server, and the UI's page beside the application's routes. Open
// http://host/admin/ and log in; the form is filled in with this server.
func Example() {
	io := socketio.NewServer(nil)
	// In production the hash comes from configuration, not from code.
	hash, _ := bcrypt.GenerateFromPassword([]byte("change me"), bcrypt.DefaultCost)
	admin, err := adminui.Instrument(io, adminui.Options{
		Username:     "admin",
		PasswordHash: string(hash),
		SocketIOPath: "/socket.io/", // where io is mounted
		// Behind a reverse proxy, the client address logins are limited by:
		// ClientIP: func(remote string, h http.Header) string { ... },
	})
	if err != nil {
		panic(err)
	}
	defer admin.Close()

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.Handle("/admin/", admin.Handler("/admin/"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/admin/")
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("Content-Type"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = io.Close(ctx)
	// Output: 200 OK text/html; charset=utf-8
}

// Logins checked by the application's own user store instead of a
// password hash.
func Example_authorize() {
	io := socketio.NewServer(nil)
	admin, err := adminui.Instrument(io, adminui.Options{
		Namespace: "/admin",
		Readonly:  true, // look, do not touch
		Authorize: func(hs *socketio.Handshake, username, password string) error {
			if username == "ops" && password == "from your user store" {
				return nil
			}
			return fmt.Errorf("unknown user %q", username)
		},
	})
	fmt.Println(err)
	admin.Close()

	_, err = adminui.Instrument(io, adminui.Options{Namespace: "/"})
	fmt.Println(err)
	// Output:
	// <nil>
	// adminui: namespace "/": the admin namespace must be one of its own, such as "/admin"
}
