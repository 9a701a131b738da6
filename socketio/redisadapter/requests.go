package redisadapter

import (
	"context"
	"encoding/json"

	"github.com/switchboard/switchboard/internal/msgpack"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/internal/adapterwire"
)

// decodeRequest reads a request or response: JSON when it starts with
// '{', MessagePack otherwise (as the reference decides).
func decodeRequest(payload []byte) (msgpack.Map, bool) {
	var v any
	var err error
	if len(payload) > 0 && payload[0] == '{' {
		v, err = msgpack.FromJSON(payload, nil)
	} else {
		v, err = msgpack.Decode(payload)
	}
	m, ok := v.(msgpack.Map)
	return m, err == nil && ok
}

func (a *Adapter) onRequestOrResponse(channel string, payload []byte) {
	msg, ok := decodeRequest(payload)
	if !ok {
		a.c.log.Debug("ignoring malformed request", "channel", channel)
		return
	}
	if channel == a.requestChannel {
		a.onRequest(msg)
	} else {
		a.onResponse(msg)
	}
}

// respond answers a request, on the shared response channel or, with
// PublishOnSpecificResponseChannel, on the requester's own.
func (a *Adapter) respond(req msgpack.Map, body []byte) {
	ch := a.responseChannel
	if a.c.opts.PublishOnSpecificResponseChannel {
		ch += req.Str("uid") + "#"
	}
	a.c.send(ch, body)
}

func (a *Adapter) respondJSON(req msgpack.Map, body msgpack.Map) {
	b, err := msgpack.AppendJSON(nil, body, new([][]byte))
	if err == nil {
		a.respond(req, b)
	}
}

func (a *Adapter) onRequest(req msgpack.Map) {
	if req.Str("uid") == a.c.uid {
		return // our own request: applied locally already
	}
	typ, _ := req.Int("type")
	id, _ := req.Get("requestId")
	optsTree, hasOpts := req.Get("opts")
	om, _ := optsTree.(msgpack.Map)
	opts := adapterwire.ReadOpts(om)
	switch typ {
	case reqSockets:
		r, _ := req.Get("rooms")
		var ids []string
		a.MemoryAdapter.Apply(&socketio.BroadcastOptions{Rooms: adapterwire.Rooms(r)}, func(s *socketio.Socket) { ids = append(ids, s.ID()) })
		a.respondJSON(req, msgpack.Map{{Key: "requestId", Value: id}, {Key: "sockets", Value: adapterwire.NonNil(ids)}})
	case reqAllRooms:
		a.respondJSON(req, msgpack.Map{{Key: "requestId", Value: id}, {Key: "rooms", Value: adapterwire.NonNil(a.MemoryAdapter.Rooms())}})
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if !hasOpts { // the older form naming one socket
			sid := req.Str("sid")
			opts = &socketio.BroadcastOptions{Rooms: []string{sid}}
			if sid == "" || a.MemoryAdapter.RoomSize(sid) == 0 {
				return
			}
			defer a.respondJSON(req, msgpack.Map{{Key: "requestId", Value: id}})
		}
		rooms, _ := req.Get("rooms")
		roomList := adapterwire.Rooms(rooms)
		if r := req.Str("room"); r != "" {
			roomList = append(roomList, r)
		}
		switch typ {
		case reqRemoteJoin:
			_ = a.MemoryAdapter.AddSockets(opts, roomList)
		case reqRemoteLeave:
			_ = a.MemoryAdapter.DelSockets(opts, roomList)
		default:
			closeConn, _ := req.Get("close")
			_ = a.MemoryAdapter.DisconnectSockets(opts, closeConn == true)
		}
	case reqRemoteFetch:
		socks, _ := a.MemoryAdapter.FetchSockets(context.Background(), opts)
		b, err := json.Marshal(struct {
			RequestID any                      `json:"requestId"`
			Sockets   []*socketio.RemoteSocket `json:"sockets"`
		}{id, nonNilSockets(socks)})
		if err == nil {
			a.respond(req, b)
		}
	case reqServerSideEmit:
		a.onServerSideEmit(req, id)
	case reqBroadcast:
		a.onBroadcastWithAck(req, om, opts)
	}
}

