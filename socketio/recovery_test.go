package socketio

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// connectReply connects to "/" with auth and returns the CONNECT reply's
// sid and pid.
func recConnect(t *testing.T, url, auth string) (c *rawClient, sid, pid string) {
	t.Helper()
	c = dial(t, url)
	c.send("40" + auth)
	got := c.read()
	var reply struct{ SID, PID string }
	if !strings.HasPrefix(got, "40{") || json.Unmarshal([]byte(got[2:]), &reply) != nil {
		t.Fatalf("connect answer = %q", got)
	}
	return c, reply.SID, reply.PID
}

// readEvent reads an EVENT and returns its name, arguments and offset (its
// last argument).
func readEvent(t *testing.T, c *rawClient) (name string, args []any, offset string) {
	t.Helper()
	got := c.read()
	var arr []any
	if !strings.HasPrefix(got, "42[") || json.Unmarshal([]byte(got[2:]), &arr) != nil || len(arr) < 2 {
		t.Fatalf("want an event with an offset, got %q", got)
	}
	off, ok := arr[len(arr)-1].(string)
	if !ok {
		t.Fatalf("no offset in %q", got)
	}
	return arr[0].(string), arr[1 : len(arr)-1], off
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func recoveryServer(t *testing.T, ro RecoveryOptions) (*Server, string, chan *Socket) {
	srv, url := startServer(t, &Options{ConnectionStateRecovery: &ro})
	conns := make(chan *Socket, 16)
	srv.Of("/").OnConnection(func(s *Socket) {
		if !s.Recovered() {
			_ = s.Join("room")
			s.SetData("data of " + s.ID())
		}
		conns <- s
	})
	return srv, url, conns
}

func TestRecoveryRestoresSocket(t *testing.T) {
	srv, url, conns := recoveryServer(t, RecoveryOptions{})
	var mwCalls atomic.Int32
	nsp := srv.Of("/")
	nsp.Use(func(*Socket) error { mwCalls.Add(1); return nil })
	c, sid, pid := recConnect(t, url, `{"token":"t1"}`)
	first := <-conns
	if pid == "" || sid != first.ID() || first.Recovered() {
		t.Fatalf("sid %q pid %q (socket %q, recovered %v)", sid, pid, first.ID(), first.Recovered())
	}
	if pid == sid {
		t.Fatal("pid must be private, not the public id")
	}
	var last string
	for i := range 3 {
		_ = nsp.To("room").Emit("tick", i)
		name, args, off := readEvent(t, c)
		if name != "tick" || len(args) != 1 || args[0] != float64(i) || off == last {
			t.Fatalf("event %d: %s %v %q", i, name, args, off)
		}
		last = off
	}
	// A direct emit is logged too, for the socket's own room.
	_ = first.Emit("direct", "hello")
	if name, _, off := readEvent(t, c); name != "direct" {
		t.Fatalf("direct: %s", name)
	} else {
		last = off
	}

	c.conn.Close() // the transport is cut
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })

	_ = nsp.To("room").Emit("tick", 3)
	_ = nsp.Emit("all", "x")
	_ = nsp.To("other").Emit("not-for-us", 1)
	_ = nsp.To("room").Except("room").Emit("not-for-us", 2)
	_ = nsp.To().Volatile().Emit("not-for-us", 3) // volatile: not logged
	_ = nsp.To(sid).Emit("tick", 4)

	c2, sid2, pid2 := recConnect(t, url, fmt.Sprintf(`{"token":"t2","pid":%q,"offset":%q}`, pid, last))
	if sid2 != sid || pid2 != pid {
		t.Fatalf("recovered as %q/%q, want %q/%q", sid2, pid2, sid, pid)
	}
	want := []string{"tick 3", "all x", "tick 4"}
	for _, w := range want {
		name, args, _ := readEvent(t, c2)
		if got := fmt.Sprint(name, " ", args[0]); got != w {
			t.Fatalf("missed packet %q, want %q", got, w)
		}
	}
	s := <-conns
	if !s.Recovered() || s.ID() != sid || s.Data() != "data of "+sid {
		t.Fatalf("recovered socket: %v %q %v", s.Recovered(), s.ID(), s.Data())
	}
	var auth struct{ Token string }
	if err := s.Handshake().AuthInto(&auth); err != nil || auth.Token != "t2" {
		t.Fatalf("the app's auth must reach handlers: %+v %v", auth, err)
	}
	if rooms := s.Rooms(); len(rooms) != 2 || rooms[1] != "room" {
		t.Fatalf("rooms = %v", rooms)
	}
	if n := mwCalls.Load(); n != 1 {
		t.Fatalf("middleware ran %d times; a recovered socket skips it", n)
	}
	c2.expectNothing() // exactly once: nothing repeated

	_ = nsp.To("room").Emit("tick", 5)
	if name, args, _ := readEvent(t, c2); name != "tick" || args[0] != float64(5) {
		t.Fatalf("live after recovery: %s %v", name, args)
	}

	// A session recovers once: the same pid and offset again connect fresh.
	c2.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	_, sid3, _ := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, "nope", last))
	if sid3 == sid {
		t.Fatal("an unknown pid recovered a session")
	}
	if s := <-conns; s.Recovered() {
		t.Fatal("recovered with an unknown pid")
	}
}

