package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/socketio"
)

// jsDir returns e2e/js, after checking that node and the npm packages the
// cluster scripts use are installed.
func jsDir(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("node")
	testserver.Require(t, err == nil, "node not installed")
	dir := filepath.Join(testserver.Root(t), "e2e", "js")
	for _, pkg := range []string{"socket.io", "socket.io-client", "redis", "@socket.io/redis-adapter", "@socket.io/redis-emitter"} {
		_, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
		testserver.Require(t, err == nil, "npm package %s missing (run npm ci in e2e/js)", pkg)
	}
	return dir
}

// nodeServer is e2e/js/cluster/node-server.mjs: a Node.js socket.io server
// with @socket.io/redis-adapter, driven through JSON lines.
type nodeServer struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	port  int

	mu      sync.Mutex
	nextID  int
	waiters map[int]chan nodeMsg
	events  chan nodeMsg
	stderr  bytes.Buffer
}

type nodeMsg struct {
	Type   string            `json:"type"`
	ID     int               `json:"id"`
	Port   int               `json:"port"`
	Result json.RawMessage   `json:"result"`
	Error  string            `json:"error"`
	Client string            `json:"client"`
	Event  string            `json:"event"`
	Args   []json.RawMessage `json:"args"`
}

func startNodeServer(t *testing.T, redisURL string) *nodeServer {
	t.Helper()
	dir := jsDir(t)
	n := &nodeServer{t: t, waiters: map[int]chan nodeMsg{}, events: make(chan nodeMsg, 256)}
	n.cmd = exec.Command("node", filepath.Join(dir, "cluster", "node-server.mjs"))
	n.cmd.Dir = dir
	n.cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL, "KEY=socket.io")
	n.cmd.Stderr = &n.stderr
	var err error
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m nodeMsg
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			switch m.Type {
			case "ready":
				ready <- m.Port
			case "done":
				n.mu.Lock()
				ch := n.waiters[m.ID]
				delete(n.waiters, m.ID)
				n.mu.Unlock()
				if ch != nil {
					ch <- m
				}
			case "event":
				select {
				case n.events <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = n.stdin.Close() // the script exits at the end of its input
		exited := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = n.cmd.Process.Kill()
			<-exited
		}
		<-done
	})
	select {
	case n.port = <-ready:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		t.Fatalf("node server did not start: %s", n.stderr.String())
	}
	return n
}

// call runs a command and returns its result.
func (n *nodeServer) call(cmd map[string]any) json.RawMessage {
	n.t.Helper()
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	ch := make(chan nodeMsg, 1)
	n.waiters[id] = ch
	n.mu.Unlock()
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		n.t.Fatal(err)
	}
	select {
	case m := <-ch:
		if m.Error != "" {
			n.t.Fatalf("node %v: %s", cmd["cmd"], m.Error)
		}
		return m.Result
	case <-time.After(15 * time.Second):
		n.t.Fatalf("node %v: no answer (stderr: %s)", cmd["cmd"], n.stderr.String())
		return nil
	}
}

// expectEvent waits for an event seen by one of the script's clients.
func (n *nodeServer) expectEvent(client, event string) nodeMsg {
	n.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-n.events:
			if m.Client == client && m.Event == event {
				return m
			}
		case <-timeout:
			n.t.Fatalf("node client %s: no %q event", client, event)
		}
	}
}

// nextEvent returns the next event seen by one of the script's clients.
func (n *nodeServer) nextEvent(client string) nodeMsg {
	n.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-n.events:
			if m.Client == client {
				return m
			}
		case <-timeout:
			n.t.Fatalf("node client %s: no event", client)
		}
	}
}

// bin is the JSON form of binary data for the script.
func bin(b []byte) map[string]string {
	return map[string]string{"$bin": base64.StdEncoding.EncodeToString(b)}
}

