package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

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
	e := encoder{buf: make([]byte, 0, 16+len(name)+16*len(args))}
	e.buf = append(e.buf, '[')
	if withName {
		e.buf = appendJSONString(e.buf, name)
	}
	if err := e.args(args, !withName); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, ']')
	m, err := encodeMsgpack(typ, nsp, id, e.buf, e.attachments)
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
// placeholders index atts. The keys come in the order the reference's
// packets have them. BINARY_EVENT and BINARY_ACK do not exist in this
// format: binary is inline.
func encodeMsgpack(typ PacketType, nsp string, id int64, data json.RawMessage, atts [][]byte) (*engineio.Message, error) {
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
	return engineio.NewBinaryMessage(b), nil
}

// msgpackFrames is the packet's wire form with the msgpack parser,
// encoded once and shared by every recipient.
func (p *Packet) msgpackFrames() ([]*engineio.Message, error) {
	p.mpOnce.Do(func() {
		data, atts, err := p.Payload()
		if err != nil {
			p.mpErr = err
			return
		}
		m, err := encodeMsgpack(PacketEvent, p.nsp, p.id, data, atts)
		if err != nil {
			p.mpErr = err
			return
		}
		p.mpMsgs = []*engineio.Message{m}
	})
	return p.mpMsgs, p.mpErr
}
