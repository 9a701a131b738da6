package socketio

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDynamicNamespaces(t *testing.T) {
	srv, url := startServer(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	connected := make(chan *Socket, 8)
	parent.Use(func(s *Socket) error {
		var a struct{ Deny bool }
		_ = s.Handshake().AuthInto(&a)
		if a.Deny {
			return &ConnectError{Message: "denied"}
		}
		return nil
	})
	parent.OnConnection(func(s *Socket) {
		s.Join("room")
		connected <- s
	})
	// A handler registered after the children exist applies to them too:
	// registered below, once /dyn-1 has been created.
	byFunc := srv.OfFunc(func(name string, auth json.RawMessage) bool {
		return strings.HasPrefix(name, "/fn-") && strings.Contains(string(auth), "letmein")
	})
	byFunc.OnConnection(func(s *Socket) { connected <- s })

	a := connect(t, url, "/dyn-1", "")
	sa := <-connected
	if sa.Namespace().Name() != "/dyn-1" || sa.Namespace().Parent() != parent {
		t.Fatalf("socket in %q, parent %v", sa.Namespace().Name(), sa.Namespace().Parent())
	}
	parent.On("ping", func(s *Socket, e *Event) { _ = e.Ack("pong from " + s.Namespace().Name()) })
	a.send(`42/dyn-1,7["ping"]`)
	if got := a.read(); got != `43/dyn-1,7["pong from /dyn-1"]` {
		t.Fatalf("ack = %q", got)
	}

	b := connect(t, url, "/dyn-2", "")
	<-connected
	if got := len(parent.Children()); got != 2 {
		t.Fatalf("%d children, want 2", got)
	}
	// Each child has rooms of its own.
	if err := srv.Of("/dyn-1").To("room").Emit("only", 1); err != nil {
		t.Fatal(err)
	}
	if got := a.read(); got != `42/dyn-1,["only",1]` {
		t.Fatalf("child broadcast = %q", got)
	}
	b.expectNothing()
	// Emitting on the parent reaches every child, each under its own name.
	if err := parent.To("room").Emit("all"); err != nil {
		t.Fatal(err)
	}
	if got := a.read(); got != `42/dyn-1,["all"]` {
		t.Errorf("parent broadcast at /dyn-1 = %q", got)
	}
	if got := b.read(); got != `42/dyn-2,["all"]` {
		t.Errorf("parent broadcast at /dyn-2 = %q", got)
	}
	if parent.Len() != 2 {
		t.Errorf("parent.Len() = %d", parent.Len())
	}

	// The parent's middlewares run for its children.
	c := dial(t, url)
	c.send(connectPacket("/dyn-3", `{"deny":true}`))
	if got := c.read(); got != `44/dyn-3,{"message":"denied"}` {
		t.Errorf("refusal = %q", got)
	}
	// Names no parent accepts do not exist; a function sees the auth.
	c.send(connectPacket("/dyn-x", ""))
	if got := c.read(); got != `44/dyn-x,{"message":"Invalid namespace"}` {
		t.Errorf("unmatched name = %q", got)
	}
	c.send(connectPacket("/fn-1", `{"k":"nope"}`))
	if got := c.read(); got != `44/fn-1,{"message":"Invalid namespace"}` {
		t.Errorf("function refusal = %q", got)
	}
	c.send(connectPacket("/fn-1", `{"k":"letmein"}`))
	if got := c.read(); !strings.HasPrefix(got, `40/fn-1,{"sid":`) {
		t.Errorf("function acceptance = %q", got)
	}
	select {
	case s := <-connected:
		if s.Namespace().Parent() != byFunc {
			t.Errorf("/fn-1 parent = %v", s.Namespace().Parent())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection on /fn-1")
	}
}

// The zero Options removes empty child namespaces (Node's
// cleanupEmptyChildNamespaces: true), so that clients cannot grow the
// namespace table by trying names.
func TestDynamicNamespaceCleanup(t *testing.T) {
	srv, url := startServer(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/tmp-\d+$`))
	parent.Use(func(s *Socket) error {
		if string(s.Handshake().Auth) == `{"deny":true}` {
			return &ConnectError{Message: "no"}
		}
		return nil
	})
	gone := make(chan struct{}, 4)
	parent.OnDisconnect(func(*Socket, DisconnectReason) { gone <- struct{}{} })

	// A refused client leaves no namespace behind.
	c := dial(t, url)
	c.send(connectPacket("/tmp-1", `{"deny":true}`))
	if got := c.read(); !strings.HasPrefix(got, "44/tmp-1,") {
		t.Fatalf("refusal = %q", got)
	}
	// The refusal is sent before the connect attempt ends: wait a little.
	for deadline := time.Now().Add(2 * time.Second); len(parent.Children()) != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d children after a refusal, want 0", len(parent.Children()))
		}
	}

	a := connect(t, url, "/tmp-2", "")
	b := connect(t, url, "/tmp-2", "")
	if n := len(parent.Children()); n != 1 {
		t.Fatalf("%d children, want 1", n)
	}
	a.send("41/tmp-2,")
	<-gone
	if n := len(parent.Children()); n != 1 {
		t.Fatalf("%d children with one socket left, want 1", n)
	}
	b.send("41/tmp-2,")
	<-gone
	if n := len(parent.Children()); n != 0 {
		t.Fatalf("%d children once empty, want 0", n)
	}
	for _, ns := range srv.Namespaces() {
		if ns.Name() == "/tmp-2" {
			t.Fatal("the empty namespace is still registered")
		}
	}
	// The name works again, as a new namespace.
	connect(t, url, "/tmp-2", "")
	if n := len(parent.Children()); n != 1 {
		t.Fatalf("%d children after reconnecting, want 1", n)
	}
}

// KeepEmptyChildNamespaces is Node's default: an empty child stays, and
// the next client to its name gets the same Namespace.
func TestDynamicNamespaceKeep(t *testing.T) {
	srv, url := startServer(t, &Options{KeepEmptyChildNamespaces: true})
	parent := srv.OfRegexp(regexp.MustCompile(`^/keep-\d+$`))
	gone := make(chan struct{}, 1)
	parent.OnDisconnect(func(*Socket, DisconnectReason) { gone <- struct{}{} })
	a := connect(t, url, "/keep-1", "")
	first := parent.Children()
	a.send("41/keep-1,")
	<-gone
	b := connect(t, url, "/keep-1", "")
	if got := parent.Children(); len(first) != 1 || len(got) != 1 || got[0] != first[0] {
		t.Fatalf("children %v, then %v: want the same namespace kept", first, got)
	}
	b.send("41/keep-1,")
	<-gone
	if n := len(parent.Children()); n != 1 {
		t.Fatalf("%d children once empty, want 1 kept", n)
	}
}

// EmitWithAck on a parent collects the answers of every child's sockets.
func TestDynamicParentEmitWithAck(t *testing.T) {
	srv, url := startServer(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/q-\d$`))
	joined := make(chan struct{}, 2)
	parent.OnConnection(func(*Socket) { joined <- struct{}{} })
	clients := map[string]*rawClient{"/q-1": connect(t, url, "/q-1", ""), "/q-2": connect(t, url, "/q-2", "")}
	<-joined
	<-joined
	type result struct {
		answers []Args
		err     error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := parent.EmitWithAck(ctx, "question")
		done <- result{a, err}
	}()
	for nsp, c := range clients {
		got := c.read() // 42<nsp>,<id>["question"]
		prefix := "42" + nsp + ","
		id, ok := strings.CutSuffix(strings.TrimPrefix(got, prefix), `["question"]`)
		if !strings.HasPrefix(got, prefix) || !ok || id == "" {
			t.Fatalf("%s: got %q", nsp, got)
		}
		c.send("43" + nsp + "," + id + `["from ` + nsp + `"]`)
	}
	r := <-done
	if r.err != nil || len(r.answers) != 2 {
		t.Fatalf("answers %v, err %v", r.answers, r.err)
	}
	seen := map[string]bool{}
	for _, a := range r.answers {
		var s string
		if err := a.Decode(0, &s); err != nil {
			t.Fatal(err)
		}
		seen[s] = true
	}
	if !seen["from /q-1"] || !seen["from /q-2"] {
		t.Errorf("answers %v", seen)
	}
}

// Dynamic namespaces count in their parent's stats, one entry per
// pattern, whatever names clients connect to.
func TestDynamicNamespaceStats(t *testing.T) {
	srv, url := startServer(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/st-\d+$`))
	got := make(chan struct{}, 8)
	parent.On("x", func(*Socket, *Event) { got <- struct{}{} })
	for i := range 3 {
		c := connect(t, url, "/st-"+itoa(i), "")
		c.send("42/st-" + itoa(i) + `,["x"]`)
		<-got
		if i == 0 {
			c.send("41/st-0,") // one child gone: its counts stay
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ps *NamespaceStats
		st := srv.Stats()
		for i, ns := range st.Namespaces {
			if strings.HasPrefix(ns.Name, "/st-") {
				t.Fatalf("child %s listed", ns.Name)
			}
			if ns.Name == parent.Name() {
				ps = &st.Namespaces[i]
			}
		}
		if ps == nil {
			t.Fatal("parent not listed")
		}
		if ps.Pattern != `^/st-\d+$` || ps.Connects != 3 || ps.EventsReceived != 3 {
			t.Fatalf("parent's stats: %+v", *ps)
		}
		if ps.Sockets["websocket"] == 2 && ps.Disconnects[string(ReasonClientNamespaceDisconnect)] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parent's stats: %+v, want 2 sockets and 1 disconnect", *ps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
