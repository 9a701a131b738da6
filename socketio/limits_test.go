package socketio

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLimitEventRate(t *testing.T) {
	srv, url := startServer(t, &Options{Limits: Limits{EventsPerSecond: 0.001, EventBurst: 3}})
	srv.Of("/").On("ping", func(s *Socket, e *Event) { _ = e.Ack("pong") })
	c := connect(t, url, "/", "")
	for i := 1; i <= 3; i++ {
		c.send(`42` + itoa(i) + `["ping"]`)
		if got := c.read(); got != `43`+itoa(i)+`["pong"]` {
			t.Fatalf("event %d within the burst: got %q", i, got)
		}
	}
	// Over the rate: dropped, and an ack request gets the error ack.
	c.send(`424["ping"]`)
	if got := c.read(); got != `434[{"message":"rate limit exceeded"}]` {
		t.Fatalf("over the rate: got %q", got)
	}
	c.send(`42["ping"]`) // no ack asked: silently dropped
	c.expectNothing()
	// The bucket is per socket: another client is unaffected.
	d := connect(t, url, "/", "")
	d.send(`429["ping"]`)
	if got := d.read(); got != `439["pong"]` {
		t.Fatalf("other client: got %q", got)
	}
}

func TestLimitRoomsPerSocket(t *testing.T) {
	srv, url := startServer(t, &Options{Limits: Limits{MaxRoomsPerSocket: 2}})
	errs := make(chan error, 4)
	srv.Of("/").On("join", func(s *Socket, e *Event) {
		var rooms []string
		for i := range e.Args.Len() {
			var r string
			_ = e.Args.Decode(i, &r)
			rooms = append(rooms, r)
		}
		errs <- s.Join(rooms...)
		_ = e.Ack(len(s.Rooms()))
	})
	c := connect(t, url, "/", "")
	join := func(id string, rooms string, want int, wantErr error) {
		t.Helper()
		c.send(`42` + id + `["join",` + rooms + `]`)
		if got := c.read(); got != `43`+id+`[`+itoa(want)+`]` {
			t.Fatalf("join %s: ack %q, want %d rooms", rooms, got, want)
		}
		if err := <-errs; !errors.Is(err, wantErr) {
			t.Fatalf("join %s: %v, want %v", rooms, err, wantErr)
		}
	}
	join("1", `"a","a"`, 2, nil)         // own room + a
	join("2", `"a","b"`, 3, nil)         // a again costs nothing
	join("3", `"c"`, 3, ErrTooManyRooms) // refused whole
	join("4", `"b"`, 3, nil)
}

func TestLimitJSONDepth(t *testing.T) {
	srv, url := startServer(t, &Options{Limits: Limits{MaxJSONDepth: 8}})
	srv.Of("/").On("x", func(s *Socket, e *Event) { _ = e.Ack("ok") })
	c := connect(t, url, "/", "")
	// ["x", [[[[[[[1]]]]]]]]: depth 8 (the outer array counts).
	c.send(`421["x",` + strings.Repeat("[", 7) + "1" + strings.Repeat("]", 7) + `]`)
	if got := c.read(); got != `431["ok"]` {
		t.Fatalf("depth 8: got %q", got)
	}
	// Brackets inside strings do not count.
	c.send(`422["x","` + strings.Repeat("[{", 50) + `"]`)
	if got := c.read(); got != `432["ok"]` {
		t.Fatalf("brackets in a string: got %q", got)
	}
	c.send(`423["x",` + strings.Repeat("[", 8) + "1" + strings.Repeat("]", 8) + `]`)
	c.expectClosed()
}

func TestLimitAttachments(t *testing.T) {
	_, url := startServer(t, &Options{Limits: Limits{MaxAttachments: 2}})
	c := connect(t, url, "/", "")
	c.send(`453-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`)
	c.expectClosed()

	// The default: 10, and a huge announced count is refused at once
	// (nothing waits for a million attachments).
	_, url = startServer(t, nil)
	c = connect(t, url, "/", "")
	c.send(`451000000-["x",{"_placeholder":true,"num":0}]`)
	c.expectClosed()
}

func TestJSONTooDeep(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit int
		want  bool
	}{
		{`[1]`, 1, false},
		{`[[1]]`, 1, true},
		{`{"a":[{"b":1}]}`, 3, false},
		{`{"a":[{"b":[]}]}`, 3, true},
		{`["]]]]\"[[[["]`, 1, false},
		{`[[],[],[]]`, 2, false},
	} {
		if got := jsonTooDeep([]byte(tt.in), tt.limit); got != tt.want {
			t.Errorf("jsonTooDeep(%s, %d) = %v", tt.in, tt.limit, got)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// A middleware's ConnectError with CloseConnection is sent, then the
// connection closes: the client cannot retry on it.
func TestConnectErrorClosesConnection(t *testing.T) {
	srv, url := startServer(t, nil)
	srv.Of("/locked").Use(func(s *Socket) error {
		return &ConnectError{Message: "go away", CloseConnection: true}
	})
	c := dial(t, url)
	c.send(connectPacket("/locked", ""))
	if got := c.read(); got != `44/locked,{"message":"go away"}` {
		t.Fatalf("refusal = %q", got)
	}
	for {
		_, _, err := c.readFrame(5 * time.Second)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection still open 5s after the refusal")
		}
		break
	}
}
