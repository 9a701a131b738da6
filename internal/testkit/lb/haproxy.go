//go:build unix

package lb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// HAProxyPath is where Debian's haproxy package installs the binary.
const HAProxyPath = "/usr/sbin/haproxy"

// Balance is how haproxy picks a node for each request.
type Balance string

const (
	// RoundRobin sends each HTTP request to the next node, with no affinity
	// at all: the requests of one Engine.IO session (handshake, polls,
	// posts, the WebSocket upgrade) land on different nodes.
	RoundRobin Balance = "roundrobin"
	// ClientHeader hashes the request's X-LB-Client header: every request
	// of a client that sends one goes to the same node (affinity), and
	// different clients spread over the nodes; when a node goes down, only
	// its clients move (consistent hashing). It stands in for `balance
	// source`, which would put every client on one node here, since they
	// all come from 127.0.0.1.
	ClientHeader Balance = "hdr(x-lb-client)"
)

// ServerHeader is the request header haproxy adds with the name of the node
// it sends the request to (http-send-name-header). The Engine.IO handshake
// request carries it, so a server that reports its handshake's headers
// tells a client which node holds its session.
const ServerHeader = "x-lb-server"

// HAProxy is a running haproxy in front of nodes.
type HAProxy struct {
	Port int

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	exited chan struct{}
}

// RequireHAProxy skips the test when haproxy is not installed (fails it
// under CI=true).
func RequireHAProxy(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat(HAProxyPath); serr == nil {
			path, err = HAProxyPath, nil
		}
	}
	testserver.Require(t, err == nil, "haproxy not installed (apt-get install haproxy)")
	return path
}

// Config returns the haproxy configuration for nodes on a frontend port.
// Affinity, if any, comes from balance alone: no cookie, no stick table,
// and haproxy's default reuse of idle connections to the nodes.
// Timeouts suit Socket.IO: a long-poll is held by the server up to its
// ping interval, so client and server timeouts are well above it, and an
// upgraded WebSocket is a tunnel that stays open as long as the client
// pings (timeout tunnel). Nodes are health-checked on /readyz every 200 ms
// so a dead one (connection refused) is taken out quickly; a busy one has
// 1 s to answer (timeout check), not to be taken out, and its clients
// moved, by a slow answer on a loaded machine; a request whose connection to a
// node fails is sent to another (option redispatch, retries). One log
// line per request: "LB <server> <status> <method> <uri> <total ms>".
func Config(port int, nodes []*Node, balance Balance) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  log stdout format raw local0
  maxconn 4096

defaults
  mode http
  log global
  log-format "LB %%s %%ST %%HM %%HU %%Tt"
  option dontlognull
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout http-keep-alive 10s
  timeout client-fin 2s
  timeout server-fin 2s
  timeout check 1s
  option redispatch
  retries 3

frontend fe
  bind 127.0.0.1:%d
  default_backend nodes

backend nodes
  balance %s
  hash-type consistent
  http-send-name-header %s
  option httpchk GET /readyz
  default-server check inter 200ms fall 1 rise 2
`, port, balance, ServerHeader)
	for _, n := range nodes {
		fmt.Fprintf(&b, "  server %s %s\n", n.Name, n.Addr)
	}
	return b.String()
}

// StartHAProxy runs haproxy on a free loopback port in front of nodes until
// the test ends, and returns once it forwards requests.
func StartHAProxy(t testing.TB, nodes []*Node, balance Balance) *HAProxy {
	t.Helper()
	bin := RequireHAProxy(t)
	dir := t.TempDir()
	// haproxy cannot report a port it picked: take a free one, and try
	// again in the unlikely case another process takes it first.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		file := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(file, []byte(Config(port, nodes, balance)), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := startHAProxy(t, bin, file, port)
		if err == nil {
			return p
		}
		if attempt == 2 {
			t.Fatal(err)
		}
	}
}

func startHAProxy(t testing.TB, bin, file string, port int) (*HAProxy, error) {
	p := &HAProxy{Port: port, t: t, exited: make(chan struct{})}
	// -db: stay in the foreground, log to stdout.
	p.cmd = exec.Command(bin, "-db", "-f", file)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = p.cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	// Ready once a request through it reaches a node.
	if err := waitHTTP(p.URL()+"/readyz", 10*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("haproxy did not start: %v\n%s", err, strings.Join(p.Lines(), "\n"))
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("haproxy log:\n%s", strings.Join(p.Lines(), "\n"))
		}
	})
	return p, nil
}

// URL is the load balancer's base URL, for clients.
func (p *HAProxy) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.Port) }

// Lines returns haproxy's output so far.
func (p *HAProxy) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Request is one request haproxy logged.
type Request struct {
	Server string // node name, or "<NOSRV>"
	Status int
	Method string
	URI    string
	// Took is the request's time in haproxy, from its first byte to the
	// end of the response (for a WebSocket, until it closed).
	Took time.Duration
}

// Requests returns the requests logged so far (health checks are not
// logged). A request appears once it has been answered.
func (p *HAProxy) Requests() []Request {
	var out []Request
	for _, l := range p.Lines() {
		f := strings.Fields(l)
		if len(f) != 6 || f[0] != "LB" {
			continue
		}
		status, _ := strconv.Atoi(f[2])
		ms, _ := strconv.Atoi(f[5])
		out = append(out, Request{Server: f[1], Status: status, Method: f[3], URI: f[4], Took: time.Duration(ms) * time.Millisecond})
	}
	return out
}

// Stop ends haproxy (SIGTERM: immediate stop) and waits for it.
func (p *HAProxy) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
