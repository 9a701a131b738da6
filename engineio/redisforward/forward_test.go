package redisforward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/engineio/redisforward"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// echo answers every message with "echo:" and the message, in order.
type echo struct{ sess *engineio.Session }

func (e *echo) OnMessage(data []byte, binary bool) {
	switch string(data) {
	case "nop": // benchmarks' posts
		return
	case "big": // a large answer
		_ = e.sess.Send(false, engineio.NewTextMessage([]byte(strings.Repeat("b", 100_000))))
		return
	}
	_ = e.sess.Send(false, engineio.NewTextMessage(append([]byte("echo:"), data...)))
}
func (e *echo) OnClose(engineio.CloseReason, error) {}

// node is one server of a test cluster: an engine with its Forwarder,
// served over HTTP.
type node struct {
	eng  *engineio.Server
	fwd  *redisforward.Forwarder
	hs   *httptest.Server
	once sync.Once
}

// kill takes the node down as a crash would, for the other nodes: its
// server and subscription go away.
func (n *node) kill() {
	n.once.Do(func() {
		n.hs.CloseClientConnections()
		n.hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.eng.Close(ctx)
		_ = n.fwd.Close()
	})
}

func startNode(t testing.TB, redisURL string, eo engineio.Options, fo redisforward.Options) *node {
	t.Helper()
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	fo.Client = rdb
	fwd, err := redisforward.New(fo)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{fwd: fwd}
	t.Cleanup(n.kill)
	eo.Forwarder = fwd
	n.eng = engineio.NewServer(func(s *engineio.Session) engineio.SessionHandler { return &echo{sess: s} }, &eo)
	fwd.Attach(n.eng)
	n.hs = serve.Start(t, n.eng, n.eng.Close)
	return n
}

func startCluster(t testing.TB, n int, eo engineio.Options, fo redisforward.Options) []*node {
	t.Helper()
	r := testserver.StartRedis(t)
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startNode(t, r.URL(), eo, fo)
	}
	return nodes
}

// client sends each request to the next node, round-robin, as a load
// balancer without affinity does.
type client struct {
	t     testing.TB
	nodes []*node
	next  int
	hc    *http.Client
	sid   string
}

func newClient(t testing.TB, nodes []*node) *client {
	c := &client{t: t, nodes: nodes, hc: &http.Client{Timeout: 20 * time.Second}}
	t.Cleanup(c.hc.CloseIdleConnections)
	return c
}

func (c *client) node() *node {
	n := c.nodes[c.next%len(c.nodes)]
	c.next++
	return n
}

func (c *client) do(n *node, method, body string) (int, string) {
	c.t.Helper()
	u := n.hs.URL + "/engine.io/?EIO=4&transport=polling"
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *client) open() {
	c.t.Helper()
	code, body := c.do(c.node(), "GET", "")
	var o struct{ SID string }
	if code != 200 || len(body) < 2 || json.Unmarshal([]byte(body[1:]), &o) != nil {
		c.t.Fatalf("handshake: %d %q", code, body)
	}
	c.sid = o.SID
}

func (c *client) mustDo(method, body string) string {
	c.t.Helper()
	code, res := c.do(c.node(), method, body)
	if code != 200 {
		c.t.Fatalf("%s %q: %d %q", method, body, code, res)
	}
	return res
}

var quiet = engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute}

// A polling-only session served by three nodes in turn: every message
// both ways arrives once, in order.
func TestPollingRoundRobin(t *testing.T) {
	nodes := startCluster(t, 3, quiet, redisforward.Options{})
	c := newClient(t, nodes)
	c.open()
	var got []string
	for i := range 12 {
		if res := c.mustDo("POST", fmt.Sprintf("4m%d\x1e4n%d", i, i)); res != "ok" {
			t.Fatalf("POST: %q", res)
		}
		for len(got) < 2*(i+1) {
			got = append(got, strings.Split(c.mustDo("GET", ""), "\x1e")...)
		}
	}
	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("4echo:m%d", i), fmt.Sprintf("4echo:n%d", i))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	var fwd, served uint64
	for _, n := range nodes {
		s := n.fwd.Stats()
		fwd += s.Forwarded
		served += s.Served
	}
	if fwd < 12 || fwd != served {
		t.Fatalf("forwarded %d, served %d: want two thirds of the requests forwarded, each served once", fwd, served)
	}
}

