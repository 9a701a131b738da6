package clientbundle

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestVersionMatchesBundle(t *testing.T) {
	data, ok := Content("socket.io.js")
	if !ok {
		t.Fatal("socket.io.js not embedded")
	}
	if want := "Socket.IO v" + Version + "\n"; !bytes.Contains(data[:200], []byte(want)) {
		t.Fatalf("socket.io.js banner does not mention %q: %q", want, data[:80])
	}
	readme, ok := Content("README.md")
	if !ok || !bytes.Contains(readme, []byte("socket.io-client@"+Version)) {
		t.Fatal("dist/README.md does not name socket.io-client@" + Version)
	}
	if lic, ok := Content("LICENSE"); !ok || !bytes.Contains(lic, []byte("MIT License")) {
		t.Fatal("LICENSE missing")
	}
}

func TestEmbeddedMatchesDisk(t *testing.T) {
	for _, name := range Files() {
		disk, err := os.ReadFile("dist/" + name)
		if err != nil {
			t.Fatal(err)
		}
		emb, _ := Content(name)
		if !bytes.Equal(disk, emb) {
			t.Errorf("%s: embedded content differs from dist/", name)
		}
	}
}

func TestIsClientFile(t *testing.T) {
	for _, name := range []string{
		"socket.io.js", "socket.io.js.map",
		"socket.io.min.js", "socket.io.min.js.map",
		"socket.io.esm.min.js", "socket.io.esm.min.js.map",
		"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
	} {
		if !IsClientFile(name) {
			t.Errorf("IsClientFile(%q) = false", name)
		}
	}
	for _, name := range []string{
		"", "LICENSE", "README.md", "socket.io", "socket.io.JS", "/socket.io.js",
		"dist/socket.io.js", "../socket.io.js", "socket.io.msgpack.js", "socket.io.js?x=1",
	} {
		if IsClientFile(name) {
			t.Errorf("IsClientFile(%q) = true", name)
		}
	}
}

func TestServeFiles(t *testing.T) {
	h := Handler("/socket.io/")
	for _, name := range Files() {
		t.Run(name, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, "/socket.io/"+name, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			want, _ := Content(name)
			if !bytes.Equal(rec.Body.Bytes(), want) {
				t.Fatal("body differs from embedded file")
			}
			wantCT := "application/javascript; charset=utf-8"
			if strings.HasSuffix(name, ".map") {
				wantCT = "application/json; charset=utf-8"
			}
			hdr := rec.Header()
			if got := hdr.Get("Content-Type"); got != wantCT {
				t.Errorf("Content-Type %q, want %q", got, wantCT)
			}
			if got := hdr.Get("Cache-Control"); got != "public, max-age=0" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := hdr.Get("ETag"); got != ETag(name) || !strings.HasPrefix(got, `"`) || !strings.HasSuffix(got, `"`) || len(got) < 10 {
				t.Errorf("ETag %q (want quoted content hash %q)", got, ETag(name))
			}
			if got := hdr.Get("Content-Length"); got == "" {
				t.Error("no Content-Length")
			}
			if hdr.Get("Content-Encoding") != "" {
				t.Error("unexpected Content-Encoding without Accept-Encoding")
			}
		})
	}
}

func TestETagsDifferPerFile(t *testing.T) {
	seen := map[string]string{}
	for _, name := range Files() {
		e := ETag(name)
		if other, dup := seen[e]; dup {
			t.Errorf("%s and %s share ETag %s", name, other, e)
		}
		seen[e] = name
	}
	if ETag("nope.js") != "" {
		t.Error("ETag of unknown file not empty")
	}
}

