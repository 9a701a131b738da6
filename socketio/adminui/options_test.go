package adminui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/socketio"
)

// TestInstrumentRequiresLogin: no admin namespace without a login, on "/",
// or with two logins that would contradict each other.
func TestInstrumentRequiresLogin(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	allow := func(*socketio.Handshake, string, string) error { return nil }
	for name, opts := range map[string]Options{
		"nothing":          {},
		"no hash":          {Username: "admin"},
		"not bcrypt":       {Username: "admin", PasswordHash: "pw"},
		"both":             {Username: "admin", PasswordHash: string(hash), Authorize: allow},
		"main namespace":   {Namespace: "/", Authorize: allow},
		"relative name":    {Namespace: "admin", Authorize: allow},
		"main with a hash": {Namespace: "/", Username: "admin", PasswordHash: string(hash)},
	} {
		if a, err := Instrument(socketio.NewServer(nil), opts); err == nil {
			a.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	for name, opts := range map[string]Options{
		"password":  {Username: "admin", PasswordHash: string(hash)},
		"authorize": {Authorize: allow},
	} {
		a, err := Instrument(socketio.NewServer(nil), opts)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a.opts.Logger != slog.Default() || a.opts.SocketIOPath != "/socket.io/" || a.opts.Namespace != "/admin" {
			t.Errorf("%s: defaults %+v", name, a.opts)
		}
		a.Close()
	}
}

// TestAuthorizeAndLoginLimit: Authorize decides the login, and its
// failures count against the same per-client limit as passwords do.
func TestAuthorizeAndLoginLimit(t *testing.T) {
	sio := socketio.NewServer(nil)
	var calls atomic.Int32
	var logs bytes.Buffer
	a, err := Instrument(sio, Options{
		Namespace: "/ops",
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
		Authorize: func(hs *socketio.Handshake, user, pass string) error {
			calls.Add(1)
			if user == "ann" && pass == "right" {
				return nil
			}
			return errors.New("unknown user")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sio)
	defer func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = sio.Close(ctx)
		srv.Close()
	}()
	if got := connectAdmin(t, srv.URL, "/ops", `{"username":"ann","password":"right"}`); !strings.HasPrefix(got, "40/ops,{") {
		t.Fatalf("right login: %q", got)
	}
	for i := range loginBurst {
		if got := connectAdmin(t, srv.URL, "/ops", `{"username":"ann","password":"wrong"}`); !strings.Contains(got, "invalid credentials") {
			t.Fatalf("wrong login %d: %q", i, got)
		}
	}
	if got := connectAdmin(t, srv.URL, "/ops", `{"username":"ann","password":"right"}`); !strings.Contains(got, "too many login attempts") {
		t.Fatalf("over the limit: %q", got)
	}
	if n := calls.Load(); n != 1+loginBurst {
		t.Errorf("Authorize called %d times", n)
	}
	if a.LoginFailures() != loginBurst || a.Rejections()[LimitLoginAttempts] != 1 {
		t.Errorf("failures %d, rejections %v", a.LoginFailures(), a.Rejections())
	}
	if !strings.Contains(logs.String(), "unknown user") {
		t.Errorf("Authorize's error not logged:\n%s", logs.String())
	}
}

// connectAdmin opens a WebSocket session, connects to ns with auth and
// returns the server's answer to that (CONNECT or CONNECT_ERROR).
func connectAdmin(t *testing.T, url, ns, auth string) string {
	t.Helper()
	conn, br, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var rw io.ReadWriter = conn
	if br != nil {
		rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, conn), conn}
	}
	if _, err := wsutil.ReadServerText(rw); err != nil { // open
		t.Fatal(err)
	}
	if err := wsutil.WriteClientText(conn, []byte("40"+ns+","+auth)); err != nil {
		t.Fatal(err)
	}
	b, err := wsutil.ReadServerText(rw)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
