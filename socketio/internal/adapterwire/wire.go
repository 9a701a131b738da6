// Package adapterwire holds what the Redis adapters share of the Node.js
// adapters' wire format: the packet object {type, data, nsp}, the
// broadcast options {rooms, except, flags}, room lists, arguments and
// socket descriptions, all as MessagePack values (internal/msgpack). The
// pub/sub adapter (@socket.io/redis-adapter) and the streams adapter
// (@socket.io/redis-streams-adapter) frame their messages differently but
// carry these the same way.
package adapterwire

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
)

// packetEvent is socket.io-parser's EVENT type; binary events travel as
// EVENT too, the parser picks BINARY_EVENT when it encodes.
const packetEvent = 2

// Packet is p as the reference's packet object {type, data, nsp}.
func Packet(p *socketio.Packet, nsp string) (msgpack.Map, error) {
	data, atts, err := p.Payload()
	if err != nil {
		return nil, err
	}
	tree, err := msgpack.FromJSON(data, atts)
	if err != nil {
		return nil, err
	}
	return msgpack.Map{{Key: "type", Value: int64(packetEvent)}, {Key: "data", Value: tree}, {Key: "nsp", Value: nsp}}, nil
}

// Event rebuilds an event of namespace nsp from a packet's data array
// [event, ...args], with extra appended to the arguments (a broadcast's
// offset).
func Event(nsp string, arr []any, ackID int64, extra ...any) (*socketio.Packet, error) {
	if len(arr) == 0 {
		return nil, errors.New("packet without data")
	}
	event, ok := arr[0].(string)
	if !ok {
		return nil, errors.New("event name is not a string")
	}
	rest := arr[1:]
	if len(extra) > 0 {
		rest = append(rest[:len(rest):len(rest)], extra...)
	}
	var atts [][]byte
	js, err := msgpack.AppendJSON(nil, rest, &atts)
	if err != nil {
		return nil, err
	}
	args, err := socketio.ParseArgs(js, atts)
	if err != nil {
		return nil, err
	}
	return socketio.NewPacket(nsp, ackID, event, args), nil
}

// Args reads an answer from another node as the one argument it is (the
// reference passes on a client's acknowledgement as its first argument,
// and a server-side emit's answer as one value).
func Args(v any) (socketio.Args, error) {
	var atts [][]byte
	js, err := msgpack.AppendJSON([]byte{'['}, v, &atts)
	if err != nil {
		return socketio.Args{}, err
	}
	return socketio.ParseArgs(append(js, ']'), atts)
}

// Sockets reads a fetchSockets answer's socket descriptions, skipping
// those it cannot read.
func Sockets(v any) []*socketio.RemoteSocket {
	list, _ := v.([]any)
	var out []*socketio.RemoteSocket
	for _, e := range list {
		b, err := msgpack.AppendJSON(nil, e, new([][]byte))
		if err != nil {
			continue
		}
		rs := new(socketio.RemoteSocket)
		if json.Unmarshal(b, rs) == nil {
			out = append(out, rs)
		}
	}
	return out
}

// Opts is the reference's encodeOptions: {rooms, except}, and {flags}
// (volatile, timeout in milliseconds) when withFlags.
func Opts(opts *socketio.BroadcastOptions, withFlags bool) msgpack.Map {
	m := msgpack.Map{{Key: "rooms", Value: NonNil(opts.Rooms)}, {Key: "except", Value: NonNil(opts.Except)}}
	if withFlags {
		flags := msgpack.Map{}
		if opts.Volatile {
			flags = append(flags, msgpack.Entry{Key: "volatile", Value: true})
		}
		if opts.Timeout > 0 {
			flags = append(flags, msgpack.Entry{Key: "timeout", Value: opts.Timeout.Milliseconds()})
		}
		m = append(m, msgpack.Entry{Key: "flags", Value: flags})
	}
	return m
}

// ReadOpts reads {rooms, except, flags}; a missing part selects nothing
// less.
func ReadOpts(v any) *socketio.BroadcastOptions {
	o, _ := v.(msgpack.Map)
	opts := &socketio.BroadcastOptions{}
	r, _ := o.Get("rooms")
	opts.Rooms = Rooms(r)
	e, _ := o.Get("except")
	opts.Except = Rooms(e)
	if f, ok := o.Get("flags"); ok {
		if fm, ok := f.(msgpack.Map); ok {
			v, _ := fm.Get("volatile")
			opts.Volatile = v == true
		}
	}
	return opts
}

// Rooms reads an array of room names; numbers are rooms too in the
// reference (rooms are Map keys there).
func Rooms(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		switch t := e.(type) {
		case string:
			out = append(out, t)
		case int64:
			out = append(out, strconv.FormatInt(t, 10))
		case float64:
			out = append(out, strconv.FormatFloat(t, 'f', -1, 64))
		}
	}
	return out
}

// NonNil is s, or an empty list for nil: the reference expects arrays,
// never nil.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
