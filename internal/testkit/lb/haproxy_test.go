//go:build unix

package lb

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestConfigValid has haproxy check the configuration of each balance mode
// (haproxy -c), so a typo fails here rather than as a start-up timeout.
func TestConfigValid(t *testing.T) {
	bin := RequireHAProxy(t)
	nodes := []*Node{{Name: "n1", Addr: "127.0.0.1:1"}, {Name: "n2", Addr: "127.0.0.1:2"}}
	for _, b := range []Balance{RoundRobin, ClientHeader} {
		file := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(file, []byte(Config(65000, nodes, b)), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-c", "-f", file).CombinedOutput(); err != nil {
			t.Errorf("balance %s: haproxy -c: %v\n%s", b, err, out)
		}
	}
}

// TestRequests parses haproxy's request log lines and skips the rest.
func TestRequests(t *testing.T) {
	p := &HAProxy{lines: []string{
		"[WARNING]  (1) : Server nodes/n3 is DOWN",
		"LB n2 400 GET /socket.io/?EIO=4&transport=polling&sid=abc 3",
		"LB <NOSRV> -1 POST /x 15016",
	}}
	got := p.Requests()
	want := []Request{
		{Server: "n2", Status: 400, Method: "GET", URI: "/socket.io/?EIO=4&transport=polling&sid=abc", Took: 3 * time.Millisecond},
		{Server: "<NOSRV>", Status: -1, Method: "POST", URI: "/x", Took: 15016 * time.Millisecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
