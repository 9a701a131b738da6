package socketio

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

func TestConnectAndHandshake(t *testing.T) {
	srv, url := startServer(t, nil)
	got := make(chan *Handshake, 1)
	srv.Of("/").OnConnection(func(s *Socket) { got <- s.Handshake() })
	c := dial(t, url+"&x=1")
	c.send(`40{"token":"abc"}`)
	if ans := c.read(); !strings.HasPrefix(ans, `40{"sid":"`) {
		t.Fatalf("connect answer %q", ans)
	}
	hs := <-got
	var auth struct{ Token string }
	if err := hs.AuthInto(&auth); err != nil || auth.Token != "abc" {
		t.Fatalf("auth = %+v, %v", auth, err)
	}
	if hs.Query.Get("x") != "1" || hs.Address == "" || hs.Time.IsZero() {
		t.Fatalf("handshake = %+v", hs)
	}
}

func TestInvalidNamespace(t *testing.T) {
	_, url := startServer(t, nil)
	c := dial(t, url)
	c.send(`40/nope,`)
	if got := c.read(); got != `44/nope,{"message":"Invalid namespace"}` {
		t.Fatalf("got %q", got)
	}
}

func TestMiddlewareRefuses(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/private")
	n.Use(func(s *Socket) error {
		var auth struct{ Token string }
		_ = s.Handshake().AuthInto(&auth)
		if auth.Token != "good" {
			return &ConnectError{Message: "not authorized", Data: map[string]string{"hint": "token"}}
		}
		return nil
	})
	c := dial(t, url)
	c.send(`40/private,{"token":"bad"}`)
	if got := c.read(); got != `44/private,{"message":"not authorized","data":{"hint":"token"}}` {
		t.Fatalf("got %q", got)
	}
	c.send(`40/private,{"token":"good"}`)
	if got := c.read(); !strings.HasPrefix(got, `40/private,{"sid":`) {
		t.Fatalf("got %q", got)
	}
}

func TestConnectTimeout(t *testing.T) {
	_, url := startServer(t, &Options{ConnectTimeout: 100 * time.Millisecond})
	c := dial(t, url)
	c.expectClosed()
}