func nonNilSockets(s []*socketio.RemoteSocket) []*socketio.RemoteSocket {
	if s == nil {
		return []*socketio.RemoteSocket{}
	}
	return s
}

func (a *Adapter) onServerSideEmit(req msgpack.Map, id any) {
	d, _ := req.Get("data")
	data, _ := d.([]any)
	if len(data) == 0 {
		return
	}
	event, ok := data[0].(string)
	if !ok {
		return
	}
	js, err := msgpack.AppendJSON(nil, data[1:], new([][]byte))
	if err != nil {
		return
	}
	args, err := socketio.ParseArgs(js, nil)
	if err != nil {
		return
	}
	var ack func(any)
	if id != nil {
		ack = func(answer any) {
			b, err := json.Marshal(answer)
			if err != nil {
				b = []byte("null")
			}
			// Always on the shared channel, as the reference does.
			body, _ := msgpack.AppendJSON(nil, msgpack.Map{{Key: "type", Value: int64(reqServerSideEmit)}, {Key: "requestId", Value: id}, {Key: "data", Value: json.RawMessage(b)}}, new([][]byte))
			a.c.send(a.responseChannel, body)
		}
	}
	a.nsp.HandleServerSideEmit(event, args, ack)
}

// onBroadcastWithAck delivers another node's acknowledged broadcast to
// the local sockets and reports the count and each answer.
func (a *Adapter) onBroadcastWithAck(req, om msgpack.Map, opts *socketio.BroadcastOptions) {
	id, _ := req.Get("requestId")
	pt, _ := req.Get("packet")
	pm, _ := pt.(msgpack.Map)
	p, err := a.remotePacket(pm, a.nsp.NewAckID())
	if err != nil || p == nil {
		return
	}
	_, _ = a.MemoryAdapter.BroadcastWithAck(p, opts,
		func(n int) {
			a.respondJSON(req, msgpack.Map{{Key: "type", Value: int64(reqBroadcastClientCount)}, {Key: "requestId", Value: id}, {Key: "clientCount", Value: int64(n)}})
		},
		func(args socketio.Args, err error) {
			if err != nil {
				return // the socket left before answering: the reference sends nothing either
			}
			var first any
			if args.Len() > 0 {
				if first, err = msgpack.FromJSON(args.Raw(0), args.Attachments()); err != nil {
					return
				}
			}
			b, err := msgpack.Append(nil, msgpack.Map{{Key: "type", Value: int64(reqBroadcastAck)}, {Key: "requestId", Value: id}, {Key: "packet", Value: first}})
			if err == nil {
				a.respond(req, b)
			}
		})
}

func (a *Adapter) onResponse(res msgpack.Map) {
	id := res.Str("requestId")
	if id == "" {
		return
	}
	a.mu.Lock()
	if ar := a.acks[id]; ar != nil {
		a.mu.Unlock()
		typ, _ := res.Int("type")
		switch typ {
		case reqBroadcastClientCount:
			if n, ok := res.Int("clientCount"); ok {
				ar.onCount(int(n))
			}
		case reqBroadcastAck:
			pkt, _ := res.Get("packet")
			if args, err := adapterwire.Args(pkt); err == nil {
				ar.onAck(args, nil)
			}
		}
		return
	}
	defer a.mu.Unlock()
	r := a.requests[id]
	if r == nil || r.finished {
		return
	}
	switch r.typ {
	case reqRemoteFetch:
		r.got++
		s, _ := res.Get("sockets")
		r.sockets = append(r.sockets, adapterwire.Sockets(s)...)
	case reqAllRooms:
		r.got++
		rooms, _ := res.Get("rooms")
		r.rooms = append(r.rooms, adapterwire.Rooms(rooms)...)
	case reqServerSideEmit:
		r.got++
		d, _ := res.Get("data")
		b, err := msgpack.AppendJSON(append([]byte(nil), '['), d, new([][]byte))
		if err != nil {
			return
		}
		if args, err := socketio.ParseArgs(append(b, ']'), nil); err == nil {
			r.answers = append(r.answers, args)
		}
	default:
		return
	}
	if r.got >= r.numSub {
		r.finished = true
		close(r.done)
	}
}
