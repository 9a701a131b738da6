package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	kitserve "github.com/switchboard/switchboard/internal/testkit/serve"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func serve(t *testing.T, cfg *config.Config) string {
	t.Helper()
	cfg.StaticDir = ""
	// Short heartbeats: a polling session left open by a test then ends
	// quickly at shutdown.
	cfg.SocketIO.PingInterval, cfg.SocketIO.PingTimeout = 100*time.Millisecond, 100*time.Millisecond
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return kitserve.Start(t, a.Handler(), a.Shutdown).URL
}

// The config's socketio.cookie reaches the handshake response.
func TestConfigCookie(t *testing.T) {
	cfg := config.Default()
	cfg.SocketIO.Cookie = &config.Cookie{Name: "lb", Path: "/", HTTPOnly: true, SameSite: "strict", MaxAge: time.Minute}
	url := serve(t, cfg)
	res, err := http.Get(url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cs := res.Cookies()
	if len(cs) != 1 || cs[0].Name != "lb" || cs[0].SameSite != http.SameSiteStrictMode || cs[0].MaxAge != 60 || !cs[0].HttpOnly {
		t.Fatalf("Set-Cookie: %q", res.Header["Set-Cookie"])
	}
}

// socketio.allow_eio3 switches Engine.IO v3 on the Socket.IO endpoint.
func TestConfigAllowEIO3(t *testing.T) {
	for _, allow := range []bool{true, false} {
		cfg := config.Default()
		cfg.SocketIO.AllowEIO3 = allow
		res, err := http.Get(serve(t, cfg) + "/socket.io/?EIO=3&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: 200, false: 400}[allow]; res.StatusCode != want {
			t.Errorf("allow_eio3 %v: status %d, want %d", allow, res.StatusCode, want)
		}
	}
}
