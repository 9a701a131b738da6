package engineio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

type fakeForwarder struct {
	forwarded atomic.Int32
	serve     bool
}

func (f *fakeForwarder) NewID() string { return "node1-" + newID() }

func (f *fakeForwarder) Forward(w http.ResponseWriter, r *http.Request, sid string) bool {
	f.forwarded.Add(1)
	if !f.serve {
		return false
	}
	io.WriteString(w, "from owner "+sid)
	return true
}

// Session ids come from the Forwarder; a request for a session not held
// here goes to it, unless it was itself forwarded; when the Forwarder
// cannot serve it, the client gets the usual "Session ID unknown".
func TestForwarder(t *testing.T) {
	f := &fakeForwarder{serve: true}
	srv := NewServer(func(s *Session) SessionHandler { return &recorder{sess: s, closed: make(chan struct{})} }, &Options{Forwarder: f})
	defer srv.Close(context.Background())
	do := func(r *http.Request) (int, string) {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := do(httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil))
	if code != 200 || !strings.Contains(body, `"sid":"node1-`) {
		t.Fatalf("handshake: %d %q, want a sid from the Forwarder", code, body)
	}
	if f.forwarded.Load() != 0 {
		t.Fatal("a handshake was forwarded")
	}
	code, body = do(httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling&sid=node2-x", nil))
	if code != 200 || body != "from owner node2-x" || f.forwarded.Load() != 1 {
		t.Fatalf("unknown sid: %d %q (forwarded %d), want it served by the Forwarder", code, body, f.forwarded.Load())
	}
	r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling&sid=node2-x", nil)
	code, body = do(r.WithContext(WithForwarded(r.Context())))
	if code != 400 || !strings.Contains(body, "Session ID unknown") || f.forwarded.Load() != 1 {
		t.Fatalf("forwarded request: %d %q (forwarded %d), want 400 and no second forwarding", code, body, f.forwarded.Load())
	}
	f.serve = false
	code, body = do(httptest.NewRequest("POST", "/engine.io/?EIO=4&transport=polling&sid=node2-x", strings.NewReader("4hi")))
	if code != 400 || !strings.Contains(body, "Session ID unknown") || f.forwarded.Load() != 2 {
		t.Fatalf("owner unknown: %d %q, want 400 Session ID unknown", code, body)
	}
}
