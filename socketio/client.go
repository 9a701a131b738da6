package socketio

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// client is one Engine.IO session and the namespaces it is connected to.
type client struct {
	srv  *Server
	conn *engineio.Session
	// legacy: Socket.IO protocol v4 (Engine.IO v3, socket.io-client 2.x),
	// which differs from v5 only in how a client connects to namespaces.
	legacy bool

	mu sync.Mutex
	// sockets has one socket per namespace joined, in join order. Most
	// clients join one or two: a scan beats a map. Past indexFrom, byName
	// indexes them too, so that a client in many namespaces (up to
	// Limits.MaxNamespacesPerClient) costs no scan per packet.
	sockets []*Socket
	byName  map[string]*Socket
	// authBytes counts the CONNECT payloads the sockets keep for their
	// life (Handshake.Auth): at most max_payload in all.
	authBytes    int64
	closed       bool
	connectTimer *time.Timer

	// Only the engine's delivery goroutine touches what follows.
	//
	// pending is a binary packet waiting for its attachments, and
	// pendingBytes what it holds so far (bounded by max_payload).
	pending      *packet
	pendingBytes int64
	// connects is the bucket of Limits.NamespaceConnectsPerSecond.
	connects bucket
	// handlerSeq numbers the event handlers run; handling is the number
	// of the one running (0: none), which other goroutines read.
	handlerSeq uint64
	handling   atomic.Uint64
}

// indexFrom is the number of namespaces from which a client's sockets are
// also indexed by name.
const indexFrom = 8

func newClient(srv *Server, conn *engineio.Session) *client {
	c := &client{srv: srv, conn: conn, legacy: conn.Handshake().Protocol == 3}
	c.connectTimer = time.AfterFunc(srv.opts.ConnectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0 && !c.closed
		c.mu.Unlock()
		if idle {
			srv.log.Debug("socketio: no namespace joined in time, closing", "sid", conn.ID())
			conn.Close()
		}
	})
	return c
}

// OnMessage decodes one Engine.IO message into Socket.IO packets.
func (c *client) OnMessage(data []byte, binary bool) {
	if c.srv.opts.Parser == ParserMsgPack {
		c.onMsgpackMessage(data, binary)
		return
	}
	if binary {
		p := c.pending
		if p == nil {
			c.fail("unexpected binary attachment")
			return
		}
		if c.pendingBytes += int64(len(data)); c.pendingBytes > c.srv.maxPayload {
			c.pending = nil
			c.srv.limitHits.hit(LimitMaxPayload)
			c.fail("binary packet over max_payload")
			return
		}
		p.buffers = append(p.buffers, compact(data))
		if len(p.buffers) < p.attachments {
			return
		}
		c.pending = nil
		c.dispatch(p)
		return
	}
	if c.pending != nil {
		c.fail("text packet while waiting for binary attachments")
		return
	}
	p, err := decodePacket(data, &c.srv.opts.Limits)
	if err != nil {
		c.failDecode(err)
		return
	}
	if p.attachments > 0 {
		if !checkPlaceholders(p.data, p.attachments) {
			c.fail("invalid attachment placeholder")
			return
		}
		// The whole packet, text and attachments, counts against
		// max_payload: what the server holds for a client until the last
		// attachment comes is then what one message may be.
		c.pending, c.pendingBytes = p, int64(len(data))
		p.data = compact(p.data)
		return
	}
	c.dispatch(p)
}

// compact returns b, or a copy of it if b pins a much larger array: the
// transport may deliver a slice of a whole polling body, which a pending
// packet would otherwise keep alive until its last attachment.
func compact(b []byte) []byte {
	if cap(b) > 2*len(b)+64 {
		return bytes.Clone(b)
	}
	return b
}

func (c *client) dispatch(p *packet) {
	if p.typ == PacketConnect {
		c.connect(p)
		return
	}
	s := c.socket(p.nsp)
	if s == nil || p.typ == PacketConnectError {
		// A packet for a namespace this client is not connected to (or a
		// type only servers send) means client and server disagree about
		// the connection's state: close it, as the reference does.
		c.fail("packet in invalid state")
		return
	}
	var err error
	switch p.typ {
	case PacketDisconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	case PacketEvent, PacketBinaryEvent:
		err = s.onEvent(p)
	case PacketAck, PacketBinaryAck:
		err = s.onAck(p)
	}
	if err != nil {
		c.fail("invalid packet payload")
	}
}

