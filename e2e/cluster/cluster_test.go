package cluster

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/socketio"
)

// checkHello verifies a "hello" event: ["hello", from, <binary>, {"b": <binary>}].
func checkHello(t *testing.T, e sioclient.Event, from string, bin []byte) {
	t.Helper()
	var got string
	if err := e.Arg(0, &got); err != nil || got != from {
		t.Fatalf("hello from %q, want %q (%v)", got, from, err)
	}
	if len(e.Buffers) != 2 || !bytes.Equal(e.Buffers[0], bin) || !bytes.Equal(e.Buffers[1], bin) {
		t.Fatalf("hello from %s: attachments %x, want 2 x %x (args %s)", from, e.Buffers, bin, e.Args)
	}
	if string(e.Args[1]) != `{"_placeholder":true,"num":0}` || string(e.Args[2]) != `{"b":{"_placeholder":true,"num":1}}` {
		t.Fatalf("hello args %s", e.Args)
	}
}

// TestThreeNodes: clients on three nodes share rooms; broadcasts from any
// node reach each member exactly once, binary intact; acks are collected
// from every node; fetchSockets, socketsJoin and disconnectSockets work
// across nodes.
func TestThreeNodes(t *testing.T) {
	r := startRedis(t)
	nodes := []*node{startNode(t, r.URL()), startNode(t, r.URL()), startNode(t, r.URL())}
	var members, outsiders []*sioclient.Client
	for _, n := range nodes {
		members = append(members, dial(t, n.url, "room"), dial(t, n.url, "room", "other"))
		outsiders = append(outsiders, dial(t, n.url, "other"))
	}

	for i, from := range nodes {
		name := string(rune('A' + i))
		bin := []byte{0, byte(i), 0xff, 0x80}
		if err := from.nsp().To("room").Emit("hello", name, bin, map[string]any{"b": bin}); err != nil {
			t.Fatal(err)
		}
		for _, c := range members {
			checkHello(t, expectEvent(t, c, "hello", 5*time.Second), name, bin)
		}
	}
	// Exactly once: nothing more for members, nothing at all for the others.
	for _, c := range members {
		noEvent(t, c, "hello", 300*time.Millisecond)
	}
	for _, c := range outsiders {
		noEvent(t, c, "hello", 10*time.Millisecond)
	}

	// The whole namespace (the room-less channel).
	if err := nodes[2].nsp().Emit("everyone", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(slices.Clone(members), outsiders...) {
		expectEvent(t, c, "everyone", 5*time.Second)
		noEvent(t, c, "everyone", 50*time.Millisecond)
	}

	// Except works across nodes: "room" minus "other".
	if err := nodes[1].nsp().To("room").Except("other").Emit("only-room"); err != nil {
		t.Fatal(err)
	}
	for i, c := range members {
		if i%2 == 0 {
			expectEvent(t, c, "only-room", 5*time.Second)
		}
	}
	for i, c := range members {
		if i%2 == 1 {
			noEvent(t, c, "only-room", 300*time.Millisecond)
		}
	}

	// Acknowledgements from every node.
	var wg sync.WaitGroup
	for _, c := range members {
		wg.Go(func() {
			e := expectEvent(t, c, "question", 5*time.Second)
			if e.AckID < 0 {
				t.Errorf("client %s: no ack id", c.ID)
				return
			}
			_ = c.Ack(e.AckID, c.ID)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	answers, err := nodes[2].nsp().To("room").EmitWithAck(ctx, "question")
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("EmitWithAck: %v (%d answers)", err, len(answers))
	}
	var got []string
	for _, a := range answers {
		var id string
		if err := a.Decode(0, &id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	want := ids(members)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("ack answers %v, want %v", got, want)
	}

	// fetchSockets from one node sees every member, with rooms and data.
	for _, s := range nodes[2].nsp().Sockets() {
		if s.ID() == members[5].ID {
			s.SetData(map[string]any{"user": "carol"})
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	socks, err := nodes[0].nsp().In("room").FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := remoteIDs(socks); !slices.Equal(got, want) {
		t.Fatalf("fetchSockets = %v, want %v", got, want)
	}
	for _, s := range socks {
		if !slices.Contains(s.Rooms, "room") || !slices.Contains(s.Rooms, s.ID) || s.Handshake == nil || s.Handshake.Time.IsZero() {
			t.Fatalf("socket %s: rooms %v handshake %+v", s.ID, s.Rooms, s.Handshake)
		}
		if s.ID == members[5].ID {
			var d struct{ User string }
			if err := s.DataInto(&d); err != nil || d.User != "carol" {
				t.Fatalf("data of %s = %s (%v)", s.ID, s.Data, err)
			}
		}
	}

	// socketsJoin from node A moves the outsiders (on all nodes) into "vip".
	if err := nodes[0].nsp().In("other").Except("room").SocketsJoin("vip"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "outsiders in vip on every node", func() bool {
		s, err := nodes[1].nsp().In("vip").FetchSockets(ctx)
		return err == nil && slices.Equal(remoteIDs(s), ids(outsiders))
	})
	if err := nodes[1].nsp().To("vip").Emit("vip-only"); err != nil {
		t.Fatal(err)
	}
	for _, c := range outsiders {
		expectEvent(t, c, "vip-only", 5*time.Second)
	}
	// socketsLeave.
	if err := nodes[2].nsp().In("vip").SocketsLeave("vip"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "vip empty", func() bool {
		s, err := nodes[0].nsp().In("vip").FetchSockets(ctx)
		return err == nil && len(s) == 0
	})

	// disconnectSockets from node B disconnects the outsider on node C.
	if err := nodes[1].nsp().In(outsiders[2].ID).DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, outsiders[2], "disconnect", 5*time.Second)
	waitFor(t, 5*time.Second, "socket gone from node C", func() bool { return nodes[2].nsp().Len() == 2 })

	// A remote socket's own methods act where it lives.
	if err := socks[0].Emit("direct", "hi"); err != nil {
		t.Fatal(err)
	}
	for _, c := range members {
		if c.ID == socks[0].ID {
			expectEvent(t, c, "direct", 5*time.Second)
		}
	}

	// allRooms.
	rooms, err := nodes[0].nsp().Adapter().AllRooms(ctx)
	if err != nil || !slices.Contains(rooms, "room") || !slices.Contains(rooms, "other") {
		t.Fatalf("allRooms = %v, %v", rooms, err)
	}
}

// TestServerSideEmit: events between nodes' namespaces, with answers.
func TestServerSideEmit(t *testing.T) {
	r := startRedis(t)
	a, b, c := startNode(t, r.URL()), startNode(t, r.URL()), startNode(t, r.URL())
	got := make(chan string, 4)
	for i, n := range []*node{b, c} {
		name := string(rune('B' + i))
		n.nsp().OnServerSideEmit("ping", func(args socketio.Args, ack func(any)) {
			var s string
			_ = args.Decode(0, &s)
			got <- name + ":" + s
			ack(map[string]string{"pong": name})
		})
	}
	if err := a.nsp().ServerSideEmit("ping", "one"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case s := <-got:
			if s != "B:one" && s != "C:one" {
				t.Fatalf("got %s", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("server-side event not received")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := a.nsp().ServerSideEmitWithAck(ctx, "ping", "two")
	if err != nil || len(answers) != 2 {
		t.Fatalf("answers %v, %v", answers, err)
	}
	var pongs []string
	for _, ans := range answers {
		var m map[string]string
		if err := ans.Decode(0, &m); err != nil {
			t.Fatal(err)
		}
		pongs = append(pongs, m["pong"])
	}
	slices.Sort(pongs)
	if !slices.Equal(pongs, []string{"B", "C"}) {
		t.Fatalf("pongs %v", pongs)
	}
}

func ids(cs []*sioclient.Client) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func remoteIDs(rs []*socketio.RemoteSocket) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}
