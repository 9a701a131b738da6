package adminui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
	"github.com/switchboard/switchboard/socketio"
)

// The socket list shows no credentials: the Cookie and Authorization
// headers and the token query parameter are redacted.
func TestSerializeRedactsCredentials(t *testing.T) {
	sio := socketio.NewServer(nil)
	sio.Of("/")
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	a, err := Instrument(sio, Options{Username: "admin", PasswordHash: string(hash), RedactQuery: []string{"token"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve.Start(t, sio, func(ctx context.Context) error {
		a.Close()
		return sio.Close(ctx)
	})
	c := wsclient.Dial(t, srv.URL+"/socket.io/?EIO=4&transport=websocket&token=query-secret", &wsclient.Options{Header: http.Header{
		"Cookie": {"session=cookie-secret"}, "Authorization": {"Bearer header-secret"}, "X-App": {"visible"},
	}})
	if _, _, err := c.Read(5 * time.Second); err != nil { // open
		t.Fatal(err)
	}
	if err := c.WriteText(`40{"token":"auth-secret"}`); err != nil {
		t.Fatal(err)
	}
	if b, _, err := c.Read(5 * time.Second); err != nil || !strings.HasPrefix(string(b), "40{") {
		t.Fatalf("connect: %q %v", b, err)
	}
	all := a.allSockets()
	if len(all) != 1 {
		t.Fatalf("%d sockets", len(all))
	}
	hs := all[0]["handshake"].(map[string]any)
	headers, query := hs["headers"].(map[string]string), hs["query"].(map[string]string)
	if headers["cookie"] != redacted || headers["authorization"] != redacted || headers["x-app"] != "visible" {
		t.Errorf("headers %v", headers)
	}
	if query["token"] != redacted || query["EIO"] != "4" || strings.Contains(hs["url"].(string), "query-secret") {
		t.Errorf("query %v, url %v", query, hs["url"])
	}
	if _, ok := hs["auth"]; ok {
		t.Errorf("handshake auth shown: %v", hs["auth"])
	}
}
