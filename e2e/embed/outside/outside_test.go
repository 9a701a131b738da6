package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	adminPassword = "correct horse"
	metricsToken  = "metrics-token-0123"
)

// require skips the test when a prerequisite is missing, or fails it under
// CI=true, where everything must run.
func require(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("CI=true and a prerequisite is missing: "+format, args...)
	}
	t.Skipf(format, args...)
}

// jsDir is the repository's e2e/js, where `npm ci` installed the pinned
// socket.io-client.
func jsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "js"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = exec.LookPath("node")
	require(t, err == nil, "node not found in PATH")
	_, err = os.Stat(filepath.Join(dir, "node_modules", "socket.io-client", "package.json"))
	require(t, err == nil, "%s/node_modules/socket.io-client is missing (run `npm ci` in e2e/js)", dir)
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis runs a throwaway redis-server and returns its address.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	require(t, err == nil, "redis-server not found in PATH")
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type node struct {
	app *App
	hs  *http.Server
	url string
}

// startNode runs a node of the application on a port of its own.
func startNode(t *testing.T, router, redisAddr string) *node {
	t.Helper()
	app, err := New(Config{Router: router, RedisAddr: redisAddr, AdminPassword: adminPassword,
		MetricsToken: metricsToken, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{app: app, hs: &http.Server{Handler: app.Handler()}, url: "http://" + ln.Addr().String()}
	go func() { _ = n.hs.Serve(ln) }()
	t.Cleanup(func() { n.shutdown(t) })
	return n
}

func (n *node) shutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.app.Shutdown(ctx, n.hs); err != nil {
		t.Errorf("shutdown %s: %v", n.url, err)
	}
}

// get returns the status, a header and the body of a GET.
func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
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
	return res.StatusCode, res.Header, string(b)
}

// waitReady waits until the node's readiness says Redis is reached, so
// that the cluster's subscription is in place before clients come.
func waitReady(t *testing.T, n *node) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, _, body := get(t, n.url+"/readyz")
		if code == 200 && strings.Contains(body, `"redis":"ok"`) && strings.Contains(body, `"socketio":"ok"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never ready: %d %s", n.url, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runNode runs a Node.js script (node --test when test is set) with env,
// logs its output and returns it; it fails t if the script fails.
func runNode(t *testing.T, dir string, test bool, script string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{script}
	if test {
		args = []string{"--test", "--test-reporter=spec", script}
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(append(os.Environ(), "JS_DIR="+dir, "NO_COLOR=1", "FORCE_COLOR=0"), env...)
	// node --test runs files in child processes: kill them all on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", script, out)
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	return string(out)
}

// TestEmbedded mounts the application in net/http and in Gin, two nodes
// each sharing one Redis, and drives it with the npm client over every
// transport; then checks the operations endpoints and a graceful shutdown.
func TestEmbedded(t *testing.T) {
	dir := jsDir(t)
	redisAddr := startRedis(t)
	for _, router := range []string{"mux", "gin"} {
		t.Run(router, func(t *testing.T) {
			a, b := startNode(t, router, redisAddr), startNode(t, router, redisAddr)
			waitReady(t, a)
			waitReady(t, b)

			// The application's own route, beside Socket.IO.
			if code, _, body := get(t, a.url+"/api/hello?name=go"); code != 200 || strings.TrimSpace(body) != `{"hello":"go"}` {
				t.Errorf("/api/hello: %d %q", code, body)
			}
			// socket.io.js, served by the library as Node's serveClient does.
			code, h, body := get(t, a.url+"/socket.io/socket.io.min.js")
			if code != 200 || !strings.Contains(h.Get("Content-Type"), "javascript") || h.Get("ETag") == "" || len(body) < 10000 {
				t.Errorf("socket.io.min.js: %d %v, %d bytes", code, h, len(body))
			}
			if code, _, _ := get(t, a.url+"/socket.io/socket.io.min.js", "If-None-Match", h.Get("ETag")); code != 304 {
				t.Errorf("socket.io.min.js revalidated: %d", code)
			}

			runNode(t, dir, true, "testdata/embed.test.mjs", "URL_A="+a.url, "URL_B="+b.url, "ADMIN_PASSWORD="+adminPassword)

			// Metrics: guarded by the token; what the clients did shows.
			if code, _, _ := get(t, a.url+"/metrics"); code != 401 {
				t.Errorf("/metrics without the token: %d", code)
			}
			code, _, body = get(t, a.url+"/metrics", "Authorization", "Bearer "+metricsToken)
			if code != 200 {
				t.Fatalf("/metrics: %d", code)
			}
			for _, want := range []string{`switchboard_connects_total{namespace="/"}`, `switchboard_connects_total{namespace="/chat"} 3`,
				`switchboard_adapter_published_total`, `switchboard_limit_rejections_total{kind="admin_login_attempts"} 0`, `go_goroutines`} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if strings.Contains(body, "switchboard_adapter_published_total 0\n") {
				t.Error("the adapter published nothing")
			}
			// Health and the Admin UI's page.
			if code, _, body := get(t, a.url+"/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("/healthz: %d %q", code, body)
			}
			if code, h, body := get(t, a.url+"/admin/"); code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
				!strings.Contains(body, `s.setItem("path","/socket.io")`) {
				t.Errorf("/admin/: %d %v", code, h)
			}

			// Graceful shutdown: connected clients are let go (they see a
			// transport close and would reconnect elsewhere), and the node
			// stops answering.
			for _, transport := range []string{"polling", "websocket"} {
				t.Run("shutdown-"+transport, func(t *testing.T) {
					n := startNode(t, router, "")
					ready := make(chan struct{})
					var out string
					done := make(chan struct{})
					go func() {
						defer close(done)
						out = runShutdownClient(t, dir, n.url, transport, ready)
					}()
					select {
					case <-ready:
					case <-done:
						t.Fatalf("the client did not connect: %s", out)
					}
					// A polling client between two polls would see its next
					// poll refused ("transport error"): let it poll first.
					time.Sleep(300 * time.Millisecond)
					start := time.Now()
					n.shutdown(t)
					<-done
					if !strings.Contains(out, "disconnect transport close") {
						t.Errorf("client: %s", out)
					}
					if d := time.Since(start); d > 5*time.Second {
						t.Errorf("shutdown took %v", d)
					}
					if _, err := http.Get(n.url + "/healthz"); err == nil {
						t.Error("the node still answers after shutdown")
					}
				})
			}
		})
	}
}

// runShutdownClient runs testdata/shutdown.mjs against url, closes ready
// when it has connected, and returns its output once it exits.
func runShutdownClient(t *testing.T, dir, url, transport string, ready chan struct{}) string {
	cmd := exec.Command("node", "testdata/shutdown.mjs")
	cmd.Env = append(os.Environ(), "JS_DIR="+dir, "URL_A="+url, "TRANSPORT="+transport)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err.Error()
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "connected" {
			close(ready)
		}
	}
	if err := cmd.Wait(); err != nil {
		out.WriteString(err.Error())
	}
	return out.String()
}