func TestRecoveryRunMiddlewares(t *testing.T) {
	srv, url, conns := recoveryServer(t, RecoveryOptions{RunMiddlewares: true})
	nsp := srv.Of("/")
	var calls atomic.Int32
	nsp.Use(func(s *Socket) error {
		calls.Add(1)
		var auth struct{ Token string }
		_ = s.Handshake().AuthInto(&auth)
		if auth.Token != "ok" {
			return &ConnectError{Message: "no"}
		}
		return nil
	})
	c, sid, pid := recConnect(t, url, `{"token":"ok"}`)
	<-conns
	_ = nsp.Emit("e", 1)
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })

	bad := dial(t, url)
	bad.send(fmt.Sprintf(`40{"token":"bad","pid":%q,"offset":%q}`, pid, off))
	if got := bad.read(); !strings.HasPrefix(got, `44{"message":"no"`) {
		t.Fatalf("refused recovery: %q", got)
	}
	_, sid2, _ := recConnect(t, url, fmt.Sprintf(`{"token":"ok","pid":%q,"offset":%q}`, pid, off))
	if s := <-conns; sid2 != sid || !s.Recovered() || calls.Load() != 3 {
		t.Fatalf("sid %q want %q, recovered %v, middleware calls %d", sid2, sid, s.Recovered(), calls.Load())
	}
}

func TestRecoveryWindowExpires(t *testing.T) {
	srv, url, conns := recoveryServer(t, RecoveryOptions{MaxDisconnectionDuration: 100 * time.Millisecond})
	nsp := srv.Of("/")
	c, sid, pid := recConnect(t, url, "")
	<-conns
	_ = nsp.Emit("e", 1)
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	time.Sleep(150 * time.Millisecond)
	_, sid2, pid2 := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
	s := <-conns
	if sid2 == sid || pid2 == pid || pid2 == "" || s.Recovered() {
		t.Fatalf("after the window: sid %q (was %q), pid %q (was %q), recovered %v", sid2, sid, pid2, pid, s.Recovered())
	}
	if rooms := s.Rooms(); len(rooms) != 2 {
		t.Fatalf("a fresh socket's rooms: %v", rooms) // joined by OnConnection
	}
}

func TestRecoveryNotAfterLeaving(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(c *rawClient, s *Socket)
	}{
		{"client namespace disconnect", func(c *rawClient, _ *Socket) { c.send("41") }},
		{"server namespace disconnect", func(_ *rawClient, s *Socket) { s.Disconnect(false) }},
		{"parse error", func(c *rawClient, _ *Socket) { c.send("4x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, conns := recoveryServer(t, RecoveryOptions{})
			nsp := srv.Of("/")
			c, sid, pid := recConnect(t, url, "")
			s := <-conns
			_ = nsp.Emit("e", 1)
			_, _, off := readEvent(t, c)
			tc.leave(c, s)
			waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
			_, sid2, _ := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
			if s := <-conns; sid2 == sid || s.Recovered() {
				t.Fatalf("recovered after %s", tc.name)
			}
		})
	}
}

func TestRecoveryBadOffsets(t *testing.T) {
	srv, url, conns := recoveryServer(t, RecoveryOptions{})
	nsp := srv.Of("/")
	c, _, pid := recConnect(t, url, "")
	<-conns
	_ = nsp.Emit("e", 1)
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	for _, auth := range []string{
		fmt.Sprintf(`{"pid":%q}`, pid), // no offset: the client received nothing
		fmt.Sprintf(`{"pid":%q,"offset":7}`, pid),
		fmt.Sprintf(`{"pid":%q,"offset":"zzzzzzzz-1"}`, pid),                             // another server's offset
		fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off[:strings.Index(off, "-")+1]+"zz"), // never given
	} {
		cc := dial(t, url)
		cc.send("40" + auth)
		got := cc.read()
		if !strings.HasPrefix(got, "40{") && !strings.HasPrefix(got, "44") {
			t.Fatalf("%s: %q", auth, got)
		}
		if strings.HasPrefix(got, "40{") {
			if s := <-conns; s.Recovered() {
				t.Fatalf("recovered with %s", auth)
			}
		}
	}
	// The session is still there for the right offset.
	_, _, _ = recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
	if s := <-conns; !s.Recovered() {
		t.Fatal("not recovered with the right offset")
	}
}

