package engineio

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

func TestStickyCookie(t *testing.T) {
	ts := newTestServer(t, &Options{Cookie: &Cookie{HTTPOnly: true, MaxAge: time.Hour}}, nil)

	res, err := http.Get(ts.url + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ts.session()
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("polling handshake cookies: %v", res.Header["Set-Cookie"])
	}
	c := cookies[0]
	if c.Name != "io" || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 3600 || len(c.Value) != 20 {
		t.Errorf("cookie = %+v", c)
	}
	// Later requests of the session do not set it again.
	res, err = http.Post(ts.url+"?EIO=4&transport=polling&sid="+c.Value, "text/plain", strings.NewReader("6"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST to the session: %d", res.StatusCode)
	}
	if got := res.Header.Get("Set-Cookie"); got != "" {
		t.Errorf("a later request set a cookie: %q", got)
	}

	// A WebSocket handshake sets it on the 101 response; its value is the
	// session id of the open packet.
	conn := wsclient.Dial(t, ts.url+"?EIO=4&transport=websocket", nil)
	setCookie := conn.Response.Header.Get("Set-Cookie")
	ts.session()
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(readText(t, conn)[1:]), &open); err != nil {
		t.Fatal(err)
	}
	if want := "io=" + open.SID + "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"; setCookie != want {
		t.Errorf("WebSocket Set-Cookie = %q, want %q", setCookie, want)
	}
}
