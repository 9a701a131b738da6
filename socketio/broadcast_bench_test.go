package socketio

import (
	"bufio"
	"encoding/binary"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// The broadcast benchmarks: one op is one packet built, encoded and
// delivered to every recipient, end to end on real WebSocket connections,
// until the last frame has been read.

// benchPayloads are what applications broadcast: a chat message (an
// object, which the JSON encoder hands to encoding/json), a short string,
// a binary argument, and a client's arguments relayed unchanged.
var benchPayloads = []struct {
	name string
	args func() []any
}{
	{"object", func() []any {
		return []any{map[string]any{"user": "alice", "text": "hello, world", "ts": 1700000000, "room": "lobby"}}
	}},
	{"string", func() []any { return []any{"hello, world"} }},
	{"binary", func() []any { return []any{"file", []byte("0123456789abcdef0123456789abcdef")} }},
	{"relay", func() []any {
		a, err := ParseArgs([]byte(`["m",{"user":"alice","text":"hello, world","ts":1700000000}]`), nil)
		if err != nil {
			panic(err)
		}
		return []any{a}
	}},
}

// BenchmarkBroadcast measures one room broadcast to 100 recipients.
func BenchmarkBroadcast(b *testing.B) {
	for _, parser := range []Parser{ParserJSON, ParserMsgPack} {
		for _, rec := range []bool{false, true} {
			name := parser.String()
			if rec {
				name += "/recovery"
			}
			b.Run(name, func(b *testing.B) { benchBroadcast(b, parser, rec) })
		}
	}
}

func benchBroadcast(b *testing.B, parser Parser, rec bool) {
	const recipients = 100
	opts := &Options{Parser: parser}
	if rec {
		opts.ConnectionStateRecovery = &RecoveryOptions{}
	}
	srv := NewServer(opts)
	hs := serve.Start(b, srv, srv.Close)
	url := strings.Replace(hs.URL, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
	joined := make(chan struct{}, recipients)
	srv.Of("/").OnConnection(func(s *Socket) { _ = s.Join("room"); joined <- struct{}{} })
	var frames atomic.Int64
	for range recipients {
		benchClient(b, url, parser, &frames)
	}
	for range recipients {
		<-joined
	}
	adapter := srv.Of("/").adapter
	bopts := &BroadcastOptions{Rooms: []string{"room"}}
	args := benchPayloads[0].args()
	perBroadcast := int64(recipients)
	if parser == ParserJSON {
		perBroadcast *= int64(1 + countBinary(args))
	}
	want := int64(0)
	send := func() {
		if err := adapter.Broadcast(NewPacket("/", NoAck, "message", args...), bopts); err != nil {
			b.Fatal(err)
		}
		want += perBroadcast
		deadline := time.Now().Add(5 * time.Second)
		for frames.Load() < want {
			if time.Now().After(deadline) {
				b.Fatalf("received %d frames, want %d", frames.Load(), want)
			}
			runtime.Gosched()
		}
	}
	for range 5 {
		send() // warm the queues and writer goroutines
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		send()
	}
}

// benchClient connects a client to "/" and counts the frames it gets
// afterwards, reading them without allocating so that the benchmark's
// allocations are the server's.
func benchClient(b *testing.B, url string, parser Parser, frames *atomic.Int64) {
	c := wsclient.Dial(b, url, nil)
	if _, _, err := c.Read(5 * time.Second); err != nil { // the OPEN packet
		b.Fatal(err)
	}
	var err error
	if parser == ParserMsgPack {
		m, _ := msgpack.Append(nil, msgpack.Map{{Key: "type", Value: int64(0)}, {Key: "nsp", Value: "/"}})
		err = c.WriteBinary(m)
	} else {
		err = c.WriteText("40")
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.Read(5 * time.Second); err != nil { // the CONNECT answer
		b.Fatal(err)
	}
	_ = c.NetConn().SetReadDeadline(time.Time{}) // countFrames reads as long as the benchmark runs
	done := make(chan struct{})
	go func() {
		defer close(done)
		countFrames(bufio.NewReaderSize(c.Reader(), 64<<10), frames)
	}()
	b.Cleanup(func() { c.Close(); <-done })
}

// countFrames reads unmasked server frames until an error, counting them.
func countFrames(r *bufio.Reader, frames *atomic.Int64) {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return
		}
		n := int(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(r, hdr[:2]); err != nil {
				return
			}
			n = int(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(r, hdr[:8]); err != nil {
				return
			}
			n = int(binary.BigEndian.Uint64(hdr[:8]))
		}
		if _, err := r.Discard(n); err != nil {
			return
		}
		frames.Add(1)
	}
}

// BenchmarkEncodePacket measures the encoding of one broadcast packet,
// paid once per broadcast whatever the number of recipients.
func BenchmarkEncodePacket(b *testing.B) {
	for _, parser := range []Parser{ParserJSON, ParserMsgPack} {
		for _, pl := range benchPayloads {
			b.Run(parser.String()+"/"+pl.name, func(b *testing.B) {
				args := pl.args()
				b.ReportAllocs()
				for range b.N {
					if _, err := NewPacket("/", NoAck, "message", args...).framesFor(parser); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
