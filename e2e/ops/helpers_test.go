package ops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// instance is a Switchboard server on a loopback port, shut down (and checked
// for a clean shutdown) when the test ends.
type instance struct {
	t   *testing.T
	app *server.Server
	url string
}

func start(t *testing.T, cfg *config.Config) *instance {
	t.Helper()
	return startWith(t, cfg, nil)
}

func startWith(t *testing.T, cfg *config.Config, build func(*config.Config) (*server.Server, error)) *instance {
	t.Helper()
	if build == nil {
		build = func(c *config.Config) (*server.Server, error) { return server.New(c, nil) }
	}
	a, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := serve.Start(t, a.Handler(), a.Shutdown)
	return &instance{t: t, app: a, url: hs.URL}
}

// conformance is the conformance profile with the default heartbeat and
// connect timeout: its 1s to join a namespace is too short for a browser
// on a loaded machine (the Admin UI, which does not retry its first
// connection, would be left disconnected). The metrics are served on the
// main listener (metrics.listen ""), where these tests scrape them.
func conformance(t *testing.T) *config.Config {
	cfg := testserver.Load(t, "conformance")
	testserver.RelaxedHeartbeat(cfg)
	cfg.SocketIO.ConnectTimeout = config.Default().SocketIO.ConnectTimeout
	cfg.Metrics.Listen = ""
	return cfg
}

// metrics is one scrape, parsed.
type metrics map[string]*dto.MetricFamily

func (s *instance) scrape(header ...string) metrics {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		s.t.Fatalf("GET /metrics: %s %s", res.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		s.t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// get returns the value of the sample of family name whose labels are
// exactly labels ("k=v" pairs); for a histogram, its count. A missing
// sample is -1.
func (m metrics) get(name string, labels ...string) float64 {
	f := m[name]
	if f == nil {
		return -1
	}
	want := strings.Join(labels, ",")
	for _, mt := range f.Metric {
		var have []string
		for _, l := range mt.Label {
			have = append(have, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(have)
		w := append([]string(nil), labels...)
		sort.Strings(w)
		if strings.Join(have, ",") != strings.Join(w, ",") {
			continue
		}
		switch {
		case mt.Counter != nil:
			return mt.Counter.GetValue()
		case mt.Gauge != nil:
			return mt.Gauge.GetValue()
		case mt.Histogram != nil:
			return float64(mt.Histogram.GetSampleCount())
		}
	}
	_ = want
	return -1
}

// expect is one metric's expected value.
type expect struct {
	name   string
	labels []string
	want   float64
}

func (e expect) String() string { return fmt.Sprintf("%s{%s}", e.name, strings.Join(e.labels, ",")) }

// waitMetrics scrapes until every expectation holds (counters such as
// disconnects are updated by the server's goroutines a moment after the
// client sees its side), or fails after a few seconds listing the
// differences.
func (s *instance) waitMetrics(exps ...expect) metrics {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := s.scrape()
		var bad []string
		for _, e := range exps {
			if got := m.get(e.name, e.labels...); got != e.want {
				bad = append(bad, fmt.Sprintf("%s = %v, want %v", e, got, e.want))
			}
		}
		if len(bad) == 0 {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("metrics:\n  %s", strings.Join(bad, "\n  "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// runNode runs an ES module script with node in e2e/js (where
// socket.io-client is installed), URL set to url. It returns the script's
// stdout lines and its stdin; closing stdin is the script's cue to finish.
// The test is skipped (failed under CI=true) without node or the npm
// packages; the process is waited for when the test ends.
func runNode(t *testing.T, url, script string) (*bufio.Scanner, io.WriteCloser) {
	t.Helper()
	jsDir, err := filepath.Abs(filepath.Join("..", "js"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not found in PATH")
	_, err = os.Stat(filepath.Join(jsDir, "node_modules", "socket.io-client", "package.json"))
	testserver.Require(t, err == nil, "%s/node_modules/socket.io-client is missing (run `npm ci` in e2e/js)", jsDir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-e", script)
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "URL="+url)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
		cancel()
	})
	return bufio.NewScanner(stdout), stdin
}
