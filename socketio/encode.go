package socketio

import (
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/engineio"
)

// encodeEvent builds the wire form of an EVENT (withName) or ACK packet:
// one text message, then one binary message per attachment.
func encodeEvent(typ PacketType, nsp string, id int64, name string, withName bool, args []any) ([]*engineio.Message, error) {
	n := countBinary(args)
	e := encoder{buf: make([]byte, 0, 32+len(nsp)+len(name)+16*len(args))}
	e.buf = append(e.buf, '4')
	e.buf = appendHeader(e.buf, typ, n, nsp, id)
	e.buf = append(e.buf, '[')
	if withName {
		e.buf = appendJSONString(e.buf, name)
	}
	if err := e.args(args, !withName); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, ']')
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

// outPacket is an event on its way to one or many sockets. It is encoded at
// most once, however many recipients it has.
type outPacket struct {
	nsp   string
	event string
	args  []any
	id    int64

	once sync.Once
	msgs []*engineio.Message
	err  error
}

func (p *outPacket) messages() ([]*engineio.Message, error) {
	p.once.Do(func() {
		p.msgs, p.err = encodeEvent(PacketEvent, p.nsp, p.id, p.event, true, p.args)
	})
	return p.msgs, p.err
}
