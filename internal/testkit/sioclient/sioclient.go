// Package sioclient is a minimal Socket.IO v5 client over WebSocket for
// tests: it speaks the wire format directly, so tests see exactly what the
// server sends. Binary attachments sent by the server are collected in
// Event.Buffers; the client sends text only.
package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// Event is an event received from the server.
type Event struct {
	Name string
	Args []json.RawMessage
	// Buffers are the binary attachments of a BINARY_EVENT, in order
	// (the Args hold {"_placeholder":true,"num":N}).
	Buffers [][]byte
	// AckID is the id to answer with Ack, or -1 when the server asked
	// for no acknowledgement.
	AckID int
}

// Arg decodes argument i into dst.
func (e Event) Arg(i int, dst any) error {
	if i >= len(e.Args) {
		return fmt.Errorf("sioclient: event %q has %d arguments", e.Name, len(e.Args))
	}
	return json.Unmarshal(e.Args[i], dst)
}

// Client is one connection to one namespace.
type Client struct {
	conn   *wsclient.Conn
	nsp    string
	prefix string // "" for "/", else "/nsp,"
	ID     string
	// PID is the private session id of connection state recovery (the
	// CONNECT reply's pid; "" when recovery is off): Dial again with it
	// and the last event's offset in the auth object to recover.
	PID string

	events chan Event
	mu     sync.Mutex
	acks   map[int]chan []json.RawMessage
	nextID int
	// timeout bounds each read.
	timeout time.Duration
	done    chan struct{}
	closing chan struct{}
	once    sync.Once
	err     error
}

// Dial connects to baseURL ("http://host:port") at /socket.io/, joins
// namespace nsp with an optional auth object, and starts reading.
func Dial(ctx context.Context, baseURL, nsp string, auth any) (*Client, error) {
	u := strings.Replace(baseURL, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	conn, err := wsclient.DialContext(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, nsp: nsp, events: make(chan Event, 256), acks: map[int]chan []json.RawMessage{}, done: make(chan struct{}), closing: make(chan struct{})}
	if nsp != "/" {
		c.prefix = nsp + ","
	}
	// Until the namespace is joined reads end with ctx; after, they wait
	// as long as the connection lives.
	c.timeout = noTimeout
	if dl, ok := ctx.Deadline(); ok {
		c.timeout = time.Until(dl)
	}
	if open, err := c.readText(); err != nil || !strings.HasPrefix(open, "0") {
		conn.Close()
		return nil, fmt.Errorf("sioclient: open packet: %q %v", open, err)
	}
	connect := "40" + c.prefix
	if auth != nil {
		b, _ := json.Marshal(auth)
		connect += string(b)
	}
	if err := c.write(connect); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		p, err := c.readText()
		if err != nil {
			conn.Close()
			return nil, err
		}
		if p == "2" {
			_ = c.write("3")
			continue
		}
		switch {
		case strings.HasPrefix(p, "40"+c.prefix):
			var ok struct{ SID, PID string }
			if err := json.Unmarshal([]byte(p[2+len(c.prefix):]), &ok); err != nil {
				conn.Close()
				return nil, fmt.Errorf("sioclient: connect answer %q", p)
			}
			c.ID, c.PID = ok.SID, ok.PID
			c.timeout = noTimeout
			go c.readLoop()
			return c, nil
		case strings.HasPrefix(p, "44"+c.prefix):
			conn.Close()
			return nil, fmt.Errorf("sioclient: connect_error %s", p[2+len(c.prefix):])
		default:
			conn.Close()
			return nil, fmt.Errorf("sioclient: unexpected packet %q", p)
		}
	}
}

// noTimeout is a read timeout that never comes in a test.
const noTimeout = 24 * time.Hour

func (c *Client) readText() (string, error) {
	b, op, err := c.readFrame()
	if err != nil {
		return "", err
	}
	if op != ws.OpText {
		return "", errors.New("sioclient: unexpected binary frame")
	}
	return string(b), nil
}