func TestRecoveryLogBound(t *testing.T) {
	srv, url, conns := recoveryServer(t, RecoveryOptions{MaxPackets: 5})
	nsp := srv.Of("/")
	c, sid, pid := recConnect(t, url, "")
	<-conns
	_ = nsp.Emit("e", 0)
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	for i := range 10 {
		_ = nsp.Emit("e", i+1)
	}
	rec := nsp.rec
	rec.mu.Lock()
	n := len(rec.log)
	rec.mu.Unlock()
	if n != 5 {
		t.Fatalf("log holds %d packets, cap 5", n)
	}
	// Packets it missed were evicted: it cannot be recovered.
	_, sid2, _ := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
	if s := <-conns; sid2 == sid || s.Recovered() {
		t.Fatal("recovered although missed packets were evicted")
	}

	// The bytes cap too.
	srv2, url2, conns2 := recoveryServer(t, RecoveryOptions{MaxBytes: 1000})
	nsp2 := srv2.Of("/")
	c2, _, _ := recConnect(t, url2, "")
	<-conns2
	big := strings.Repeat("x", 300)
	for range 10 {
		_ = nsp2.Emit("e", big)
		readEvent(t, c2)
	}
	nsp2.rec.mu.Lock()
	bytes, n2 := nsp2.rec.bytes, len(nsp2.rec.log)
	nsp2.rec.mu.Unlock()
	if bytes > 1000 || n2 != 3 {
		t.Fatalf("log holds %d packets, %d bytes; cap 1000 bytes", n2, bytes)
	}
}

func TestRecoveryCutConnectionSurvivesBroadcastStream(t *testing.T) {
	// Broadcasts keep coming while the client's connection is cut and it
	// reconnects: every one arrives exactly once, in order.
	srv, url, conns := recoveryServer(t, RecoveryOptions{})
	nsp := srv.Of("/")
	c, _, pid := recConnect(t, url, "")
	<-conns
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		i := 0
		for {
			select {
			case <-stop:
				done <- i
				return
			default:
			}
			_ = nsp.To("room").Emit("n", i)
			i++
			time.Sleep(100 * time.Microsecond)
		}
	}()
	next, last := 0, ""
	for next < 200 {
		_, args, off := readEvent(t, c)
		if args[0] != float64(next) {
			t.Fatalf("got %v, want %d", args[0], next)
		}
		next++
		last = off
	}
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	c2, _, _ := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, last))
	if s := <-conns; !s.Recovered() {
		t.Fatal("not recovered")
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	total := <-done
	for next < total {
		_, args, _ := readEvent(t, c2)
		if args[0] != float64(next) {
			t.Fatalf("got %v, want %d", args[0], next)
		}
		next++
	}
	c2.expectNothing()
}

func TestRecoveryOffChangesNothing(t *testing.T) {
	srv, url := startServer(t, nil)
	c := dial(t, url)
	c.send(`40{"pid":"x","offset":"y"}`)
	got := c.read()
	var reply map[string]any
	if err := json.Unmarshal([]byte(got[2:]), &reply); err != nil || len(reply) != 1 || reply["sid"] == nil {
		t.Fatalf("connect reply %q: want only a sid", got)
	}
	_ = srv.Of("/").Emit("e", 1)
	if got := c.read(); got != `42["e",1]` {
		t.Fatalf("broadcast = %q, want no offset", got)
	}
	if srv.Of("/").rec != nil {
		t.Fatal("recovery state exists while off")
	}
}

func TestRecoveryTooMuchMissedConnectsFresh(t *testing.T) {
	// More missed bytes than a session's queue holds: the client connects
	// fresh, on the same connection, through the middlewares.
	ro := RecoveryOptions{}
	srv, url := startServer(t, &Options{ConnectionStateRecovery: &ro, Engine: engineio.Options{MaxBufferedBytes: 2000}})
	nsp := srv.Of("/")
	conns := make(chan *Socket, 4)
	var mw atomic.Int32
	nsp.Use(func(*Socket) error { mw.Add(1); return nil })
	nsp.OnConnection(func(s *Socket) { conns <- s })
	c, sid, pid := recConnect(t, url, "")
	<-conns
	_ = nsp.Emit("e", 0)
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })
	big := strings.Repeat("x", 300)
	for range 10 {
		_ = nsp.Emit("e", big)
	}
	c2, sid2, pid2 := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
	if s := <-conns; sid2 == sid || pid2 == pid || s.Recovered() || mw.Load() != 2 {
		t.Fatalf("sid %q (was %q), recovered %v, middleware calls %d", sid2, sid, s.Recovered(), mw.Load())
	}
	c2.expectNothing()
}

