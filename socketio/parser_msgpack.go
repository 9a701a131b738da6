package socketio

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/msgpack"
)

// Parser is the wire format of Socket.IO packets. It is server-wide, as
// the reference's `new Server({parser})`: every client must use the same
// one, and a client with the other parser cannot connect.
type Parser uint8

const (
	// ParserJSON is socket.io-parser's format, the default: a text
	// message per packet, then one binary message per binary argument.
	ParserJSON Parser = iota
	// ParserMsgPack is socket.io-msgpack-parser's format: each packet is
	// one binary message, a MessagePack map {type, data, nsp, id} as
	// notepack.io encodes it, with binary arguments inline.
	//
	// Handlers see the same Args as with JSON (binary arguments as []byte).
	// Clients must be built with the msgpack parser (in browsers the
	// socket.io.msgpack.min.js bundle). Legacy clients (Engine.IO v3) get
	// the same parser, as from the reference: they must use a msgpack
	// parser of their own generation. Integral numbers cross as integers
	// and others as float64; a Date sent by a client arrives as its ISO
	// string, as JSON would carry it.
	ParserMsgPack
)

// String returns the parser's name in the configuration: json or msgpack.
func (p Parser) String() string {
	switch p {
	case ParserJSON:
		return "json"
	case ParserMsgPack:
		return "msgpack"
	}
	return fmt.Sprintf("Parser(%d)", uint8(p))
}

// ParseParser returns the parser named name: "json" (or "", the default)
// or "msgpack".
func ParseParser(name string) (Parser, error) {
	switch name {
	case "json", "":
		return ParserJSON, nil
	case "msgpack":
		return ParserMsgPack, nil
	}
	return 0, fmt.Errorf("socketio: unknown parser %q (want json or msgpack)", name)
}

// onMsgpackMessage decodes one Engine.IO message with the msgpack parser.
// Anything malformed closes the connection with "parse error", as the
// reference does when its decoder throws.
func (c *client) onMsgpackMessage(data []byte, binary bool) {
	if !binary {
		c.fail("text message with the msgpack parser")
		return
	}
	p, err := decodeMsgpackPacket(data, &c.srv.opts.Limits)
	if err != nil {
		c.failDecode(err)
		return
	}
	c.dispatch(p)
}

// decodeMsgpackPacket decodes a packet and checks it as
// socket.io-msgpack-parser's Decoder.checkPacket does. Its data becomes
// JSON with binary values as attachments, the form the rest of the package
// handles; keys other than type, data, nsp and id are ignored (the client
// sends its emit options along).
func decodeMsgpackPacket(b []byte, lim *Limits) (*packet, error) {
	// The envelope map is depth 0, so data nests as it would in JSON.
	v, err := msgpack.DecodeDepth(b, lim.MaxJSONDepth)
	if err != nil {
		if errors.Is(err, msgpack.ErrTooDeep) {
			return nil, errTooDeep
		}
		return nil, errBadPacket
	}
	m, ok := v.(msgpack.Map)
	if !ok {
		return nil, errBadPacket
	}
	tv, _ := m.Get("type")
	typ, ok := integer(tv)
	if !ok || typ < int64(PacketConnect) || typ > int64(PacketConnectError) {
		return nil, errBadPacket
	}
	nv, _ := m.Get("nsp")
	nsp, ok := nv.(string)
	if !ok {
		return nil, errBadPacket
	}
	p := &packet{typ: PacketType(typ), nsp: nsp, id: noAck}
	// notepack's undefined decodes as nil, as does null: both count as
	// absent here.
	if iv, _ := m.Get("id"); iv != nil {
		id, ok := integer(iv)
		if !ok || id < 0 || id > maxAckID {
			return nil, errBadPacket
		}
		p.id = id
	}
	data, _ := m.Get("data")
	switch p.typ {
	case PacketConnect:
		if _, isMap := data.(msgpack.Map); data != nil && !isMap {
			return nil, errBadPacket
		}
	case PacketDisconnect:
		if data != nil {
			return nil, errBadPacket
		}
	case PacketConnectError:
		_, isMap := data.(msgpack.Map)
		if _, isStr := data.(string); !isMap && !isStr {
			return nil, errBadPacket
		}
	default:
		if _, isArray := data.([]any); !isArray {
			return nil, errBadPacket
		}
	}
	if data == nil {
		return p, nil
	}
	var atts [][]byte
	js, err := msgpack.AppendJSON(nil, data, &atts)
	if err != nil {
		return nil, errBadPacket
	}
	if len(atts) > lim.MaxAttachments {
		return nil, errTooManyAttachments
	}
	p.data, p.attachments, p.buffers = js, len(atts), atts
	return p, nil
}

