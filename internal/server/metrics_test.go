package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// By default the metrics are not on the clients' port: they have a
// listener of their own (metrics.listen, a loopback address).
func TestMetricsOwnListener(t *testing.T) {
	cfg := config.Default()
	if cfg.Metrics.Listen != config.DefaultMetricsListen {
		t.Fatalf("default metrics.listen %q", cfg.Metrics.Listen)
	}
	url := serve(t, cfg)
	if code, body := get(t, url+"/metrics"); code == http.StatusOK || strings.Contains(body, "switchboard_") {
		t.Fatalf("GET /metrics on the main listener: %d, metrics served to clients", code)
	}
}

func TestMetricsServer(t *testing.T) {
	cfg := config.Default()
	cfg.StaticDir = ""
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stopOps()
	ms := a.MetricsServer(nil)
	if ms == nil || ms.Addr != config.DefaultMetricsListen || ms.ReadHeaderTimeout == 0 || ms.ReadTimeout == 0 || ms.WriteTimeout == 0 {
		t.Fatalf("MetricsServer() = %+v", ms)
	}
	srv := httptest.NewServer(ms.Handler)
	defer srv.Close()
	if code, body := get(t, srv.URL+"/metrics"); code != http.StatusOK || !strings.Contains(body, "switchboard_sockets") {
		t.Fatalf("GET /metrics on the metrics listener: %d %.200s", code, body)
	}
	if code, _ := get(t, srv.URL+"/socket.io/?EIO=4&transport=polling"); code != http.StatusNotFound {
		t.Fatalf("the metrics listener serves clients: %d", code)
	}

	// listen: "" puts them back on the main listener.
	cfg = config.Default()
	cfg.Metrics.Listen = ""
	if code, body := get(t, serve(t, cfg)+"/metrics"); code != http.StatusOK || !strings.Contains(body, "switchboard_sockets") {
		t.Fatalf("metrics.listen \"\": GET /metrics %d", code)
	}
	a2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.stopOps()
	if a2.MetricsServer(nil) != nil {
		t.Fatal("a metrics server with metrics.listen \"\"")
	}
}
