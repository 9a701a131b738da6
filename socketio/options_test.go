package socketio

import (
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/testkit/serve"
)

// The engine's hooks are reachable from socketio.Options: AllowRequest
// refuses a handshake (403, code 4) before any session exists.
func TestAllowRequestHook(t *testing.T) {
	srv := NewServer(&Options{Engine: engineio.Options{
		AllowEIO3:    true,
		PingInterval: 50 * time.Millisecond,
		PingTimeout:  50 * time.Millisecond,
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("token") != "ok" {
				return errors.New("no token")
			}
			return nil
		},
	}})
	hs := serve.Start(t, srv, srv.Close)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"EIO=4&transport=polling", http.StatusForbidden},
		{"EIO=3&transport=polling", http.StatusForbidden},
		{"EIO=4&transport=polling&token=ok", http.StatusOK},
		{"EIO=3&transport=polling&token=ok", http.StatusOK},
	} {
		res, err := http.Get(hs.URL + "/socket.io/?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.query, res.StatusCode, tc.want)
		}
	}
	if n := srv.Engine().Count(); n != 2 {
		t.Errorf("%d sessions, want the 2 allowed", n)
	}
}

// A nil Logger is slog.Default(), for the engine too; DefaultOptions is
// the zero value's defaults written out, with the engine's preset.
func TestZeroOptionsDefaults(t *testing.T) {
	srv := NewServer(nil)
	if srv.log != slog.Default() || srv.Engine().Options().Logger != slog.Default() {
		t.Fatal("a nil Logger is not slog.Default()")
	}
	d := DefaultOptions()
	got := NewServer(&d).opts
	got.Logger, got.Engine.Logger = nil, nil
	got.Engine.Limits.ClientIP = nil
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("the server changed DefaultOptions:\n got %+v\nwant %+v", got, d)
	}
	if r := DefaultRecoveryOptions(); r != r.withDefaults() {
		t.Fatalf("DefaultRecoveryOptions %+v differs from the zero value's %+v", r, r.withDefaults())
	}
}