// maxAckID is the largest ack id the JSON parser accepts (15 digits), and
// below 2^53: JavaScript's integers.
const maxAckID = 999_999_999_999_999

// integer accepts what JavaScript's Number.isInteger does.
func integer(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	}
	return 0, false
}

// encodeEvent is encodeEvent in the client's wire format.
func (c *client) encodeEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) ([]*engineio.Message, error) {
	if c.srv.opts.Parser != ParserMsgPack {
		return encodeEvent(typ, nsp, id, name, withName, args)
	}
	m, err := encodeMsgpackEvent(typ, nsp, id, name, withName, args)
	if err != nil {
		return nil, err
	}
	return []*engineio.Message{m}, nil
}

// encodeControl is encodeControl in the client's wire format. payload is
// JSON built by this package, so it always converts.
func (c *client) encodeControl(typ PacketType, nsp string, payload []byte) *engineio.Message {
	if c.srv.opts.Parser != ParserMsgPack {
		return encodeControl(typ, nsp, payload)
	}
	m, err := encodeMsgpack(typ, nsp, noAck, payload, nil)
	if err != nil {
		c.srv.log.Error("socketio: cannot encode control packet", "type", typ, "err", err)
		m, _ = encodeMsgpack(typ, nsp, noAck, nil, nil)
	}
	return m
}

// encodeMsgpack builds a msgpack packet from JSON data (nil: none) whose
// placeholders index atts.
func encodeMsgpack(typ PacketType, nsp string, id int64, data json.RawMessage, atts [][]byte) (*engineio.Message, error) {
	b, err := msgpackPacket(typ, nsp, id, data, atts)
	if err != nil {
		return nil, err
	}
	return engineio.NewBinaryMessage(b), nil
}

// msgpackPacket is encodeMsgpack's bytes. The keys come in the order the
// reference's packets have them. BINARY_EVENT and BINARY_ACK do not exist
// in this format: binary is inline.
func msgpackPacket(typ PacketType, nsp string, id int64, data json.RawMessage, atts [][]byte) ([]byte, error) {
	switch typ {
	case PacketBinaryEvent:
		typ = PacketEvent
	case PacketBinaryAck:
		typ = PacketAck
	}
	m := make(msgpack.Map, 0, 4)
	m = append(m, msgpack.Entry{Key: "type", Value: int64(typ)})
	if data != nil {
		tree, err := msgpack.FromJSON(data, atts)
		if err != nil {
			return nil, fmt.Errorf("socketio: msgpack: %w", err)
		}
		m = append(m, msgpack.Entry{Key: "data", Value: tree})
	}
	m = append(m, msgpack.Entry{Key: "nsp", Value: nsp})
	if id != noAck {
		m = append(m, msgpack.Entry{Key: "id", Value: id})
	}
	b, err := msgpack.Append(nil, m)
	if err != nil {
		return nil, fmt.Errorf("socketio: msgpack: %w", err)
	}
	return b, nil
}

// msgpackFrames is the packet's wire form with the msgpack parser,
// encoded once and shared by every recipient.
func (p *Packet) msgpackFrames() ([]*engineio.Message, error) {
	p.mpOnce.Do(func() {
		m, err := encodeMsgpackEvent(PacketEvent, p.nsp, p.id, p.event, true, p.args)
		if err != nil {
			p.mpErr = err
			return
		}
		p.mpMsgs = []*engineio.Message{m}
	})
	return p.mpMsgs, p.mpErr
}

