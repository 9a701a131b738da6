package socketio

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that logs what it is told.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(f string, args ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(f, args...))
	r.mu.Unlock()
}

func (r *recorder) SocketConnected(s *Socket) { r.add("connected %s", s.Namespace().Name()) }
func (r *recorder) SocketDisconnected(s *Socket, reason DisconnectReason) {
	r.add("disconnected %s %s", s.Namespace().Name(), reason)
}
func (r *recorder) TransportUpgraded(s *Socket)       { r.add("upgraded") }
func (r *recorder) RoomJoined(s *Socket, room string) { r.add("joined %s", room) }
func (r *recorder) RoomLeft(s *Socket, room string)   { r.add("left %s", room) }
func (r *recorder) EventReceived(s *Socket, event string, args Args) {
	r.add("received %s %s", event, args.Raw(0))
}
func (r *recorder) EventSent(s *Socket, event string, args []any) { r.add("sent %s %v", event, args) }

func (r *recorder) wait(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := strings.Join(r.log, "\n")
		r.mu.Unlock()
		if got == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestObserver: an observer sees connections, new memberships only,
// events both ways (broadcasts per recipient), and the rooms left and the
// disconnection; once stopped it sees nothing, and observing() is nil.
func TestObserver(t *testing.T) {
	srv, url := startServer(t, nil)
	if srv.observing() != nil {
		t.Fatal("observers before any Observe")
	}
	n := srv.Of("/")
	n.On("go", func(s *Socket, e *Event) {
		s.Join("a", "b", "a")
		s.Join("a") // already in: not reported
		s.Leave("b")
		s.Leave("zzz") // not in: not reported
		_ = s.Emit("direct", 1)
		_ = n.To("a").Emit("bcast", "x")
	})
	rec := &recorder{}
	stop := srv.Observe(rec)
	c := dial(t, url)
	c.send(`40`)
	c.read()
	c.send(`42["go","arg"]`)
	c.read()
	c.read()
	c.send(`41`)
	rec.wait(t, []string{
		"connected /",
		`received go "arg"`,
		"joined a", "joined b", "left b",
		"sent direct [1]",
		"sent bcast [x]",
		"left a",
		"disconnected / client namespace disconnect",
	})
	stop()
	stop() // idempotent
	if srv.observing() != nil {
		t.Fatal("observer still registered after stop")
	}
	c2 := dial(t, url)
	c2.send(`40`)
	c2.read()
	c2.send(`42["go"]`)
	c2.read()
	time.Sleep(50 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.log) != 9 {
		t.Fatalf("stopped observer saw %v", rec.log[9:])
	}
}
