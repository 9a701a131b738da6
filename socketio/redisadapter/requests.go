package redisadapter

import (
	"context"
	"encoding/json"

	"github.com/switchboard/switchboard/socketio"
)

// decodeRequest reads a request or response: JSON when it starts with
// '{', MessagePack otherwise (as the reference decides).
func decodeRequest(payload []byte) (mpMap, bool) {
	var v any
	var err error
	if len(payload) > 0 && payload[0] == '{' {
		v, err = jsonToTree(payload, nil)
	} else {
		v, err = mpDecode(payload)
	}
	m, ok := v.(mpMap)
	return m, err == nil && ok
}

func (m mpMap) str(key string) string {
	v, _ := m.get(key)
	s, _ := v.(string)
	return s
}

func (m mpMap) int(key string) (int64, bool) {
	v, _ := m.get(key)
	switch t := v.(type) {
	case int64:
		return t, true
	case float64:
		return int64(t), t == float64(int64(t))
	}
	return 0, false
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
func (a *Adapter) respond(req mpMap, body []byte) {
	ch := a.responseChannel
	if a.c.opts.PublishOnSpecificResponseChannel {
		ch += req.str("uid") + "#"
	}
	a.c.send(ch, body)
}

func (a *Adapter) respondJSON(req mpMap, body mpMap) {
	b, err := treeToJSON(nil, body, new([][]byte))
	if err == nil {
		a.respond(req, b)
	}
}

func (a *Adapter) onRequest(req mpMap) {
	if req.str("uid") == a.c.uid {
		return // our own request: applied locally already
	}
	typ, _ := req.int("type")
	id, _ := req.get("requestId")
	optsTree, hasOpts := req.get("opts")
	om, _ := optsTree.(mpMap)
	opts := readOpts(om)
	switch typ {
	case reqSockets:
		r, _ := req.get("rooms")
		var ids []string
		a.MemoryAdapter.Apply(&socketio.BroadcastOptions{Rooms: strs(r)}, func(s *socketio.Socket) { ids = append(ids, s.ID()) })
		a.respondJSON(req, mpMap{{"requestId", id}, {"sockets", nonNil(ids)}})
	case reqAllRooms:
		a.respondJSON(req, mpMap{{"requestId", id}, {"rooms", nonNil(a.MemoryAdapter.Rooms())}})
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if !hasOpts { // the older form naming one socket
			sid := req.str("sid")
			opts = &socketio.BroadcastOptions{Rooms: []string{sid}}
			if sid == "" || a.MemoryAdapter.RoomSize(sid) == 0 {
				return
			}
			defer a.respondJSON(req, mpMap{{"requestId", id}})
		}
		rooms, _ := req.get("rooms")
		roomList := strs(rooms)
		if r := req.str("room"); r != "" {
			roomList = append(roomList, r)
		}
		switch typ {
		case reqRemoteJoin:
			_ = a.MemoryAdapter.AddSockets(opts, roomList)
		case reqRemoteLeave:
			_ = a.MemoryAdapter.DelSockets(opts, roomList)
		default:
			closeConn, _ := req.get("close")
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

func (a *Adapter) onServerSideEmit(req mpMap, id any) {
	d, _ := req.get("data")
	data, _ := d.([]any)
	if len(data) == 0 {
		return
	}
	event, ok := data[0].(string)
	if !ok {
		return
	}
	js, err := treeToJSON(nil, data[1:], new([][]byte))
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
			body, _ := treeToJSON(nil, mpMap{{"type", int64(reqServerSideEmit)}, {"requestId", id}, {"data", json.RawMessage(b)}}, new([][]byte))
			a.c.send(a.responseChannel, body)
		}
	}
	a.nsp.HandleServerSideEmit(event, args, ack)
}

// onBroadcastWithAck delivers another node's acknowledged broadcast to
// the local sockets and reports the count and each answer.
func (a *Adapter) onBroadcastWithAck(req, om mpMap, opts *socketio.BroadcastOptions) {
	id, _ := req.get("requestId")
	pt, _ := req.get("packet")
	pm, _ := pt.(mpMap)
	p, err := a.remotePacket(pm, a.nsp.NewAckID())
	if err != nil || p == nil {
		return
	}
	_, _ = a.MemoryAdapter.BroadcastWithAck(p, opts,
		func(n int) {
			a.respondJSON(req, mpMap{{"type", int64(reqBroadcastClientCount)}, {"requestId", id}, {"clientCount", int64(n)}})
		},
		func(args socketio.Args, err error) {
			if err != nil {
				return // the socket left before answering: the reference sends nothing either
			}
			var first any
			if args.Len() > 0 {
				if first, err = jsonToTree(args.Raw(0), args.Attachments()); err != nil {
					return
				}
			}
			b, err := mpAppend(nil, mpMap{{"type", int64(reqBroadcastAck)}, {"requestId", id}, {"packet", first}})
			if err == nil {
				a.respond(req, b)
			}
		})
}

func (a *Adapter) onResponse(res mpMap) {
	id := res.str("requestId")
	if id == "" {
		return
	}
	a.mu.Lock()
	if ar := a.acks[id]; ar != nil {
		a.mu.Unlock()
		typ, _ := res.int("type")
		switch typ {
		case reqBroadcastClientCount:
			if n, ok := res.int("clientCount"); ok {
				ar.onCount(int(n))
			}
		case reqBroadcastAck:
			pkt, _ := res.get("packet")
			var atts [][]byte
			js, err := treeToJSON(append([]byte(nil), '['), pkt, &atts)
			if err != nil {
				return
			}
			if args, err := socketio.ParseArgs(append(js, ']'), atts); err == nil {
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
		s, _ := res.get("sockets")
		list, _ := s.([]any)
		for _, e := range list {
			b, err := treeToJSON(nil, e, new([][]byte))
			if err != nil {
				continue
			}
			rs := new(socketio.RemoteSocket)
			if json.Unmarshal(b, rs) == nil {
				r.sockets = append(r.sockets, rs)
			}
		}
	case reqAllRooms:
		r.got++
		rooms, _ := res.get("rooms")
		r.rooms = append(r.rooms, strs(rooms)...)
	case reqServerSideEmit:
		r.got++
		d, _ := res.get("data")
		b, err := treeToJSON(append([]byte(nil), '['), d, new([][]byte))
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
