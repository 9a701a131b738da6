package socketio

import (
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
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

func TestLimitNamespacesPerClient(t *testing.T) {
	srv, url := startServer(t, &Options{Limits: Limits{MaxNamespacesPerClient: 2}})
	srv.OfRegexp(regexp.MustCompile(`^/d-\d+$`))
	c := connect(t, url, "/", "")
	c.send("40/d-1,")
	if got := c.read(); !strings.HasPrefix(got, `40/d-1,{"sid":`) {
		t.Fatalf("second namespace: %q", got)
	}
	c.send("40/d-2,")
	if got := c.read(); got != `44/d-2,{"message":"too many namespaces"}` {
		t.Fatalf("third namespace: %q", got)
	}
	c.send("41/d-1,")
	c.send("40/d-2,")
	if got := c.read(); !strings.HasPrefix(got, `40/d-2,{"sid":`) {
		t.Fatalf("after leaving one: %q", got)
	}
	if got := srv.Stats().Rejections[LimitMaxNamespacesPerClient]; got != 1 {
		t.Fatalf("rejections: %d, want 1", got)
	}
}

func TestLimitNamespaceConnectRate(t *testing.T) {
	srv, url := startServer(t, &Options{Limits: Limits{NamespaceConnectsPerSecond: 0.001, NamespaceConnectBurst: 2}})
	srv.Of("/a")
	c := connect(t, url, "/", "") // the first token
	c.send("40/a,")
	if got := c.read(); !strings.HasPrefix(got, `40/a,{"sid":`) {
		t.Fatalf("second CONNECT: %q", got)
	}
	c.send("41/a,")
	c.send("40/a,")
	if got := c.read(); got != `44/a,{"message":"rate limit exceeded"}` {
		t.Fatalf("third CONNECT: %q", got)
	}
	c.send(`42["still here"]`) // connected in "/"
	c.expectNothing()
	if got := srv.Stats().Rejections[LimitNamespaceConnectsPerSecond]; got != 1 {
		t.Fatalf("rejections: %d, want 1", got)
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	for i := range 3 {
		if !b.allow(now, 2, 3) {
			t.Fatalf("token %d of the burst refused", i)
		}
	}
	if b.allow(now, 2, 3) {
		t.Fatal("token past the burst allowed")
	}
	if !b.allow(now.Add(500*time.Millisecond), 2, 3) || b.allow(now.Add(500*time.Millisecond), 2, 3) {
		t.Fatal("want one token after 0.5s at 2/s")
	}
	got := 0
	for b.allow(now.Add(time.Hour), 2, 3) {
		got++
	}
	if got != 3 {
		t.Fatalf("after an hour: %d tokens, want the burst, 3", got)
	}
}

func TestLimitBinaryPacketPayload(t *testing.T) {
	srv, url := startServer(t, &Options{Engine: engineio.Options{MaxPayload: 1000}})
	got := make(chan int, 1)
	srv.Of("/").On("x", func(s *Socket, e *Event) { got <- len(e.Args.Attachments()) })
	c := connect(t, url, "/", "")
	header := `452-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
	text := len(header) - 1 // the Socket.IO packet, without the Engine.IO type
	c.send(header)
	c.sendBinary(make([]byte, 500))
	c.sendBinary(make([]byte, 1000-500-text)) // exactly max_payload in all
	select {
	case n := <-got:
		if n != 2 {
			t.Fatalf("%d arguments, want 2", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("packet of max_payload bytes not delivered")
	}
	c.send(header)
	c.sendBinary(make([]byte, 500))
	c.sendBinary(make([]byte, 1000-500-text+1))
	c.expectClosed()
	if got := srv.Stats().Rejections[LimitMaxPayload]; got != 1 {
		t.Fatalf("rejections: %d, want 1", got)
	}
}

func TestCompact(t *testing.T) {
	big := make([]byte, 10, 10000)
	if c := compact(big[:1]); cap(c) > 64 {
		t.Fatalf("a 1-byte slice of a 10 kB array kept it (cap %d)", cap(c))
	}
	small := make([]byte, 100)
	if c := compact(small); &c[0] != &small[0] {
		t.Fatal("a slice using its array was copied")
	}
}

// The client's sockets, indexed past indexFrom, stay consistent as
// namespaces come and go.
func TestClientSocketIndex(t *testing.T) {
	c := &client{}
	var socks []*Socket
	for i := range 3 * indexFrom {
		s := &Socket{nsp: &Namespace{name: "/n" + itoa(i)}, handshake: &Handshake{Auth: []byte("{}")}}
		socks = append(socks, s)
		c.add(s)
	}
	for i, s := range socks {
		if i%2 == 0 {
			c.remove(s)
		}
	}
	if want := int64(len(socks)/2) * 2; c.authBytes != want {
		t.Fatalf("authBytes %d, want %d", c.authBytes, want)
	}
	for i, s := range socks {
		got, want := c.socket("/n"+itoa(i)), s
		if i%2 == 0 {
			want = nil
		}
		if got != want {
			t.Fatalf("socket %d: %p, want %p", i, got, want)
		}
	}
}

// BenchmarkClientSocket measures the per-packet namespace lookup.
func BenchmarkClientSocket(b *testing.B) {
	for _, n := range []int{1, indexFrom, indexFrom + 1, 100} {
		b.Run(itoa(n), func(b *testing.B) {
			c := &client{}
			for i := range n {
				c.add(&Socket{nsp: &Namespace{name: "/namespace-" + itoa(i)}, handshake: &Handshake{}})
			}
			name := "/namespace-" + itoa(n-1) // the last: the scan's worst case
			b.ReportAllocs()
			for b.Loop() {
				if c.socket(name) == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}

// The CONNECT payloads a connection's sockets keep (their auth) are
// bounded by max_payload in all.
func TestLimitAuthBytes(t *testing.T) {
	srv, url := startServer(t, &Options{Engine: engineio.Options{MaxPayload: 1000}})
	srv.Of("/a")
	srv.Of("/b")
	auth := `{"x":"` + strings.Repeat("x", 600) + `"}`
	c := connect(t, url, "/", auth)
	c.send("40/a," + auth)
	if got := c.read(); got != `44/a,{"message":"auth payload too large"}` {
		t.Fatalf("second 600-byte auth: %q", got)
	}
	c.send(`40/a,{"x":1}`)
	if got := c.read(); !strings.HasPrefix(got, `40/a,{"sid":`) {
		t.Fatalf("small auth: %q", got)
	}
	c.send("41") // leaving "/" gives its auth's bytes back
	c.send("40/b," + auth)
	if got := c.read(); !strings.HasPrefix(got, `40/b,{"sid":`) {
		t.Fatalf("600-byte auth after leaving /: %q", got)
	}
	if got := srv.Stats().Rejections[LimitMaxPayload]; got != 1 {
		t.Fatalf("rejections: %d, want 1", got)
	}
}

// With MaxRoomsPerSocket set, a socket's room names are bounded by
// max_payload in all.
func TestLimitRoomNameBytes(t *testing.T) {
	srv, url := startServer(t, &Options{Engine: engineio.Options{MaxPayload: 1000}, Limits: Limits{MaxRoomsPerSocket: 100}})
	srv.Of("/").On("join", func(s *Socket, e *Event) {
		var r string
		_ = e.Args.Decode(0, &r)
		_ = e.Ack(s.Join(r) == nil)
	})
	srv.Of("/").On("leave", func(s *Socket, e *Event) {
		var r string
		_ = e.Args.Decode(0, &r)
		s.Leave(r)
		_ = e.Ack(true)
	})
	c := connect(t, url, "/", "")
	a, b := strings.Repeat("a", 600), strings.Repeat("b", 600)
	for i, step := range []struct{ ev, room, want string }{
		{"join", a, "true"},
		{"join", b, "false"},
		{"join", a, "true"}, // already in: costs nothing
		{"leave", a, "true"},
		{"join", b, "true"},
	} {
		c.send(`42` + itoa(i) + `["` + step.ev + `","` + step.room + `"]`)
		if got, want := c.read(), `43`+itoa(i)+`[`+step.want+`]`; got != want {
			t.Fatalf("step %d, %s %c...: %q, want %q", i, step.ev, step.room[0], got, want)
		}
	}
}

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

// The zero Limits bounds every input with the defaults; NoLimit lifts a
// limit, here the room count.
func TestZeroLimitsAndNoLimit(t *testing.T) {
	if got := NewServer(nil).opts.Limits; got != DefaultLimits() {
		t.Fatalf("zero Limits became %+v, want %+v", got, DefaultLimits())
	}
	for _, tc := range []struct {
		lim  Limits
		want error
	}{
		{Limits{}, ErrTooManyRooms},
		{Limits{MaxRoomsPerSocket: NoLimit}, nil},
	} {
		srv, url := startServer(t, &Options{Limits: tc.lim})
		errs := make(chan error, 1)
		srv.Of("/").OnConnection(func(s *Socket) {
			rooms := make([]string, DefaultMaxRoomsPerSocket+1)
			for i := range rooms {
				rooms[i] = "r" + itoa(i)
			}
			errs <- s.Join(rooms...)
		})
		connect(t, url, "/", "")
		if err := <-errs; !errors.Is(err, tc.want) {
			t.Fatalf("%+v: joining %d rooms: %v, want %v", tc.lim, DefaultMaxRoomsPerSocket+1, err, tc.want)
		}
	}
	lifted := NewServer(&Options{Limits: Limits{EventsPerSecond: NoLimit, NamespaceConnectsPerSecond: NoLimit, MaxNamespacesPerClient: NoLimit}}).opts.Limits
	if lifted.newEventLimiter() != nil || lifted.NamespaceConnectsPerSecond > 0 || lifted.MaxNamespacesPerClient > 0 {
		t.Fatalf("NoLimit did not lift the limits: %+v", lifted)
	}
}
