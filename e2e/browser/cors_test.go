package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Cross-origin pages in headless Chromium (the 4.x bundle, served by
// Switchboard): with cors.origins ["http://*.localhost:<port A>"], a page on
// http://app.localhost:<port A> connects over polling (with credentials)
// and over WebSocket; a page on http://app.localhost:<port B> is stopped by
// the browser on polling (no CORS headers for it) and by the server on
// WebSocket (its Origin is refused: no cross-site WebSocket hijacking).
// Chromium resolves *.localhost to the loopback interface by itself.

const corsPage = `<!doctype html>
<meta charset="utf-8">
<title>cross-origin</title>
<script src="%[1]s/socket.io/socket.io.js"></script>
<script>
function attempt(opts) {
  return new Promise((resolve) => {
    const s = io(%[2]q, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
    s.on("connect", () => {
      s.emit("message-with-ack", "hi", (echo) => { resolve("connected, ack " + echo); s.close(); });
    });
    s.on("connect_error", (e) => { resolve("connect_error: " + e.message); s.close(); });
  });
}
(async () => {
  const polling = await attempt({ transports: ["polling"], withCredentials: true });
  const websocket = await attempt({ transports: ["websocket"] });
  window.__result = { polling, websocket, origin: location.origin };
})();
</script>`

func TestCrossOriginPages(t *testing.T) {
	execPath := chromium.Path(t)

	page := func() (*httptest.Server, string) {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			server := r.URL.Query().Get("server")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, corsPage, server, server)
		}))
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		return srv, "http://app.localhost:" + u.Port()
	}
	_, allowedOrigin := page()
	_, otherOrigin := page()
	allowedURL, _ := url.Parse(allowedOrigin)

	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	cfg.CORS.Origins = []string{"http://*.localhost:" + allowedURL.Port()}
	cfg.CORS.Credentials = true
	server := testserver.StartConfig(t, cfg)

	browserCtx := chromium.Start(t, execPath)
	for _, tc := range []struct {
		origin             string
		polling, websocket string
	}{
		{allowedOrigin, "connected, ack hi", "connected, ack hi"},
		{otherOrigin, "connect_error: xhr poll error", "connect_error: websocket error"},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			u := newUser(t, browserCtx, "page")
			dumpOnFailure(t, u)
			u.do("open "+tc.origin, chromedp.Navigate(tc.origin+"/?server="+url.QueryEscape(server)))
			u.waitJS("both attempts to finish", `() => !!window.__result`)
			raw := u.eval(`JSON.stringify(window.__result)`)
			var got struct{ Polling, Websocket, Origin string }
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("page result %q: %v", raw, err)
			}
			if got.Origin != tc.origin {
				t.Fatalf("page origin %q, want %q (does Chromium resolve *.localhost?)", got.Origin, tc.origin)
			}
			if got.Polling != tc.polling || got.Websocket != tc.websocket {
				t.Errorf("from %s: polling %q, websocket %q; want %q, %q", tc.origin, got.Polling, got.Websocket, tc.polling, tc.websocket)
			}
		})
	}
}
