package adapterwire

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
)

// Options survive the trip through their wire form (timeouts are only
// sent: the receiving node does not wait), and rooms sent as numbers, as
// a Node.js node may, read as their decimal names.
func TestOptsRoundTrip(t *testing.T) {
	in := &socketio.BroadcastOptions{Rooms: []string{"a", "b"}, Except: []string{"c"}, Volatile: true, Timeout: time.Second}
	b, err := msgpack.Append(nil, Opts(in, true))
	if err != nil {
		t.Fatal(err)
	}
	v, err := msgpack.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	out := ReadOpts(v)
	if !slices.Equal(out.Rooms, in.Rooms) || !slices.Equal(out.Except, in.Except) || !out.Volatile {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	if got := Rooms([]any{"x", int64(42), 1.5, true}); !slices.Equal(got, []string{"x", "42", "1.5"}) {
		t.Fatalf("Rooms = %q", got)
	}
	if NonNil(nil) == nil {
		t.Fatal("NonNil(nil) is nil: the reference wants an array")
	}
}

// An event rebuilt from its data array keeps its name and arguments, and
// takes extra arguments (a broadcast's offset) last.
func TestEvent(t *testing.T) {
	p, err := Event("/chat", []any{"msg", "hi", int64(2)}, socketio.NoAck, "1-0")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Packet(p, "/chat")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := tree.Get("data")
	if got, want := data, []any{"msg", "hi", int64(2), "1-0"}; !slices.Equal(got.([]any), want) {
		t.Fatalf("data = %#v, want %#v", got, want)
	}
	if _, err := Event("/", []any{int64(1)}, socketio.NoAck); err == nil {
		t.Fatal("an event name that is not a string was accepted")
	}
}
