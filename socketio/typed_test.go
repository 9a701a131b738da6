package socketio

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTypedHandlerShapes(t *testing.T) {
	srv, url := startServer(t, nil)
	n := srv.Of("/")
	type point struct{ X, Y int }
	Handle(n, "move", func(s *Socket, who string, p point, scale float64) point {
		return point{p.X * int(scale), p.Y * int(scale)}
	})
	Handle(n, "div", func(ctx context.Context, s *Socket, a, b int) (int, error) {
		if ctx.Err() != nil {
			t.Error("handler's context already cancelled")
		}
		if b == 0 {
			return 0, errors.New("division by zero")
		}
		return a / b, nil
	})
	Handle(n, "check", func(s *Socket, ok bool) error {
		if !ok {
			return &AckError{Message: "refused", Data: map[string]int{"code": 7}}
		}
		return nil
	})
	Handle(n, "relay", func(s *Socket, to string, rest Args) {
		_ = s.Emit("relayed", to, rest)
	})
	Handle(n, "count", func(s *Socket, rest Args) int { return rest.Len() })

	c := connect(t, url, "/", "")
	for _, tc := range []struct{ send, want string }{
		{`421["move","bob",{"X":1,"Y":2},3]`, `431[{"X":3,"Y":6}]`},
		{`422["move","bob"]`, `432[{"X":0,"Y":0}]`}, // missing arguments: zero values
		{`423["div",7,2]`, `433[3]`},
		{`424["div",7,0]`, `434[{"message":"division by zero"}]`},
		{`425["div","seven",2]`, `435[{"message":"invalid argument"}]`},
		{`426["check",true]`, `436[]`},
		{`427["check",false]`, `437[{"message":"refused","data":{"code":7}}]`},
		{`42["relay","room",1,"two",{"three":3}]`, `42["relayed","room",1,"two",{"three":3}]`},
		{`428["count",1,2,3]`, `438[3]`},
	} {
		c.send(tc.send)
		if got := c.read(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.send, got, tc.want)
		}
	}
	// No acknowledgement asked: no answer, even for an error.
	c.send(`42["div",1,0]`)
	c.expectNothing()
}

func TestTypedPanicsOnBadShapes(t *testing.T) {
	for _, fn := range []any{
		42,
		func() {},
		func(s string) {},
		func(ctx context.Context) {},
		func(s *Socket, x ...int) {},
		func(s *Socket, a Args, x int) {},
		func(s *Socket) (int, int) { return 0, 0 },
		func(s *Socket) (int, error, bool) { return 0, nil, false },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Typed(%T) did not panic", fn)
				}
			}()
			Typed(fn)
		}()
	}
}

// TestSocketContext: the context is cancelled when the socket disconnects,
// whether it was asked for before or after.
func TestSocketContext(t *testing.T) {
	srv, url := startServer(t, nil)
	ctxs := make(chan context.Context, 1)
	Handle(srv.Of("/"), "work", func(ctx context.Context, s *Socket) { ctxs <- ctx })
	c := connect(t, url, "/", "")
	c.send(`42["work"]`)
	ctx := <-ctxs
	sk := srv.Of("/").Sockets()[0]
	if ctx != sk.Context() || ctx.Err() != nil {
		t.Fatal("want the socket's live context")
	}
	c.send(`41`)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not cancelled on disconnect")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, ErrDisconnected) || !strings.Contains(cause.Error(), string(ReasonClientNamespaceDisconnect)) {
		t.Fatalf("cause = %v", cause)
	}
	if sk.Context().Err() == nil {
		t.Fatal("context still live")
	}

	// Asked for only once the socket has ended.
	late := &Socket{}
	late.end(ReasonTransportClose)
	if late.Context().Err() == nil {
		t.Fatal("context of an ended socket is live")
	}
}