// encodeMsgpackEvent builds an EVENT (withName) or ACK packet, its
// arguments encoded straight to MessagePack. The bytes are those of the
// longer route the JSON parser's form implies (arguments to JSON with
// placeholders, JSON to a msgpack tree, the tree to bytes), which it takes
// for the arguments whose form depends on it (see mpEncoder).
func encodeMsgpackEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) (*engineio.Message, error) {
	b, err := msgpackEvent(typ, nsp, id, name, withName, args)
	if err != nil {
		return nil, err
	}
	return engineio.NewBinaryMessage(b), nil
}

// msgpackEvent is encodeMsgpackEvent's bytes.
func msgpackEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) ([]byte, error) {
	if b, ok := appendMsgpackEvent(typ, nsp, id, name, withName, args); ok {
		return b, nil
	}
	return msgpackEventViaJSON(typ, nsp, id, name, withName, args)
}

// msgpackEventViaJSON is msgpackEvent's way for what the direct one does
// not take: arguments to JSON with placeholders, then a msgpack tree,
// then bytes.
func msgpackEventViaJSON(typ PacketType, nsp string, id int64, name string, withName bool, args []any) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 16+len(name)+sizeHint(args))}
	if err := e.eventArray(name, withName, args); err != nil {
		return nil, err
	}
	return msgpackPacket(typ, nsp, id, e.buf, e.attachments)
}

// appendMsgpackEvent is encodeMsgpackEvent's direct way: a map {type,
// data, nsp, id} with the keys in the reference's order. ok is false when
// an argument needs the JSON route.
func appendMsgpackEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) (b []byte, ok bool) {
	if withName && !utf8.ValidString(name) {
		return nil, false
	}
	switch typ {
	case PacketBinaryEvent:
		typ = PacketEvent
	case PacketBinaryAck:
		typ = PacketAck
	}
	n, size := 0, 32+len(nsp)+len(name)
	if withName {
		n++
	}
	for _, a := range args {
		if in, ok := a.(Args); ok {
			n += len(in.raw)
		} else {
			n++
		}
		size += mpSizeHint(a)
	}
	e := mpEncoder{buf: make([]byte, 0, size), binary: countBinary(args)}
	if id != noAck {
		e.buf = append(e.buf, 0x84)
	} else {
		e.buf = append(e.buf, 0x83)
	}
	e.buf = append(e.buf, "\xa4type"...)
	e.buf = msgpack.AppendInt(e.buf, int64(typ))
	e.buf = append(e.buf, "\xa4data"...)
	e.buf = msgpack.AppendArrayHeader(e.buf, n)
	if withName {
		e.buf, _ = msgpack.Append(e.buf, name)
	}
	for _, a := range args {
		if in, isArgs := a.(Args); isArgs {
			ok = e.spread(in)
		} else {
			ok = e.value(a, 1)
		}
		if !ok {
			return nil, false
		}
	}
	e.buf = append(e.buf, "\xa3nsp"...)
	e.buf, _ = msgpack.Append(e.buf, nsp)
	if id != noAck {
		e.buf = append(e.buf, "\xa2id"...)
		e.buf = msgpack.AppendInt(e.buf, id)
	}
	return e.buf, true
}

// mpSizeHint guesses an argument's MessagePack size, exactly for strings,
// binary and relayed raw arguments.
func mpSizeHint(a any) int {
	switch t := a.(type) {
	case string:
		return len(t) + 5
	case []byte:
		return len(t) + 5
	case json.RawMessage:
		return len(t)
	case Args:
		n := 0
		for _, r := range t.raw {
			n += len(r)
		}
		for _, b := range t.buffers {
			n += len(b) + 5
		}
		return n
	}
	return 16
}

// mpEncoder appends arguments as MessagePack, as notepack.io writes what
// the JSON route gives: integral numbers as integers, other numbers as
// float64, objects with their keys sorted (as encoding/json writes a
// map), binary inline. The values whose form depends on the JSON route
// go through it one by one: JSON text (json.RawMessage, Args) and types
// only encoding/json knows. That is exact while the packet has no binary
// argument; with one, such a value could hold a placeholder that the JSON
// route would resolve, so the methods report false and the whole packet
// takes the JSON route. They also report false for anything that route
// would change or refuse (invalid UTF-8, NaN, nesting past
// msgpack.MaxDepth): it then gives the same bytes or the same error.
type mpEncoder struct {
	buf    []byte
	binary int // the packet's binary arguments (countBinary)
}

