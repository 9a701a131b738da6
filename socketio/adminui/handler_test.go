package adminui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestHandlerServesEverythingLocally: the page links to nothing outside
// the server, and each asset it links to is served.
func TestHandlerServesEverythingLocally(t *testing.T) {
	srv := httptest.NewServer(Handler("/ops/admin/", "/sio/", "/adm"))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	code, _, page := get("/ops/admin/")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Fatalf("the page links to another site:\n%s", page)
	}
	for _, want := range []string{`s.setItem("path","/sio")`, `s.setItem("namespace","/adm")`, `s.setItem("server_url",location.origin)`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	links := regexp.MustCompile(`(?:href|src)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 5 {
		t.Fatalf("links %v", links)
	}
	for _, l := range links {
		if code, _, _ := get("/ops/admin/" + l[1]); code != 200 {
			t.Errorf("%s: %d", l[1], code)
		}
	}
	_, _, css := get("/ops/admin/mdi/css/materialdesignicons.min.css")
	font := regexp.MustCompile(`url\("\.\./fonts/([^"?]+)`).FindAllStringSubmatch(css, -1)
	if len(font) != 1 {
		t.Fatalf("font urls %v", font)
	}
	if code, typ, _ := get("/ops/admin/mdi/fonts/" + font[0][1]); code != 200 || typ != "font/woff2" {
		t.Errorf("font: %d %s", code, typ)
	}
	for _, lic := range []string{"LICENSE", "mdi/LICENSE"} {
		if code, _, body := get("/ops/admin/" + lic); code != 200 || !strings.Contains(body, "MIT") {
			t.Errorf("%s: %d", lic, code)
		}
	}
	if code, _, _ := get("/ops/admin/nope.js"); code != 404 {
		t.Errorf("missing file: %d", code)
	}
	res, err := http.Post(srv.URL+"/ops/admin/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Errorf("POST: %d", res.StatusCode)
	}
}

// TestHandlerAutoConnectOnlyWithSession: the page loads the patched app,
// whose start-up connects only with the session id of an earlier login
// (if the bundle changes and the condition is not found, this fails
// rather than serving the unpatched app under the new name).
func TestHandlerAutoConnectOnlyWithSession(t *testing.T) {
	srv := httptest.NewServer(Handler("/admin/", "/socket.io/", "/admin"))
	defer srv.Close()
	for path, want := range map[string]string{
		"/admin/":                    `src="` + patchedAppScript + `"`,
		"/admin/" + patchedAppScript: autoConnect.to,
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, lacks %s", path, res.StatusCode, want)
		}
		if strings.Contains(string(b), autoConnect.from) {
			t.Errorf("%s still connects with a server address alone", path)
		}
	}
}
