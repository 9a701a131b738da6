//go:build unix

package socketio_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/clientbundle"
)

// TestServeClientLikeNode asks npm socket.io (its serveClient, on by
// default, in e2e/js/reference/conformance-server.mjs) and a Server for
// each client file, and holds Switchboard to what Node answers: the same
// bytes, status, Cache-Control and Content-Type; an ETag that revalidates
// with 304, in its strong and weak forms; a 200 for a tag that does not
// match. The tags themselves differ on purpose: Node's is the client's
// version ("4.8.4") for every file, Switchboard's a hash of each file.
// Switchboard also sends Vary: Accept-Encoding and Content-Length, which
// Node leaves out.
func TestServeClientLikeNode(t *testing.T) {
	node := nodetest.StartServer(t, "reference/conformance-server.mjs")
	srv := socketio.NewServer(nil)
	defer srv.Close(t.Context())
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	for _, name := range append(clientbundle.Files(), "socket.io.cjs.js", "socket.io.min.js.gz") {
		for _, enc := range []string{"", "gzip"} {
			nresp, nbody := fetch(t, node+"/socket.io/"+name, "Accept-Encoding", enc)
			gresp, gbody := fetch(t, hs.URL+"/socket.io/"+name, "Accept-Encoding", enc)
			if nresp.StatusCode != http.StatusOK {
				// Not a client file: Node hands it to the engine, and so
				// does Switchboard; both refuse it.
				if gresp.StatusCode != nresp.StatusCode {
					t.Errorf("%s: status %d, Node %d", name, gresp.StatusCode, nresp.StatusCode)
				}
				continue
			}
			if gresp.StatusCode != http.StatusOK || !bytes.Equal(gbody, nbody) {
				t.Fatalf("%s (%q): status %d, %d bytes; Node: %d bytes", name, enc, gresp.StatusCode, len(gbody), len(nbody))
			}
			for _, h := range []string{"Cache-Control", "Content-Type", "Content-Encoding"} {
				if g, n := gresp.Header.Get(h), nresp.Header.Get(h); g != n {
					t.Errorf("%s (%q): %s %q, Node %q", name, enc, h, g, n)
				}
			}
			for _, sv := range []struct{ name, url, tag string }{
				{"Node", node, nresp.Header.Get("ETag")},
				{"Switchboard", hs.URL, gresp.Header.Get("ETag")},
			} {
				// A gzipped response may carry the weak tag already.
				srvName, url, tag := sv.name, sv.url, strings.TrimPrefix(sv.tag, "W/")
				if tag == "" {
					t.Fatalf("%s: %s sent no ETag", name, srvName)
				}
				for _, inm := range []string{tag, "W/" + tag} {
					if r, _ := fetch(t, url+"/socket.io/"+name, "If-None-Match", inm); r.StatusCode != http.StatusNotModified {
						t.Errorf("%s: %s answers If-None-Match %s with %d", name, srvName, inm, r.StatusCode)
					}
				}
				if r, _ := fetch(t, url+"/socket.io/"+name, "If-None-Match", `"other"`); r.StatusCode != http.StatusOK {
					t.Errorf("%s: %s answers a stale tag with %d", name, srvName, r.StatusCode)
				}
			}
		}
	}
}