func TestQueryStringIgnored(t *testing.T) {
	rec := get(t, Handler("/socket.io/"), http.MethodGet, "/socket.io/socket.io.min.js?v=4.8.4&t=1", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestPrefixWithoutTrailingSlash(t *testing.T) {
	h := Handler("/custom")
	if rec := get(t, h, http.MethodGet, "/custom/socket.io.js", nil); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if rec := get(t, h, http.MethodGet, "/customsocket.io.js", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
}

func TestNotModified(t *testing.T) {
	h := Handler("/socket.io/")
	for _, name := range []string{"socket.io.js", "socket.io.min.js.map"} {
		etag := get(t, h, http.MethodGet, "/socket.io/"+name, nil).Header().Get("ETag")
		for _, inm := range []string{
			etag,
			"W/" + etag,
			`"other", ` + etag,
			`W/"x",` + etag + `, "y"`,
			"*",
		} {
			rec := get(t, h, http.MethodGet, "/socket.io/"+name, map[string]string{"If-None-Match": inm})
			if rec.Code != http.StatusNotModified {
				t.Errorf("%s If-None-Match %q: status %d, want 304", name, inm, rec.Code)
				continue
			}
			if rec.Body.Len() != 0 {
				t.Errorf("304 with body")
			}
			if rec.Header().Get("ETag") != etag {
				t.Errorf("304 ETag %q, want %q", rec.Header().Get("ETag"), etag)
			}
			if rec.Header().Get("Cache-Control") != "public, max-age=0" {
				t.Errorf("304 Cache-Control %q", rec.Header().Get("Cache-Control"))
			}
		}
		for _, inm := range []string{`"stale"`, `"` + Version + `"`, "garbage", ETag("socket.io.esm.min.js")} {
			rec := get(t, h, http.MethodGet, "/socket.io/"+name, map[string]string{"If-None-Match": inm})
			if rec.Code != http.StatusOK {
				t.Errorf("%s If-None-Match %q: status %d, want 200", name, inm, rec.Code)
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	h := Handler("/socket.io/")
	for _, target := range []string{
		"/socket.io/",
		"/socket.io/LICENSE",
		"/socket.io/README.md",
		"/socket.io/socket.io.msgpack.js",
		"/socket.io/dist/socket.io.js",
		"/socket.io/../socket.io.js",
		"/socket.io/socket.io.js/",
		"/socket.io/foo.js",
		"/socket.io.js",
		"/other/socket.io.js",
	} {
		if rec := get(t, h, http.MethodGet, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, rec.Code)
		}
	}
}

func TestHeadAndMethods(t *testing.T) {
	h := Handler("/socket.io/")
	rec := get(t, h, http.MethodHead, "/socket.io/socket.io.js", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d, body %d bytes", rec.Code, rec.Body.Len())
	}
	data, _ := Content("socket.io.js")
	if rec.Header().Get("Content-Length") != strconv.Itoa(len(data)) || rec.Header().Get("Content-Type") != contentTypeJS {
		t.Errorf("HEAD headers %v", rec.Header())
	}
	rec = get(t, h, http.MethodPost, "/socket.io/socket.io.js", nil)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestGzip(t *testing.T) {
	h := Handler("/socket.io/")
	rec := get(t, h, http.MethodGet, "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8, deflate"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d Content-Encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("missing Vary: Accept-Encoding")
	}
	gzTag := rec.Header().Get("ETag")
	if gzTag != "W/"+ETag("socket.io.js") {
		t.Errorf("gzip ETag %q", gzTag)
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Content("socket.io.js")
	if !bytes.Equal(got, want) {
		t.Fatal("gunzipped body differs")
	}
	// The weak tag of the gzip representation revalidates too.
	rec = get(t, h, http.MethodGet, "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gzTag})
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidate gzip: status %d", rec.Code)
	}
	for _, ae := range []string{"", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"} {
		rec := get(t, h, http.MethodGet, "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": ae})
		if ce := rec.Header().Get("Content-Encoding"); ce != "" {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q", ae, ce)
		}
	}
	for _, ae := range []string{"*", "GZIP", "x-gzip", "deflate, gzip;q=1.0"} {
		rec := get(t, h, http.MethodGet, "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": ae})
		if ce := rec.Header().Get("Content-Encoding"); ce != "gzip" {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q", ae, ce)
		}
	}
}

// TestRealServer exercises the handler through net/http (HEAD/Content-Length
// handling, transparent gzip of the Go client).
func TestRealServer(t *testing.T) {
	srv := httptest.NewServer(Handler("/socket.io/"))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/socket.io/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := Content("socket.io.min.js")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("status %d, %d bytes (want %d)", resp.StatusCode, len(body), len(want))
	}
	if !resp.Uncompressed {
		t.Error("expected transparent gzip")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/socket.io/socket.io.min.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("revalidate: status %d", resp2.StatusCode)
	}
}

// TestMsgpackBundle: the msgpack build is served beside the default one,
// is the same client version, and points at its own source map.
func TestMsgpackBundle(t *testing.T) {
	h := Handler("/socket.io/")
	rec := get(t, h, http.MethodGet, "/socket.io/socket.io.msgpack.min.js", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != contentTypeJS {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.Bytes()
	if !bytes.Contains(body[:200], []byte("Socket.IO v"+Version+"\n")) {
		t.Fatalf("banner: %q", body[:80])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(body), []byte("//# sourceMappingURL=socket.io.msgpack.min.js.map")) {
		t.Fatal("msgpack bundle does not point at its source map")
	}
	plain, _ := Content("socket.io.min.js")
	if bytes.Equal(body, plain) {
		t.Fatal("msgpack bundle is the default bundle")
	}
	m := get(t, h, http.MethodGet, "/socket.io/socket.io.msgpack.min.js.map", nil)
	if m.Code != http.StatusOK || !bytes.Contains(m.Body.Bytes(), []byte("notepack")) {
		t.Fatalf("source map: status %d", m.Code)
	}
}