func TestTypedHandlers(t *testing.T) {
	srv, url := startServer(t, nil)
	type sum struct{ A, B int }
	OnAck(srv.Of("/"), "sum", func(s *Socket, in sum) int { return in.A + in.B })
	On(srv.Of("/"), "shout", func(s *Socket, text string) { _ = s.Emit("shouted", strings.ToUpper(text)) })
	c := connect(t, url, "/", "")
	c.send(`427["sum",{"A":2,"B":3}]`)
	if got := c.read(); got != `437[5]` {
		t.Fatalf("ack = %q", got)
	}
	c.send(`42["shout","hi"]`)
	if got := c.read(); got != `42["shouted","HI"]` {
		t.Fatalf("got %q", got)
	}
	c.send(`428["sum","not an object"]`)
	if got := c.read(); got != `438[{"error":"invalid argument"}]` {
		t.Fatalf("bad argument ack = %q", got)
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	srv, url := startServer(t, nil)
	srv.Of("/").On("file", func(s *Socket, e *Event) {
		var meta struct {
			Name string
			Data []byte
		}
		if err := e.Decode(0, &meta); err != nil {
			t.Error(err)
		}
		raw, _ := e.Bytes(1)
		_ = e.Ack(meta.Name, meta.Data, raw, e.Args) // relay with renumbering
	})
	c := connect(t, url, "/", "")
	c.send(`452-1["file",{"Name":"a","Data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2})
	c.sendBinary([]byte{3})
	want := `464-1["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"Data":{"_placeholder":true,"num":2},"Name":"a"},{"_placeholder":true,"num":3}]`
	if got := c.read(); got != want {
		t.Fatalf("ack =\n%s\nwant\n%s", got, want)
	}
	for i, want := range []string{"\x01\x02", "\x03", "\x01\x02", "\x03"} {
		if got := c.readBinary(); string(got) != want {
			t.Fatalf("attachment %d = %x", i, got)
		}
	}
}

func TestRoomsBroadcast(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	sockets := make(chan *Socket, 4)
	n.OnConnection(func(s *Socket) { sockets <- s })
	// One at a time: OnConnection may run after the client has its
	// CONNECT answer, so three connects then three receives could pair a
	// client with another's socket.
	a := connect(t, url, "/", "")
	sa := <-sockets
	b := connect(t, url, "/", "")
	sb := <-sockets
	c := connect(t, url, "/", "")
	sc := <-sockets
	sa.Join("red", "blue")
	sb.Join("red")
	sc.Join("green")

	// Union of rooms, each socket once.
	_ = n.To("red", "blue").Emit("m", 1)
	a.read()
	b.read()
	a.expectNothing()
	c.expectNothing()

	// Except.
	_ = n.To("red").Except("blue").Emit("m", 2)
	if got := b.read(); got != `42["m",2]` {
		t.Fatalf("b got %q", got)
	}
	a.expectNothing()

	// From a socket: everyone in the room but the sender.
	_ = sa.To("red").Emit("m", 3)
	b.read()
	a.expectNothing()

	// A socket's own room is its id.
	_ = n.To(sc.ID()).Emit("m", 4)
	if got := c.read(); got != `42["m",4]` {
		t.Fatalf("c got %q", got)
	}

	if got := sa.Rooms(); len(got) != 3 || got[0] != sa.ID() {
		t.Fatalf("rooms of a = %v", got)
	}
	sa.Leave("red")
	if n.Adapter().RoomSize("red") != 1 {
		t.Fatalf("red has %d members", n.Adapter().RoomSize("red"))
	}
	if rooms := n.Adapter().Rooms(); strings.Join(rooms, ",") != "blue,green,red" {
		t.Fatalf("rooms = %v", rooms)
	}
}

func TestEmitWithAck(t *testing.T) {
	srv, url := startServer(t, nil)
	sockets := make(chan *Socket, 1)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	c := connect(t, url, "/", "")
	s := <-sockets

	type result struct {
		args Args
		err  error
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := s.EmitWithAck(ctx, "question", "?")
		res <- result{a, err}
	}()
	got := c.read() // 42<id>["question","?"]
	id := strings.TrimSuffix(strings.TrimPrefix(got, "42"), `["question","?"]`)
	c.send("43" + id + `["answer",42]`)
	r := <-res
	var word string
	var num int
	if r.err != nil || r.args.Bind(&word, &num) != nil || word != "answer" || num != 42 {
		t.Fatalf("ack = %+v", r)
	}

	// No answer: the context decides.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "ignored"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestBroadcastWithAck(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	a, b := connect(t, url, "/", ""), connect(t, url, "/", "")
	done := make(chan []Args, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		answers, err := n.EmitWithAck(ctx, "poll")
		if err != nil {
			t.Error(err)
		}
		done <- answers
	}()
	for i, c := range []*rawClient{a, b} {
		got := c.read()
		id := strings.TrimSuffix(strings.TrimPrefix(got, "42"), `["poll"]`)
		c.send("43" + id + "[" + string(rune('1'+i)) + "]")
	}
	if answers := <-done; len(answers) != 2 {
		t.Fatalf("answers = %d", len(answers))
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	var mu sync.Mutex
	reasons := make(chan DisconnectReason, 4)
	sockets := make(chan *Socket, 4)
	n.OnConnection(func(s *Socket) { sockets <- s })
	n.OnDisconnect(func(s *Socket, reason DisconnectReason) {
		mu.Lock()
		defer mu.Unlock()
		if s.Connected() {
			t.Error("socket still connected in OnDisconnect")
		}
		reasons <- reason
	})

	c1 := connect(t, url, "/", "")
	<-sockets
	c1.send("41")
	if r := <-reasons; r != ReasonClientNamespaceDisconnect {
		t.Fatalf("reason = %q", r)
	}

	c2 := connect(t, url, "/", "")
	s2 := <-sockets
	s2.Disconnect(false)
	if got := c2.read(); got != "41" {
		t.Fatalf("client got %q, want a DISCONNECT packet", got)
	}
	if r := <-reasons; r != ReasonServerNamespaceDisconnect {
		t.Fatalf("reason = %q", r)
	}

	c3 := connect(t, url, "/", "")
	<-sockets
	c3.conn.Close()
	if r := <-reasons; r != "transport close" {
		t.Fatalf("reason = %q", r)
	}

	c4 := connect(t, url, "/", "")
	<-sockets
	c4.send(`42{"not":"an array"}`)
	if r := <-reasons; r != ReasonParseError {
		t.Fatalf("reason = %q", r)
	}
	c4.expectClosed()
}

func TestPanicInHandlerIsContained(t *testing.T) {
	srv, url := startServer(t, nil)
	srv.Of("/").On("boom", func(s *Socket, e *Event) { panic("kaboom") })
	srv.Of("/").On("ping", func(s *Socket, e *Event) { _ = e.Ack("pong") })
	c := connect(t, url, "/", "")
	c.send(`421["boom"]`)
	if got := c.read(); got != `431[{"message":"internal server error"}]` {
		t.Fatalf("got %q", got)
	}
	c.send(`422["ping"]`)
	if got := c.read(); got != `432["pong"]` {
		t.Fatalf("got %q", got)
	}
}

func TestMultiplexedNamespaces(t *testing.T) {
	srv, url := startServer(t, nil)
	srv.Of("/a").On("who", func(s *Socket, e *Event) { _ = e.Ack("a") })
	srv.Of("/b").On("who", func(s *Socket, e *Event) { _ = e.Ack("b") })
	c := connect(t, url, "/a", "")
	c.send("40/b,")
	if got := c.read(); !strings.HasPrefix(got, "40/b,") {
		t.Fatalf("got %q", got)
	}
	c.send(`42/b,1["who"]`)
	if got := c.read(); got != `43/b,1["b"]` {
		t.Fatalf("got %q", got)
	}
	c.send(`42/a,2["who"]`)
	if got := c.read(); got != `43/a,2["a"]` {
		t.Fatalf("got %q", got)
	}
}

func TestServerCloseDisconnectsWithReason(t *testing.T) {
	srv, url := startServer(t, nil)
	reasons := make(chan DisconnectReason, 1)
	srv.Of("/").OnDisconnect(func(s *Socket, reason DisconnectReason) { reasons <- reason })
	c := connect(t, url, "/", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != ReasonServerShuttingDown {
		t.Fatalf("reason = %q", r)
	}
	c.expectClosed()
}

// A graceful shutdown lets the handlers in progress send their acks, and
// waits for the acks the server awaits from clients, before it disconnects
// anyone; meanwhile new connections are refused.
func TestCloseDrainsAcks(t *testing.T) {
	srv, url := startServer(t, nil)
	started := make(chan struct{})
	srv.Of("/").On("slow", func(s *Socket, e *Event) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_ = e.Ack("done")
	})
	asked := make(chan string, 1)
	srv.Of("/").On("ask-me", func(s *Socket, e *Event) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "question")
			if err != nil {
				asked <- "error: " + err.Error()
				return
			}
			var v string
			_ = answer.Decode(0, &v)
			asked <- v
		}()
	})
	c := connect(t, url, "/", "")
	c.send(`42["ask-me"]`)
	q := c.read()
	if !strings.HasPrefix(q, `42`) || !strings.HasSuffix(q, `["question"]`) {
		t.Fatalf("question: %q", q)
	}
	ackID := strings.TrimSuffix(strings.TrimPrefix(q, "42"), `["question"]`)
	c.send(`421["slow"]`)
	<-started

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- srv.Close(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	// Refused while draining.
	if c, err := wsclient.DialContext(context.Background(), url, nil); err == nil {
		c.Close()
		t.Error("new connection accepted during shutdown")
	}
	// The handler in progress gets its ack out.
	if got := c.read(); got != `431["done"]` {
		t.Fatalf("ack of the handler in progress: %q", got)
	}
	// The client answers the server's question late: still received.
	time.Sleep(100 * time.Millisecond)
	c.send(`43` + ackID + `["answer"]`)
	if got := <-asked; got != "answer" {
		t.Fatalf("server's EmitWithAck during shutdown: %q", got)
	}
	c.expectClosed()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Session and socket ids are credentials of a sort (a polling session id is
// all it takes to act as its client): they are never logged at info level
// or above, whatever happens.
func TestIDsNotLoggedAtInfo(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, url := startServer(t, &Options{Logger: log})
	srv.Of("/").On("boom", func(s *Socket, e *Event) { panic("kaboom") })
	ids := make(chan string, 4)
	srv.Of("/").OnConnection(func(s *Socket) { ids <- s.ID(); ids <- s.client.conn.ID() })
	c := connect(t, url, "/", "")
	c.send(`421["boom"]`)
	_ = c.read()
	c.send(`42[`) // malformed: the connection is closed
	c.expectClosed()
	d := connect(t, url, "/", "")
	d.send("41") // disconnect
	got := buf.String()
	if !strings.Contains(got, "panic in event handler") {
		t.Fatalf("the panic was not logged: %q", got)
	}
	for deadline := time.Now().Add(5 * time.Second); len(ids) < 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d ids collected, want 4", len(ids))
		}
	}
	for len(ids) > 0 {
		if id := <-ids; strings.Contains(got, id) {
			t.Fatalf("id %s logged at info level or above:\n%s", id, got)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestLooksLikeSocketID: every id the server makes has the shape, legacy
// ids of other namespaces included, and room names with any other
// character or length do not.
func TestLooksLikeSocketID(t *testing.T) {
	srv := NewServer(nil)
	root, chat := srv.Of("/"), srv.Of("/chat")
	for range 1000 {
		id := newSocketID()
		if !root.LooksLikeSocketID(id) || !chat.LooksLikeSocketID(id) {
			t.Fatalf("socket id %q not recognised", id)
		}
		if !root.LooksLikeSocketID(legacySocketID("/", id)) || !chat.LooksLikeSocketID(legacySocketID("/chat", id)) {
			t.Fatalf("legacy socket id of %q not recognised", id)
		}
	}
	for _, room := range []string{
		"", "lobby", "user:alice", "dm:alice:bob", "game:1", "public:lobby",
		"abcdefghijklmnopqrs", "abcdefghijklmnopqrstu", "abcdefghijklmnopqrs:", "abcdefghijklmnopqrs=",
		"abcdefghijklmnopqr s", "/chat#abcdefghijklmnopqrs", "/other#abcdefghijklmnopqrst",
	} {
		if chat.LooksLikeSocketID(room) {
			t.Errorf("%q taken for a socket id", room)
		}
	}
	if root.LooksLikeSocketID("/chat#abcdefghijklmnopqrst") {
		t.Error("a legacy id of /chat taken for one of /")
	}
}

// The Server's shortcuts act on the main namespace, as the reference's
// io.use, io.on("connection"), io.to(room).emit and io.emit.
func TestServerShortcutsMainNamespace(t *testing.T) {
	srv, url := startServer(t, nil)
	srv.Use(func(s *Socket) error {
		if s.Handshake().Query.Get("ok") != "1" {
			return errors.New("refused by the server's middleware")
		}
		return nil
	})
	joined := make(chan struct{}, 1)
	srv.OnConnection(func(s *Socket) { _ = s.Join("r"); joined <- struct{}{} })
	c := dial(t, url+"&ok=1")
	c.send("40")
	if got := c.read(); !strings.HasPrefix(got, `40{"sid":"`) {
		t.Fatalf("connect: %q", got)
	}
	<-joined
	if err := srv.To("r").Emit("to-room", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emit("to-all", 2); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`42["to-room",1]`, `42["to-all",2]`} {
		if got := c.read(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	socks, err := srv.FetchSockets(context.Background())
	if err != nil || len(socks) != 1 {
		t.Fatalf("FetchSockets: %d sockets, %v", len(socks), err)
	}
	refused := dial(t, url)
	refused.send("40")
	if got := refused.read(); got != `44{"message":"refused by the server's middleware"}` {
		t.Fatalf("without ok=1: %q", got)
	}
}
