package socketio

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/engineio"
)

// eventArray appends an EVENT's (withName) or ACK's data: the JSON array
// of the name and the arguments, binary ones as placeholders.
func (e *encoder) eventArray(name string, withName bool, args []any) error {
	e.buf = append(e.buf, '[')
	if withName {
		e.buf = appendJSONString(e.buf, name)
	}
	if err := e.args(args, !withName); err != nil {
		return err
	}
	e.buf = append(e.buf, ']')
	return nil
}

// encodeEvent builds the wire form of an EVENT (withName) or ACK packet:
// one text message, then one binary message per attachment.
func encodeEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) ([]*engineio.Message, error) {
	n := countBinary(args)
	e := encoder{buf: make([]byte, 0, 32+len(nsp)+len(name)+sizeHint(args))}
	e.buf = append(e.buf, '4')
	e.buf = appendHeader(e.buf, typ, n, nsp, id)
	if err := e.eventArray(name, withName, args); err != nil {
		return nil, err
	}
	if len(e.attachments) != n {
		return nil, fmt.Errorf("socketio: attachment count mismatch (%d, want %d)", len(e.attachments), n)
	}
	msgs := make([]*engineio.Message, 1+n)
	msgs[0] = engineio.NewTextMessageBuffer(e.buf)
	for i, b := range e.attachments {
		msgs[1+i] = engineio.NewBinaryMessage(b)
	}
	return msgs, nil
}

// encodeControl builds CONNECT, DISCONNECT and CONNECT_ERROR packets.
func encodeControl(typ PacketType, nsp string, payload []byte) *engineio.Message {
	b := make([]byte, 0, 8+len(nsp)+len(payload))
	b = append(b, '4')
	b = appendHeader(b, typ, 0, nsp, noAck)
	b = append(b, payload...)
	return engineio.NewTextMessageBuffer(b)
}

// NoAck is the ack id of a packet that asks for no acknowledgement.
const NoAck int64 = noAck

// Packet is an EVENT on its way to one or many sockets, possibly on other
// nodes. Its wire form is encoded at most once, however many recipients it
// has; the cluster form (Payload) is computed only when an adapter asks.
// A Packet is immutable once built.
type Packet struct {
	nsp   string
	event string
	args  []any
	id    int64

	once sync.Once
	msgs []*engineio.Message
	err  error

	payloadOnce sync.Once
	payload     []byte
	attachments [][]byte
	payloadErr  error

	// The msgpack parser's form (msgpackFrames), also encoded once.
	mpOnce sync.Once
	mpMsgs []*engineio.Message
	mpErr  error
}

// NewPacket builds an EVENT packet for namespace nsp. ackID is NoAck, or an
// id from Namespace.NewAckID when the recipients must acknowledge it.
// Arguments follow Socket.Emit's rules ([]byte is binary, Args spread).
func NewPacket(nsp string, ackID int64, event string, args ...any) *Packet {
	return &Packet{nsp: nsp, event: event, args: args, id: ackID}
}

// Namespace returns the packet's namespace name.
func (p *Packet) Namespace() string { return p.nsp }

// Event returns the event name.
func (p *Packet) Event() string { return p.event }

// Args returns the arguments as given to NewPacket (do not modify them).
func (p *Packet) Args() []any { return p.args }

// AckID returns the acknowledgement id, or NoAck.
func (p *Packet) AckID() int64 { return p.id }

// Frames returns the Engine.IO messages that carry the packet: one text
// message, then one binary message per attachment. They are shared by all
// recipients and must not be modified.
func (p *Packet) Frames() ([]*engineio.Message, error) { return p.messages() }

// messages is the packet's wire form with the JSON parser, encoded once
// and shared by every recipient.
func (p *Packet) messages() ([]*engineio.Message, error) {
	p.once.Do(func() {
		p.msgs, p.err = encodeEvent(PacketEvent, p.nsp, p.id, p.event, true, p.args)
	})
	return p.msgs, p.err
}

// encoder returns the function that gives a packet's frames with parser:
// a MemoryAdapter gets it when it is built (the parser is server-wide).
func (parser Parser) encoder() func(*Packet) ([]*engineio.Message, error) {
	if parser == ParserMsgPack {
		return (*Packet).msgpackFrames
	}
	return (*Packet).messages
}

// framesFor returns the packet's wire form with parser.
func (p *Packet) framesFor(parser Parser) ([]*engineio.Message, error) {
	return parser.encoder()(p)
}

// Payload returns the packet's data as a JSON array, [event, args...], with
// binary arguments replaced by {"_placeholder":true,"num":N} and returned
// as attachments: socket.io-parser's deconstructed form, which cluster
// adapters translate to their own encoding. Do not modify the results.
func (p *Packet) Payload() (data []byte, attachments [][]byte, err error) {
	p.payloadOnce.Do(func() {
		e := encoder{buf: make([]byte, 0, 16+len(p.event)+sizeHint(p.args))}
		e.buf = append(e.buf, '[')
		e.buf = appendJSONString(e.buf, p.event)
		if p.payloadErr = e.args(p.args, false); p.payloadErr != nil {
			return
		}
		e.buf = append(e.buf, ']')
		p.payload, p.attachments = e.buf, e.attachments
	})
	return p.payload, p.attachments, p.payloadErr
}

// ParseArgs builds Args from a JSON array whose binary values are
// placeholders {"_placeholder":true,"num":N} indexing attachments: the form
// Payload returns and socket.io-parser uses. Cluster adapters use it to
// rebuild a remote packet's arguments with their binary data intact.
func ParseArgs(data []byte, attachments [][]byte) (Args, error) {
	raw, err := splitArray(data)
	if err != nil || !json.Valid(data) {
		return Args{}, fmt.Errorf("socketio: arguments: not a JSON array")
	}
	if !checkPlaceholders(data, len(attachments)) {
		return Args{}, fmt.Errorf("socketio: arguments: attachment placeholder out of range")
	}
	return Args{raw: raw, buffers: attachments}, nil
}