func (c *client) connect(p *packet) {
	if c.legacy {
		p.nsp, p.data = splitLegacyNamespace(p.nsp)
	}
	lim := &c.srv.opts.Limits
	// Refusals are CONNECT_ERRORs, as for a namespace that does not exist
	// or a middleware's refusal: the client's socket for that namespace
	// gets connect_error (2.x: "error") and does not retry on its own; its
	// other namespaces are untouched.
	if lim.NamespaceConnectsPerSecond > 0 && !c.connects.allow(time.Now(), lim.NamespaceConnectsPerSecond, lim.NamespaceConnectBurst) {
		c.srv.limitHits.hit(LimitNamespaceConnectsPerSecond)
		c.refuseConnect(p.nsp, errConnectRateLimited)
		return
	}
	c.mu.Lock()
	dup, n, held := c.lookup(p.nsp) != nil, len(c.sockets), c.authBytes
	c.mu.Unlock()
	if dup {
		c.fail("duplicate CONNECT")
		return
	}
	if lim.MaxNamespacesPerClient > 0 && n >= lim.MaxNamespacesPerClient {
		c.srv.limitHits.hit(LimitMaxNamespacesPerClient)
		c.refuseConnect(p.nsp, errTooManyNamespaces)
		return
	}
	// Each socket keeps its CONNECT's payload for its life: without a
	// bound, max_namespaces_per_client payloads of max_payload each.
	if held+int64(len(p.data)) > c.srv.maxPayload {
		c.srv.limitHits.hit(LimitMaxPayload)
		c.refuseConnect(p.nsp, errAuthTooLarge)
		return
	}
	p.data = compact(p.data)
	nsp := c.srv.lookupNamespace(p.nsp, p.data)
	if nsp == nil {
		_ = c.conn.Send(false, c.encodeControl(PacketConnectError, p.nsp, []byte(`{"message":"Invalid namespace"}`)))
		return
	}
	defer nsp.connectDone()
	nsp.connect(c, p.data)
}

// refuseConnect answers a CONNECT with a CONNECT_ERROR carrying err.
func (c *client) refuseConnect(nsp string, err error) {
	payload := connectErrorPayload(err)
	if c.legacy {
		payload = legacyConnectErrorPayload(err)
	}
	_ = c.conn.Send(false, c.encodeControl(PacketConnectError, nsp, payload))
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookup(nsp)
}

// lookup is socket with c.mu held.
func (c *client) lookup(nsp string) *Socket {
	if c.byName != nil {
		return c.byName[nsp]
	}
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (c *client) add(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.sockets = append(c.sockets, s)
	s.authLen = int64(len(s.handshake.Auth))
	c.authBytes += s.authLen
	switch {
	case c.byName != nil:
		c.byName[s.nsp.name] = s
	case len(c.sockets) > indexFrom:
		c.byName = make(map[string]*Socket, len(c.sockets))
		for _, s := range c.sockets {
			c.byName[s.nsp.name] = s
		}
	}
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil // connected: the timer's memory can go
	}
	return true
}

func (c *client) remove(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
		c.authBytes -= s.authLen
		if c.byName != nil {
			delete(c.byName, s.nsp.name)
		}
	}
	c.mu.Unlock()
}

// OnUpgrade is called by the engine when the connection moves to
// WebSocket.
func (c *client) OnUpgrade() {
	obs := c.srv.observing()
	if obs == nil {
		return
	}
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		for _, o := range obs {
			o.TransportUpgraded(s)
		}
	}
}

// failDecode closes the connection over a packet that could not be
// decoded, counting the parser limits it went over.
func (c *client) failDecode(err error) {
	switch err {
	case errTooManyAttachments:
		c.srv.limitHits.hit(LimitMaxAttachments)
	case errTooDeep:
		c.srv.limitHits.hit(LimitMaxJSONDepth)
	}
	c.fail(err.Error())
}

// fail handles a malformed packet: the connection is closed, its sockets
// disconnect with "parse error".
func (c *client) fail(why string) {
	c.srv.log.Debug("socketio: closing connection", "reason", why, "sid", c.conn.ID())
	c.close(ReasonParseError)
}

// close disconnects every socket of the connection with reason, then
// closes the connection.
func (c *client) close(reason DisconnectReason) {
	c.mu.Lock()
	c.closed = true
	if c.connectTimer != nil {
		c.connectTimer.Stop()
	}
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
	c.conn.Close()
}

// OnClose is called by the engine when the connection is gone.
func (c *client) OnClose(reason engineio.CloseReason, err error) {
	c.mu.Lock()
	c.closed = true
	if c.connectTimer != nil {
		c.connectTimer.Stop()
	}
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(DisconnectReason(reason))
	}
	c.srv.clientClosed(c)
}
