package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPacketPayloadAndParseArgs(t *testing.T) {
	bin := []byte{0, 1, 0xff}
	p := NewPacket("/chat", NoAck, "ev", "a", bin, map[string]any{"k": bin, "n": 2})
	data, atts, err := p.Payload()
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev","a",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1},"n":2}]`
	if string(data) != want || len(atts) != 2 || !bytes.Equal(atts[0], bin) {
		t.Fatalf("payload %s %x", data, atts)
	}
	// Rebuilt on another node: same frames as the original.
	args, err := ParseArgs([]byte(`["a",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1},"n":2}]`), atts)
	if err != nil {
		t.Fatal(err)
	}
	q := NewPacket("/chat", NoAck, "ev", args)
	f1, _ := p.Frames()
	f2, err := q.Frames()
	if err != nil || len(f1) != 3 || len(f2) != 3 {
		t.Fatalf("frames %d %d %v", len(f1), len(f2), err)
	}
	for i := range f1 {
		if f1[i].String() != f2[i].String() || f1[i].Binary() != f2[i].Binary() {
			t.Fatalf("frame %d: %s vs %s", i, f1[i], f2[i])
		}
	}
	if q.Namespace() != "/chat" || q.Event() != "ev" || q.AckID() != NoAck {
		t.Fatalf("accessors %s %s %d", q.Namespace(), q.Event(), q.AckID())
	}
	for _, bad := range []string{`{}`, `[1,`, `[{"_placeholder":true,"num":5}]`} {
		if _, err := ParseArgs([]byte(bad), atts); err == nil {
			t.Errorf("ParseArgs(%s) accepted", bad)
		}
	}
}

// TestRemoteSocketJSON: the form the reference's cluster adapters exchange.
func TestRemoteSocketJSON(t *testing.T) {
	node := `{"id":"abc","handshake":{"headers":{"host":"h:1","set-cookie":["a=1","b=2"]},"time":"Wed Nov 25 2026 16:00:00 GMT+0000 (Coordinated Universal Time)","address":"::1","xdomain":false,"secure":false,"issued":1795622400000,"url":"/socket.io/?EIO=4","query":{"EIO":"4","x":["1","2"]},"auth":{"token":"t"}},"rooms":["abc","r"],"data":{"user":"u"}}`
	var r RemoteSocket
	if err := json.Unmarshal([]byte(node), &r); err != nil {
		t.Fatal(err)
	}
	h := r.Handshake
	if r.ID != "abc" || len(r.Rooms) != 2 || h.Headers.Get("Host") != "h:1" || len(h.Headers.Values("Set-Cookie")) != 2 ||
		h.Query.Get("EIO") != "4" || len(h.Query["x"]) != 2 || h.Time.UnixMilli() != 1795622400000 || string(h.Auth) != `{"token":"t"}` {
		t.Fatalf("decoded %+v %+v", r, h)
	}
	var d struct{ User string }
	if err := r.DataInto(&d); err != nil || d.User != "u" {
		t.Fatalf("data %s", r.Data)
	}
	out, err := json.Marshal(&RemoteSocket{ID: "x", Rooms: []string{"x"}, Handshake: &Handshake{
		Headers: http.Header{"Origin": {"o"}, "X-A": {"1", "2"}},
		Query:   url.Values{"EIO": {"4"}},
		Time:    time.UnixMilli(1795622400000).UTC(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"x"`, `"origin":"o"`, `"x-a":"1, 2"`, `"xdomain":true`, `"issued":1795622400000`,
		`"time":"Wed Nov 25 2026 16:00:00 GMT+0000"`, `"query":{"EIO":"4"}`, `"auth":{}`, `"data":{}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s lacks %s", out, want)
		}
	}
}

// fakeCluster is a MemoryAdapter that pretends another node took part in
// acknowledged broadcasts, answering after a delay.
type fakeCluster struct {
	*MemoryAdapter
	remoteClients int
}

func (f *fakeCluster) BroadcastWithAck(p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) (int, error) {
	if _, err := f.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck); err != nil {
		return 0, err
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		onCount(f.remoteClients)
		for i := range f.remoteClients {
			a, _ := ParseArgs([]byte(`["remote`+string(rune('0'+i))+`"]`), nil)
			onAck(a, nil)
		}
	}()
	return 2, nil
}

// TestEmitWithAckWaitsForEveryNode: answers are complete only once every
// node has reported its recipients and they have all answered.
func TestEmitWithAckWaitsForEveryNode(t *testing.T) {
	var fake *fakeCluster
	srv, _ := startServer(t, &Options{NewAdapter: func(n *Namespace) Adapter {
		fake = &fakeCluster{MemoryAdapter: NewMemoryAdapter(n), remoteClients: 2}
		return fake
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	answers, err := srv.Of("/").EmitWithAck(ctx, "q") // no local client
	if err != nil || len(answers) != 2 {
		t.Fatalf("answers %d, %v", len(answers), err)
	}
	fake.remoteClients = 0
	if answers, err := srv.Of("/").EmitWithAck(ctx, "q"); err != nil || len(answers) != 0 {
		t.Fatalf("no clients anywhere: %d, %v", len(answers), err)
	}
	// A node that never reports: the context decides.
	srv2, _ := startServer(t, &Options{NewAdapter: func(n *Namespace) Adapter { return &silentCluster{NewMemoryAdapter(n)} }})
	sctx, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer scancel()
	if _, err := srv2.Of("/").EmitWithAck(sctx, "q"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("err = %v", err)
	}
}

type silentCluster struct{ *MemoryAdapter }

func (s *silentCluster) BroadcastWithAck(p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) (int, error) {
	_, err := s.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
	return 3, err
}

// TestMemoryAdapterSocketOps: the cluster operations on one node.
func TestMemoryAdapterSocketOps(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	a, b := connect(t, url, "/", ""), connect(t, url, "/", "")
	_ = b
	ctx := context.Background()
	socks, err := n.FetchSockets(ctx)
	if err != nil || len(socks) != 2 {
		t.Fatalf("fetch %d %v", len(socks), err)
	}
	if err := n.SocketsJoin("r"); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.In("r").FetchSockets(ctx); len(got) != 2 {
		t.Fatalf("in r: %d", len(got))
	}
	first := socks[0]
	if err := first.Leave("r"); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.In("r").FetchSockets(ctx); len(got) != 1 || got[0].ID == first.ID {
		t.Fatalf("after leave: %v", got)
	}
	if rooms, _ := n.Adapter().AllRooms(ctx); len(rooms) != 1 || rooms[0] != "r" {
		t.Fatalf("rooms %v", rooms)
	}
	if err := n.In("r").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	if n.Len() != 1 {
		t.Fatalf("len %d after disconnecting r", n.Len())
	}
	if answers, err := n.ServerSideEmitWithAck(ctx, "x"); err != nil || answers != nil {
		t.Fatalf("single node server-side emit: %v %v", answers, err)
	}
	_ = a
}
