package engineio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

func TestMatchOrigin(t *testing.T) {
	tests := []struct {
		pattern, origin string
		want            bool
	}{
		{"*", "https://anything.test", true},
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com", "HTTPS://APP.EXAMPLE.COM", true},
		{"https://app.example.com", "http://app.example.com", false},
		{"https://app.example.com", "https://app.example.com:8443", false},
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://.example.com", false},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a.example.com:8443", false},
		{"https://*.example.com", "https://evil-example.com", false},
		{"https://*.example.com", "https://a.example.com.evil.test", false},
		{"https://*.example.com", "https://x@a.example.com", false},
		{"https://*.example.com:8443", "https://a.example.com:8443", true},
		{"https://*.example.com:8443", "https://a.example.com", false},
	}
	for _, tt := range tests {
		if got := matchOrigin(tt.pattern, tt.origin); got != tt.want {
			t.Errorf("matchOrigin(%q, %q) = %v, want %v", tt.pattern, tt.origin, got, tt.want)
		}
	}
}

func corsRequest(t *testing.T, method, url, origin string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Origin", origin)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t, &Options{CORS: CORS{
		Origins:     []string{"https://app.example.com", "https://*.example.org"},
		AllowOrigin: func(o string) bool { return o == "https://hooked.test" },
		Credentials: true,
		Methods:     []string{"GET", "POST"},
		Headers:     []string{"X-Token", "Content-Type"},
	}}, nil)
	handshake := ts.url + "?EIO=4&transport=polling"
	for _, origin := range []string{"https://app.example.com", "https://eu.api.example.org", "https://hooked.test"} {
		res := corsRequest(t, "GET", handshake, origin, nil)
		ts.session()
		if res.Header.Get("Access-Control-Allow-Origin") != origin || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s: CORS headers %v", origin, res.Header)
		}
	}
	res := corsRequest(t, "GET", handshake, "https://evil.test", nil)
	ts.session()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("a foreign origin got Access-Control-Allow-Origin %q", got)
	}
	res = corsRequest(t, "OPTIONS", handshake, "https://a.example.org", map[string]string{
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-token, x-other",
	})
	if got := res.Header.Get("Access-Control-Allow-Methods"); got != "GET,POST" {
		t.Errorf("preflight methods %q", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Headers"); got != "X-Token,Content-Type" {
		t.Errorf("preflight headers %q", got)
	}

	// WebSockets: an Origin the list does not allow is refused before the
	// upgrade (cross-site WebSocket hijacking); allowed ones connect.
	dial := func(origin string) error {
		conn, err := wsclient.DialContext(context.Background(), ts.url+"?EIO=4&transport=websocket", &wsclient.Options{Header: http.Header{"Origin": {origin}}})
		if err == nil {
			conn.Close()
		}
		return err
	}
	var status ws.StatusError
	if err := dial("https://evil.test"); !errors.As(err, &status) || int(status) != http.StatusForbidden {
		t.Errorf("WebSocket from a foreign origin: %v, want 403", err)
	}
	if err := dial("https://example.org"); !errors.As(err, &status) || int(status) != http.StatusForbidden {
		t.Errorf("WebSocket from the wildcard's parent domain: %v, want 403", err)
	}
	for _, origin := range []string{"https://x.example.org", "https://hooked.test"} {
		if err := dial(origin); err != nil {
			t.Errorf("WebSocket from %s: %v", origin, err)
		} else {
			ts.session()
		}
	}
}

// CORS.Handler applies the endpoint's policy to another handler: headers
// on requests, preflights answered without reaching it.
func TestCORSHandler(t *testing.T) {
	c := &CORS{Origins: []string{"https://app.example"}, Credentials: true}
	called := 0
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called++ }))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/socket.io/socket.io.min.js", nil)
	req.Header.Set("Origin", "https://app.example")
	h.ServeHTTP(rec, req)
	if called != 1 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		rec.Header().Get("Access-Control-Allow-Credentials") != "true" || rec.Header().Get("Vary") != "Origin" {
		t.Fatalf("GET: called %d, headers %v", called, rec.Header())
	}

	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodOptions, "/socket.io/socket.io.min.js", nil)
	req.Header.Set("Origin", "https://app.example")
	h.ServeHTTP(rec, req)
	if called != 1 || rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: called %d, status %d, headers %v", called, rec.Code, rec.Header())
	}

	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Origin", "https://evil.example")
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin allowed: %v", rec.Header())
	}
}
