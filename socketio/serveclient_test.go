package socketio_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/clientbundle"
)

// fetch GETs url with the request headers hdr (name, value pairs) and
// returns the response with its body read and, if gzipped, decompressed.
func fetch(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestServeClient: a Server mounted in net/http serves every client file
// beside its Engine.IO endpoint, unless told not to.
func TestServeClient(t *testing.T) {
	srv := socketio.NewServer(nil)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Close(t.Context())

	for _, name := range clientbundle.Files() {
		resp, body := fetch(t, hs.URL+"/socket.io/"+name+"?v=1", "Accept-Encoding", "gzip")
		want, _ := clientbundle.Content(name)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			t.Fatalf("%s: status %d, %d bytes (want %d)", name, resp.StatusCode, len(body), len(want))
		}
		etag := resp.Header.Get("ETag")
		if r, _ := fetch(t, hs.URL+"/socket.io/"+name, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
			t.Fatalf("%s: revalidation with %s: status %d", name, etag, r.StatusCode)
		}
	}
	// The Engine.IO endpoint is unchanged (a session would outlive the
	// test: ask for one that does not exist).
	if resp, body := fetch(t, hs.URL+"/socket.io/?EIO=4&transport=polling&sid=x"); resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("Session ID unknown")) {
		t.Fatalf("engine: status %d, %q", resp.StatusCode, body)
	}
	// A name that is not a client file goes to the engine, which refuses it.
	if resp, _ := fetch(t, hs.URL+"/socket.io/app.js"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("app.js: status %d", resp.StatusCode)
	}

	off := socketio.NewServer(&socketio.Options{DisableServeClient: true})
	defer off.Close(t.Context())
	hs2 := httptest.NewServer(off)
	defer hs2.Close()
	if resp, _ := fetch(t, hs2.URL+"/socket.io/socket.io.js"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("DisableServeClient: status %d", resp.StatusCode)
	}
}

// TestServeClientUnderStripPrefix: the server finds the file by name,
// whatever path it is mounted at.
func TestServeClientUnderStripPrefix(t *testing.T) {
	srv := socketio.NewServer(nil)
	defer srv.Close(t.Context())
	hs := httptest.NewServer(http.StripPrefix("/rt", srv))
	defer hs.Close()
	resp, body := fetch(t, hs.URL+"/rt/socket.io.min.js")
	if want, _ := clientbundle.Content("socket.io.min.js"); resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/javascript") {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
}
