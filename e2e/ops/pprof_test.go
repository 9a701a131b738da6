package ops

import (
	"strings"
	"testing"
)

// TestPprofFlag: /debug/pprof/ is absent by default and served with
// pprof: true.
func TestPprofFlag(t *testing.T) {
	cfg := conformance(t)
	if cfg.Pprof {
		t.Fatal("pprof on in the conformance profile")
	}
	s := start(t, cfg)
	if code, _ := httpGet(t, s.url+"/debug/pprof/"); code != 404 {
		t.Errorf("pprof off: /debug/pprof/ = %d", code)
	}
	cfg = conformance(t)
	cfg.Pprof = true
	s = start(t, cfg)
	if code, body := httpGet(t, s.url+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof on: /debug/pprof/ = %d %.100s", code, body)
	}
	if code, body := httpGet(t, s.url+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("pprof on: goroutine profile = %d %.100s", code, body)
	}
}
