package socketio

import (
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// client is one Engine.IO session and the namespaces it is connected to.
type client struct {
	srv  *Server
	conn *engineio.Session
	// legacy: Socket.IO protocol v4 (Engine.IO v3, socket.io-client 2.x);
	// see legacy.go.
	legacy bool

	mu           sync.Mutex
	sockets      []*Socket // one per namespace joined: few, so a slice beats a map
	closed       bool
	connectTimer *time.Timer

	// pending is a binary packet waiting for its attachments. Only the
	// engine's delivery goroutine touches it.
	pending *packet
}

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
		p.buffers = append(p.buffers, data)
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
		c.pending = p
		return
	}
	c.dispatch(p)
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
	nsp := c.srv.lookupNamespace(p.nsp, p.data)
	if nsp == nil {
		_ = c.conn.Send(false, c.encodeControl(PacketConnectError, p.nsp, []byte(`{"message":"Invalid namespace"}`)))
		return
	}
	defer nsp.connectDone()
	if c.socket(p.nsp) != nil {
		c.fail("duplicate CONNECT")
		return
	}
	nsp.connect(c, p.data)
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
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
func (c *client) close(reason string) {
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
		s.onClose(string(reason))
	}
	c.srv.clientClosed(c)
}
