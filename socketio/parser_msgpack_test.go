package socketio

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/msgpack"
)

// mp encodes a client packet as socket.io-msgpack-parser does.
func mp(t *testing.T, m msgpack.Map) []byte {
	t.Helper()
	b, err := msgpack.Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kv(k string, v any) msgpack.Entry { return msgpack.Entry{Key: k, Value: v} }

// readMsgpack reads one packet from the server and decodes it.
func (c *rawClient) readMsgpack() msgpack.Map {
	c.t.Helper()
	b := c.readBinary()
	v, err := msgpack.Decode(b)
	if err != nil {
		c.t.Fatalf("server sent bad msgpack %x: %v", b, err)
	}
	m, ok := v.(msgpack.Map)
	if !ok {
		c.t.Fatalf("server sent %#v, want a map", v)
	}
	return m
}

func startMsgpack(t *testing.T) (*Server, string) {
	return startServer(t, &Options{Parser: ParserMsgPack})
}

func connectMsgpack(t *testing.T, url, nsp string) *rawClient {
	t.Helper()
	c := dial(t, url)
	c.sendBinary(mp(t, msgpack.Map{kv("type", int64(0)), kv("nsp", nsp)}))
	got := c.readMsgpack()
	if typ, _ := got.Int("type"); typ != 0 || got.Str("nsp") != nsp {
		t.Fatalf("connect answer %#v", got)
	}
	d, _ := got.Get("data")
	if sid := d.(msgpack.Map).Str("sid"); sid == "" {
		t.Fatalf("connect answer without sid: %#v", got)
	}
	return c
}

// TestMsgpackEchoConvertsBothWays: a client's msgpack arguments reach the
// handler as the same Args JSON clients give (binary as []byte, integral
// floats as integers), and the ack goes back as msgpack with binary inline.
func TestMsgpackEchoConvertsBothWays(t *testing.T) {
	srv, url := startMsgpack(t)
	got := make(chan string, 1)
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("echo", func(_ *Socket, e *Event) {
			var bin []byte
			if err := e.Args.Decode(2, &bin); err != nil {
				t.Error(err)
			}
			got <- string(e.Args.Raw(0)) + " " + string(e.Args.Raw(1)) + " " + hex.EncodeToString(bin)
			_ = e.Ack(e.Args)
		})
	})
	c := connectMsgpack(t, url, "/")
	args := []any{"echo",
		msgpack.Map{kv("n", int64(-7)), kv("f", 1.5), kv("big", int64(1)<<40), kv("s", "é✓😀"), kv("z", nil), kv("b", true), kv("inner", msgpack.Map{kv("bin", []byte{9})})},
		[]any{3.0, "x"},
		[]byte{0, 1, 0xff},
	}
	c.sendBinary(mp(t, msgpack.Map{kv("type", int64(2)), kv("data", args), kv("options", msgpack.Map{kv("compress", true)}), kv("id", int64(5)), kv("nsp", "/")}))
	want := `{"n":-7,"f":1.5,"big":1099511627776,"s":"é✓😀","z":null,"b":true,"inner":{"bin":{"_placeholder":true,"num":0}}} [3,"x"] 0001ff`
	if g := <-got; g != want {
		t.Fatalf("handler saw %s\nwant        %s", g, want)
	}
	ack := c.readMsgpack()
	want2 := msgpack.Map{kv("type", int64(3)), kv("data", []any{args[1], []any{int64(3), "x"}, args[3]}), kv("nsp", "/"), kv("id", int64(5))}
	if !reflect.DeepEqual(ack, want2) {
		t.Fatalf("ack %#v\nwant %#v", ack, want2)
	}
}