func unbin(raw json.RawMessage) ([]byte, error) {
	var v struct {
		Bin *string `json:"$bin"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Bin == nil {
		return nil, fmt.Errorf("not binary: %s", raw)
	}
	return base64.StdEncoding.DecodeString(*v.Bin)
}

// TestMixedCluster: a Node.js socket.io server with
// @socket.io/redis-adapter 8.x and a Switchboard node share one Redis:
// broadcasts flow both ways with text and binary, acknowledgements are
// collected across both, and fetchSockets on either lists the other's
// sockets.
func TestMixedCluster(t *testing.T) {
	r := startRedis(t)
	sb := startNode(t, r.URL())
	ns := startNodeServer(t, r.URL())

	goClient := dial(t, sb.url, "mix")
	var nodeClient struct{ ID string }
	if err := json.Unmarshal(ns.call(map[string]any{"cmd": "client", "name": "n1", "rooms": []string{"mix"}}), &nodeClient); err != nil {
		t.Fatal(err)
	}
	want := []string{goClient.ID, nodeClient.ID}
	slices.Sort(want)

	// fetchSockets from Switchboard lists the Node server's socket...
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	socks, err := sb.nsp().In("mix").FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := remoteIDs(socks); !slices.Equal(got, want) {
		t.Fatalf("Switchboard fetchSockets = %v, want %v", got, want)
	}
	for _, s := range socks {
		if s.ID == nodeClient.ID {
			var d struct{ Side string }
			if err := s.DataInto(&d); err != nil || d.Side != "node" || !slices.Contains(s.Rooms, "mix") || s.Handshake.Query.Get("EIO") != "4" {
				t.Fatalf("node socket as seen from Go: %+v data %s", s, s.Data)
			}
		}
	}
	// ...and the Node server's fetchSockets lists Switchboard's.
	var fetched []struct {
		ID    string
		Rooms []string
		Query map[string]any
	}
	if err := json.Unmarshal(ns.call(map[string]any{"cmd": "fetch", "room": "mix"}), &fetched); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fetched {
		got = append(got, f.ID)
		if f.ID == goClient.ID && (!slices.Contains(f.Rooms, "mix") || f.Query["EIO"] != "4") {
			t.Fatalf("Go socket as seen from Node: %+v", f)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("Node fetchSockets = %v, want %v", got, want)
	}

	// Switchboard -> Node, text and binary.
	payload := []byte{0, 1, 2, 0xfe, 0xff}
	if err := sb.nsp().To("mix").Emit("from-go", "text é", payload, map[string]any{"n": 1.5, "b": payload}); err != nil {
		t.Fatal(err)
	}
	m := ns.expectEvent("n1", "from-go")
	if len(m.Args) != 3 || string(m.Args[0]) != `"text é"` {
		t.Fatalf("node got %s", m.Args)
	}
	if b, err := unbin(m.Args[1]); err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("node got binary %x (%v), want %x", b, err, payload)
	}
	var obj struct {
		N float64
		B json.RawMessage
	}
	if err := json.Unmarshal(m.Args[2], &obj); err != nil || obj.N != 1.5 {
		t.Fatalf("node got object %s", m.Args[2])
	}
	if b, err := unbin(obj.B); err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("node got nested binary %s", obj.B)
	}
	expectEvent(t, goClient, "from-go", 5*time.Second)

	// Node -> Switchboard, text and binary.
	ns.call(map[string]any{"cmd": "emit", "room": "mix", "event": "from-node", "args": []any{"text ü", bin(payload), map[string]any{"deep": []any{bin([]byte("xyz"))}}}})
	e := expectEvent(t, goClient, "from-node", 5*time.Second)
	if string(e.Args[0]) != `"text ü"` || len(e.Buffers) != 2 || !bytes.Equal(e.Buffers[0], payload) || string(e.Buffers[1]) != "xyz" {
		t.Fatalf("Go client got %s %x", e.Args, e.Buffers)
	}
	if string(e.Args[2]) != `{"deep":[{"_placeholder":true,"num":1}]}` {
		t.Fatalf("Go client got %s", e.Args[2])
	}
	ns.expectEvent("n1", "from-node")

	// Except reaches the Node server: its socket is skipped.
	if err := sb.nsp().To("mix").Except(nodeClient.ID).Emit("not-node"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, goClient, "not-node", 5*time.Second)
	time.Sleep(200 * time.Millisecond) // let the publish reach the Node server
	ns.call(map[string]any{"cmd": "emit", "room": "mix", "event": "marker", "args": []any{}})
	for m := ns.nextEvent("n1"); m.Event != "marker"; m = ns.nextEvent("n1") {
		if m.Event == "not-node" {
			t.Fatal("the Node socket got a broadcast that excepted it")
		}
	}

	// Acknowledgements across the mixed cluster, from Switchboard...
	go func() {
		e := expectEvent(t, goClient, "ask-go", 5*time.Second)
		_ = goClient.Ack(e.AckID, map[string]string{"from": "go"})
	}()
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	answers, err := sb.nsp().To("mix").EmitWithAck(actx, "ask-go")
	acancel()
	if err != nil || len(answers) != 2 {
		t.Fatalf("Switchboard EmitWithAck: %d answers, %v", len(answers), err)
	}
	var froms []string
	for _, a := range answers {
		var v struct{ From string }
		if err := a.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		froms = append(froms, v.From)
		if v.From == "n1" { // the Node client's answer carries binary
			var w struct{ Bin []byte }
			if err := a.Decode(0, &w); err != nil || !bytes.Equal(w.Bin, []byte{0xca, 0xfe}) {
				t.Fatalf("binary in remote ack: %x %v", w.Bin, err)
			}
		}
	}
	slices.Sort(froms)
	if !slices.Equal(froms, []string{"go", "n1"}) {
		t.Fatalf("answers from %v", froms)
	}
	// ...and from Node.
	go func() {
		e := expectEvent(t, goClient, "ask-node", 5*time.Second)
		_ = goClient.Ack(e.AckID, map[string]string{"from": "go"})
	}()
	var nodeAnswers []map[string]any
	if err := json.Unmarshal(ns.call(map[string]any{"cmd": "emitWithAck", "room": "mix", "event": "ask-node", "args": []any{}, "timeout": 5000}), &nodeAnswers); err != nil {
		t.Fatal(err)
	}
	froms = froms[:0]
	for _, a := range nodeAnswers {
		froms = append(froms, fmt.Sprint(a["from"]))
	}
	slices.Sort(froms)
	if !slices.Equal(froms, []string{"go", "n1"}) {
		t.Fatalf("Node emitWithAck answers %v", nodeAnswers)
	}

	// Server-side events both ways, with an answer from Node.
	sse := make(chan string, 1)
	sb.nsp().OnServerSideEmit("node-ping", func(args socketio.Args, ack func(any)) {
		var s string
		_ = args.Decode(0, &s)
		sse <- s
		ack(map[string]string{"pong": "go", "got": s})
	})
	ns.call(map[string]any{"cmd": "serverSideEmit", "event": "node-ping", "args": []any{"hi go"}})
	select {
	case s := <-sse:
		if s != "hi go" {
			t.Fatalf("server-side event from Node: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no server-side event from Node")
	}
	var nodePongs []map[string]string
	if err := json.Unmarshal(ns.call(map[string]any{"cmd": "serverSideEmitWithAck", "event": "node-ping", "args": []any{"again"}, "timeout": 5000}), &nodePongs); err != nil {
		t.Fatal(err)
	}
	if len(nodePongs) != 1 || nodePongs[0]["pong"] != "go" || nodePongs[0]["got"] != "again" {
		t.Fatalf("Node serverSideEmitWithAck answers %v", nodePongs)
	}
	<-sse
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	pongs, err := sb.nsp().ServerSideEmitWithAck(sctx, "go-ping", "hi node", 7)
	scancel()
	if err != nil || len(pongs) != 1 || string(pongs[0].Raw(0)) != `{"pong":"node"}` {
		t.Fatalf("serverSideEmitWithAck to Node: %v %v", pongs, err)
	}
	if m := ns.expectEvent("server", "go-ping"); len(m.Args) != 2 || string(m.Args[0]) != `"hi node"` || string(m.Args[1]) != "7" {
		t.Fatalf("Node got server-side args %s", m.Args)
	}

	// socketsJoin from Node reaches Switchboard's socket.
	ns.call(map[string]any{"cmd": "socketsJoin", "room": "mix", "rooms": []string{"joined-by-node"}})
	waitFor(t, 5*time.Second, "Go socket joined by Node", func() bool { return sb.nsp().Adapter().RoomSize("joined-by-node") == 1 })
}

// TestRedisEmitter: @socket.io/redis-emitter publishes to a room and to the
// namespace; Switchboard's clients get both, binary intact, and only the
// room's members get the room's event.
func TestRedisEmitter(t *testing.T) {
	r := startRedis(t)
	dir := jsDir(t)
	sb := startNode(t, r.URL())
	member := dial(t, sb.url, "news")
	other := dial(t, sb.url)

	cmd := exec.Command("node", filepath.Join(dir, "cluster", "emit.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL(), "KEY=socket.io", "ROOM=news", "EVENT=headline")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("emit.mjs: %v\n%s", err, out)
	}
	e := expectEvent(t, member, "headline", 5*time.Second)
	if string(e.Args[0]) != `"from-emitter"` || len(e.Buffers) != 2 ||
		!bytes.Equal(e.Buffers[0], []byte{0, 1, 2, 253, 254, 255}) || string(e.Buffers[1]) != "bin" ||
		string(e.Args[2]) != `{"nested":{"_placeholder":true,"num":1}}` {
		t.Fatalf("headline: %s %x", e.Args, e.Buffers)
	}
	if e := expectEvent(t, member, "all", 5*time.Second); string(e.Args[0]) != "42" {
		t.Fatalf("all: %s", e.Args)
	}
	if e := expectEvent(t, other, "all", 5*time.Second); string(e.Args[0]) != "42" {
		t.Fatalf("all: %s", e.Args)
	}
	noEvent(t, other, "headline", 200*time.Millisecond)
}
