//go:build unix

package socketio_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/socketio"
)

// Node serves the client bundle behind its cors middleware (the reference
// server has cors {origin: "*"}): a page of another origin gets
// Access-Control-Allow-Origin with the file, and a preflight for it is
// answered with 204. A Server with the same CORS does the same. (The
// allowed methods differ: Node's cors middleware lists every method,
// Switchboard the ones its transports use.)
func TestServeClientCORSLikeNode(t *testing.T) {
	node := nodetest.StartServer(t, "reference/conformance-server.mjs")
	srv := socketio.NewServer(&socketio.Options{Engine: engineio.Options{CORS: engineio.CORS{Origins: []string{"*"}}}})
	defer srv.Close(t.Context())
	hs := httptest.NewServer(srv)
	defer hs.Close()

	const origin = "https://page.example"
	for _, name := range []string{"socket.io.min.js", "socket.io.esm.min.js"} {
		nresp, _ := fetch(t, node+"/socket.io/"+name, "Origin", origin)
		gresp, _ := fetch(t, hs.URL+"/socket.io/"+name, "Origin", origin)
		n, g := nresp.Header.Get("Access-Control-Allow-Origin"), gresp.Header.Get("Access-Control-Allow-Origin")
		if n != "*" || g != n {
			t.Errorf("GET %s from %s: Access-Control-Allow-Origin %q, Node %q", name, origin, g, n)
		}

		preflight := func(base string) *http.Response {
			req, _ := http.NewRequest(http.MethodOptions, base+"/socket.io/"+name, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "x-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		nresp, gresp = preflight(node), preflight(hs.URL)
		if nresp.StatusCode != http.StatusNoContent || gresp.StatusCode != nresp.StatusCode {
			t.Errorf("preflight for %s: status %d, Node %d", name, gresp.StatusCode, nresp.StatusCode)
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers"} {
			if g, n := gresp.Header.Get(h), nresp.Header.Get(h); g != n || n == "" {
				t.Errorf("preflight for %s: %s %q, Node %q", name, h, g, n)
			}
		}
	}
}