// TestMsgpackBroadcastSharesOneFrame: a room broadcast reaches every member
// as one binary frame, encoded once for all of them.
func TestMsgpackBroadcastSharesOneFrame(t *testing.T) {
	srv, url := startMsgpack(t)
	joined := make(chan struct{}, 2)
	srv.Of("/").OnConnection(func(s *Socket) { _ = s.Join("room"); joined <- struct{}{} })
	a, b := connectMsgpack(t, url, "/"), connectMsgpack(t, url, "/")
	<-joined
	<-joined
	p := NewPacket("/", NoAck, "news", map[string]any{"k": []int{1, 2}}, []byte{7})
	if err := srv.Of("/").adapter.Broadcast(p, &BroadcastOptions{Rooms: []string{"room"}}); err != nil {
		t.Fatal(err)
	}
	want := msgpack.Map{kv("type", int64(2)), kv("data", []any{"news", msgpack.Map{kv("k", []any{int64(1), int64(2)})}, []byte{7}}), kv("nsp", "/")}
	for _, c := range []*rawClient{a, b} {
		if got := c.readMsgpack(); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %#v\nwant %#v", got, want)
		}
	}
	f1, _ := p.framesFor(ParserMsgPack)
	f2, _ := p.framesFor(ParserMsgPack)
	if len(f1) != 1 || f1[0] != f2[0] {
		t.Fatal("msgpack frame not cached on the packet")
	}
}

// TestMsgpackConnectError: an unknown namespace and a refusing middleware
// answer CONNECT_ERROR in msgpack.
func TestMsgpackConnectError(t *testing.T) {
	srv, url := startMsgpack(t)
	srv.Of("/private").Use(func(s *Socket) error {
		return &ConnectError{Message: "not allowed", Data: map[string]any{"code": 42}}
	})
	c := dial(t, url)
	c.sendBinary(mp(t, msgpack.Map{kv("type", int64(0)), kv("nsp", "/nope")}))
	want := msgpack.Map{kv("type", int64(4)), kv("data", msgpack.Map{kv("message", "Invalid namespace")}), kv("nsp", "/nope")}
	if got := c.readMsgpack(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	c.sendBinary(mp(t, msgpack.Map{kv("type", int64(0)), kv("nsp", "/private"), kv("data", msgpack.Map{kv("token", "x")})}))
	got := c.readMsgpack()
	d, _ := got.Get("data")
	if typ, _ := got.Int("type"); typ != 4 || d.(msgpack.Map).Str("message") != "not allowed" {
		t.Fatalf("got %#v", got)
	}
}

// TestMsgpackMalformedClosesOnlyThatConnection: each malformed packet
// closes its own connection; a neighbour keeps working.
func TestMsgpackMalformedClosesOnlyThatConnection(t *testing.T) {
	srv, url := startMsgpack(t)
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("ping", func(_ *Socket, e *Event) { _ = e.Ack("pong") })
	})
	good := connectMsgpack(t, url, "/")
	deep := bytes.Repeat([]byte{0x91}, DefaultMaxJSONDepth+1)
	for name, frame := range map[string][]byte{
		"text frame":        nil,
		"not a map":         {0x93, 1, 2, 3},
		"trailing bytes":    append(mp(t, msgpack.Map{kv("type", int64(2)), kv("data", []any{"ping"}), kv("nsp", "/")}), 0xc0),
		"type out of range": mp(t, msgpack.Map{kv("type", int64(9)), kv("data", []any{"ping"}), kv("nsp", "/")}),
		"type is a string":  mp(t, msgpack.Map{kv("type", "2"), kv("data", []any{"ping"}), kv("nsp", "/")}),
		"nsp missing":       mp(t, msgpack.Map{kv("type", int64(2)), kv("data", []any{"ping"})}),
		"data not an array": mp(t, msgpack.Map{kv("type", int64(2)), kv("data", "ping"), kv("nsp", "/")}),
		"id not integral":   mp(t, msgpack.Map{kv("type", int64(2)), kv("data", []any{"ping"}), kv("nsp", "/"), kv("id", 1.5)}),
		"disconnect data":   mp(t, msgpack.Map{kv("type", int64(1)), kv("data", []any{}), kv("nsp", "/")}),
		"huge array":        {0x83, 0xa4, 't', 'y', 'p', 'e', 2, 0xa4, 'd', 'a', 't', 'a', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge bin":          {0x81, 0xa4, 'd', 'a', 't', 'a', 0xc6, 0x7f, 0xff, 0xff, 0xff, 1},
		"too deep":          append(append([]byte{0x83, 0xa4, 't', 'y', 'p', 'e', 2, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa4, 'd', 'a', 't', 'a'}, deep...), 0xc0),
		"too many binaries": mp(t, msgpack.Map{kv("type", int64(2)), kv("data", []any{"ping", []byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{5}, []byte{6}, []byte{7}, []byte{8}, []byte{9}, []byte{10}, []byte{11}}), kv("nsp", "/")}),
	} {
		t.Run(name, func(t *testing.T) {
			c := connectMsgpack(t, url, "/")
			if frame == nil {
				c.send("42[\"ping\"]")
			} else {
				c.sendBinary(frame)
			}
			c.expectClosed()
		})
	}
	good.sendBinary(mp(t, msgpack.Map{kv("type", int64(2)), kv("data", []any{"ping"}), kv("nsp", "/"), kv("id", int64(0))}))
	if got := good.readMsgpack(); got.Str("nsp") != "/" {
		t.Fatalf("got %#v", got)
	}
	if n := srv.limitHits.snapshot()[LimitMaxJSONDepth]; n != 1 {
		t.Errorf("max_json_depth hits = %d, want 1", n)
	}
}