// value appends v, which is at depth in the packet's data (the data array
// is at 0).
func (e *mpEncoder) value(v any, depth int) bool {
	if depth > msgpack.MaxDepth {
		return false
	}
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, 0xc0)
	case bool:
		e.buf, _ = msgpack.Append(e.buf, t)
	case string:
		if !utf8.ValidString(t) {
			return false
		}
		e.buf, _ = msgpack.Append(e.buf, t)
	case int:
		e.buf = msgpack.AppendInt(e.buf, int64(t))
	case int64:
		e.buf = msgpack.AppendInt(e.buf, t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return false
		}
		if a := math.Abs(t); a >= 1<<53 && a < 1<<63 && strconv.FormatFloat(t, 'f', -1, 64) != strconv.FormatFloat(t, 'f', 0, 64) {
			// The JSON route reads encoding/json's shortest text for t
			// as an int64 (1.00000000000001e17 as 100000000000001000),
			// not t's exact value (…0992): where the two differ, it
			// decides. (Past int64 it reads the text as a float: t.)
			return false
		}
		e.buf, _ = msgpack.Append(e.buf, t)
	case []byte:
		e.buf, _ = msgpack.Append(e.buf, t)
	case map[string]any:
		if t == nil {
			e.buf = append(e.buf, 0xc0) // encoding/json's null
			return true
		}
		if e.binary > 0 && len(t) == 2 && t["_placeholder"] != nil && t["num"] != nil {
			return false // the JSON route may take it for a placeholder
		}
		e.buf = appendMapHeader(e.buf, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if !utf8.ValidString(k) {
				return false
			}
			e.buf, _ = msgpack.Append(e.buf, k)
			if !e.value(t[k], depth+1) {
				return false
			}
		}
	case []any:
		if t == nil {
			e.buf = append(e.buf, 0xc0)
			return true
		}
		e.buf = msgpack.AppendArrayHeader(e.buf, len(t))
		for _, el := range t {
			if !e.value(el, depth+1) {
				return false
			}
		}
	case json.RawMessage:
		if len(t) == 0 {
			e.buf = append(e.buf, 0xc0)
			return true
		}
		return e.binary == 0 && e.json(t, nil, depth)
	default:
		if e.binary > 0 {
			return false
		}
		je := encoder{}
		if je.value(v) != nil {
			return false
		}
		return e.json(je.buf, nil, depth)
	}
	return true
}

// spread appends the elements of received arguments. Their placeholders
// index in.buffers, which are the packet's attachments when they are its
// only binary arguments; otherwise the JSON route renumbers them.
func (e *mpEncoder) spread(in Args) bool {
	if e.binary != len(in.buffers) {
		return false
	}
	if len(in.raw) == 1 {
		return e.json(in.raw[0], in.buffers, 1)
	}
	// The elements as one JSON array, at the data array's depth: one
	// decoder for them all rather than one each.
	n := 2
	for _, r := range in.raw {
		n += len(r) + 1
	}
	arr := append(make([]byte, 0, n), '[')
	for i, r := range in.raw {
		if i > 0 {
			arr = append(arr, ',')
		}
		arr = append(arr, r...)
	}
	arr = append(arr, ']')
	if jsonTooDeep(arr, msgpack.MaxDepth-1) {
		return false
	}
	tree, err := msgpack.FromJSON(arr, in.buffers)
	if err != nil {
		return false
	}
	elems, _ := tree.([]any)
	if len(elems) != len(in.raw) {
		return false // an element was not one JSON value
	}
	for _, el := range elems {
		if e.buf, err = msgpack.Append(e.buf, el); err != nil {
			return false
		}
	}
	return true
}

// json appends JSON text found at depth, its placeholders indexing atts.
func (e *mpEncoder) json(data []byte, atts [][]byte, depth int) bool {
	if jsonTooDeep(data, msgpack.MaxDepth-depth-1) {
		return false
	}
	tree, err := msgpack.FromJSON(data, atts)
	if err != nil {
		return false
	}
	e.buf, err = msgpack.Append(e.buf, tree)
	return err == nil
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 0x10:
		return append(b, 0x80|byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}