// opaqueAdapter is an adapter whose local part is not its namespace's
// NewMemoryAdapter.
type opaqueAdapter struct{ Adapter }

func TestRecoveryNeedsMemoryAdapter(t *testing.T) {
	ro := RecoveryOptions{}
	// Embedding *MemoryAdapter (as socketio/redisadapter does): per node.
	srv, url := startServer(t, &Options{ConnectionStateRecovery: &ro, NewAdapter: func(n *Namespace) Adapter {
		return &silentCluster{NewMemoryAdapter(n)}
	}})
	c, _, pid := recConnect(t, url, "")
	if pid == "" {
		t.Fatal("no pid with an adapter embedding MemoryAdapter")
	}
	_ = srv.Of("/").Emit("e", 1)
	readEvent(t, c)

	// Any other adapter: recovery is off for its namespaces. (This one
	// stores its rooms in a memory adapter built for a namespace of a
	// server without recovery.)
	plain, _ := startServer(t, nil)
	srv2, url2 := startServer(t, &Options{ConnectionStateRecovery: &ro, NewAdapter: func(n *Namespace) Adapter {
		return opaqueAdapter{NewMemoryAdapter(plain.Of(n.Name()))}
	}})
	c2, _, pid2 := recConnect(t, url2, "")
	if pid2 != "" {
		t.Fatalf("pid %q from a namespace without recovery", pid2)
	}
	_ = srv2.Of("/").Emit("e", 1)
	if got := c2.read(); got != `42["e",1]` {
		t.Fatalf("got %q", got)
	}
}

func TestRecoveryOffsetAfterSpreadArgs(t *testing.T) {
	// A cluster adapter delivers remote broadcasts with their arguments as
	// one Args value (spread on the wire): the offset still comes last,
	// binary attachments intact.
	srv, url, conns := recoveryServer(t, RecoveryOptions{})
	c, _, _ := recConnect(t, url, "")
	<-conns
	args, err := ParseArgs([]byte(`["e",1,{"_placeholder":true,"num":0}]`), [][]byte{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Of("/").Emit("remote", args)
	got := c.read()
	if !strings.HasPrefix(got, `451-["remote","e",1,{"_placeholder":true,"num":0},"`) || !strings.HasSuffix(got, `"]`) {
		t.Fatalf("got %q", got)
	}
	if b := c.readBinary(); len(b) != 2 || b[0] != 1 {
		t.Fatalf("attachment %x", b)
	}
}

// TestRecoveryKeepsValuesAndLimits: a recovered socket has the values its
// middlewares set (they are skipped) and its event bucket as it was: a cut
// gives it neither fewer rights nor a fresh burst.
func TestRecoveryKeepsValuesAndLimits(t *testing.T) {
	type key struct{}
	ro := RecoveryOptions{}
	srv, url := startServer(t, &Options{ConnectionStateRecovery: &ro, Limits: Limits{EventsPerSecond: 0.001, EventBurst: 2}})
	nsp := srv.Of("/")
	conns := make(chan *Socket, 4)
	nsp.Use(func(s *Socket) error { s.SetValue(key{}, "claims of "+s.ID()); return nil })
	nsp.OnConnection(func(s *Socket) { conns <- s })
	var handled atomic.Int32
	nsp.On("e", func(s *Socket, ev *Event) { handled.Add(1); _ = ev.Ack("ok") })

	c, sid, pid := recConnect(t, url, "")
	<-conns
	c.send(`420["e"]`) // the burst: two events
	c.send(`421["e"]`)
	if got := c.read(); got != `430["ok"]` {
		t.Fatalf("first ack %q", got)
	}
	if got := c.read(); got != `431["ok"]` {
		t.Fatalf("second ack %q", got)
	}
	_ = nsp.Emit("tick")
	_, _, off := readEvent(t, c)
	c.conn.Close()
	waitFor(t, "the disconnect", func() bool { return nsp.Len() == 0 })

	c2, sid2, _ := recConnect(t, url, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, off))
	s := <-conns
	if sid2 != sid || !s.Recovered() {
		t.Fatalf("not recovered: sid %q want %q", sid2, sid)
	}
	if v := s.Value(key{}); v != "claims of "+sid {
		t.Fatalf("recovered socket's value = %v, want the one its middleware set", v)
	}
	c2.send(`422["e"]`)
	if got := c2.read(); got != `432[{"message":"rate limit exceeded"}]` {
		t.Fatalf("an event past the burst, after recovery: %q (handled %d): a cut must not refill the bucket", got, handled.Load())
	}
}