// TestDecodeMsgpackPacket checks the conversion to the JSON form directly.
func TestDecodeMsgpackPacket(t *testing.T) {
	lim := (&Limits{}).withDefaults()
	for _, tt := range []struct {
		name string
		in   msgpack.Map
		typ  PacketType
		id   int64
		data string
		bins int
	}{
		{"connect", msgpack.Map{kv("type", int64(0)), kv("nsp", "/a")}, PacketConnect, noAck, "", 0},
		{"connect auth", msgpack.Map{kv("type", int64(0)), kv("nsp", "/"), kv("data", msgpack.Map{kv("t", "x")})}, PacketConnect, noAck, `{"t":"x"}`, 0},
		{"event id float", msgpack.Map{kv("type", 2.0), kv("nsp", "/"), kv("data", []any{"e", 1e300, -0.5}), kv("id", 7.0)}, PacketEvent, 7, `["e",1e+300,-0.5]`, 0},
		{"ack bin", msgpack.Map{kv("nsp", "/"), kv("id", int64(1)), kv("type", int64(3)), kv("data", []any{[]byte{}})}, PacketAck, 1, `[{"_placeholder":true,"num":0}]`, 1},
		{"disconnect", msgpack.Map{kv("type", int64(1)), kv("nsp", "/")}, PacketDisconnect, noAck, "", 0},
	} {
		p, err := decodeMsgpackPacket(mp(t, tt.in), &lim)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if p.typ != tt.typ || p.id != tt.id || string(p.data) != tt.data || len(p.buffers) != tt.bins || p.attachments != tt.bins {
			t.Errorf("%s: got %d %d %s %d", tt.name, p.typ, p.id, p.data, len(p.buffers))
		}
	}
}

