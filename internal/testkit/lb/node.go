//go:build unix

// Package lb runs a small Switchboard cluster the way it is deployed: the
// switchboard binary as separate processes, behind a real haproxy on
// loopback ports. End-to-end tests and benchmarks use it to put real
// clients in front of a load balancer.
//
//	bin, _ := lb.Build(dir)                      // once, e.g. in TestMain
//	n := lb.StartNode(t, bin, "n1", yamlConfig)  // listen: 127.0.0.1:0
//	p := lb.StartHAProxy(t, []*lb.Node{n, ...}, lb.RoundRobin)
//	url := p.URL()
package lb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the switchboard command (the module's root package) into
// dir and returns the binary's path. root is the repository root.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "switchboard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Node is one switchboard process.
type Node struct {
	Name string
	Addr string // host:port it listens on

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
}

var listeningRE = regexp.MustCompile(`switchboard listening"? addr=(\S+)`)

// StartNode writes config (YAML; listen should be "127.0.0.1:0" so the
// process picks a free port) to a file and runs bin with it until the test
// ends. It returns once the node answers /readyz with 200 (its adapter is
// connected). The process's log is kept and shown if the test fails.
func StartNode(t testing.TB, bin, name, config string) *Node {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return startProcess(t, name, exec.Command(bin, "-config", file), listeningRE)
}

var otherListeningRE = regexp.MustCompile(`listening addr=(\S+)`)

// StartProcess runs another server as a node, e.g. a Node.js socket.io
// server in a mixed cluster: cmd must print "listening addr=HOST:PORT"
// on a line once it listens, answer GET /readyz with 200 when ready and
// shut down gracefully on SIGTERM. Like StartNode, it returns once the
// node is ready and ends it with the test.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Node {
	t.Helper()
	return startProcess(t, name, cmd, otherListeningRE)
}

func startProcess(t testing.TB, name string, cmd *exec.Cmd, listening *regexp.Regexp) *Node {
	t.Helper()
	n := &Node{Name: name, t: t, exited: make(chan struct{})}
	n.cmd = cmd
	pr, pw := io.Pipe()
	n.cmd.Stdout, n.cmd.Stderr = pw, pw
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.log.WriteString(line + "\n")
			n.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = n.cmd.Wait()
		_ = pw.Close()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("log of node %s:\n%s", name, n.Log())
		}
	})
	select {
	case n.Addr = <-addr:
	case <-n.exited:
		t.Fatalf("node %s exited: %s", name, n.Log())
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not start: %s", name, n.Log())
	}
	if err := waitHTTP(n.URL()+"/readyz", 15*time.Second); err != nil {
		t.Fatalf("node %s not ready: %v\n%s", name, err, n.Log())
	}
	return n
}

// URL is the node's own base URL, bypassing the load balancer.
func (n *Node) URL() string { return "http://" + n.Addr }

// Log returns what the process wrote so far.
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// Kill ends the process with SIGKILL, as a crash would: no graceful
// shutdown, its clients' connections are cut. It waits until it is gone.
func (n *Node) Kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// Stop shuts the process down gracefully (SIGTERM), killing it if it is
// still running after 10 s. Stopping a stopped node does nothing.
func (n *Node) Stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.Kill()
	}
}

// waitHTTP polls url until it answers 200.
func waitHTTP(url string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return last
		case <-time.After(50 * time.Millisecond):
		}
	}
}