// The session upgrades to WebSocket on a node that does not hold it; the
// bytes go through the tunnel both ways.
func TestUpgradeOnOtherNode(t *testing.T) {
	nodes := startCluster(t, 3, quiet, redisforward.Options{})
	c := newClient(t, nodes)
	c.open() // on nodes[0]
	ws := wsclient.Dial(t, nodes[1].hs.URL+"/engine.io/?EIO=4&transport=websocket&sid="+c.sid, nil)
	read := func() string {
		t.Helper()
		b, _, err := ws.Read(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := ws.WriteText("2probe"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if err := ws.WriteText("5"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 100_000) // several tunnel messages each way
	for i := range 5 {
		msg := fmt.Sprintf("4hello%d", i)
		if i == 3 {
			msg += big
		}
		if err := ws.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		if got, want := read(), "4echo:"+msg[1:]; got != want {
			t.Fatalf("echo %d: got %d bytes %.20q, want %d bytes", i, len(got), got, len(want))
		}
	}
	if s := nodes[0].eng.Session(c.sid); s == nil || s.Transport() != "websocket" {
		t.Fatal("the owner's session did not upgrade")
	}
	if nodes[1].fwd.Stats().Tunnels != 1 || nodes[0].fwd.Stats().TunnelsServed != 1 {
		t.Fatalf("stats: %+v %+v", nodes[1].fwd.Stats(), nodes[0].fwd.Stats())
	}
	// Closing the client ends the session on the owner.
	ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for nodes[0].eng.Session(c.sid) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its client")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A POST over MaxPayload on a node that does not hold the session is
// refused as the owner refuses it: 413, and the session is closed.
func TestPayloadLimitForwarded(t *testing.T) {
	eo := quiet
	eo.MaxPayload = 1000
	nodes := startCluster(t, 2, eo, redisforward.Options{})
	c := newClient(t, nodes)
	c.open()
	code, body := c.do(nodes[1], "POST", "4"+strings.Repeat("x", 2000))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST over the limit: %d %q, want 413", code, body)
	}
	if code, body = c.do(nodes[1], "GET", ""); code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("GET after: %d %q, want the session closed", code, body)
	}
}

// When the owner dies, a request for its session gets "Session ID
// unknown" at once, and the sessions of the other nodes are unaffected.
func TestOwnerGone(t *testing.T) {
	nodes := startCluster(t, 3, quiet, redisforward.Options{})
	a, b := newClient(t, nodes), newClient(t, nodes)
	a.open() // on nodes[0]
	b.next = 1
	b.open() // on nodes[1]
	nodes[0].kill()
	start := time.Now()
	code, body := a.do(nodes[2], "GET", "")
	if code != 400 || !strings.Contains(body, "Session ID unknown") || time.Since(start) > 2*time.Second {
		t.Fatalf("GET for the dead node's session: %d %q after %v", code, body, time.Since(start))
	}
	if nodes[2].fwd.Stats().OwnerGone != 1 {
		t.Fatalf("stats %+v", nodes[2].fwd.Stats())
	}
	b.nodes = nodes[1:]
	b.next = 1 // nodes[2], then nodes[1]
	for i := range 4 {
		b.mustDo("POST", fmt.Sprintf("4b%d", i))
		if got := b.mustDo("GET", ""); got != fmt.Sprintf("4echo:b%d", i) {
			t.Fatalf("other session: %q", got)
		}
	}
}

// A request forwarded to the owner is never forwarded again, even when
// the owner no longer holds the session: it answers "Session ID unknown".
func TestNotForwardedTwice(t *testing.T) {
	nodes := startCluster(t, 2, quiet, redisforward.Options{})
	c := newClient(t, nodes)
	c.open()
	nodes[0].eng.Session(c.sid).Close()
	if code, body := c.do(nodes[1], "GET", ""); code != 200 || body != "1" {
		t.Fatalf("GET: %d %q, want the close packet", code, body)
	}
	code, body := c.do(nodes[1], "GET", "")
	if code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("GET: %d %q", code, body)
	}
	s0, s1 := nodes[0].fwd.Stats(), nodes[1].fwd.Stats()
	if s1.Forwarded != 2 || s0.Served != 2 || s0.Forwarded != 0 {
		t.Fatalf("stats: owner %+v, other %+v", s0, s1)
	}
}

// A tunnel whose unread bytes pass MaxTunnelBuffer is closed.
func TestTunnelBound(t *testing.T) {
	nodes := startCluster(t, 2, quiet, redisforward.Options{MaxTunnelBuffer: 4096})
	c := newClient(t, nodes)
	c.open()
	ws := wsclient.Dial(t, nodes[1].hs.URL+"/engine.io/?EIO=4&transport=websocket&sid="+c.sid, nil)
	if err := ws.WriteText("4" + strings.Repeat("y", 20_000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(5 * time.Second); err == nil {
		t.Fatal("the tunnel stayed open")
	}
	if n := nodes[0].fwd.Stats().TunnelsClosed; n != 1 {
		t.Fatalf("owner closed %d tunnels, want 1", n)
	}
}

// A client that stops reading loses its tunnel on the node holding its
// connection once MaxTunnelBuffer bytes wait for it, and its session ends
// on the owner.
func TestTunnelSlowClient(t *testing.T) {
	r := testserver.StartRedis(t)
	owner := quiet
	owner.MaxBufferedBytes = 64 << 20 // only the other node's bound acts
	other := quiet
	other.WriteTimeout = time.Minute
	nodes := []*node{
		startNode(t, r.URL(), owner, redisforward.Options{}),
		startNode(t, r.URL(), other, redisforward.Options{MaxTunnelBuffer: 256 << 10}),
	}
	c := newClient(t, nodes)
	c.open()
	ws := upgrade(t, nodes[1], c.sid)
	deadline := time.Now().Add(20 * time.Second)
	for nodes[1].fwd.Stats().TunnelsClosed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the tunnel of a client that does not read stayed open: %+v", nodes[1].fwd.Stats())
		}
		if err := ws.WriteText("4big"); err != nil {
			break // closed
		}
		time.Sleep(2 * time.Millisecond)
	}
	for nodes[1].fwd.Stats().TunnelsClosed == 0 || nodes[0].eng.Session(c.sid) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v and %+v, session open on the owner: %v", nodes[0].fwd.Stats(), nodes[1].fwd.Stats(), nodes[0].eng.Session(c.sid) != nil)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// upgrade upgrades session sid to WebSocket on node n.
func upgrade(t testing.TB, n *node, sid string) *wsclient.Conn {
	t.Helper()
	ws := wsclient.Dial(t, n.hs.URL+"/engine.io/?EIO=4&transport=websocket&sid="+sid, nil)
	if err := ws.WriteText("2probe"); err != nil {
		t.Fatal(err)
	}
	if b, _, err := ws.Read(5 * time.Second); err != nil || string(b) != "3probe" {
		t.Fatalf("probe answer %q %v", b, err)
	}
	if err := ws.WriteText("5"); err != nil {
		t.Fatal(err)
	}
	return ws
}

// A client that gives up a forwarded long poll ends it on the owner too:
// the owner sees the client go away as it does for its own clients (the
// session ends, as in the reference server).
func TestPollCancelled(t *testing.T) {
	nodes := startCluster(t, 3, quiet, redisforward.Options{})
	c := newClient(t, nodes)
	c.open() // on nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", nodes[1].hs.URL+"/engine.io/?EIO=4&transport=polling&sid="+c.sid, nil)
	if res, err := c.hc.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the poll returned %d with no data", res.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for nodes[0].eng.Session(c.sid) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the owner still holds the poll of a client that went away")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