func (c *Client) readFrame() ([]byte, ws.OpCode, error) {
	return c.conn.Read(c.timeout)
}

// readAttachments reads the n binary frames that follow a binary packet.
func (c *Client) readAttachments(n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for len(out) < n {
		b, op, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		if op != ws.OpBinary {
			return nil, fmt.Errorf("sioclient: want a binary attachment, got %q", b)
		}
		out = append(out, b)
	}
	return out, nil
}

// Ack answers a server's acknowledgement request (Event.AckID).
func (c *Client) Ack(id int, args ...any) error {
	if args == nil {
		args = []any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	return c.write("43" + c.prefix + strconv.Itoa(id) + string(b))
}

func (c *Client) write(s string) error {
	return c.conn.WriteText(s)
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		p, err := c.readText()
		if err != nil {
			c.err = err
			return
		}
		if p == "2" {
			_ = c.write("3")
			continue
		}
		if !strings.HasPrefix(p, "4") {
			continue
		}
		p = p[1:]
		if len(p) == 0 {
			continue
		}
		typ, rest := p[0], p[1:]
		var buffers [][]byte
		if typ == '5' || typ == '6' { // binary event or ack: "<n>-" then n frames
			dash := strings.IndexByte(rest, '-')
			n, err := strconv.Atoi(rest[:max(dash, 0)])
			if dash < 0 || err != nil {
				c.err = fmt.Errorf("sioclient: bad binary packet %q", p)
				return
			}
			if buffers, err = c.readAttachments(n); err != nil {
				c.err = err
				return
			}
			rest = rest[dash+1:]
			typ -= 3 // BINARY_EVENT -> EVENT, BINARY_ACK -> ACK
		}
		rest = strings.TrimPrefix(rest, c.prefix)
		id := -1
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i > 0 {
			id, _ = strconv.Atoi(rest[:i])
		}
		var args []json.RawMessage
		_ = json.Unmarshal([]byte(rest[i:]), &args)
		switch typ {
		case '2':
			if len(args) == 0 {
				continue
			}
			var name string
			_ = json.Unmarshal(args[0], &name)
			if !c.deliver(Event{Name: name, Args: args[1:], Buffers: buffers, AckID: id}) {
				return
			}
		case '3':
			c.mu.Lock()
			ch := c.acks[id]
			delete(c.acks, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- args
			}
		case '1':
			if !c.deliver(Event{Name: "disconnect", AckID: -1}) {
				return
			}
		}
	}
}

func (c *Client) deliver(e Event) bool {
	select {
	case c.events <- e:
		return true
	case <-c.closing:
		return false
	}
}

func encode(event string, args []any) (string, error) {
	all := append([]any{event}, args...)
	b, err := json.Marshal(all)
	return string(b), err
}

// Emit sends an event.
func (c *Client) Emit(event string, args ...any) error {
	payload, err := encode(event, args)
	if err != nil {
		return err
	}
	return c.write("42" + c.prefix + payload)
}

// EmitWithAck sends an event and waits for its acknowledgement.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	payload, err := encode(event, args)
	if err != nil {
		return nil, err
	}
	ch := make(chan []json.RawMessage, 1)
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.write("42" + c.prefix + strconv.Itoa(id) + payload); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Next returns the next event, or an error once ctx is done or the
// connection is gone.
func (c *Client) Next(ctx context.Context) (Event, error) {
	select {
	case e := <-c.events:
		return e, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	case <-c.done:
		select {
		case e := <-c.events:
			return e, nil
		default:
		}
		return Event{}, fmt.Errorf("sioclient: connection closed: %v", c.err)
	}
}

// Expect skips events until one named name arrives, and returns it.
func (c *Client) Expect(ctx context.Context, name string) (Event, error) {
	for {
		e, err := c.Next(ctx)
		if err != nil {
			return e, fmt.Errorf("waiting for %q: %w", name, err)
		}
		if e.Name == name {
			return e, nil
		}
	}
}

// Close closes the connection.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closing)
		err = c.conn.Close()
		<-c.done
	})
	return err
}
