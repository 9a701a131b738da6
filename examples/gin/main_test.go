package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

// TestGinExample builds the example, runs it, and uses it as a client
// would: acks, rooms, an announcement from the app's own HTTP route, and a
// graceful shutdown on SIGTERM.
func TestGinExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gin-example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The log line "listening addr=127.0.0.1:PORT" says where.
	addrRE := regexp.MustCompile(`listening addr=(\S+)`)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("the example did not start")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, err := sioclient.Dial(ctx, base, "/", map[string]string{"name": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := sioclient.Dial(ctx, base, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()

	if got, err := alice.EmitWithAck(ctx, "echo", "hi"); err != nil || len(got) != 1 || string(got[0]) != `"hi"` {
		t.Fatalf("echo: %s, %v", got, err)
	}
	for _, c := range []*sioclient.Client{alice, bob} {
		if err := c.Emit("join", "tea"); err != nil {
			t.Fatal(err)
		}
	}
	// Joins are not acknowledged: say until bob hears it.
	heard := make(chan sioclient.Event, 1)
	go func() {
		if e, err := bob.Expect(ctx, "said"); err == nil {
			heard <- e
		}
	}()
	var said sioclient.Event
wait:
	for {
		if err := alice.Emit("say", "tea", "milk?"); err != nil {
			t.Fatal(err)
		}
		select {
		case said = <-heard:
			break wait
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("bob never heard alice in room tea")
		}
	}
	var name, text string
	if said.Arg(0, &name) != nil || said.Arg(1, &text) != nil || name != "alice" || text != "milk?" {
		t.Fatalf("bob heard %s", said.Args)
	}

	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": `{"status":"ok","checks":{"socketio":"ok"}}` + "\n"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != want {
			t.Errorf("%s: %d %q, want %q", path, res.StatusCode, b, want)
		}
	}

	res, err := http.Post(base+"/announce?text=closing", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	e, err := alice.Expect(ctx, "announcement")
	if err != nil {
		t.Fatal(err)
	}
	if e.Arg(0, &text); text != "closing" {
		t.Fatalf("announcement %s", e.Args)
	}

	// SIGTERM: the clients are let go and the process exits cleanly.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the example exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the example did not shut down")
	}
	if _, err := alice.Expect(ctx, "never"); err == nil {
		t.Fatal("alice's connection outlived the server")
	}
}