// TestEncodeMsgpackMatchesReference: the bytes of a server packet are
// those socket.io with socket.io-msgpack-parser writes for
// {type: 2, data: ["a", 1], nsp: "/", id: 1} (notepack.io).
func TestEncodeMsgpackMatchesReference(t *testing.T) {
	m, err := encodeMsgpack(PacketBinaryEvent, "/", 1, json.RawMessage(`["a",1]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "84a474797065 02 a464617461 92a16101 a36e7370 a12f a26964 01"
	b, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(want), []byte(" "), nil)))
	if got, _ := msgpack.Decode(b); !reflect.DeepEqual(got, msgpack.Map{kv("type", int64(2)), kv("data", []any{"a", int64(1)}), kv("nsp", "/"), kv("id", int64(1))}) {
		t.Fatalf("reference bytes decode as %#v", got)
	}
	if m.Len() != len(b) {
		t.Fatalf("encoded %d bytes, want %d", m.Len(), len(b))
	}
}

func FuzzDecodeMsgpackPacket(f *testing.F) {
	for _, s := range []string{
		"82a474797065 00 a36e7370 a12f",
		"84a474797065 02 a464617461 92a16101 a36e7370 a12f a26964 01",
		"83a474797065 03 a464617461 91c40201ff a36e7370 a12f",
		"83a474797065 04 a464617461 81a76d657373616765a178 a36e7370 a12f",
		"83a474797065 02 a464617461 dd7fffffff a36e7370 a12f",
	} {
		b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := (&Limits{}).withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeMsgpackPacket(b, &lim)
		if err != nil {
			return
		}
		if p.data != nil && !json.Valid(p.data) {
			t.Fatalf("invalid JSON %q", p.data)
		}
		if p.attachments != len(p.buffers) || (p.data != nil && !checkPlaceholders(p.data, p.attachments)) {
			t.Fatalf("attachments %d/%d in %s", p.attachments, len(p.buffers), p.data)
		}
		if _, err := encodeMsgpack(p.typ, p.nsp, p.id, p.data, p.buffers); err != nil && p.typ != PacketConnectError {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// TestDecodeReferenceEncoderBytes decodes what socket.io-msgpack-parser
// 3.0.2's Encoder (notepack.io 2.2.0) writes for
// {type: 2, data: ["message", Buffer[0,1], {file: {name, data: Buffer}, list: [Buffer(0), Buffer(3)]}, Uint8Array[9,8,7]], options: {compress: true}, nsp: "/"}:
// the Uint8Array comes as ext type 0, the client's emit options ride along.
func TestDecodeReferenceEncoderBytes(t *testing.T) {
	b, _ := hex.DecodeString("84a47479706502a46461746194a76d657373616765c402000182a466696c6582a46e616d65a5662e62696ea464617461c40568656c6c6fa46c69737492c400c403070707c70300090807a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f")
	lim := (&Limits{}).withDefaults()
	p, err := decodeMsgpackPacket(b, &lim)
	if err != nil {
		t.Fatal(err)
	}
	want := `["message",{"_placeholder":true,"num":0},{"file":{"name":"f.bin","data":{"_placeholder":true,"num":1}},"list":[{"_placeholder":true,"num":2},{"_placeholder":true,"num":3}]},{"_placeholder":true,"num":4}]`
	if string(p.data) != want || p.typ != PacketEvent || p.nsp != "/" || p.id != noAck {
		t.Fatalf("got %d %q %d %s", p.typ, p.nsp, p.id, p.data)
	}
	if !reflect.DeepEqual(p.buffers, [][]byte{{0, 1}, []byte("hello"), {}, {7, 7, 7}, {9, 8, 7}}) {
		t.Fatalf("buffers %x", p.buffers)
	}
}

// TestMsgpackLegacyClient: with allow_eio3, an Engine.IO v3 client gets
// the same parser, as from the Node server with socket.io-msgpack-parser
// 3.x: "/" is connected for it (a msgpack CONNECT), events and acks work
// (binary WebSocket frames carry v3's type byte), and what
// socket.io-msgpack-parser 2.x writes differently closes the connection:
// its JSON-text control packets and its BINARY_EVENT type.
func TestMsgpackLegacyClient(t *testing.T) {
	srv, url := startServer(t, &Options{Parser: ParserMsgPack, Engine: engineio.Options{AllowEIO3: true}})
	url = strings.Replace(url, "EIO=4", "EIO=3", 1)
	srv.Of("/").On("ping", func(_ *Socket, e *Event) { _ = e.Ack("pong", []byte{1}) })
	v3 := func(c *rawClient) msgpack.Map {
		t.Helper()
		b := c.readBinary()
		if len(b) == 0 || b[0] != 4 {
			t.Fatalf("v3 binary frame without its type byte: %x", b)
		}
		v, err := msgpack.Decode(b[1:])
		if err != nil {
			t.Fatal(err)
		}
		return v.(msgpack.Map)
	}
	c := dial(t, url)
	if got := v3(c); !reflect.DeepEqual(got, msgpack.Map{kv("type", int64(0)), kv("nsp", "/")}) {
		t.Fatalf("implicit CONNECT %#v", got)
	}
	c.sendBinary(append([]byte{4}, mp(t, msgpack.Map{kv("type", int64(2)), kv("nsp", "/"), kv("data", []any{"ping"}), kv("id", int64(3))})...))
	want := msgpack.Map{kv("type", int64(3)), kv("data", []any{"pong", []byte{1}}), kv("nsp", "/"), kv("id", int64(3))}
	if got := v3(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("ack %#v", got)
	}
	c.send(`4{"type":1,"nsp":"/"}`) // socket.io-msgpack-parser 2.x's DISCONNECT
	c.expectClosed()

	c = dial(t, url)
	v3(c)
	c.sendBinary(append([]byte{4}, mp(t, msgpack.Map{kv("type", int64(5)), kv("nsp", "/"), kv("data", []any{"ping", []byte{1}})})...))
	c.expectClosed()
}

// TestMsgpackRecovery: with the msgpack parser and recovery on, the CONNECT
// reply, the offsets and the replayed packets are msgpack too, even when
// the packets were logged while no client of the namespace was connected.
func TestMsgpackRecovery(t *testing.T) {
	srv, url := startServer(t, &Options{Parser: ParserMsgPack, ConnectionStateRecovery: &RecoveryOptions{}})
	nsp := srv.Of("/")
	joined := make(chan struct{}, 1)
	nsp.OnConnection(func(s *Socket) { _ = s.Join("room"); joined <- struct{}{} })
	c := dial(t, url)
	c.sendBinary(mp(t, msgpack.Map{kv("type", int64(0)), kv("nsp", "/")}))
	got := c.readMsgpack()
	<-joined // the handler runs after the CONNECT reply: wait before broadcasting
	d, _ := got.Get("data")
	sid, pid := d.(msgpack.Map).Str("sid"), d.(msgpack.Map).Str("pid")
	if sid == "" || pid == "" {
		t.Fatalf("connect answer %#v, want sid and pid", got)
	}
	_ = nsp.To("room").Emit("tick", 0)
	first := c.readMsgpack()
	data, _ := first.Get("data")
	args := data.([]any)
	if len(args) != 3 || args[0] != "tick" {
		t.Fatalf("tick 0: %#v", first)
	}
	offset := args[2].(string)

	c.conn.Close() // cut: no client connected now
	for deadline := time.Now().Add(5 * time.Second); nsp.Len() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("socket still connected")
		}
	}
	_ = nsp.To("room").Emit("tick", 1) // logged with nobody to deliver to
	_ = nsp.To("room").Emit("tick", 2)

	r := dial(t, url)
	r.sendBinary(mp(t, msgpack.Map{kv("type", int64(0)), kv("nsp", "/"), kv("data", msgpack.Map{kv("pid", pid), kv("offset", offset)})}))
	got = r.readMsgpack()
	d, _ = got.Get("data")
	if typ, _ := got.Int("type"); typ != 0 || d.(msgpack.Map).Str("sid") != sid {
		t.Fatalf("recovery answer %#v, want CONNECT with sid %s", got, sid)
	}
	for i := int64(1); i <= 2; i++ {
		m := r.readMsgpack()
		data, _ := m.Get("data")
		args := data.([]any)
		if len(args) != 3 || args[0] != "tick" || args[1] != i {
			t.Fatalf("replayed tick %d: %#v", i, m)
		}
	}
}

// jsonRouteMsgpack is how msgpack packets were encoded before the direct
// way; the direct way must give the same bytes.
var jsonRouteMsgpack = msgpackEventViaJSON

// TestMsgpackDirectMatchesJSONRoute: encoding arguments straight to
// MessagePack gives the bytes of the JSON route for every kind of
// argument, and the common kinds do take the direct way.
func TestMsgpackDirectMatchesJSONRoute(t *testing.T) {
	relayed, err := ParseArgs([]byte(`["m",{"b":{"_placeholder":true,"num":0}, "a":[1,2.5,-0,1e300]}]`), [][]byte{{9, 8}})
	if err != nil {
		t.Fatal(err)
	}
	plainRelayed, _ := ParseArgs([]byte(`[ "x" , {"z":1,"a":null} ]`), nil)
	deep := func(n int) any {
		var v any = 1
		for range n {
			v = []any{v}
		}
		return v
	}
	many := map[string]any{}
	long := []any{}
	for i := range 20 {
		many[strings.Repeat("k", i+1)] = i
		long = append(long, float64(i)/3)
	}
	type point struct{ X, Y int }
	for _, tt := range []struct {
		name   string
		args   []any
		direct bool // must take the direct way
	}{
		{"none", nil, true},
		{"scalars", []any{nil, true, false, 0, -1, 127, 128, -33, 70000, int64(math.MaxInt64), int64(math.MinInt64)}, true},
		{"floats", []any{3.0, math.Copysign(0, -1), 0.1, 1e20, 1e21, -1e300, 1e-7, float64(1 << 63), -float64(1 << 63), 5e-324}, true},
		{"strings", []any{"", "é", "\u2028<&>\"\\\n", strings.Repeat("s", 31), strings.Repeat("s", 32), strings.Repeat("s", 256), strings.Repeat("s", 70000)}, true},
		{"binary", []any{[]byte(nil), []byte{}, bytes.Repeat([]byte{1}, 300), map[string]any{"f": []byte{2}, "l": []any{[]byte{3}, "x"}}}, true},
		{"object", []any{map[string]any{"user": "alice", "ts": 1700000000, "nested": map[string]any{"b": 1, "a": []any{nil, 2.5}}}, many, long}, true},
		{"typed nils", []any{map[string]any(nil), []any(nil), json.RawMessage(nil), map[string]any{"m": map[string]any(nil)}}, true},
		{"raw", []any{json.RawMessage(` {"b":1, "a":[true]} `), json.RawMessage(`{"_placeholder":true,"num":0}`)}, true},
		{"relayed", []any{relayed}, true},
		{"relayed plain", []any{plainRelayed, 1, plainRelayed}, true},
		{"encoding/json types", []any{point{1, 2}, map[string]string{"b": "1", "a": "2"}, float32(0.1), uint64(math.MaxUint64), json.Number("2.0"), time.Unix(0, 0).UTC(), []int{1}}, true},
		{"depth 63", []any{deep(63)}, true},
		{"raw of two values", []any{json.RawMessage(`1,2`)}, false},
		{"raw depth 63", []any{json.RawMessage(strings.Repeat("[", 63) + strings.Repeat("]", 63))}, false},
		{"relayed after binary", []any{[]byte{1}, relayed}, false},
		{"raw with binary", []any{[]byte{1}, json.RawMessage(`{"_placeholder":true,"num":0}`)}, false},
		{"placeholder-like with binary", []any{[]byte{1}, map[string]any{"_placeholder": true, "num": 0}}, false},
		{"placeholder-like alone", []any{map[string]any{"_placeholder": true, "num": 0}}, true},
		{"struct with binary", []any{[]byte{1}, point{1, 2}}, false},
		{"invalid UTF-8", []any{"a\xffb\xfe\xfd"}, false},
		{"invalid UTF-8 key", []any{map[string]any{"\xff": 1}}, false},
	} {
		for _, ack := range []bool{false, true} {
			typ, id, name := PacketEvent, int64(noAck), "ev"
			if ack {
				typ, id, name = PacketAck, 42, ""
			}
			want, err := jsonRouteMsgpack(typ, "/chat", id, name, !ack, tt.args)
			if err != nil {
				t.Fatalf("%s: JSON route: %v", tt.name, err)
			}
			got, err := msgpackEvent(typ, "/chat", id, name, !ack, tt.args)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s (ack %v):\n got %x\nwant %x", tt.name, ack, got, want)
			}
			if _, direct := appendMsgpackEvent(typ, "/chat", id, name, !ack, tt.args); direct != tt.direct {
				t.Errorf("%s (ack %v): direct %v, want %v", tt.name, ack, direct, tt.direct)
			}
		}
	}
	// What the JSON route refuses is refused the same.
	for _, args := range [][]any{{math.NaN()}, {map[string]any{"f": math.Inf(1)}}, {func() {}}, {deep(64)}, {json.RawMessage(strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64))}} {
		_, want := jsonRouteMsgpack(PacketEvent, "/", noAck, "e", true, args)
		_, err := msgpackEvent(PacketEvent, "/", noAck, "e", true, args)
		if want == nil || err == nil || err.Error() != want.Error() {
			t.Errorf("%#v: error %v, want %v", args, err, want)
		}
	}
}

// FuzzMsgpackDirect: arguments decoded from any JSON, given as JSON text
// and relayed (or beside a binary argument), encode to the JSON route's bytes, or fail as it does.
func FuzzMsgpackDirect(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"],"b":null}`, `[1e21,-0,0.1]`, `{"_placeholder":true,"num":0}`, `"\u2028"`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, bin bool) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		args := []any{v, json.RawMessage(data)}
		if relayed, err := ParseArgs([]byte("["+string(data)+","+string(data)+"]"), nil); err == nil {
			args = append(args, relayed)
		}
		if bin {
			args = append([]any{[]byte{1}}, v)
		}
		want, werr := jsonRouteMsgpack(PacketEvent, "/", noAck, "e", true, args)
		got, err := msgpackEvent(PacketEvent, "/", noAck, "e", true, args)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%s: got %x, %v\nwant %x, %v", data, got, err, want, werr)
		}
	})
}
