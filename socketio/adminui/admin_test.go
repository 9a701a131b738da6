package adminui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/crypto/bcrypt"

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
	srv := httptest.NewServer(sio)
	defer func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = sio.Close(ctx)
		srv.Close()
	}()
	d := ws.Dialer{Timeout: 5 * time.Second, Header: ws.HandshakeHeaderHTTP(http.Header{
		"Cookie": {"session=cookie-secret"}, "Authorization": {"Bearer header-secret"}, "X-App": {"visible"},
	})}
	conn, br, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket&token=query-secret")
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
	if err := wsutil.WriteClientText(conn, []byte(`40{"token":"auth-secret"}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(b), "40{") {
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
