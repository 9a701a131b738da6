//go:build unix

package nodetest

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartServer starts the Node.js server script (a path relative to e2e/js)
// and returns its base URL, http://127.0.0.1:<port>. The script prints
// {"port": N} on stdout once it listens and exits when its stdin ends;
// that happens, or it is killed, when the test ends. Its stderr goes to
// the test log.
func StartServer(t testing.TB, script string) string {
	t.Helper()
	dir := JSDir(t)
	cmd := exec.Command("node", filepath.Join(dir, script))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m struct{ Port int }
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Port > 0 {
				ports <- m.Port
				break
			}
		}
		_ = cmd.Wait() // drains stdout to EOF first
		close(exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if s := stderr.String(); s != "" {
			t.Logf("%s stderr:\n%s", script, s)
		}
	})
	select {
	case port := <-ports:
		return "http://127.0.0.1:" + strconv.Itoa(port)
	case <-exited:
		t.Fatalf("%s exited before listening: %s", script, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not listen within 30s", script)
	}
	return ""
}