// TestMiddlewareContextEndsOnRefusal: a context a middleware asked for
// ends with the refusal.
func TestMiddlewareContextEndsOnRefusal(t *testing.T) {
	srv, url := startServer(t, nil)
	ctxs := make(chan context.Context, 1)
	srv.Use(func(s *Socket) error {
		ctxs <- s.Context()
		return errors.New("no")
	})
	c := dial(t, url)
	c.send(`40`)
	_ = c.read()
	select {
	case <-(<-ctxs).Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context of a refused socket is live")
	}
}

// TestEmitWithAckTimeoutErrors: a single socket's EmitWithAck reports a
// timeout as ErrAckTimeout and as the context's error; called from the
// client's own handler, it says why the answer could not come.
func TestEmitWithAckTimeoutErrors(t *testing.T) {
	var logs syncBuffer
	srv, url := startServer(t, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	errs := make(chan error, 1)
	srv.On("ask", func(s *Socket, e *Event) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := s.EmitWithAck(ctx, "question") // the trap: it cannot be answered
		errs <- err
	})
	c := connect(t, url, "/", "")
	sk := srv.Of("/").Sockets()[0]

	// Outside any handler: a plain timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := sk.EmitWithAck(ctx, "ignored")
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errHandlerBlocked) {
		t.Fatalf("err = %v", err)
	}
	_ = c.read() // the ignored event

	c.send(`42["ask"]`)
	q := c.read() // 42<id>["question"]: answered at once, but not read in time
	c.send("43" + strings.TrimSuffix(strings.TrimPrefix(q, "42"), `["question"]`) + "[]")
	err = <-errs
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errHandlerBlocked) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "EmitWithAckFunc") {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}

// TestEmitWithAckFunc: the callback form works inside the client's own
// handler, and reports timeouts and disconnections once.
func TestEmitWithAckFunc(t *testing.T) {
	srv, url := startServer(t, nil)
	type result struct {
		answer string
		err    error
	}
	results := make(chan result, 4)
	srv.On("ask", func(s *Socket, e *Event) {
		err := s.EmitWithAckFunc(context.Background(), "question", func(a Args, err error) {
			var answer string
			if err == nil {
				err = a.Decode(0, &answer)
			}
			results <- result{answer, err}
		}, "?")
		if err != nil {
			t.Error(err)
		}
	})
	c := connect(t, url, "/", "")
	c.send(`42["ask"]`)
	q := c.read()
	id := strings.TrimSuffix(strings.TrimPrefix(q, "42"), `["question","?"]`)
	c.send("43" + id + `["yes"]`)
	if r := <-results; r.err != nil || r.answer != "yes" {
		t.Fatalf("answer: %+v", r)
	}

	sk := srv.Of("/").Sockets()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := sk.EmitWithAckFunc(ctx, "ignored", func(a Args, err error) { results <- result{"", err} }); err != nil {
		t.Fatal(err)
	}
	if r := <-results; !errors.Is(r.err, ErrAckTimeout) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %+v", r)
	}
	_ = c.read()

	if err := sk.EmitWithAckFunc(context.Background(), "pending", func(a Args, err error) { results <- result{"", err} }); err != nil {
		t.Fatal(err)
	}
	_ = c.read()
	c.send(`41`)
	if r := <-results; !errors.Is(r.err, ErrDisconnected) {
		t.Fatalf("disconnect: %+v", r)
	}
	select {
	case r := <-results:
		t.Fatalf("callback called twice: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	if err := sk.EmitWithAckFunc(context.Background(), "late", func(Args, error) { t.Error("called") }); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("on a disconnected socket: %v", err)
	}
}

func TestLeaveSeveralRooms(t *testing.T) {
	srv, url := startServer(t, nil)
	connect(t, url, "/", "")
	sk := srv.Of("/").Sockets()[0]
	_ = sk.Join("a", "b", "c")
	sk.Leave("a", "c", "never-joined")
	rooms := sk.Rooms()
	if len(rooms) != 2 || !slices.Contains(rooms, "b") || !slices.Contains(rooms, sk.ID()) {
		t.Fatalf("rooms = %v", rooms)
	}
}
