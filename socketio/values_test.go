package socketio

import "testing"

func TestSocketValues(t *testing.T) {
	type keyA struct{}
	type keyB struct{}
	s := &Socket{}
	if s.Value(keyA{}) != nil {
		t.Fatal("value before any SetValue")
	}
	s.SetValue(keyA{}, 1)
	s.SetValue(keyB{}, "b")
	s.SetData("data")
	if s.Value(keyA{}) != 1 || s.Value(keyB{}) != "b" || s.Data() != "data" {
		t.Fatalf("values = %v %v %v", s.Value(keyA{}), s.Value(keyB{}), s.Data())
	}
	s.SetValue(keyA{}, nil)
	if s.Value(keyA{}) != nil || len(s.values) != 1 {
		t.Fatalf("after removal: %v", s.values)
	}
}

func TestOnUnhandled(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	got := make(chan string, 2)
	n.On("known", func(s *Socket, e *Event) { got <- "handler:" + e.Name })
	n.OnUnhandled(func(s *Socket, e *Event) { got <- "unhandled:" + e.Name })
	if !n.Handles("known") || n.Handles("other") {
		t.Fatal("Handles")
	}
	c := dial(t, url)
	c.send(`40`)
	c.read()
	c.send(`42["other",1]`)
	c.send(`42["known"]`)
	for _, want := range []string{"unhandled:other", "handler:known"} {
		if g := <-got; g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
}
